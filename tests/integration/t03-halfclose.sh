#!/bin/bash
# Half-close: a user that shuts its write side still reads the full reply, and a service
# that shuts its write side first still receives everything the user sends.
IT_NUM=3
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_tool echo echo-server --listen "$IT_ADDR:$(port 1)"
start_tool late sha-server --listen "$IT_ADDR:$(port 2)" --send 4M --seed 21 --after-eof
start_tool early sha-server --listen "$IT_ADDR:$(port 3)" --send 64K --seed 22
tunnel_up "svc:echo=$IT_ADDR:$(port 1),$(port 10)" "svc:late=$IT_ADDR:$(port 2),$(port 11)" \
	"svc:early=$IT_ADDR:$(port 3),$(port 12)"

note "echo: send 256 KiB, shutdown(SHUT_WR), then read the echo"
o=$IT_DIR/c1.out
tcptool halfclose --connect "$IT_ADDR:$(port 10)" --send 256K --timeout 20 >"$o" ||
	fail "half-closed echo failed"
cat "$o"
[ "$(kv recv_bytes "$o")" = 262144 ] || fail "echo reply has $(kv recv_bytes "$o") bytes, want 262144"
[ "$(kv recv_sha256 "$o")" = "$(kv sent_sha256 "$o")" ] || fail "echo reply differs"

note "reply only after EOF: send 1 MiB, shutdown(SHUT_WR), then read a 4 MiB reply"
tcptool halfclose --connect "$IT_ADDR:$(port 11)" --send 1M --seed 5 --timeout 20 \
	>"$IT_DIR/c2.out" || fail "reply after half-close failed"
expect_intact c2 late

note "service closes first: it sends 64 KiB and shuts; the user keeps sending 8 MiB"
tcptool sha-client --connect "$IT_ADDR:$(port 12)" --send 8M --seed 6 --rate 4M --timeout 20 \
	>"$IT_DIR/c3.out" || fail "transfer after the service's half-close failed"
expect_intact c3 early
expect_alive rtund
expect_alive rtun
exit 0
