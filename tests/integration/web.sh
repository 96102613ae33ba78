# Helpers for the web tests (http_listen, https_listen).  Bash; source it after lib.sh.
# shellcheck shell=bash
#
# Ports of the test's range: 0 rtund's agent port, 1..9 the private web servers,
# 60 http_listen, 61 https_listen, 90 metrics.

NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
[ -x "$NGINX" ] || skip "nginx not installed"
command -v curl >/dev/null 2>&1 || skip "curl is needed"
WEB_HTTP=$IT_ADDR:$(port 60)
WEB_HTTPS=$IT_ADDR:$(port 61)

# web_nginx NAME LISTEN ROOT [CERT KEY]: a private nginx NAME serving ROOT on LISTEN (over
# TLS with CERT and KEY), with /xff answering the forwarding headers it was given; its
# prefix, logs, temp paths and pid file are under IT_DIR/NAME.  Stopped by lib.sh by PID.
web_nginx() {
	local name=$1 listen=$2 root=$3 cert=${4:-} key=${5:-} dir=$IT_DIR/$1 user= tls=
	mkdir -p "$dir/tmp" "$dir/logs"
	[ "$(id -u)" = 0 ] && user="user root;"
	[ -n "$cert" ] && tls="ssl; ssl_certificate $cert; ssl_certificate_key $key"
	cat >"$dir/nginx.conf" <<CONF
$user
worker_processes 1;
error_log $dir/error.log info;
events {
	worker_connections 512;
}
http {
	access_log $dir/logs/access.log;
	client_body_temp_path $dir/tmp/body;
	proxy_temp_path $dir/tmp/proxy;
	fastcgi_temp_path $dir/tmp/fastcgi;
	uwsgi_temp_path $dir/tmp/uwsgi;
	scgi_temp_path $dir/tmp/scgi;
	types {
		text/html html;
		application/octet-stream bin;
	}
	server {
		listen $listen $tls;
		root $root;
		keepalive_requests 1000;
		location = /xff {
			default_type text/plain;
			return 200 "xff=\$http_x_forwarded_for proto=\$http_x_forwarded_proto host=\$host\n";
		}
	}
}
CONF
	"$NGINX" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" -t >"$dir/t.out" 2>&1 ||
		fail "nginx $name rejects its configuration: $(cat "$dir/t.out")"
	start_bg "$name" "$NGINX" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" \
		-g "daemon off; pid $dir/nginx.pid;"
	wait_port "$listen" 10 || fail "nginx $name did not listen on $listen"
}

# web_site DIR TEXT: DIR/index.html, a page whose body says TEXT.
web_site() {
	mkdir -p "$1"
	printf '<!DOCTYPE html>\n<html><head><title>%s</title></head><body><h1 id="who">%s</h1></body></html>\n' \
		"$2" "$2" >"$1/index.html"
}

# web_agent NAME CONF [LINES...]: an rtun.conf for agent NAME, then its extra lines
# (services), then starts it; waits until rtund accepted its web services.
web_agent() {
	local name=$1 conf=$2
	shift 2
	write_conf "$conf" agent "server=$IT_ADDR:$(port 0)" "token=$IT_TOKEN" "name=$name" \
		"log_level=debug"
	printf '%s\n' "$@" >>"$conf"
	start_rtun "$name" "$conf"
}

# web_rtund KEY=VALUE...: rtund with both web listeners and the given keys on top.
web_rtund() {
	server_conf "$IT_DIR/rtund.conf" "http_listen=$WEB_HTTP" "https_listen=$WEB_HTTPS" \
		"allow_hosts=*.apps.test, apps.test, *.wild.apps.test" "metrics_listen=$IT_ADDR:$(port 90)" \
		"handshake_timeout=2" "$@"
	start_rtund rtund "$IT_DIR/rtund.conf"
}

# web_metric NAME LABELTEXT: the value of the first sample of NAME whose labels hold
# LABELTEXT, on rtund's metrics endpoint (empty if none).
web_metric() {
	curl -sS --max-time 5 "http://$IT_ADDR:$(port 90)/metrics" |
		awk -v n="$1" -v l="$2" 'index($1, n "{") == 1 && index($1, l) > 0 { print $2; exit }'
}

# web_certs DIR NAME...: a test CA (DIR/ca.pem) and, for each NAME, DIR/NAME.pem and
# DIR/NAME.key for that host name, issued by it, made with the openssl command line.
web_certs() {
	local dir=$1 name
	shift
	mkdir -p "$dir"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=rtun test CA $IT_NUM" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" >"$dir/openssl.log" 2>&1 ||
		hard_error "openssl could not make the CA: $(cat "$dir/openssl.log")"
	for name in "$@"; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
			-keyout "$dir/$name.key" -out "$dir/$name.csr" >>"$dir/openssl.log" 2>&1 &&
			printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n' "$name" \
				>"$dir/$name.ext" &&
			openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
				-CAcreateserial -days 2 -extfile "$dir/$name.ext" -out "$dir/$name.pem" \
				>>"$dir/openssl.log" 2>&1 ||
			hard_error "openssl could not make the certificate of $name: $(cat "$dir/openssl.log")"
	done
}
