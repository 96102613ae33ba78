# sed script: contrib/*.conf.example -> /etc/rtun/*.conf of the packages.
/Copy to \/etc\/rtun/,/SIGHUP\.$/c\
; the defaults.  Installed by the Debian package, readable by root and the\
; group rtun only (the daemon runs as the user rtun).  Check it with "-t -c\
; FILE" (rtund -t -c /etc/rtun/rtund.conf, rtun -t -c /etc/rtun/rtun.conf)\
; and apply it with "systemctl reload" of the unit.
s/^token = change-me$/; Unset in the packaged file, so that the daemon refuses to start with a\
; guessable secret: set one (the same on rtund and its agents) and uncomment.\
;token =/
# The units make /run/rtun: name the status socket there explicitly.
s|^;status_socket = /run/rtun/|status_socket = /run/rtun/|
