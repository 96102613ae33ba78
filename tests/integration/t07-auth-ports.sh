#!/bin/bash
# Authentication and port claims: a wrong token is refused; a port outside allow_ports is
# refused "not allowed"; a port another agent holds is refused "in use"; the same agent
# name connecting again supersedes the old link and takes its ports at once.
IT_NUM=7
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_tool echoA echo-server --listen "$IT_ADDR:$(port 1)" --greet alpha1
start_tool echoB echo-server --listen "$IT_ADDR:$(port 2)" --greet alpha2
server_conf "$IT_DIR/rtund.conf"
start_rtund rtund "$IT_DIR/rtund.conf"

note "wrong token"
agent_conf "$IT_DIR/intruder.conf" name=intruder token=not-the-token \
	"svc:sneak=$IT_ADDR:$(port 1),$(port 12)"
start_rtun intruder "$IT_DIR/intruder.conf"
wait_for_log intruder "authentication failed" 10 || fail "the agent did not log the refusal"
wait_for_log rtund "authentication failed from 127.0.0.1 for agent 'intruder'" 5 || fail "rtund did not log the refusal"
tcptool probe --connect "$IT_ADDR:$(port 12)" --until open --within 2 >/dev/null &&
	fail "port $(port 12) opened for an agent with a wrong token"
stop_pid "$(pid_of intruder)"
fakeagent --connect "$IT_ADDR:$(port 0)" --mode wrong-token --token nope --name fake7 \
	--timeout 10 >"$IT_DIR/fake.out" 2>"$IT_DIR/fake.err" ||
	fail "fake agent with a wrong token: $(cat "$IT_DIR/fake.err")"
cat "$IT_DIR/fake.out"

note "a port outside allow_ports"
agent_conf "$IT_DIR/alpha1.conf" name=alpha reconnect_min=30s reconnect_max=60s \
	"svc:ok=$IT_ADDR:$(port 1),$(port 10)" "svc:bad=$IT_ADDR:$(port 1),$(port 60)"
start_rtun alpha1 "$IT_DIR/alpha1.conf"
wait_for_log alpha1 "service ok: remote port $(port 10) ready" 10 || fail "service ok never ready"
wait_for_log alpha1 "service bad: remote port $(port 60) refused: not allowed" 5 ||
	fail "no 'not allowed' refusal in the agent's log"
wait_for_log rtund "service bad port $(port 60) refused: not allowed" 5 ||
	fail "no 'not allowed' refusal in rtund's log"
wait_port_closed "$IT_ADDR:$(port 60)" 1 || fail "port $(port 60) is open"
tcptool echo-client --connect "$IT_ADDR:$(port 10)" --greet alpha1 --timeout 10 >/dev/null ||
	fail "service ok does not reach alpha1's target"

note "a port held by another agent"
agent_conf "$IT_DIR/beta.conf" name=beta "svc:dup=$IT_ADDR:$(port 2),$(port 10)"
start_rtun beta "$IT_DIR/beta.conf"
wait_for_log beta "service dup: remote port $(port 10) refused: in use" 10 ||
	fail "no 'in use' refusal in the second agent's log"
wait_for_log rtund "service dup port $(port 10) refused: in use" 5 ||
	fail "no 'in use' refusal in rtund's log"
tcptool echo-client --connect "$IT_ADDR:$(port 10)" --greet alpha1 --timeout 10 >/dev/null ||
	fail "the port moved away from its holder"
stop_pid "$(pid_of beta)"

note "the same agent again, while the first still runs"
agent_conf "$IT_DIR/alpha2.conf" name=alpha reconnect_min=30s reconnect_max=60s \
	"svc:ok=$IT_ADDR:$(port 2),$(port 10)" "svc:bad=$IT_ADDR:$(port 2),$(port 60)"
start_rtun alpha2 "$IT_DIR/alpha2.conf"
wait_for_log alpha2 "service ok: remote port $(port 10) ready" 10 ||
	fail "the new link did not get port $(port 10)"
wait_for_log rtund "superseded" 5 || fail "rtund did not log 'superseded'"
[ "$(log_count alpha2 "in use")" = 0 ] || fail "the new link was told 'in use'"
tcptool echo-client --connect "$IT_ADDR:$(port 10)" --greet alpha2 --conns 3 --timeout 10 \
	>/dev/null || fail "port $(port 10) does not reach the new agent's target"
expect_alive rtund
expect_alive alpha2
exit 0
