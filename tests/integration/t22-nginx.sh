#!/bin/bash
# Behind a real nginx: nginx terminates TLS with the test certificate and proxies the
# WebSocket upgrade on /rtun to rtund's plain ws port, using contrib/nginx/rtun.conf as
# shipped; the agent dials nginx with transport=wss.  Echo and 64 MiB each way (sha256);
# with rtund gone, the agent reports the 502 nginx answers.
IT_NUM=22
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

size=${IT_BULK_SIZE:-64M}
snippet=$TOOLS/../../contrib/nginx/rtun.conf
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
[ -x "$NGINX" ] || skip "nginx not installed"
command -v openssl >/dev/null 2>&1 || skip "openssl command not found"
[ -r "$snippet" ] || hard_error "$snippet not found"
bash "$TOOLS/mkcerts.sh" "$IT_DIR/pki" "$IT_ADDR" >/dev/null || hard_error "mkcerts.sh failed"

# A private nginx: its own prefix, logs, temp paths and pid file under IT_DIR.
ngx=$IT_DIR/nginx
mkdir -p "$ngx/tmp" "$ngx/logs"
sed -e "s|@LISTEN@|$IT_ADDR:$(port 5)|" -e "s|@CERT@|$IT_DIR/pki/server.pem|" \
	-e "s|@KEY@|$IT_DIR/pki/server.key|" -e "s|@RTUND@|$IT_ADDR:$(port 0)|" \
	"$snippet" >"$ngx/rtun.conf"
! grep -n '@[A-Z]*@' "$ngx/rtun.conf" || hard_error "a placeholder was left in rtun.conf"
user=
[ "$(id -u)" = 0 ] && user="user root;"
cat >"$IT_DIR/nginx.conf" <<EOF
$user
worker_processes 1;
error_log $IT_DIR/nginx-error.log info;
events {
	worker_connections 512;
}
http {
	access_log $ngx/logs/access.log;
	client_body_temp_path $ngx/tmp/body;
	proxy_temp_path $ngx/tmp/proxy;
	fastcgi_temp_path $ngx/tmp/fastcgi;
	uwsgi_temp_path $ngx/tmp/uwsgi;
	scgi_temp_path $ngx/tmp/scgi;
	include $ngx/rtun.conf;
}
EOF
nginx_args=(-p "$ngx" -e "$IT_DIR/nginx-error.log" -c "$IT_DIR/nginx.conf")
"$NGINX" "${nginx_args[@]}" -t >"$IT_DIR/nginx-t.out" 2>&1 ||
	fail "nginx rejects the configuration: $(cat "$IT_DIR/nginx-t.out")"
start_bg nginx "$NGINX" "${nginx_args[@]}" -g "daemon off; pid $ngx/nginx.pid;"
wait_port "$IT_ADDR:$(port 5)" 10 || fail "nginx did not listen"

start_tool echo echo-server --listen "$IT_ADDR:$(port 1)"
start_tool bulk sha-server --listen "$IT_ADDR:$(port 2)" --send "$size" --seed 21
# The agent dials nginx, which passes the upgrade on to rtund.
tunnel_up ws_path=/rtun server:transports=ws "agent:server=$IT_ADDR:$(port 5)" \
	agent:transport=wss "agent:ca_file=$IT_DIR/pki/ca.pem" \
	"svc:echo=$IT_ADDR:$(port 1),$(port 10)" "svc:bulk=$IT_ADDR:$(port 2),$(port 11)"

tcptool echo-client --connect "$IT_ADDR:$(port 10)" --conns 20 --bytes 96K --timeout 60 \
	>"$IT_DIR/echo.out" 2>"$IT_DIR/echo.err" || fail "echo failed: $(cat "$IT_DIR/echo.err")"
[ "$(kv ok "$IT_DIR/echo.out")" = 20 ] || fail "not all echo connections came back intact"

note "sending $size each way through nginx"
tcptool sha-client --connect "$IT_ADDR:$(port 11)" --send "$size" --seed 22 --timeout 120 \
	>"$IT_DIR/client.out" 2>"$IT_DIR/client.err" ||
	fail "transfer failed: $(cat "$IT_DIR/client.err")"
expect_intact client bulk

expect_alive nginx
expect_alive rtund
expect_alive rtun
[ "$(log_count rtun "link lost")" = 0 ] || fail "the agent's link dropped during the test"

# Without rtund, nginx answers the upgrade with 502: the agent says so, and keeps trying.
kill_wait TERM rtund
wait_for_log rtun "HTTP status 502 from server or proxy: Bad Gateway" 20 ||
	fail "the agent did not report nginx's 502"
expect_alive rtun
# nginx logs an upgraded request when it ends: the link was the 101.
wait_for_file "$ngx/logs/access.log" '"GET /rtun HTTP/1.1" 101 ' 10 ||
	fail "nginx did not log the upgrade: $(cat "$ngx/logs/access.log")"
note "ok: $size each way through nginx in $(kv elapsed "$IT_DIR/client.out") s"
exit 0
