#!/bin/bash
# Configuration checking: a bad config exits 78 with "file:line: message" on stderr, for
# rtund and rtun alike (every key of [route] and allow_connect included); -t on a good
# config exits 0.
IT_NUM=9
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

A=$IT_ADDR
P0=$(port 0)

# check BIN NAME STATUS LINE [FLAGS]: runs BIN FLAGS -c NAME.conf (the config on stdin),
# expects exit STATUS and, for 78, "NAME.conf:LINE:" on stderr (LINE "any": some line).
check() {
	local bin=$1 name=$2 want=$3 line=$4 flags=${5:--t} conf=$IT_DIR/$2.conf st
	cat >"$conf"
	timeout 10 "$bin" "$flags" -c "$conf" >"$IT_DIR/$name.out" 2>"$IT_DIR/$name.log"
	st=$?
	[ "$st" = "$want" ] || fail "$name: ${bin##*/} $flags exited $st, want $want; stderr: $(head -c 600 "$IT_DIR/$name.log")"
	if [ "$want" = 78 ]; then
		if [ "$line" = any ]; then
			grep -q -E "$conf:[0-9]+: ." "$IT_DIR/$name.log" ||
				fail "$name: no '$conf:LINE: message' on stderr: $(head -c 600 "$IT_DIR/$name.log")"
		else
			grep -q -F "$conf:$line: " "$IT_DIR/$name.log" ||
				fail "$name: no '$conf:$line: message' on stderr: $(head -c 600 "$IT_DIR/$name.log")"
		fi
	fi
	note "$name: exit $st: $(head -n 1 "$IT_DIR/$name.log")"
}

# Good configurations, as the documentation writes them (inline comments included).
check "$RTUND" good-rtund 0 - <<EOF2
[server]
listen = $A:$P0        ; agents connect here (default 0.0.0.0:7000)
token = change-me              ; required
allow_ports = 22,$(port 10)-$(port 49) ; required; list and ranges
bind_addr = $A          ; where service ports listen (default 0.0.0.0)
heartbeat_interval = 10s       ; default 10s
heartbeat_timeout = 30s        ; default 30s
handshake_timeout = 10s
open_timeout = 10s             ; agent must answer a new stream within this
stream_window = 256K
max_streams = 4096
log_level = info               ; error|warn|info|debug
EOF2
check "$RTUN" good-rtun 0 - <<EOF2
[agent]
server = $A:$P0        ; required
token = change-me              ; required
name = office-nas              ; default: host name
heartbeat_interval = 10s
heartbeat_timeout = 30s
connect_timeout = 10s
reconnect_min = 1s             ; reconnect backoff
reconnect_max = 30s
stream_window = 256K
max_streams = 4096
log_level = info

[service ssh]                  ; any number of [service NAME] sections
local = 127.0.0.1:22
remote_port = $(port 22)

[service web]
local = 127.0.0.1:8080
remote_port = $(port 23)
EOF2
check "$RTUN" minimal-rtun 0 - <<EOF2
[agent]
server = $A:$P0
token = t
EOF2

check "$RTUND" p2p-rtund 0 - <<EOF2
[server]
listen = $A:$P0
token = t
allow_ports = $(port 10)-$(port 49)
p2p = yes                      ; default yes: rendezvous for direct agent links
relay = yes                    ; default yes
relay_max_streams = 256        ; per visiting agent
EOF2
check "$RTUN" p2p-rtun 0 - <<EOF2
[agent]
server = $A:$P0
token = t
name = office
punch_timeout = 10s

[service ssh]                  ; no remote_port: reachable by its visitors only
local = 127.0.0.1:22
p2p = yes
allow_peers = laptop, ci-runner

[service web]
local = 127.0.0.1:8080
remote_port = $(port 23)
p2p = yes
allow_peers = laptop
EOF2
check "$RTUN" visitor-only-rtun 0 - <<EOF2
[agent]
server = $A:$P0
token = t
name = laptop

[visitor office-ssh]
peer = office
service = ssh
local = 127.0.0.1:$(port 60)
mode = auto
EOF2

# rtund
check "$RTUND" d-unknown-key 78 5 <<EOF2
[server]
listen = $A:$P0
token = t
allow_ports = $(port 10)-$(port 49)
bogus_key = 1
EOF2
check "$RTUND" d-bad-port 78 2 <<EOF2
[server]
listen = $A:99999
token = t
allow_ports = $(port 10)-$(port 49)
EOF2
check "$RTUND" d-missing-token 78 any <<EOF2
[server]
listen = $A:$P0
allow_ports = $(port 10)-$(port 49)
EOF2
check "$RTUND" d-missing-allow 78 any <<EOF2
[server]
listen = $A:$P0
token = t
EOF2
check "$RTUND" d-bad-allow 78 4 <<EOF2
[server]
listen = $A:$P0
token = t
allow_ports = 6000-lots
EOF2
check "$RTUND" d-bad-duration 78 5 <<EOF2
[server]
listen = $A:$P0
token = t
allow_ports = $(port 10)-$(port 49)
heartbeat_interval = soon
EOF2
# Without -t, a bad config stops the daemon at once with the same status.
check "$RTUND" d-unknown-key-run 78 6 -d <<EOF2
[server]
listen = $A:$P0
token = t
allow_ports = $(port 10)-$(port 49)

bogus_key = 1
EOF2

# rtun
check "$RTUN" a-unknown-key 78 4 <<EOF2
[agent]
server = $A:$P0
token = t
bogus_key = 1
EOF2
check "$RTUN" a-bad-remote-port 78 7 <<EOF2
[agent]
server = $A:$P0
token = t

[service ssh]
local = 127.0.0.1:22
remote_port = 70000
EOF2
check "$RTUN" a-bad-server-port 78 2 <<EOF2
[agent]
server = $A:0x
token = t
EOF2
check "$RTUN" a-missing-server 78 any <<EOF2
[agent]
token = t
EOF2
check "$RTUN" a-missing-token 78 any <<EOF2
[agent]
server = $A:$P0
EOF2
check "$RTUN" a-missing-local 78 any <<EOF2
[agent]
server = $A:$P0
token = t

[service ssh]
remote_port = $(port 22)
EOF2
check "$RTUN" a-bad-local 78 6 <<EOF2
[agent]
server = $A:$P0
token = t

[service ssh]
local = nowhere
remote_port = $(port 22)
EOF2
check "$RTUN" a-unknown-service-key 78 7 <<EOF2
[agent]
server = $A:$P0
token = t

[service ssh]
local = 127.0.0.1:22
colour = blue
remote_port = $(port 22)
EOF2

# P2P: services visitors may reach, visitors, and rtund's rendezvous and relay.
check "$RTUN" a-p2p-no-peers 78 7 <<EOF2
[agent]
server = $A:$P0
token = t

[service ssh]
local = 127.0.0.1:22
p2p = yes
EOF2
check "$RTUN" a-peers-no-p2p 78 8 <<EOF2
[agent]
server = $A:$P0
token = t

[service ssh]
local = 127.0.0.1:22
remote_port = $(port 22)
allow_peers = laptop
EOF2
check "$RTUN" a-peers-twice 78 8 <<EOF2
[agent]
server = $A:$P0
token = t

[service ssh]
local = 127.0.0.1:22
p2p = yes
allow_peers = laptop, ci, laptop
EOF2
check "$RTUN" a-no-port-no-p2p 78 5 <<EOF2
[agent]
server = $A:$P0
token = t

[service ssh]
local = 127.0.0.1:22
EOF2
check "$RTUN" a-visitor-self 78 8 <<EOF2
[agent]
server = $A:$P0
token = t
name = office

[visitor loop]
service = ssh
peer = office
local = 127.0.0.1:$(port 60)
EOF2
check "$RTUN" a-visitor-same-local 78 13 <<EOF2
[agent]
server = $A:$P0
token = t

[visitor a]
peer = office
service = ssh
local = 127.0.0.1:$(port 60)

[visitor b]
peer = office
service = web
local = 127.0.0.1:$(port 60)
EOF2
check "$RTUN" a-visitor-bad-mode 78 9 <<EOF2
[agent]
server = $A:$P0
token = t

[visitor a]
peer = office
service = ssh
local = 127.0.0.1:$(port 60)
mode = fast
EOF2
check "$RTUN" a-visitor-no-peer 78 5 <<EOF2
[agent]
server = $A:$P0
token = t

[visitor a]
service = ssh
local = 127.0.0.1:$(port 60)
EOF2
check "$RTUN" a-bad-punch-timeout 78 4 <<EOF2
[agent]
server = $A:$P0
token = t
punch_timeout = 0s
EOF2
check "$RTUN" a-bad-service-idle 78 8 <<EOF2
[agent]
server = $A:$P0
token = t

[service s]
local = 127.0.0.1:22
remote_port = $(port 10)
idle_timeout = forever
EOF2
check "$RTUN" a-bad-visitor-idle 78 9 <<EOF2
[agent]
server = $A:$P0
token = t

[visitor a]
peer = office
service = ssh
local = 127.0.0.1:$(port 60)
idle_timeout = 0
EOF2
check "$RTUND" d-web-no-allow-hosts 78 5 <<EOF2
[server]
listen = $A:$P0
token = t
allow_ports = $(port 10)-$(port 49)
http_listen = $A:$(port 60)
EOF2
check "$RTUND" d-bad-allow-hosts 78 6 <<EOF2
[server]
listen = $A:$P0
token = t
allow_ports = $(port 10)-$(port 49)
https_listen = $A:$(port 61)
allow_hosts = ok.example, not/a/name
EOF2
check "$RTUN" a-web-no-hosts 78 5 <<EOF2
[agent]
server = $A:$P0
token = t

[service web]
type = http
local = 127.0.0.1:80
EOF2
check "$RTUN" a-web-remote-port 78 9 <<EOF2
[agent]
server = $A:$P0
token = t

[service web]
type = https
local = 127.0.0.1:443
hosts = a.example
remote_port = $(port 10)
EOF2
check "$RTUND" d-bad-relay-max 78 5 <<EOF2
[server]
listen = $A:$P0
token = t
allow_ports = $(port 10)-$(port 49)
relay_max_streams = 0
EOF2
check "$RTUND" d-bad-p2p 78 5 <<EOF2
[server]
listen = $A:$P0
token = t
allow_ports = $(port 10)-$(port 49)
p2p = sometimes
EOF2

# UDP services: good as documented, and every new key's bad values name file:line.
check "$RTUND" udp-rtund 0 - <<EOF2
[server]
listen = $A:$P0
token = t
allow_ports = $(port 10)-$(port 49)   ; TCP and UDP ports alike
udp_idle_timeout = 60s         ; default 60s
udp_max_flows = 1024           ; per UDP port, default 1024
EOF2
check "$RTUN" udp-rtun 0 - <<EOF2
[agent]
server = $A:$P0
token = t

[service dns]
type = udp                     ; default tcp
local = 127.0.0.1:53
remote_port = $(port 20)
udp_idle_timeout = 30s         ; default 60s
udp_max_flows = 256            ; default 1024

[service dns-tcp]              ; the TCP port of the same number is another port
local = 127.0.0.1:53
remote_port = $(port 20)
EOF2
# udp_check NAME LINE: an rtun.conf of a UDP service [service dns] whose keys after
# "local" (from line 8 on) are on stdin; it must fail on LINE.
udp_check() {
	{
		printf '[agent]\nserver = %s\ntoken = t\n\n[service dns]\ntype = udp\n' "$A:$P0"
		printf 'local = 127.0.0.1:53\n'
		cat
	} >"$IT_DIR/$1.in"
	check "$RTUN" "$1" 78 "$2" <"$IT_DIR/$1.in"
}
check "$RTUN" a-udp-bad-type 78 6 <<EOF2
[agent]
server = $A:$P0
token = t

[service dns]
type = quic
local = 127.0.0.1:53
remote_port = $(port 20)
EOF2
udp_check a-udp-bad-idle 9 <<EOF2
remote_port = $(port 20)
udp_idle_timeout = 0s
EOF2
udp_check a-udp-bad-flows 9 <<EOF2
remote_port = $(port 20)
udp_max_flows = none
EOF2
udp_check a-udp-no-port 5 <<EOF2
udp_max_flows = 5
EOF2
udp_check a-udp-p2p 9 <<EOF2
remote_port = $(port 20)
p2p = yes
allow_peers = laptop
EOF2
grep -q -F "a-udp-p2p.conf:9: p2p is not supported with type = udp" "$IT_DIR/a-udp-p2p.log" ||
	fail "a-udp-p2p: no p2p error"
grep -q -F "a-udp-p2p.conf:10: allow_peers is not supported with type = udp" \
	"$IT_DIR/a-udp-p2p.log" || fail "a-udp-p2p: no allow_peers error"
udp_check a-udp-proxy 9 <<EOF2
remote_port = $(port 20)
proxy_protocol = v1
EOF2
check "$RTUN" a-tcp-udp-key 78 8 <<EOF2
[agent]
server = $A:$P0
token = t

[service web]
local = 127.0.0.1:80
remote_port = $(port 20)
udp_idle_timeout = 5s
EOF2
udp_check a-udp-dup-port 13 <<EOF2
remote_port = $(port 20)

[service dns2]
type = udp
local = 127.0.0.1:54
remote_port = $(port 20)
EOF2
check "$RTUND" d-udp-bad-idle 78 5 <<EOF2
[server]
listen = $A:$P0
token = t
allow_ports = $(port 10)-$(port 49)
udp_idle_timeout = forever
EOF2
check "$RTUND" d-udp-bad-flows 78 5 <<EOF2
[server]
listen = $A:$P0
token = t
allow_ports = $(port 10)-$(port 49)
udp_max_flows = 0
EOF2

# Routes on rtund, and the agent's allow_connect.
check "$RTUND" route-rtund 0 - <<EOF2
[route office-ssh]             ; may come before [server]
port = $(port 60)              ; public port on bind_addr
agent = office-nas             ; whose link carries it
connect = 192.168.1.4:22       ; as the agent resolves it

[server]
listen = $A:$P0
token = t
allow_ports = $(port 10)-$(port 49)

[route web]                    ; no agent: rtund connects itself
port = $(port 61)
connect = web.internal:80
idle_timeout = 10m

[route v6]
port = $(port 62)
agent = office-nas
connect = [fd00::4]:443
EOF2
check "$RTUN" allow-connect-rtun 0 - <<EOF2
[agent]
server = $A:$P0
token = t
allow_connect = 192.168.1.0/24:22, 10.0.0.5:80, 127.0.0.1:*
allow_connect = [fd00::/8]:*, db.internal:5432 ; the key may repeat
EOF2
# route_fails NAME LINE: rtund with [server] and then the route lines on stdin fails at LINE.
route_fails() {
	check "$RTUND" "$1" 78 "$2" < <(
		printf '[server]\nlisten = %s\ntoken = t\nallow_ports = %s\n\n' "$A:$P0" \
			"$(port 10)-$(port 49)"
		cat
	)
}
route_fails d-route-no-port 6 <<EOF2
[route r]
connect = 10.0.0.1:22
EOF2
route_fails d-route-no-connect 6 <<EOF2
[route r]
port = $(port 60)
EOF2
route_fails d-route-bad-port 7 <<EOF2
[route r]
port = 65536
connect = 10.0.0.1:22
EOF2
route_fails d-route-bad-connect 8 <<EOF2
[route r]
port = $(port 60)
connect = 10.1:22
EOF2
route_fails d-route-bad-agent 9 <<EOF2
[route r]
port = $(port 60)
connect = 10.0.0.1:22
agent = two words
EOF2
route_fails d-route-bad-idle 9 <<EOF2
[route r]
port = $(port 60)
connect = 10.0.0.1:22
idle_timeout = never
EOF2
route_fails d-route-unknown-key 9 <<EOF2
[route r]
port = $(port 60)
connect = 10.0.0.1:22
local = 127.0.0.1:1
EOF2
route_fails d-route-in-allow-ports 7 <<EOF2
[route r]
port = $(port 20)
connect = 10.0.0.1:22
EOF2
route_fails d-route-listen-port 7 <<EOF2
[route r]
port = $P0
connect = 10.0.0.1:22
EOF2
route_fails d-route-same-port 11 <<EOF2
[route a]
port = $(port 60)
connect = 10.0.0.1:22

[route b]
port = $(port 60)
connect = 10.0.0.2:22
EOF2
route_fails d-route-same-name 10 <<EOF2
[route a]
port = $(port 60)
connect = 10.0.0.1:22

[route a]
port = $(port 61)
connect = 10.0.0.2:22
EOF2
route_fails d-route-no-name 6 <<EOF2
[route]
port = $(port 60)
connect = 10.0.0.1:22
EOF2
check "$RTUN" a-allow-connect-host-bits 78 5 <<EOF2
[agent]
server = $A:$P0
token = t
allow_connect = 10.0.0.0/8:22
allow_connect = 192.168.1.4/24:22
EOF2
check "$RTUN" a-allow-connect-no-port 78 4 <<EOF2
[agent]
server = $A:$P0
token = t
allow_connect = 10.0.0.5
EOF2
check "$RTUN" a-allow-connect-empty-entry 78 4 <<EOF2
[agent]
server = $A:$P0
token = t
allow_connect = 10.0.0.5:22,,10.0.0.6:22
EOF2
grep -q -F 'allow_connect: "192.168.1.4/24:22": host bits are set' \
	"$IT_DIR/a-allow-connect-host-bits.log" || fail "allow_connect's error does not name the entry"
grep -q -F '[route r]: port '"$(port 20)"' is in allow_ports' "$IT_DIR/d-route-in-allow-ports.log" ||
	fail "a route in allow_ports is not explained"

# -V prints a version and exits 0.
for bin in "$RTUND" "$RTUN"; do
	out=$(timeout 10 "$bin" -V 2>&1) || fail "${bin##*/} -V exited $?"
	[ -n "$out" ] || fail "${bin##*/} -V printed nothing"
	note "${bin##*/} -V: $out"
done
exit 0
