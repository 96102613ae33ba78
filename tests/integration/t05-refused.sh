#!/bin/bash
# A service whose local target refuses connections: the user's connection is closed
# within 1 s, every time, and the service keeps working for the next user.
IT_NUM=5
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

closed=$IT_ADDR:$(port 2)
wait_port_closed "$closed" 2 || hard_error "$closed is open; it should be closed"
start_tool echo echo-server --listen "$IT_ADDR:$(port 1)"
tunnel_up "svc:dead=$closed,$(port 10)" "svc:echo=$IT_ADDR:$(port 1),$(port 11)"

tcptool wait-close --connect "$IT_ADDR:$(port 10)" --within 1 --count 5 --timeout 30 \
	>"$IT_DIR/client.out" 2>"$IT_DIR/client.err"
st=$?
cat "$IT_DIR/client.out"
[ "$st" = 0 ] || fail "user connections to a refusing target were not closed within 1 s: $(cat "$IT_DIR/client.err")"

# Other streams on the link are unaffected.
tcptool echo-client --connect "$IT_ADDR:$(port 11)" --conns 4 --timeout 10 >/dev/null ||
	fail "the echo service failed after the refused streams"
expect_alive rtund
expect_alive rtun
[ "$(log_count rtun "link lost")" = 0 ] || fail "the link dropped"
exit 0
