#!/bin/bash
# Half-close: a user that shuts its write side still reads the full reply, and a service
# that shuts its write side first still receives everything the user sends.
IT_NUM=3
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_tool echo echo-server --listen "$IT_ADDR:$(port 1)"
start_tool late sha-server --listen "$IT_ADDR:$(port 2)" --send 4M --seed 21 --after-eof
start_tool early sha-server --listen "$IT_ADDR:$(port 3)" --send 64K --seed 22
server_conf "$IT_DIR/rtund.conf"
start_rtund rtund "$IT_DIR/rtund.conf"
agent_conf "$IT_DIR/rtun.conf" "svc:echo=$IT_ADDR:$(port 1),$(port 10)" \
	"svc:late=$IT_ADDR:$(port 2),$(port 11)" "svc:early=$IT_ADDR:$(port 3),$(port 12)"
start_rtun rtun "$IT_DIR/rtun.conf"
for p in 10 11 12; do
	wait_for_log rtun "remote port $(port $p) ready" 10 || fail "service on $(port $p) never ready"
done

note "echo: send 256 KiB, shutdown(SHUT_WR), then read the echo"
o=$IT_DIR/c1.out
tcptool halfclose --connect "$IT_ADDR:$(port 10)" --send 256K --timeout 20 >"$o" ||
	fail "half-closed echo failed"
cat "$o"
[ "$(kv recv_bytes "$o")" = 262144 ] || fail "echo reply has $(kv recv_bytes "$o") bytes, want 262144"
[ "$(kv recv_sha256 "$o")" = "$(kv sent_sha256 "$o")" ] || fail "echo reply differs"

note "reply only after EOF: send 1 MiB, shutdown(SHUT_WR), then read a 4 MiB reply"
o=$IT_DIR/c2.out
tcptool halfclose --connect "$IT_ADDR:$(port 11)" --send 1M --seed 5 --timeout 20 >"$o" ||
	fail "reply after half-close failed"
cat "$o"
wait_for_file "$IT_DIR/late.out" "recv_sha256=" 10 || fail "late server never finished"
s=$IT_DIR/late.out
[ "$(kv recv_sha256 "$s")" = "$(kv sent_sha256 "$o")" ] || fail "service got other bytes than sent"
[ "$(kv recv_bytes "$o")" = 4194304 ] || fail "user read $(kv recv_bytes "$o") bytes after half-close, want 4194304"
[ "$(kv recv_sha256 "$o")" = "$(kv sent_sha256 "$s")" ] || fail "reply after half-close differs"

note "service closes first: it sends 64 KiB and shuts; the user keeps sending 8 MiB"
o=$IT_DIR/c3.out
tcptool sha-client --connect "$IT_ADDR:$(port 12)" --send 8M --seed 6 --rate 4M --timeout 20 \
	>"$o" || fail "transfer after the service's half-close failed"
cat "$o"
wait_for_file "$IT_DIR/early.out" "recv_sha256=" 10 || fail "early server never finished"
s=$IT_DIR/early.out
[ "$(kv recv_bytes "$s")" = 8388608 ] || fail "service got $(kv recv_bytes "$s") bytes, want 8388608"
[ "$(kv recv_sha256 "$s")" = "$(kv sent_sha256 "$o")" ] || fail "service got other bytes than sent"
[ "$(kv recv_sha256 "$o")" = "$(kv sent_sha256 "$s")" ] || fail "user got other bytes than sent"
expect_alive rtund
expect_alive rtun
exit 0
