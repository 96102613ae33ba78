#!/bin/bash
# A real browser through the shared web ports: headless Chromium, with the host names
# mapped to rtund's address by --host-resolver-rules, loads a page through http_listen and
# one through https_listen (the site's own certificate, pinned by its key for Chromium),
# and the test reads the rendered DOM: the heading text is set by the page's script, so
# only a browser that ran it shows it.
IT_NUM=42
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=web.sh
. "$(dirname "$0")/web.sh"
CHROMIUM=${CHROMIUM:-$(command -v chromium || echo /usr/bin/chromium)}
[ -x "$CHROMIUM" ] || skip "chromium not installed"
command -v openssl >/dev/null 2>&1 || skip "openssl command not found"

pki=$IT_DIR/pki
web_certs "$pki" s.apps.test
# site DIR TEXT: a page whose heading only its script fills in.
site() {
	mkdir -p "$1"
	cat >"$1/index.html" <<HTML
<!DOCTYPE html>
<html><head><title>t42</title></head>
<body><h1 id="who">not rendered</h1>
<script>document.getElementById("who").textContent = "rendered: " + "$2" + " via " + location.host;</script>
</body></html>
HTML
}
site "$IT_DIR/site-h" "plain page"
site "$IT_DIR/site-s" "tls page"
web_nginx nginx-h "$IT_ADDR:$(port 1)" "$IT_DIR/site-h"
web_nginx nginx-s "$IT_ADDR:$(port 2)" "$IT_DIR/site-s" "$pki/s.apps.test.pem" "$pki/s.apps.test.key"
web_rtund
web_agent web "$IT_DIR/a.conf" "[service plain]" "type = http" "hosts = h.apps.test" \
	"local = $IT_ADDR:$(port 1)" "" "[service tls]" "type = https" "hosts = s.apps.test" \
	"local = $IT_ADDR:$(port 2)"
wait_for_log web "service plain: host names ready" 10 || fail "the http service was not accepted"
wait_for_log web "service tls: host names ready" 10 || fail "the https service was not accepted"
# Chromium trusts the site's certificate by its public key's SHA-256 (base64).
spki=$(openssl x509 -in "$pki/s.apps.test.pem" -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64)

# browse URL OUT: the DOM Chromium rendered for URL, into OUT.
browse() {
	# Every other name resolves to nothing: the browser talks to no one but rtund.
	timeout 60 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --no-first-run \
		--disable-dev-shm-usage --disable-extensions --disable-background-networking \
		--disable-sync --disable-component-update --disable-domain-reliability \
		--no-default-browser-check --user-data-dir="$IT_DIR/chrome" \
		--host-resolver-rules="MAP h.apps.test $IT_ADDR, MAP s.apps.test $IT_ADDR, MAP * ~NOTFOUND" \
		--ignore-certificate-errors-spki-list="$spki" \
		--dump-dom "$1" >"$2" 2>"$2.err"
}
browse "http://h.apps.test:$(port 60)/" "$IT_DIR/plain.dom" ||
	fail "chromium failed on http_listen: $(tail -3 "$IT_DIR/plain.dom.err")"
grep -q "rendered: plain page via h.apps.test:$(port 60)" "$IT_DIR/plain.dom" ||
	fail "the page through http_listen did not render: $(cat "$IT_DIR/plain.dom")"
note "http_listen: $(grep -o 'rendered: [^<]*' "$IT_DIR/plain.dom")"
browse "https://s.apps.test:$(port 61)/" "$IT_DIR/tls.dom" ||
	fail "chromium failed on https_listen: $(tail -3 "$IT_DIR/tls.dom.err")"
grep -q "rendered: tls page via s.apps.test:$(port 61)" "$IT_DIR/tls.dom" ||
	fail "the page through https_listen did not render: $(cat "$IT_DIR/tls.dom")"
note "https_listen: $(grep -o 'rendered: [^<]*' "$IT_DIR/tls.dom")"
[ "$(web_metric rtund_vhost_connections_total 'host="s.apps.test"')" -ge 1 ] ||
	fail "the browser's TLS connection was not counted for s.apps.test"
expect_alive rtund
expect_alive web
exit 0
