#!/bin/bash
# PROXY protocol towards a real nginx: two services with proxy_protocol = v1 and v2, each to
# an nginx server block that requires the header.  A user fetches a file through rtund's
# public ports from an address of its own; nginx must log that address and port as
# $proxy_protocol_addr/_port, and rtund's public address and port as the destination,
# while its TCP peer ($remote_addr) is the agent.
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

# service_conf NAME VERSION REMOTE_PORT: append a [service] with proxy_protocol to rtun.conf.
service_conf() {
	printf '\n[service %s]\nlocal = %s\nremote_port = %s\nproxy_protocol = %s\n' \
		"$1" "$IT_ADDR:$(port "${2#v}")" "$3" "$2" >>"$IT_DIR/rtun.conf"
}

# fetch VERSION REMOTE_PORT: GET / through rtund from USER_ADDR; checks nginx's log line.
fetch() {
	local v=$1 rport=$2 lport log=$IT_DIR/access-$1.log line n
	n=$(($(wc -l <"$log") + 1))
	lport=$(curl -sS --max-time 10 --interface "$USER_ADDR" -o "$IT_DIR/got-$v.html" \
		-w '%{local_port}' "http://$IT_ADDR:$rport/index.html") ||
		fail "$v: curl through rtund port $rport failed"
	cmp -s "$IT_DIR/got-$v.html" "$NG/www/index.html" || fail "$v: wrong body from nginx"
	wait_for_file "$log" "status=" 5 "$n" || fail "$v: nginx logged no request"
	line=$(tail -n 1 "$log")
	echo "    nginx ($v): $line"
	[ "$line" = "pp=$USER_ADDR:$lport dst=$IT_ADDR:$rport peer=${line##*peer=}" ] ||
		fail "$v: nginx saw '$line', expected the user $USER_ADDR:$lport and $IT_ADDR:$rport"
	case $line in
	*"peer=$USER_ADDR "*) fail "$v: the service's TCP peer is the user, not the agent" ;;
	esac
}

nginx_conf
start_bg nginx "$NGINX" -p "$NG" -c "$NG/nginx.conf" -e "$IT_DIR/nginx-error.log" \
	-g "daemon off; pid $NG/nginx.pid;"
wait_port "$IT_ADDR:$(port 1)" 10 || fail "nginx did not listen on $IT_ADDR:$(port 1)"
wait_port "$IT_ADDR:$(port 2)" 10 || fail "nginx did not listen on $IT_ADDR:$(port 2)"

server_conf "$IT_DIR/rtund.conf"
start_rtund rtund "$IT_DIR/rtund.conf"
agent_conf "$IT_DIR/rtun.conf"
service_conf web1 v1 "$(port 10)"
service_conf web2 v2 "$(port 11)"
start_rtun rtun "$IT_DIR/rtun.conf"
wait_for_log rtun "service web1: remote port $(port 10) ready" 10 || fail "service web1 never ready"
wait_for_log rtun "service web2: remote port $(port 11) ready" 10 || fail "service web2 never ready"

note "user $USER_ADDR through PROXY v1 and v2"
fetch v1 "$(port 10)"
fetch v2 "$(port 11)"
fetch v1 "$(port 10)"
grep -q 'broken header' "$IT_DIR/nginx-error.log" 2>/dev/null &&
	fail "nginx could not parse a PROXY header: $(grep 'broken header' "$IT_DIR/nginx-error.log")"
expect_alive rtund
expect_alive rtun
expect_alive nginx
exit 0
