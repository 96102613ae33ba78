#!/bin/bash
# The status page on / of metrics_listen, in a real browser: headless Chromium (every name
# but rtund's address unresolvable) renders rtund's page and an agent's, and the test
# reads the rendered DOM: the links, services, refusals and visitors tables hold the rows
# the daemons have (a held stream counted, a refused port with rtund's reason); the page
# loads nothing from elsewhere and asks the browser to reload it (meta refresh). Escaping
# of what peers send is test_status's. A screenshot of each page is kept
# under the build directory (tests/integration/t44-*.png).
IT_NUM=44
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
CHROMIUM=${CHROMIUM:-$(command -v chromium || echo /usr/bin/chromium)}
[ -x "$CHROMIUM" ] || skip "chromium not installed"
command -v curl >/dev/null 2>&1 || skip "curl not found"
BUILDDIR=$(dirname "$RTUND")
SHOTS=$BUILDDIR/tests/integration
mkdir -p "$SHOTS" || hard_error "cannot make $SHOTS"

echo_addr=$IT_ADDR:$(port 1)
rmetrics=$IT_ADDR:$(port 90)
ametrics=$IT_ADDR:$(port 91)
start_tool echo echo-server --listen "$echo_addr"
server_conf "$IT_DIR/rtund.conf" "metrics_listen=$rmetrics" status_socket=off log_level=debug
start_rtund rtund "$IT_DIR/rtund.conf"
agent_conf "$IT_DIR/rtun.conf" name=pagent "metrics_listen=$ametrics" status_socket=off \
	"svc:echo=$echo_addr,$(port 10)" "svc:taken=$echo_addr,$(port 98)"
start_rtun rtun "$IT_DIR/rtun.conf"
wait_for_log rtun "service echo: remote port $(port 10) ready" 10 || fail "the agent never got ready"
wait_for_log rtun "service taken: remote port $(port 98) refused" 10 || fail "port $(port 98) was not refused"
start_tool hold hold --connect "$IT_ADDR:$(port 10)" --max-wait 60
wait_for_file "$IT_DIR/hold.out" ready 10 || fail "the held connection never echoed"

# browse URL NAME: the DOM Chromium rendered for URL into NAME.dom, and a screenshot into
# the build directory.
browse() {
	local flags=(--headless=new --no-sandbox --disable-gpu --no-first-run --disable-dev-shm-usage
		--disable-extensions --disable-background-networking --disable-sync
		--disable-component-update --disable-domain-reliability --no-default-browser-check
		--user-data-dir="$IT_DIR/chrome" --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE $IT_ADDR"
		--window-size=1400,1000)
	timeout 60 "$CHROMIUM" "${flags[@]}" --dump-dom "$1" \
		>"$IT_DIR/$2.dom" 2>"$IT_DIR/$2.err" || fail "chromium failed on $1: $(tail -3 "$IT_DIR/$2.err")"
	timeout 60 "$CHROMIUM" "${flags[@]}" --screenshot="$SHOTS/t44-$2.png" "$1" \
		>/dev/null 2>"$IT_DIR/$2.shot.err" || fail "chromium could not screenshot $1"
	[ "$(head -c 8 "$SHOTS/t44-$2.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
		fail "$SHOTS/t44-$2.png is not a PNG"
	note "screenshot of $1: $SHOTS/t44-$2.png ($(stat -c %s "$SHOTS/t44-$2.png") bytes)"
}

# row NAME TABLE CELL...: the DOM of NAME has a row in table TABLE with these cells in order.
row() {
	"$PYTHON" - "$IT_DIR/$1.dom" "${@:2}" <<'PY'
import html.parser, sys
dom, table, cells = sys.argv[1], sys.argv[2], sys.argv[3:]
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.t = None; self.rows = []; self.cell = None
    def handle_starttag(self, tag, attrs):
        if tag == "table": self.t = dict(attrs).get("id")
        elif tag == "tr" and self.t == table: self.rows.append([])
        elif tag in ("td", "th") and self.t == table: self.cell = ""
    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(self.cell.strip()); self.cell = None
        elif tag == "table": self.t = None
    def handle_data(self, data):
        if self.cell is not None: self.cell += data
p = P(); p.feed(open(dom).read())
for r in p.rows:
    it = iter(r)
    if all(any(c == x for x in it) for c in cells):
        sys.exit(0)
print("no row %s in table %s; rows: %s" % (cells, table, p.rows))
sys.exit(1)
PY
}

browse "http://$rmetrics/" rtund
row rtund links AGENT ADDRESS TRANSPORT || fail "rtund's page: no links table"
row rtund links pagent tcp || fail "rtund's page: no link of pagent"
row rtund services pagent echo tcp "port $(port 10)" 1 || fail "rtund's page: the held stream is not counted"
row rtund refusals pagent "service taken port $(port 98)" \
	"not allowed: port $(port 98) is not in allow_ports ($(port 10)-$(port 49))" 1 ||
	fail "rtund's page: the refused port is not listed with its reason"
grep -q '<h1>rtund on ' "$IT_DIR/rtund.dom" || fail "rtund's page has no heading"
# Self-contained: no script, style sheet, image or frame from anywhere.
if grep -Eio '<(script|img|iframe|link)[^>]*>|(src|href)="?(https?:)?//[^"]*' "$IT_DIR/rtund.dom"; then
	fail "the page loads something from elsewhere"
fi
grep -q '<meta http-equiv="refresh" content="5">' "$IT_DIR/rtund.dom" || fail "the page does not reload itself"
[ "$(grep -c 'metrics: .*: GET / -> 200' "$IT_DIR/rtund.log")" -ge 2 ] ||
	fail "rtund did not log the browser's requests for /"

browse "http://$ametrics/" agent
row agent agent pagent || fail "the agent's page: no agent row"
row agent services echo tcp "$echo_addr" "port $(port 10)" ok 1 || fail "the agent's page: echo"
row agent services taken tcp "$echo_addr" "port $(port 98)" \
	"not allowed: port $(port 98) is not in allow_ports ($(port 10)-$(port 49))" ||
	fail "the agent's page: the refused service does not say why"
grep -q '<h1>rtun on ' "$IT_DIR/agent.dom" || fail "the agent's page has no heading"

[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$rmetrics/metrics")" = 200 ] ||
	fail "/metrics no longer answers beside the page"
[ "$(curl -s -o /dev/null -w '%{content_type}' "http://$rmetrics/")" = "text/html; charset=utf-8" ] ||
	fail "/ is not served as HTML"
expect_alive rtund
expect_alive rtun
exit 0
