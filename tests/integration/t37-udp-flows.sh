#!/bin/bash
# UDP flows at scale: 1000 concurrent flows, each a user socket of its own, through one UDP
# service to a UDP echo server behind the agent, each sending distinct datagrams; every
# reply must come back to its own source with its own bytes.  The flows then expire after
# udp_idle_timeout (the agent's, shorter than rtund's) as clean ends at both sides:
# rtund_udp_flows_open and rtun_udp_flows_open return to 0, the totals count all 1000, no
# stream was reset, and the agent holds no flow socket any more.  The agent's udp_max_flows
# refuses flows beyond it, and rtund's (lowered by a reload) drops datagrams from new
# sources beyond it, both counted, while the flows within the limits are served.  On
# SIGTERM rtund ends its flows at once rather than wait for them to fall silent.
IT_NUM=37
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=udp.sh
. "$(dirname "$0")/udp.sh"

ulimit -n 8192 || fail "cannot raise the descriptor limit for 1000 user sockets"
SMET=$IT_ADDR:$(port 90)
AMET=$IT_ADDR:$(port 91)
start_udptool echo echo-server --listen "$IT_ADDR:$(port 1)" --timeout 250
tunnel_up "server:metrics_listen=$SMET" "agent:metrics_listen=$AMET" \
	server:udp_idle_timeout=4s \
	"svc:echo=$IT_ADDR:$(port 1),$(port 10),type=udp,udp_idle_timeout=2s" \
	"svc:small=$IT_ADDR:$(port 1),$(port 11),type=udp,udp_max_flows=10"
agent_pid=$(pid_of rtun)
fds0=$(find "/proc/$agent_pid/fd" -mindepth 1 -maxdepth 1 | wc -l)

note "1000 concurrent flows, 3 distinct datagrams each"
udptool flows --connect "$IT_ADDR:$(port 10)" --flows 1000 --count 3 --size 200 \
	--timeout 60 >"$IT_DIR/flows.out" 2>&1 || fail "flows: $(cat "$IT_DIR/flows.out")"
t_done=$(now_ms)
note "flows: $(cat "$IT_DIR/flows.out")"
[ "$(kv flows_ok "$IT_DIR/flows.out")" = 1000 ] || fail "not every flow got every reply"
[ "$(kv wrong "$IT_DIR/flows.out")" = 0 ] || fail "replies reached the wrong flow"
svc='service="echo"'
for prog in rtund rtun; do
	addr=$SMET
	[ "$prog" = rtun ] && addr=$AMET
	n=$(metric "$addr" "${prog}_udp_flows_total" "$svc")
	[ "$n" = 1000 ] || fail "${prog}_udp_flows_total is $n, not 1000"
	n=$(metric "$addr" "${prog}_udp_datagrams_in_total" "$svc")
	[ "$n" -ge 3000 ] || fail "${prog}_udp_datagrams_in_total is $n, not at least 3000"
	n=$(metric "$addr" "${prog}_udp_datagrams_out_total" "$svc")
	[ "$n" -ge 3000 ] || fail "${prog}_udp_datagrams_out_total is $n, not at least 3000"
	n=$(metric "$addr" "${prog}_udp_dropped_total" "$svc")
	[ "$n" = 0 ] || fail "${prog}_udp_dropped_total is $n under a paced load"
done
fds=$(find "/proc/$agent_pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
note "the agent holds $fds descriptors ($fds0 before the flows)"

note "the flows expire after the agent's udp_idle_timeout (2 s), cleanly at both ends"
wait_metric "$SMET" rtund_udp_flows_open "$svc" == 0 15 || fail "rtund's flows did not expire"
t_gone=$(now_ms)
wait_metric "$AMET" rtun_udp_flows_open "$svc" == 0 5 || fail "the agent's flows did not expire"
wait_metric "$SMET" rtund_streams_open "" == 0 5 || fail "rtund still has streams"
wait_metric "$AMET" rtun_streams_open "" == 0 5 || fail "the agent still has streams"
note "all 1000 flows gone $((t_gone - t_done)) ms after the last reply"
[ $((t_gone - t_done)) -ge 1500 ] || fail "the flows went before udp_idle_timeout"
[ "$(metric "$SMET" rtund_idle_timeouts_total)" = 0 ] || fail "rtund reset idle streams"
[ "$(metric "$AMET" rtun_idle_timeouts_total)" = 0 ] || fail "the agent reset idle streams"
[ "$(metric "$SMET" rtund_udp_flows_total "$svc")" = 1000 ] || fail "rtund counted more flows"
fds1=$(find "/proc/$agent_pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
note "the agent holds $fds1 descriptors after the expiry"
[ "$fds1" -le $((fds0 + 5)) ] || fail "the agent kept its flows' sockets ($fds1, $fds0 before)"
[ "$fds" -ge $((fds0 + 1000)) ] || fail "the agent did not have a socket per flow ($fds)"

note "the agent's udp_max_flows (10) refuses flows beyond it"
udptool flows --connect "$IT_ADDR:$(port 11)" --flows 15 --count 2 --tries 2 --retry 0.5 \
	--timeout 10 --allow-loss >"$IT_DIR/small.out" 2>&1 || fail "small: $(cat "$IT_DIR/small.out")"
note "small: $(cat "$IT_DIR/small.out")"
[ "$(kv flows_ok "$IT_DIR/small.out")" = 10 ] || fail "not 10 flows served within the agent's limit"
[ "$(kv flows_none "$IT_DIR/small.out")" = 5 ] || fail "not 5 flows refused beyond it"
n=$(metric "$AMET" rtun_udp_dropped_total 'service="small",reason="flows"')
[ "$n" -ge 5 ] || fail "rtun_udp_dropped_total{reason=\"flows\"} is $n"
wait_for_log rtun "service small: udp_max_flows (10) reached; refusing new flows" 5 ||
	fail "the agent did not log its flow limit"
[ "$(metric "$AMET" rtun_udp_flows_open 'service="small"')" = 10 ] ||
	fail "the agent does not hold exactly 10 flows of small"

note "rtund's udp_max_flows, lowered to 5 by a reload, drops datagrams of new sources"
wait_metric "$SMET" rtund_udp_flows_open 'service="small"' == 0 15 || fail "small's flows stay"
sed -i 's/^udp_idle_timeout = .*/&\nudp_max_flows = 5/' "$IT_DIR/rtund.conf"
kill -HUP "$(pid_of rtund)"
wait_for_log rtund "configuration reloaded" 5 || fail "rtund did not reload"
udptool flows --connect "$IT_ADDR:$(port 10)" --flows 10 --count 2 --tries 2 --retry 0.5 \
	--timeout 10 --allow-loss >"$IT_DIR/limited.out" 2>&1 ||
	fail "limited: $(cat "$IT_DIR/limited.out")"
note "limited: $(cat "$IT_DIR/limited.out")"
[ "$(kv flows_ok "$IT_DIR/limited.out")" = 5 ] || fail "not 5 flows within rtund's limit"
[ "$(kv flows_none "$IT_DIR/limited.out")" = 5 ] || fail "not 5 flows dropped beyond it"
n=$(metric "$SMET" rtund_udp_dropped_total "$svc,reason=\"flows\"")
[ "$n" -ge 5 ] || fail "rtund_udp_dropped_total{reason=\"flows\"} is $n"
wait_for_log rtund "service echo: udp_max_flows reached; dropping datagrams from new sources" 5 ||
	fail "rtund did not log its flow limit"
expect_alive rtund
expect_alive rtun

note "SIGTERM with flows open: rtund ends them at once instead of waiting for their expiry"
udptool flows --connect "$IT_ADDR:$(port 11)" --flows 5 --count 1 --timeout 10 \
	>"$IT_DIR/last.out" 2>&1 || fail "last: $(cat "$IT_DIR/last.out")"
[ "$(metric "$SMET" rtund_udp_flows_open 'service="small"')" = 5 ] || fail "no flows open"
t0=$(now_ms)
kill -TERM "$(pid_of rtund)"
wait_exit "$(pid_of rtund)" 10 || fail "rtund did not exit"
[ "$EXIT_STATUS" = 0 ] || fail "rtund exited $EXIT_STATUS"
note "rtund exited $(($(now_ms) - t0)) ms after SIGTERM"
[ $(($(now_ms) - t0)) -lt 2500 ] || fail "rtund waited for its UDP flows to expire"
exit 0
