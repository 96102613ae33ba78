#!/bin/bash
# Web services on one shared https_listen, routed by the TLS server name without
# decrypting: two agents behind their own nginx, each with its own certificate made by the
# test; curl with the test CA verifies each name end to end through rtund, which holds no
# key; an unknown name gets a TLS unrecognized_name alert, a hello without a name, a
# garbage extension list, something that is not TLS and silence are closed in time, and
# rtund keeps serving the others.
IT_NUM=41
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=web.sh
. "$(dirname "$0")/web.sh"
command -v openssl >/dev/null 2>&1 || skip "openssl command not found"

pki=$IT_DIR/pki
web_certs "$pki" a.apps.test b.apps.test
web_site "$IT_DIR/site-a" "page of agent A"
web_site "$IT_DIR/site-b" "page of agent B"
head -c $((32 << 20)) /dev/urandom >"$IT_DIR/site-b/big.bin"
big_sha=$(sha256sum <"$IT_DIR/site-b/big.bin" | cut -d' ' -f1)
web_nginx nginx-a "$IT_ADDR:$(port 1)" "$IT_DIR/site-a" "$pki/a.apps.test.pem" "$pki/a.apps.test.key"
web_nginx nginx-b "$IT_ADDR:$(port 2)" "$IT_DIR/site-b" "$pki/b.apps.test.pem" "$pki/b.apps.test.key"
web_rtund
web_agent web-a "$IT_DIR/a.conf" "[service site]" "type = https" "hosts = a.apps.test" \
	"local = $IT_ADDR:$(port 1)"
web_agent web-b "$IT_DIR/b.conf" "[service site]" "type = https" "hosts = b.apps.test" \
	"local = $IT_ADDR:$(port 2)"
wait_for_log web-a "service site: host names ready" 10 || fail "agent A's name was not accepted"
wait_for_log web-b "service site: host names ready" 10 || fail "agent B's name was not accepted"
# rtund has no certificate and no key of any site.
! grep -q 'tls_cert\|tls_key' "$IT_DIR/rtund.conf" || hard_error "rtund.conf names a certificate"

# get NAME PATH [CURL ARGS...]: https://NAME/PATH through https_listen, verified with the CA.
get() {
	local name=$1 path=$2
	shift 2
	curl -sS --max-time 20 --cacert "$pki/ca.pem" --resolve "$name:$(port 61):$IT_ADDR" "$@" \
		"https://$name:$(port 61)$path"
}
page() {
	get "$1" / | sed -n -E 's|.*<h1 id="who">page of agent ([AB])</h1>.*|\1|p'
}

[ "$(page a.apps.test)" = A ] || fail "a.apps.test did not get agent A's page over verified TLS"
[ "$(page b.apps.test)" = B ] || fail "b.apps.test did not get agent B's page over verified TLS"
# The certificate curl verified is the private server's own.
get a.apps.test / -v -o /dev/null 2>"$IT_DIR/curl-a.err" || fail "curl a.apps.test failed"
grep -q "subject: CN=a.apps.test" "$IT_DIR/curl-a.err" ||
	fail "the certificate seen is not nginx A's: $(grep -i subject "$IT_DIR/curl-a.err")"
grep -q "SSL certificate verify ok" "$IT_DIR/curl-a.err" || fail "curl did not verify the chain"
got=$(get b.apps.test /big.bin | sha256sum | cut -d' ' -f1)
[ "$got" = "$big_sha" ] || fail "32 MiB through https_listen is not intact"
note "32 MiB through https_listen: intact, verified end to end"

# poke ARGS...: webpoke.py against https_listen, its report in $IT_DIR/poke.out.
poke() {
	"$PYTHON" "$TOOLS/webpoke.py" --connect "$WEB_HTTPS" "$@" >"$IT_DIR/poke.out" ||
		fail "webpoke.py $*: exit $?"
	note "$* -> $(cat "$IT_DIR/poke.out")"
}
poke --hello nobody.apps.test --timeout 5
[ "$(kv alert "$IT_DIR/poke.out")" = 112 ] || fail "an unknown name got no unrecognized_name alert"
[ "$(kv end "$IT_DIR/poke.out")" = eof ] || fail "an unknown name was not closed"
poke --hello-none --timeout 5
[ "$(kv alert "$IT_DIR/poke.out")" = 112 ] || fail "a hello without a name got no alert"
poke --hello-garbage a.apps.test --timeout 5
[ "$(kv end "$IT_DIR/poke.out")" = eof ] && [ "$(kv bytes "$IT_DIR/poke.out")" = 0 ] ||
	fail "a hello with a garbage extension list was not closed without an answer"
poke --send 'GET / HTTP/1.1\r\nHost: a.apps.test\r\n\r\n' --timeout 5
[ "$(kv end "$IT_DIR/poke.out")" = eof ] && [ "$(kv bytes "$IT_DIR/poke.out")" = 0 ] ||
	fail "plain HTTP on https_listen was not closed"
poke --timeout 8
[ "$(kv end "$IT_DIR/poke.out")" = eof ] || fail "a client that sends nothing was not closed"
awk -v e="$(kv elapsed "$IT_DIR/poke.out")" 'BEGIN { exit !(e >= 1.8 && e < 4) }' ||
	fail "silence was not cut at handshake_timeout (2 s)"
# openssl's own client sees the alert as such.
openssl s_client -connect "$WEB_HTTPS" -servername nobody.apps.test </dev/null \
	>"$IT_DIR/s_client.out" 2>&1
grep -qi "unrecognized name" "$IT_DIR/s_client.out" ||
	fail "openssl s_client did not report unrecognized name: $(tail -3 "$IT_DIR/s_client.out")"
[ "$(page a.apps.test)" = A ] || fail "rtund stopped serving after the bad hellos"
[ "$(web_metric rtund_vhost_refused_total 'listener="https",reason="unknown_host"')" -ge 3 ] ||
	fail "refusals on https_listen were not counted"
expect_alive rtund
exit 0
