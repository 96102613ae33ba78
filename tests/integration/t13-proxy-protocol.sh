#!/bin/bash
# PROXY protocol towards a real nginx: two services with proxy_protocol = v1 and v2, each to
# an nginx server block that requires the header.  A user fetches a file through rtund's
# public ports from an address of its own; nginx must log the user's address and port
# that rtund saw as $proxy_protocol_addr/_port, and rtund's public address and port as the
# destination, while its TCP peer ($remote_addr) is the agent.
IT_NUM=13
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || skip "nginx not installed (Debian package nginx)"
command -v curl >/dev/null 2>&1 || skip "curl not installed"

# The user's own loopback address: another 127.X.Y.Z than the test's.
o=${IT_ADDR##*.}
USER_ADDR=${IT_ADDR%.*}.$((o >= 250 ? o - 1 : o + 1))
NG=$IT_DIR/nginx

# nginx_conf: a private nginx with one proxy_protocol server block per version.
nginx_conf() {
	local v d
	mkdir -p "$NG/www" "$NG/tmp"
	echo "hello through rtun $RANDOM" >"$NG/www/index.html"
	# A root nginx's workers run as nobody: let them reach the files, nothing else.
	chmod 711 "$IT_DIR" "$NG"
	chmod 755 "$NG/www" "$NG/tmp"
	chmod 644 "$NG/www/index.html"
	{
		echo "worker_processes 1;"
		echo "error_log $IT_DIR/nginx-error.log info;"
		echo "events { worker_connections 64; }"
		echo "http {"
		echo "  log_format pp 'pp=\$proxy_protocol_addr:\$proxy_protocol_port '"
		echo "    'dst=\$proxy_protocol_server_addr:\$proxy_protocol_server_port '"
		echo "    'peer=\$remote_addr status=\$status';"
		for d in client_body proxy fastcgi uwsgi scgi; do
			echo "  ${d}_temp_path $NG/tmp/$d;"
		done
		for v in 1 2; do
			echo "  server {"
			echo "    listen $IT_ADDR:$(port $v) proxy_protocol;"
			echo "    access_log $IT_DIR/access-v$v.log pp;"
			echo "    root $NG/www;"
			echo "  }"
		done
		echo "}"
	} >"$NG/nginx.conf"
}

# The address the agent's connections to nginx come from: the kernel's choice of source
# address towards IT_ADDR.
AGENT_SRC=$("$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], 9))
print(s.getsockname()[0])
' "$IT_ADDR") || hard_error "cannot tell the source address towards $IT_ADDR"
[ "$AGENT_SRC" != "$USER_ADDR" ] || hard_error "the user's address is the agent's"

# fetch SERVICE VERSION REMOTE_PORT: GET / through rtund from USER_ADDR; nginx's log line
# must hold the user that rtund logged for this connection, rtund's public address, the
# agent as TCP peer and status 200.
fetch() {
	local svc=$1 v=$2 rport=$3 lport log=$IT_DIR/access-$2.log line n m user want
	n=$(($(wc -l <"$log") + 1))
	m=$(($(log_count rtund "service $svc: user ") + 1))
	lport=$(curl -sS --max-time 10 --interface "$USER_ADDR" -o "$IT_DIR/got-$v.html" \
		-w '%{local_port}' "http://$IT_ADDR:$rport/index.html") ||
		fail "$v: curl through rtund port $rport failed"
	cmp -s "$IT_DIR/got-$v.html" "$NG/www/index.html" || fail "$v: wrong body from nginx"
	wait_for_log rtund "service $svc: user " 5 "$m" || fail "$v: rtund logged no user for $svc"
	user=$(grep -F "service $svc: user " "$IT_DIR/rtund.log" | sed -n "${m}p" |
		sed -E 's/.* user ([^ ]+) connected.*/\1/')
	[ "$user" = "$USER_ADDR:$lport" ] ||
		fail "$v: rtund saw the user as '$user', but curl connected from $USER_ADDR:$lport"
	wait_for_file "$log" "status=" 5 "$n" || fail "$v: nginx logged no request"
	line=$(sed -n "${n}p" "$log")
	echo "    nginx ($v): $line"
	want="pp=$user dst=$IT_ADDR:$rport peer=$AGENT_SRC status=200"
	[ "$line" = "$want" ] || fail "$v: nginx logged '$line', want '$want'"
}

nginx_conf
start_bg nginx "$NGINX" -p "$NG" -c "$NG/nginx.conf" -e "$IT_DIR/nginx-error.log" \
	-g "daemon off; pid $NG/nginx.pid;"
wait_port "$IT_ADDR:$(port 1)" 10 || fail "nginx did not listen on $IT_ADDR:$(port 1)"
wait_port "$IT_ADDR:$(port 2)" 10 || fail "nginx did not listen on $IT_ADDR:$(port 2)"

# rtund logs each user it accepts at debug level: what the PROXY header must carry.
tunnel_up server:log_level=debug "svc:web1=$IT_ADDR:$(port 1),$(port 10),proxy_protocol=v1" \
	"svc:web2=$IT_ADDR:$(port 2),$(port 11),proxy_protocol=v2"

note "user $USER_ADDR through PROXY v1 and v2 (the agent connects from $AGENT_SRC)"
fetch web1 v1 "$(port 10)"
fetch web2 v2 "$(port 11)"
fetch web1 v1 "$(port 10)"
grep -q 'broken header' "$IT_DIR/nginx-error.log" 2>/dev/null &&
	fail "nginx could not parse a PROXY header: $(grep 'broken header' "$IT_DIR/nginx-error.log")"
expect_alive rtund
expect_alive rtun
expect_alive nginx
exit 0
