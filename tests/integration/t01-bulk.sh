#!/bin/bash
# 256 MiB each way through one tunnel at once; sha256 equal on both ends.
IT_NUM=1
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

size=${IT_BULK_SIZE:-256M}
start_tool bulk sha-server --listen "$IT_ADDR:$(port 1)" --send "$size" --seed 11
tunnel_up "svc:bulk=$IT_ADDR:$(port 1),$(port 10)"

note "sending $size each way"
tcptool sha-client --connect "$IT_ADDR:$(port 10)" --send "$size" --seed 12 --timeout 50 \
	>"$IT_DIR/client.out" 2>"$IT_DIR/client.err" || fail "transfer failed: $(cat "$IT_DIR/client.err")"
expect_intact client bulk
expect_alive rtund
expect_alive rtun
note "ok: $size each way in $(kv elapsed "$IT_DIR/client.out") s"
exit 0
