#!/bin/bash
# Nothing a peer sends forges a log line. A fake agent puts line breaks, ANSI and C1
# escapes, a fake escape and invalid UTF-8 (tests/tools/rtunwire.py HOSTILE) in its
# ClientHello name, a declared service name, a RESET reason, a GOAWAY reason and an Error
# message to rtund; a fake server puts them in an AuthResult message, a GOAWAY reason,
# DeclareResult reasons and names, OPEN's service, peer and dest, a RESET reason and an
# Error message to rtun; an HTTP client sends a bad request target. Both daemons log at debug, so every line that quotes peer text is
# written. Every line of both logs must start with the timestamp prefix, and the escaped
# forms must be there.
IT_NUM=24
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# How log.c writes HOSTILE and HOSTILE_NAME.
esc_text='x\x0a2000-01-01T00:00:00.000Z rtund[1]: error: FORGED\x0d\x1b[31mred\x1b[0m\xc2\x9b2J\x5cx0a\xff\xc0\xaf\xe2\x82'
esc_name='s\x0aFORGED\x0d\x1b[2J\xff\xc0\xaf'

# check_log NAME PROG: every line of NAME's log is a log line of PROG with its PID (the
# forged line imitates rtund's prefix, with another PID).
check_log() {
	local bad
	bad=$(grep -a -v -E "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z $2\[$(pid_of "$1")\]: (error|warn|info|debug): " \
		"$IT_DIR/$1.log")
	[ -z "$bad" ] || fail "$1 wrote lines without the log prefix:
$(printf '%s\n' "$bad" | head -n 10 | cat -v)"
}

# expect_text NAME TEXT WHAT: NAME's log holds TEXT (how WHAT is logged).
expect_text() {
	[ "$(log_count "$1" "$2")" -gt 0 ] || fail "$1 did not log $3 escaped as '$2'"
}

start_tool target echo-server --listen "$IT_ADDR:$(port 60)"

note "rtund and a hostile agent"
server_conf "$IT_DIR/rtund.conf" log_level=debug "metrics_listen=$IT_ADDR:$(port 2)"
start_rtund rtund "$IT_DIR/rtund.conf"
# An HTTP request target is peer text too (http-parser lets bytes >= 0x80 through).
"$PYTHON" -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b"GET /metrics\xff\xc0\xaf\xe2\x82 HTTP/1.1\r\nHost: x\r\n\r\n")
s.recv(4096)
' "$IT_ADDR" "$(port 2)" || fail "no answer from the metrics endpoint"
agent_addr=$IT_ADDR:$(port 0)
fakeagent --connect "$agent_addr" --token "$IT_TOKEN" --mode hostile-hello --timeout 8 \
	>"$IT_DIR/hello.out" 2>"$IT_DIR/hello.err" || fail "hostile-hello: $(cat "$IT_DIR/hello.err")"
wait_for_log rtund "bad agent name" 5 || fail "rtund did not refuse the hostile agent name"
for end in goaway error; do
	p=$(port 10)
	[ "$end" = error ] && p=$(port 11)
	start_bg "fake-$end" "$PYTHON" "$TOOLS/fakeagent.py" --connect "$agent_addr" \
		--name "hostile-$end" --token "$IT_TOKEN" --timeout 15 --mode hostile --end "$end" \
		--service "ok:$p"
	wait_for_file "$IT_DIR/fake-$end.out" "declare ok=ok" 10 ||
		fail "fake agent ($end) did not get its port: $(cat "$IT_DIR/fake-$end.log")"
	tcptool wait-close --connect "$IT_ADDR:$p" --within 10 >/dev/null ||
		fail "the user's connection on port $p was not closed"
	wait_exit "$(pid_of "fake-$end")" 15 || fail "fake agent ($end) did not finish"
	[ "$EXIT_STATUS" = 0 ] || fail "fake agent ($end): $(cat "$IT_DIR/fake-$end.log")"
done
wait_for_log rtund "link closed: agent reported an error" 5 ||
	fail "rtund did not close the link of the agent that sent Error"
expect_alive rtund
check_log rtund rtund
expect_text rtund "service $esc_name port 1 refused: invalid: bad service name" \
	"a declared service name"
expect_text rtund "peer reset: $esc_text" "a RESET reason"
expect_text rtund "link closed: $esc_text" "a GOAWAY reason"
expect_text rtund "agent reported error 2: $esc_text" "an Error message"
expect_text rtund 'GET /metrics\xff\xc0\xaf\xe2\x82 -> 404' "an HTTP request target"

note "rtun and a hostile server"
start_bg fakeserver "$PYTHON" "$TOOLS/fakeserver.py" --listen "$IT_ADDR:$(port 1)" \
	--token "$IT_TOKEN" --scenario auth-refused --scenario bad-proof \
	--scenario declare-reason --scenario declare-name --scenario goaway
wait_for_file "$IT_DIR/fakeserver.out" "listening=" 10 || fail "fakeserver did not start"
agent_conf "$IT_DIR/rtun.conf" "server=$IT_ADDR:$(port 1)" log_level=debug \
	reconnect_min=100ms reconnect_max=200ms "svc:web=$IT_ADDR:$(port 60),$(port 12)"
start_rtun rtun "$IT_DIR/rtun.conf"
wait_exit "$(pid_of fakeserver)" 60 || fail "fakeserver did not finish its scenarios"
[ "$EXIT_STATUS" = 0 ] || fail "fakeserver: $(cat "$IT_DIR/fakeserver.log")"
wait_for_log rtun "link lost: " 5 5 || fail "rtun did not log five lost links"
expect_alive rtun
check_log rtun rtun
expect_text rtun "link lost: $esc_text" "a GOAWAY reason"
expect_text rtun "authentication failed: $esc_text" "an AuthResult message"
expect_text rtun "the server could not prove it knows the token" "a bad server proof"
expect_text rtun "service web: remote port $(port 12) refused: $esc_text" \
	"a DeclareResult reason"
expect_text rtun "stream 2 for unknown service '$esc_name'" "an OPEN's service"
expect_text rtun "stream 4: user $esc_text for service web" "an OPEN's peer"
expect_text rtun "peer reset: $esc_text" "a RESET reason"
expect_text rtun "server error: $esc_text" "an Error message"
expect_text rtun "bad service name in result" "a DeclareResult name"
exit 0
