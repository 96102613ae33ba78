#!/bin/bash
# rtund status and rtun status against the running daemons, while traffic moves: rtund
# with a route, agent alpha with a rate-limited upload in flight and an echo service that
# beta visits (one visitor in mode auto, over a direct link, one in mode relay), agent
# beta with a port alpha holds and one outside allow_ports.  The JSON report must say
# what is true: the links are the connections ss sees on rtund's port, each service's
# open streams and bytes follow the transfer (counted again a second later), the held
# route and relayed connections are counted, both refused ports are listed with rtund's
# reason in both daemons' reports, each visitor's path is the one its log names.  The
# text form shows the same rows.  The socket is mode 0600 and answers only its user and
# root (a socket opened up by chmod still refuses uid 65534), a second daemon on the same
# socket exits 1 and leaves the first one answering, a socket left by a killed agent is
# taken over by its successor, SIGTERM removes it, and bad settings are errors.
IT_NUM=43
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
command -v ss >/dev/null 2>&1 || skip "ss (iproute2) not found"
command -v setpriv >/dev/null 2>&1 || skip "setpriv (util-linux) not found"
[ "$(id -u)" = 0 ] || skip "needs root to ask as another user"

RSOCK=$IT_DIR/rtund.sock
ASOCK=$IT_DIR/alpha.sock
BSOCK=$IT_DIR/beta.sock
sink=$IT_ADDR:$(port 1)
echo_addr=$IT_ADDR:$(port 2)
v_direct=$IT_ADDR:$(port 60)
v_relay=$IT_ADDR:$(port 61)

start_tool sink sha-server --listen "$sink" --send 1K
start_tool echo echo-server --listen "$echo_addr"
server_conf "$IT_DIR/rtund.conf" "status_socket=$RSOCK" "heartbeat_interval=1s"
cat >>"$IT_DIR/rtund.conf" <<EOF

[route echo-route]
port = $(port 50)
connect = $echo_addr
EOF
start_rtund rtund "$IT_DIR/rtund.conf"
agent_conf "$IT_DIR/alpha.conf" name=alpha "status_socket=$ASOCK" heartbeat_interval=1s \
	"svc:bulk=$sink,$(port 10)" "svc:echo=$echo_addr,$(port 11),p2p=yes,allow_peers=beta"
start_rtun alpha "$IT_DIR/alpha.conf"
wait_for_log alpha "service echo: remote port $(port 11) ready" 10 || fail "alpha never ready"
agent_conf "$IT_DIR/beta.conf" name=beta "status_socket=$BSOCK" heartbeat_interval=1s \
	"svc:greedy=$echo_addr,$(port 10)" "svc:outside=$echo_addr,$(port 99)" \
	"svc:web=$echo_addr,$(port 12)"
cat >>"$IT_DIR/beta.conf" <<EOF

[visitor v-direct]
peer = alpha
service = echo
local = $v_direct

[visitor v-relay]
peer = alpha
service = echo
local = $v_relay
mode = relay
EOF
start_rtun beta "$IT_DIR/beta.conf"
wait_for_log beta "service web: remote port $(port 12) ready" 10 || fail "beta never ready"
wait_for_log beta "direct link to alpha up" 15 || fail "beta's direct link to alpha never came up"

# status ROLE SOCKET OUT [--json]: one report into OUT.
status() {
	local bin=$RTUND
	[ "$1" = rtun ] && bin=$RTUN
	"$bin" status -s "$2" ${4:+"$4"} >"$3" 2>"$3.err" ||
		fail "$1 status -s $2 failed: $(cat "$3.err")"
}

# Traffic: an upload of 8 MiB at 2 MiB/s, a held route connection, a held relayed one and
# one over the direct link.
start_tool up sha-client --connect "$IT_ADDR:$(port 10)" --send 8M --rate 2M
start_tool hold-route hold --connect "$IT_ADDR:$(port 50)" --max-wait 60
start_tool hold-relay hold --connect "$v_relay" --max-wait 60
start_tool hold-direct hold --connect "$v_direct" --max-wait 60
for h in hold-route hold-relay hold-direct; do
	wait_for_file "$IT_DIR/$h.out" ready 10 || fail "$h never echoed: $(cat "$IT_DIR/$h.log")"
done
grep -q "visitor v-relay: user .* relayed through rtund" "$IT_DIR/beta.log" || fail "v-relay was not relayed"
grep -q "visitor v-direct: user .* over the direct link" "$IT_DIR/beta.log" || fail "v-direct was not direct"
sleep 1.5   # a heartbeat has measured each link

status rtund "$RSOCK" "$IT_DIR/r1.json" --json
status rtun "$ASOCK" "$IT_DIR/a1.json" --json
status rtun "$BSOCK" "$IT_DIR/b1.json" --json
# The links rtund has, as the kernel sees them.
ss -Htn state established "( sport = :$(port 0) )" | awk '{ print $4 }' | sort >"$IT_DIR/ss.links"
sleep 1
status rtund "$RSOCK" "$IT_DIR/r2.json" --json
status rtund "$RSOCK" "$IT_DIR/r2.txt"
status rtun "$BSOCK" "$IT_DIR/b2.txt"

"$PYTHON" - "$IT_DIR" "$(port 0)" "$(port 10)" "$(port 11)" "$(port 12)" "$(port 50)" "$(port 99)" \
	"$echo_addr" <<'PY' || fail "a status report does not match reality (above)"
import json, sys
d, lport, p10, p11, p12, p50, p99, echo_addr = sys.argv[1:]
r1, r2 = (json.load(open("%s/r%d.json" % (d, i))) for i in (1, 2))
a1 = json.load(open(d + "/a1.json"))
b1 = json.load(open(d + "/b1.json"))
bad = []
def check(cond, what):
    if not cond:
        bad.append(what)
def one(rows, **kv):
    found = [r for r in rows if all(r.get(k) == v for k, v in kv.items())]
    check(len(found) == 1, "expected one row with %s, got %d" % (kv, len(found)))
    return found[0] if found else {}

check(r1["role"] == "rtund" and a1["role"] == "rtun", "roles")
check(r1["server"][0]["agents"] == 2, "rtund: agents %s" % r1["server"][0]["agents"])
# Links: the two agents, from the addresses the kernel has connected to rtund's port.
ss_links = sorted(open(d + "/ss.links").read().split())
check(sorted(l["address"] for l in r1["links"]) == ss_links,
      "links %s, ss says %s" % ([l["address"] for l in r1["links"]], ss_links))
check(sorted(l["agent"] for l in r1["links"]) == ["alpha", "beta"], "link names")
for l in r1["links"]:
    check(l["transport"] == "tcp", "transport %s" % l["transport"])
    check(l["rtt_ms"] is not None and 0 < l["rtt_ms"] < 1000, "rtt %s" % l["rtt_ms"])
    check(l["uptime_seconds"] >= 2, "uptime %s" % l["uptime_seconds"])
alpha_link = one(r1["links"], agent="alpha")
check(alpha_link.get("streams", 0) >= 2, "alpha's link streams %s" % alpha_link.get("streams"))
# Services: bulk is moving, echo is held by the route? no: by nobody through rtund.
b1s = one(r1["services"], agent="alpha", service="bulk", public="port " + p10, type="tcp")
b2s = one(r2["services"], agent="alpha", service="bulk")
check(b1s.get("streams") == 1, "bulk streams %s" % b1s.get("streams"))
check(b1s.get("bytes_in", 0) > 0, "bulk bytes_in %s" % b1s.get("bytes_in"))
check(b2s.get("bytes_in", 0) > b1s.get("bytes_in", 0) + 500000,
      "bulk bytes_in did not grow with the upload: %s then %s" % (b1s.get("bytes_in"), b2s.get("bytes_in")))
one(r1["services"], agent="alpha", service="echo", public="port " + p11, streams=0)
one(r1["services"], agent="beta", service="web", public="port " + p12, streams=0)
check(not [s for s in r1["services"] if s["service"] in ("greedy", "outside")], "refused ports listed as services")
# The route, held open.
rt = one(r1["routes"], route="echo-route", port=int(p50), via="rtund", connect=echo_addr)
check(rt.get("open") == 1 and rt.get("state") == "ok", "route %s" % rt)
# The visitors' paths as rtund saw the punch, and the relayed stream.
one(r1["visitors"], visitor="beta", agent="alpha", service="echo", path="direct")
one(r1["relays"], visitor="beta", streams=1)
# Refusals, with rtund's reasons, on both sides.
reasons = [(x["who"], x["what"], x["reason"]) for x in r1["refusals"]]
check(("beta", "service greedy port " + p10, "in use: port %s is held by another agent" % p10) in reasons,
      "rtund refusals %s" % reasons)
check(any(w == "beta" and what == "service outside port " + p99 and why.startswith("not allowed: port %s is not in allow_ports" % p99)
          for w, what, why in reasons), "rtund refusals %s" % reasons)
bref = [(x["what"], x["reason"]) for x in b1["refusals"]]
check(("greedy", "in use: port %s is held by another agent" % p10) in bref, "beta refusals %s" % bref)
# The agents' own view.
ag = a1["agent"][0]
check(ag["agent"] == "alpha" and ag["state"] == "up" and ag["transport"] == "tcp", "alpha %s" % ag)
check(ag["rtt_ms"] is not None and ag["rtt_ms"] > 0, "alpha rtt %s" % ag["rtt_ms"])
one(a1["services"], service="bulk", state="ok", streams=1, public="port " + p10)
one(b1["services"], service="greedy", state="in use: port %s is held by another agent" % p10)
one(b1["services"], service="web", state="ok")
one(b1["visitors"], visitor="v-direct", path="direct", streams=1, mode="auto")
one(b1["visitors"], visitor="v-relay", path="relay", streams=1, mode="relay")
one(b1["direct"], peer="alpha", role="visitor", state="up")
one(a1["direct"], peer="beta", role="target", state="up")
for b in bad:
    print("mismatch: " + b)
sys.exit(1 if bad else 0)
PY
note "the JSON reports match: links, services, route, visitors, relays, refusals"

# The text form: the same rows, in columns.
grep -q '^links:$' "$IT_DIR/r2.txt" || fail "no links table in the text report"
grep -Eq "^  alpha +[0-9.]+:[0-9]+ +tcp " "$IT_DIR/r2.txt" || fail "no alpha link row: $(cat "$IT_DIR/r2.txt")"
grep -Eq "^  alpha +bulk +tcp +port $(port 10) +1 " "$IT_DIR/r2.txt" ||
	fail "no bulk row with 1 stream: $(cat "$IT_DIR/r2.txt")"
grep -Eq "^  v-relay +$v_relay +alpha +echo +relay +relay +1 " "$IT_DIR/b2.txt" ||
	fail "no v-relay row: $(cat "$IT_DIR/b2.txt")"
! grep -q ' $' "$IT_DIR/r2.txt" || fail "the text report has trailing blanks"
note "text report:"
sed 's/^/    /' "$IT_DIR/r2.txt" >&2

expect_intact up sink 1 30

# Owner-only: mode 0600, and only the owner and root get an answer.
[ "$(stat -c %a "$RSOCK")" = 600 ] || fail "status socket mode $(stat -c %a "$RSOCK"), not 600"
[ "$(stat -c %u "$RSOCK")" = "$(id -u)" ] || fail "status socket owned by uid $(stat -c %u "$RSOCK")"
if setpriv --reuid=65534 --regid=65534 --clear-groups "$RTUND" status -s "$RSOCK" \
	>"$IT_DIR/nobody.out" 2>&1; then
	fail "uid 65534 got a report: $(cat "$IT_DIR/nobody.out")"
fi
grep -q "Permission denied; it is the daemon's own" "$IT_DIR/nobody.out" ||
	fail "uid 65534 was refused without the reason: $(cat "$IT_DIR/nobody.out")"
# Its directory (mktemp's, 0700) must let uid 65534 reach the socket for this part.
chmod 0711 "$IT_DIR"
chmod 0666 "$RSOCK"
if setpriv --reuid=65534 --regid=65534 --clear-groups "$RTUND" status -s "$RSOCK" \
	>"$IT_DIR/nobody2.out" 2>&1; then
	fail "uid 65534 got a report from a socket opened up by chmod: $(cat "$IT_DIR/nobody2.out")"
fi
wait_for_log rtund "status: refused uid 65534" 5 || fail "rtund did not log the refused uid"
chmod 0600 "$RSOCK"
chmod 0700 "$IT_DIR"
grep -q "closed without an answer" "$IT_DIR/nobody2.out" ||
	fail "uid 65534 after chmod 0666: $(cat "$IT_DIR/nobody2.out")"
note "uid 65534: $(head -1 "$IT_DIR/nobody.out"); after chmod 0666: $(head -1 "$IT_DIR/nobody2.out")"

# A second rtund on the same socket (its own ports) stops with the reason; the first
# still answers.
server_conf "$IT_DIR/rtund2.conf" "listen=$IT_ADDR:$(port 70)" "allow_ports=$(port 71)" \
	"status_socket=$RSOCK"
if "$RTUND" -c "$IT_DIR/rtund2.conf" >"$IT_DIR/rtund2.out" 2>&1; then
	fail "a second rtund on the same status socket ran"
fi
grep -q "cannot make the status socket $RSOCK: another running daemon answers on it" \
	"$IT_DIR/rtund2.out" || fail "the second rtund did not say why: $(cat "$IT_DIR/rtund2.out")"
status rtund "$RSOCK" "$IT_DIR/r3.json" --json
grep -q '"agent": "alpha"' "$IT_DIR/r3.json" || fail "the first rtund stopped answering"

# A socket left by a killed agent is taken over; SIGTERM removes it.
kill -KILL "$(pid_of alpha)"
wait_exit "$(pid_of alpha)" 5 || fail "alpha did not die"
[ -S "$ASOCK" ] || fail "the killed agent's socket is gone (nothing to take over)"
start_rtun alpha2 "$IT_DIR/alpha.conf"
wait_for_log alpha2 "status on $ASOCK" 10 || fail "the new alpha did not take over $ASOCK"
status rtun "$ASOCK" "$IT_DIR/a2.json" --json
grep -q "\"pid\": $(pid_of alpha2)," "$IT_DIR/a2.json" || fail "the socket is not the new alpha's"
stop_pid "$(pid_of alpha2)" alpha2
[ ! -e "$ASOCK" ] || fail "SIGTERM left $ASOCK behind"
if "$RTUN" status -s "$ASOCK" >"$IT_DIR/gone.out" 2>&1; then fail "status of a stopped agent succeeded"; fi
grep -q "No such file or directory; is the daemon running" "$IT_DIR/gone.out" ||
	fail "no hint for a stopped daemon: $(cat "$IT_DIR/gone.out")"

# Settings: off, a relative path, a path that cannot be made.
agent_conf "$IT_DIR/off.conf" status_socket=off
if "$RTUN" status -c "$IT_DIR/off.conf" >"$IT_DIR/off.out" 2>&1; then fail "status with status_socket = off succeeded"; fi
grep -q "status_socket is off in $IT_DIR/off.conf" "$IT_DIR/off.out" || fail "off: $(cat "$IT_DIR/off.out")"
agent_conf "$IT_DIR/rel.conf" status_socket=run/rtun.sock
"$RTUN" -t -c "$IT_DIR/rel.conf" >"$IT_DIR/rel.out" 2>&1
rc=$?
[ "$rc" = 78 ] || fail "a relative status_socket: exit $rc, not 78"
grep -q "rel.conf:[0-9]*: .*status_socket.*an absolute path or off" "$IT_DIR/rel.out" ||
	fail "a relative status_socket: $(cat "$IT_DIR/rel.out")"
agent_conf "$IT_DIR/nodir.conf" "status_socket=$IT_DIR/no/such/dir/rtun.sock"
timeout 10 "$RTUN" -c "$IT_DIR/nodir.conf" >"$IT_DIR/nodir.out" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "an unmakeable status_socket: exit $rc, not 1"
grep -q "cannot make the status socket $IT_DIR/no/such/dir/rtun.sock: bind: No such file or directory" \
	"$IT_DIR/nodir.out" || fail "an unmakeable status_socket: $(cat "$IT_DIR/nodir.out")"

expect_alive rtund
expect_alive beta
exit 0
