# sed script: contrib/systemd/*.service -> the units of the packages: packaged
# paths, and a header for the package instead of the manual install steps.
2,/^# the config could not be kept from other users\.)$/c\
#\
# From the Debian package, and not enabled on installation: set the token (and\
# the rest) in the config named in ExecStart, which only root and the group\
# rtun can read, then "systemctl enable --now" this unit.  The system user rtun\
# is created by the package rtun-common.  Local changes belong in a drop-in\
# ("systemctl edit"): this file is replaced on upgrade.
s|/usr/local/sbin/rtund |/usr/sbin/rtund |
s|/usr/local/bin/rtun |/usr/bin/rtun |
