#!/bin/bash
# 256 MiB each way through one tunnel at once; sha256 equal on both ends.
IT_NUM=1
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

size=${IT_BULK_SIZE:-256M}
start_tool bulk sha-server --listen "$IT_ADDR:$(port 1)" --send "$size" --seed 11
server_conf "$IT_DIR/rtund.conf"
start_rtund rtund "$IT_DIR/rtund.conf"
agent_conf "$IT_DIR/rtun.conf" "svc:bulk=$IT_ADDR:$(port 1),$(port 10)"
start_rtun rtun "$IT_DIR/rtun.conf"
wait_for_log rtun "service bulk: remote port $(port 10) ready" 10 || fail "service never ready"

note "sending $size each way"
tcptool sha-client --connect "$IT_ADDR:$(port 10)" --send "$size" --seed 12 --timeout 50 \
	>"$IT_DIR/client.out" 2>"$IT_DIR/client.err" || fail "transfer failed: $(cat "$IT_DIR/client.err")"
cat "$IT_DIR/client.out"
wait_for_file "$IT_DIR/bulk.out" "recv_sha256=" 10 || fail "the server never finished"
cat "$IT_DIR/bulk.out"

c=$IT_DIR/client.out
s=$IT_DIR/bulk.out
want=$(tcptool gen-sha --bytes "$size" --seed 12 | sed 's/.*sha256=//')
[ "$(kv sent_sha256 "$c")" = "$want" ] || fail "client sent other bytes than generated"
[ "$(kv recv_bytes "$s")" = "$(kv sent_bytes "$c")" ] || fail "server got $(kv recv_bytes "$s") of $(kv sent_bytes "$c") bytes"
[ "$(kv recv_sha256 "$s")" = "$want" ] || fail "user->service bytes differ (sha256)"
[ "$(kv recv_bytes "$c")" = "$(kv sent_bytes "$s")" ] || fail "client got $(kv recv_bytes "$c") of $(kv sent_bytes "$s") bytes"
[ "$(kv recv_sha256 "$c")" = "$(kv sent_sha256 "$s")" ] || fail "service->user bytes differ (sha256)"
[ "$(kv result "$s")" = ok ] || fail "server side ended with $(kv result "$s")"
expect_alive rtund
expect_alive rtun
note "ok: $size each way in $(kv elapsed "$c") s"
exit 0
