#!/bin/bash
# 200 concurrent user connections through one link, each echoing distinct random data.
IT_NUM=2
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

conns=${IT_CONNS:-200}
start_tool echo echo-server --listen "$IT_ADDR:$(port 1)"
tunnel_up "svc:echo=$IT_ADDR:$(port 1),$(port 10)"

tcptool echo-client --connect "$IT_ADDR:$(port 10)" --conns "$conns" --bytes 96K --timeout 45 \
	>"$IT_DIR/client.out" 2>"$IT_DIR/client.err" || fail "echo failed: $(cat "$IT_DIR/client.err")"
cat "$IT_DIR/client.out"
[ "$(kv ok "$IT_DIR/client.out")" = "$conns" ] || fail "not all $conns connections echoed correctly"

# The link is still good for a new stream afterwards.
tcptool echo-client --connect "$IT_ADDR:$(port 10)" --conns 1 --timeout 10 >/dev/null ||
	fail "a fresh connection after the burst failed"
expect_alive rtund
expect_alive rtun
[ "$(log_count rtun "link lost")" = 0 ] || fail "the agent's link dropped during the test"
exit 0
