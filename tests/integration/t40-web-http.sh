#!/bin/bash
# Web services on one shared http_listen, routed by Host: two agents, each behind its own
# real nginx serving a different page, claim different names; curl --resolve gets each
# its own page, keep-alive requests stay on their service, a 100 MiB download is
# sha256-exact, forwarded headers are added when asked; an unknown name gets 404, a name
# whose agent is gone 502, a name claimed by another agent is refused with the reason;
# bad requests (no Host, a 64 KiB head, a slowloris head, silence) get their documented
# answer in time while rtund keeps serving the others.
IT_NUM=40
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=web.sh
. "$(dirname "$0")/web.sh"

web_site "$IT_DIR/site-a" "page of agent A"
web_site "$IT_DIR/site-b" "page of agent B"
head -c $((100 << 20)) /dev/urandom >"$IT_DIR/site-a/big.bin"
big_sha=$(sha256sum <"$IT_DIR/site-a/big.bin" | cut -d' ' -f1)
web_nginx nginx-a "$IT_ADDR:$(port 1)" "$IT_DIR/site-a"
web_nginx nginx-b "$IT_ADDR:$(port 2)" "$IT_DIR/site-b"
web_rtund open_timeout=1
wait_port_closed "$IT_ADDR:$(port 3)" 2 || hard_error "$IT_ADDR:$(port 3) should be closed"
web_agent web-a "$IT_DIR/a.conf" "[service site]" "type = http" \
	"hosts = a.apps.test, *.wild.apps.test" "local = $IT_ADDR:$(port 1)" "forwarded_headers = yes" \
	"" "[service down]" "type = http" "hosts = down.apps.test" "local = $IT_ADDR:$(port 3)"
web_agent web-b "$IT_DIR/b.conf" "[service site]" "type = http" "hosts = b.apps.test, x.wild.apps.test" \
	"local = $IT_ADDR:$(port 2)"
wait_for_log web-a "service site: host names ready" 10 || fail "agent A's names were not accepted"
wait_for_log web-a "service down: host names ready" 10 || fail "agent A's second service was not accepted"
wait_for_log web-b "service site: host names ready" 10 || fail "agent B's names were not accepted"

# get NAME PATH [CURL ARGS...]: the body of http://NAME/PATH through http_listen.
get() {
	local name=$1 path=$2
	shift 2
	curl -sS --max-time 20 --resolve "$name:$(port 60):$IT_ADDR" "$@" "http://$name:$(port 60)$path"
}

# page NAME: whose page NAME gets ("A", "B"), from the page's heading.
page() {
	get "$1" / | sed -n -E 's|.*<h1 id="who">page of agent ([AB])</h1>.*|\1|p'
}

[ "$(page a.apps.test)" = A ] || fail "a.apps.test did not get agent A's page"
[ "$(page B.Apps.Test)" = B ] ||
	fail "B.Apps.Test did not get agent B's page (names are case-insensitive)"
# Exact beats the wildcard; the wildcard covers one label.
[ "$(page x.wild.apps.test)" = B ] ||
	fail "the exact claim x.wild.apps.test did not win over *.wild.apps.test"
[ "$(page y.wild.apps.test)" = A ] ||
	fail "y.wild.apps.test did not reach the wildcard's agent"
code=$(get z.y.wild.apps.test / -o /dev/null -w '%{http_code}')
[ "$code" = 404 ] || fail "z.y.wild.apps.test got $code, not 404 (a wildcard is one label)"
body=$(get nobody.apps.test /)
[ "$body" = "no service for this host name" ] || fail "an unknown name got '$body'"
code=$(get nobody.apps.test / -o /dev/null -w '%{http_code}')
[ "$code" = 404 ] || fail "an unknown name got $code, not 404"

# Keep-alive: two requests on one connection, both served by agent A's nginx.
get a.apps.test / -v -o /dev/null -o /dev/null "http://a.apps.test:$(port 60)/xff" \
	>"$IT_DIR/keepalive.out" 2>&1 || fail "the keep-alive requests failed"
grep -q "Re-using existing connection" "$IT_DIR/keepalive.out" ||
	fail "curl did not reuse the connection: $(cat "$IT_DIR/keepalive.out")"
[ "$(grep -c 'GET / HTTP/1.1\|GET /xff HTTP/1.1' "$IT_DIR/nginx-a/logs/access.log")" -ge 2 ] ||
	fail "nginx A did not see both keep-alive requests"

# Forwarded headers (asked for by agent A only): the user's address and the scheme.
xff=$(get a.apps.test /xff)
[ "$xff" = "xff=127.0.0.1 proto=http host=a.apps.test" ] || fail "forwarded headers: '$xff'"
xff=$(get a.apps.test /xff -H "X-Forwarded-For: 192.0.2.9")
[ "$xff" = "xff=192.0.2.9, 127.0.0.1 proto=http host=a.apps.test" ] ||
	fail "a client's X-Forwarded-For must come first: '$xff'"
[ "$(curl -sS --max-time 10 --resolve "b.apps.test:$(port 60):$IT_ADDR" \
	"http://b.apps.test:$(port 60)/xff")" = "xff= proto= host=b.apps.test" ] ||
	fail "agent B did not ask for forwarded headers but got them"

# 100 MiB through the shared port, sha256-exact.
got=$(get a.apps.test /big.bin | sha256sum | cut -d' ' -f1)
[ "$got" = "$big_sha" ] || fail "the 100 MiB download through http_listen is not intact"
note "100 MiB through http_listen: intact"

# A third agent claiming agent B's name is refused, naming B, in both logs.
web_agent web-c "$IT_DIR/c.conf" "[service site]" "type = http" "hosts = b.apps.test" \
	"local = $IT_ADDR:$(port 1)"
wait_for_log web-c "in use: b.apps.test is held by agent web-b" 10 ||
	fail "the agent claiming a taken name was not told who holds it"
wait_for_log rtund "service site refused: in use: b.apps.test is held by agent web-b" 5 ||
	fail "rtund did not log the refused claim"
[ "$(page b.apps.test)" = B ] ||
	fail "the refused claim changed where b.apps.test goes"

# Bad requests, each answered in time; rtund keeps serving the others.
# poke ARGS...: webpoke.py against http_listen, its report in $IT_DIR/poke.out and $out.
poke() {
	"$PYTHON" "$TOOLS/webpoke.py" --connect "$WEB_HTTP" "$@" >"$IT_DIR/poke.out" ||
		fail "webpoke.py $*: exit $?"
	out=$(cat "$IT_DIR/poke.out")
}
poke --send 'GET / HTTP/1.1\r\nX: y\r\n\r\n' --timeout 5
note "no Host: $out"
[ "$(kv status "$IT_DIR/poke.out")" = 400 ] || fail "a head without Host: $out"
poke --size 65536 --timeout 5
note "64 KiB head: $out"
[ "$(kv status "$IT_DIR/poke.out")" = 431 ] || fail "a 64 KiB head: $out"
poke --send 'GET / HTTP/1.1\r\nHost: a.apps.test\r\nX-Slow: 1234567890\r\n\r\n' \
	--trickle 5 --timeout 8
note "slowloris: $out"
[ "$(kv status "$IT_DIR/poke.out")" = 408 ] || fail "a slowloris head: $out"
awk -v e="$(kv elapsed "$IT_DIR/poke.out")" 'BEGIN { exit !(e >= 1.8 && e < 4) }' ||
	fail "the slowloris head was not cut at handshake_timeout (2 s): $out"
poke --timeout 8
note "silence: $out"
[ "$(kv status "$IT_DIR/poke.out")" = 408 ] || fail "a client that sends nothing: $out"
[ "$(page a.apps.test)" = A ] ||
	fail "rtund stopped serving after the bad requests"

# The agent cannot reach its local server: 502 with a whole answer, not a reset.
code=$(get down.apps.test / -o "$IT_DIR/down.body" -w '%{http_code}')
[ "$code" = 502 ] || fail "a service whose local server refuses got $code, not 502"
[ "$(cat "$IT_DIR/down.body")" = "the service cannot be reached" ] ||
	fail "the 502 body: $(cat "$IT_DIR/down.body")"
# An agent that does not answer OPEN (stopped) within open_timeout: 504.
kill -STOP "$(pid_of web-b)"
code=$(get b.apps.test / -o /dev/null -w '%{http_code} %{time_total}')
kill -CONT "$(pid_of web-b)"
note "stopped agent: $code"
[ "${code% *}" = 504 ] || fail "a name whose agent does not answer got ${code% *}, not 504"
[ "$(page b.apps.test)" = B ] || fail "b.apps.test did not recover after the agent went on"

# Agent B goes away: its names answer 502 at once, and work again when it is back.
stop_pid "$(pid_of web-b)"
wait_for_log rtund "agent web-b" 5
for ((i = 0; i < 50; i++)); do
	code=$(get b.apps.test / -o /dev/null -w '%{http_code}')
	[ "$code" = 502 ] && break
	sleep 0.1
done
[ "$code" = 502 ] || fail "b.apps.test without its agent got $code, not 502"
start_rtun web-b2 "$IT_DIR/b.conf"
wait_for_log web-b2 "service site: host names ready" 10 || fail "agent B did not come back"
[ "$(page b.apps.test)" = B ] ||
	fail "b.apps.test did not work again once its agent was back"

routed=$(web_metric rtund_vhost_connections_total 'host="a.apps.test"')
[ "${routed:-0}" -ge 5 ] || fail "rtund_vhost_connections_total for a.apps.test is '${routed}'"
[ "$(web_metric rtund_vhost_refused_total 'reason="unknown_host"')" -ge 2 ] ||
	fail "unknown names were not counted"
expect_alive rtund
expect_alive web-a
exit 0
