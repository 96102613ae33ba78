# shellcheck shell=bash
# The web table of tests/bench/bench.sh (sourced by it; uses its spawn, stop, wait_listen,
# wait_log, budget_ok, ratio, log, TMP, BUILDDIR and R): HTTP/1.1 requests per second with
# ab at concurrency 50 against a private nginx serving a 1 KiB page, directly, through a
# plain rtun TCP service, and through rtund's http_listen (routed by Host), keep-alive and
# with a new connection per request. RTB_WEB_REQUESTS (20000) requests per run, RTB_REPS
# interleaved rounds, median. RTB_NO_WEB=1 skips it (e.g. for builds without http_listen).

WEB_NGINX=$((BASE + 61)) WEB_TCP=$((BASE + 62)) WEB_HTTP=$((BASE + 63))
WEB_REQUESTS=${RTB_WEB_REQUESTS:-20000}
NGINX_PID="" WEB_RTUND_PID="" WEB_RTUN_PID=""

# start_web: nginx, and rtund + rtun with the page as a tcp service and an http service.
start_web() {
	local user=
	mkdir -p "$TMP/web/root" "$TMP/web/tmp"
	head -c 1024 /dev/zero | tr '\0' 'x' >"$TMP/web/root/index.html"
	[ "$(id -u)" = 0 ] && user="user root;"
	cat >"$TMP/web/nginx.conf" <<-EOF
	$user
	worker_processes 1;
	error_log $TMP/web/error.log warn;
	events { worker_connections 4096; }
	http {
		access_log off;
		client_body_temp_path $TMP/web/tmp/body;
		proxy_temp_path $TMP/web/tmp/proxy;
		fastcgi_temp_path $TMP/web/tmp/fastcgi;
		uwsgi_temp_path $TMP/web/tmp/uwsgi;
		scgi_temp_path $TMP/web/tmp/scgi;
		server {
			listen 127.0.0.1:$WEB_NGINX;
			root $TMP/web/root;
			keepalive_requests 1000000;
		}
	}
	EOF
	spawn nginx - nginx -p "$TMP/web" -c "$TMP/web/nginx.conf" -g "daemon off; pid $TMP/web/nginx.pid;"
	NGINX_PID=$SPAWNED
	wait_listen - "$WEB_NGINX" "$NGINX_PID" nginx || return 1
	cat >"$TMP/rtund-web.conf" <<-EOF
	[server]
	listen = 127.0.0.1:$LINK_PORT
	token = bench-token
	allow_ports = $WEB_TCP
	bind_addr = 127.0.0.1
	http_listen = 127.0.0.1:$WEB_HTTP
	allow_hosts = *.bench.test
	EOF
	cat >"$TMP/rtun-web.conf" <<-EOF
	[agent]
	server = 127.0.0.1:$LINK_PORT
	token = bench-token
	name = bench

	[service tcp]
	local = 127.0.0.1:$WEB_NGINX
	remote_port = $WEB_TCP

	[service web]
	type = http
	hosts = app.bench.test
	local = 127.0.0.1:$WEB_NGINX
	EOF
	spawn rtund-web - "$BUILDDIR/rtund" -c "$TMP/rtund-web.conf"
	WEB_RTUND_PID=$SPAWNED
	wait_listen - "$LINK_PORT" "$WEB_RTUND_PID" rtund-web || return 1
	spawn rtun-web - "$BUILDDIR/rtun" -c "$TMP/rtun-web.conf"
	WEB_RTUN_PID=$SPAWNED
	wait_log "$TMP/rtun-web.log" 'host names ready' 1 "$WEB_RTUN_PID"
}

# m_ab KEY COL PORT [-k]: one ab run of WEB_REQUESTS at concurrency 50 into S[KEY,COL].
m_ab() {
	local key=$1 col=$2 port=$3 rps
	shift 3
	rps=$(timeout 60 ab -q -n "$WEB_REQUESTS" -c 50 "$@" -H "Host: app.bench.test" \
	    "http://127.0.0.1:$port/" 2>/dev/null | awk '/^Requests per second:/ { print $4 }')
	[ -n "$rps" ] || { log "ab through $col failed"; rps=fail; }
	S[$key,$col]="${S[$key,$col]:-} $rps"
}

run_web() {
	local r col port
	command -v ab >/dev/null && command -v nginx >/dev/null ||
	    { log "web: ab or nginx missing, table skipped"; return; }
	log "loopback: web (ab, concurrency 50)"
	start_web || { log "web paths did not start"; return; }
	for r in $(seq "$REPS"); do
		budget_ok || break
		for col in web-direct web-tcp web-http; do
			case $col in
			web-direct) port=$WEB_NGINX ;;
			web-tcp) port=$WEB_TCP ;;
			web-http) port=$WEB_HTTP ;;
			esac
			m_ab webka "$col" "$port" -k
			m_ab webnew "$col" "$port"
		done
	done
	medians
	for r in "$WEB_RTUN_PID" "$WEB_RTUND_PID" "$NGINX_PID"; do
		stop "$r"
	done
}

print_web() {
	local fmt='%-34s %9s %11s %9s %10s %10s\n' key label
	[ -n "${R[webka,web-http]:-}${R[webnew,web-http]:-}" ] || return 0
	echo
	printf "$fmt" "web, loopback, ab -c 50 (req/s)" direct "rtun tcp" http_listen "http/tcp" \
	    "http/direct"
	for key in webka webnew; do
		[ "$key" = webka ] && label="keep-alive (ab -k)" || label="new connection per request"
		printf "$fmt" "$label" "${R[$key,web-direct]:-n/a}" "${R[$key,web-tcp]:-n/a}" \
		    "${R[$key,web-http]:-n/a}" "$(ratio "${R[$key,web-http]:-}" "${R[$key,web-tcp]:-}")" \
		    "$(ratio "${R[$key,web-http]:-}" "${R[$key,web-direct]:-}")"
	done
	echo "(http_listen reads each connection's first head for its Host, then it is a plain stream)"
}
