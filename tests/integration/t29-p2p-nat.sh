#!/bin/bash
# Direct links through cone NATs, in the NAT lab of natlab.sh: rtund on PUB, agent bee on B
# with p2p services, agent ayy on A and agent ayy2 on A2 (behind A's router) visiting them.
#   - allow_peers: ayy2, not in the allow_peers of bee's service, is refused the
#     rendezvous (its log and rtund's say why) and, in mode auto, the relay as well: its
#     user is reset and rtund_relay_refused_total grows;
#   - same NAT: ayy2 visits ayy's service over a direct link to ayy's LAN address, not
#     through the router's public address (no hairpin);
#   - cone x cone: ayy gets a direct link to bee, up with RB's public address; a transfer
#     through ayy's visitor port goes over it (the relay carries no byte); and once rtund
#     is stopped, a 64 MiB transfer still goes through, intact.
IT_NUM=29
IT_TIMEOUT=${IT_TIMEOUT:-240}
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=natlab.sh
. "$(dirname "$0")/natlab.sh"
# shellcheck source-path=SCRIPTDIR source=p2p.sh
. "$(dirname "$0")/p2p.sh"
command -v curl >/dev/null 2>&1 || skip "curl is needed to read the metrics"

sink_port=$(port 1)       # B: sha-server, 1 MiB replies
bulk_port=$(port 2)       # B: sha-server, 64 MiB replies
own_port=$(port 3)        # A: sha-server, ayy's own service
v_sink=127.0.0.1:$(port 4) # A: visitor of bee's sink
v_bulk=127.0.0.1:$(port 5) # A: visitor of bee's bulk
v_own=127.0.0.1:$(port 6)  # A2: visitor of ayy's own
v_stray=127.0.0.1:$(port 7) # A2: visitor of bee's sink, which does not allow ayy2

natlab_up cone cone with_a2
p2p_rtund rtund

natlab_with b start_tool sink sha-server --listen "127.0.0.1:$sink_port" --send 1M
natlab_with b start_tool bulk sha-server --listen "127.0.0.1:$bulk_port" --send 64M
natlab_with a start_tool own sha-server --listen "127.0.0.1:$own_port" --send 1M

p2p_agent_conf "$IT_DIR/bee.conf" bee
p2p_service "$IT_DIR/bee.conf" sink "127.0.0.1:$sink_port" ayy
p2p_service "$IT_DIR/bee.conf" bulk "127.0.0.1:$bulk_port" ayy
p2p_start b bee "$IT_DIR/bee.conf"
wait_for_log bee "service sink: ready for visitors" 10 || fail "bee's sink never ready"

p2p_agent_conf "$IT_DIR/ayy.conf" ayy
p2p_service "$IT_DIR/ayy.conf" own "127.0.0.1:$own_port" ayy2
p2p_visitor "$IT_DIR/ayy.conf" v-sink bee sink "$v_sink" auto
p2p_visitor "$IT_DIR/ayy.conf" v-bulk bee bulk "$v_bulk" direct
p2p_start a ayy "$IT_DIR/ayy.conf"

note "cone x cone: ayy visits bee"
wait_for_log ayy "direct link to bee up" 20 || fail "no direct link from ayy to bee"
# Before ayy2 comes: the gauge counts the direct links from visitors as well.
wait_metric a rtun_direct_links_up "" 1 5 ||
	fail "ayy's rtun_direct_links_up is $(metric a rtun_direct_links_up), want 1"
peer=$(p2p_direct_peer ayy bee)
case $peer in
"$NATLAB_RB_IP":*) ;;
*) fail "ayy's direct link to bee is up with $peer, not RB's public address $NATLAB_RB_IP" ;;
esac
note "cone x cone: direct link up with $peer after $(p2p_direct_secs ayy bee) s"

p2p_agent_conf "$IT_DIR/ayy2.conf" ayy2
p2p_visitor "$IT_DIR/ayy2.conf" v-own ayy own "$v_own" auto
p2p_visitor "$IT_DIR/ayy2.conf" v-stray bee sink "$v_stray" auto
p2p_start a2 ayy2 "$IT_DIR/ayy2.conf"

note "allow_peers: ayy2 is not among those of bee's sink"
wait_for_log ayy2 "rtund refused the rendezvous" 15 ||
	fail "ayy2 was never told that rtund refused its rendezvous with bee"
grep -F "rtund refused the rendezvous" "$IT_DIR/ayy2.log" | grep -q -F allow_peers ||
	fail "ayy2's refusal does not name allow_peers: $(grep -F 'refused the rendezvous' "$IT_DIR/ayy2.log")"
grep -E "rendezvous ayy2 -> bee \(service sink\) refused: .*allow_peers" "$IT_DIR/rtund.log" \
	>/dev/null || fail "rtund logged no refusal of ayy2's rendezvous that names allow_peers"
note "ayy2: $(grep -F 'rtund refused the rendezvous' "$IT_DIR/ayy2.log" | head -n 1 | sed 's/^.*direct link/direct link/')"
refused0=$(metric pub rtund_relay_refused_total)
natlab_with a2 tcptool wait-close --connect "$v_stray" --within 10 >"$IT_DIR/stray.out" 2>&1 ||
	fail "ayy2's user of bee's sink was not closed within 10 s: $(cat "$IT_DIR/stray.out")"
[ "$(kv closed "$IT_DIR/stray.out")" = reset ] ||
	fail "ayy2's user of bee's sink was not reset: $(cat "$IT_DIR/stray.out")"
wait_metric pub rtund_relay_refused_total "" $((refused0 + 1)) 5 ||
	fail "rtund_relay_refused_total went from $refused0 to $(metric pub rtund_relay_refused_total), want +1"
grep -q -F "relay refused" "$IT_DIR/rtund.log" || fail "rtund logged no relay refusal"
grep -q -F "visitor v-stray: refusing" "$IT_DIR/ayy2.log" &&
	note "ayy2: $(grep -F 'visitor v-stray: refusing' "$IT_DIR/ayy2.log" | head -n 1)"
note "allow_peers: rendezvous and relay refused, the user reset after $(kv elapsed "$IT_DIR/stray.out") s"

note "same NAT: ayy2 visits ayy's own service"
wait_for_log ayy2 "direct link to ayy up" 20 || fail "no direct link from ayy2 to ayy"
peer=$(p2p_direct_peer ayy2 ayy)
case $peer in
"$NATLAB_A_IP":*) ;;
*) fail "ayy2's direct link to ayy is up with $peer, not A's LAN address $NATLAB_A_IP" ;;
esac
p2p_sha a2 own-user "$v_own" 1M 30 || fail "own-user: $(cat "$IT_DIR/own-user.err")"
expect_intact own-user own
[ "$(metric a2 rtun_visitor_connections_total 'path="direct"')" = 1 ] ||
	fail "ayy2's visitor did not go direct: $(metric a2 rtun_visitor_connections_total 'path="direct"')"
note "same NAT: direct link up with $peer after $(p2p_direct_secs ayy2 ayy) s, no hairpin"

note "cone x cone: ayy's users go over the direct link"
p2p_sha a sink-user "$v_sink" 4M 60 || fail "sink-user: $(cat "$IT_DIR/sink-user.err")"
expect_intact sink-user sink
[ "$(metric a rtun_visitor_connections_total 'visitor="v-sink",path="direct"')" = 1 ] ||
	fail "v-sink's connection did not go direct"
relayed=$(metric pub rtund_relayed_bytes_total)
[ "$relayed" = 0 ] || fail "rtund relayed $relayed bytes, want 0 (the direct link carries them)"

note "cone x cone: rtund stopped, the direct link carries 64 MiB"
kill_wait TERM rtund 10 || fail "rtund did not stop within 10 s"
pid_alive "$(pid_of rtund)" && fail "rtund still runs"
wait_for_log ayy "reconnecting in" 10 || fail "ayy did not notice rtund was gone"
p2p_sha a bulk-user "$v_bulk" 64M 120 || fail "bulk-user: $(cat "$IT_DIR/bulk-user.err")"
expect_intact bulk-user bulk
[ "$(metric a rtun_visitor_connections_total 'visitor="v-bulk",path="direct"')" = 1 ] ||
	fail "v-bulk's connection did not go direct"
grep -q -E "direct link to bee: .*visitors use the relay" "$IT_DIR/ayy.log" &&
	fail "ayy's direct link to bee went down: $(grep -F 'visitors use the relay' "$IT_DIR/ayy.log")"
note "cone x cone: 64 MiB each way without rtund, $(p2p_rate bulk-user) MiB/s"
for n in bee ayy ayy2; do
	expect_alive "$n"
done
exit 0
