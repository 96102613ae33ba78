#!/bin/sh
# One-command demo on loopback: install what is needed, build, then run
# rtund and rtun exposing a small local HTTP service through the tunnel and
# fetch a page through rtund's public port. Run as root on Debian 12:
#     scripts/demo.sh          (add --keep to leave the tunnel running)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
keep=no
[ "${1:-}" = "--keep" ] && keep=yes

"$top/scripts/deps.sh" test
BUILD_DIR="$top/build" "$top/scripts/build.sh"

dir=$(mktemp -d /tmp/rtun-demo.XXXXXX)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

mkdir "$dir/www"
echo "Hello from a private service, reached through rtun." > "$dir/www/index.html"
cat > "$dir/rtund.conf" <<CONF
[server]
listen = 127.0.0.1:7000
token = demo-token-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
allow_ports = 6000-6999
bind_addr = 127.0.0.1
CONF
token=$(sed -n 's/^token = //p' "$dir/rtund.conf")
cat > "$dir/rtun.conf" <<CONF
[agent]
server = 127.0.0.1:7000
token = $token
name = demo

[service web]
local = 127.0.0.1:8080
remote_port = 6080
CONF

python3 -m http.server 8080 --bind 127.0.0.1 --directory "$dir/www" >"$dir/web.log" 2>&1 &
pids="$pids $!"
"$top/build/rtund" -c "$dir/rtund.conf" 2>"$dir/rtund.log" &
pids="$pids $!"
"$top/build/rtun" -c "$dir/rtun.conf" 2>"$dir/rtun.log" &
pids="$pids $!"

i=0
until grep -q "remote port 6080 ready" "$dir/rtun.log" &&
	curl -sf --max-time 1 -o /dev/null http://127.0.0.1:8080/; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		echo "demo: the tunnel did not come up; logs:" >&2
		cat "$dir/rtund.log" "$dir/rtun.log" >&2
		exit 1
	fi
	sleep 0.1
done

echo "== rtund log"; cat "$dir/rtund.log"
echo "== rtun log"; cat "$dir/rtun.log"
echo "== curl http://127.0.0.1:6080/ (rtund's public port -> link -> rtun -> 127.0.0.1:8080)"
curl -sS --max-time 5 http://127.0.0.1:6080/
echo "== demo OK"
if [ "$keep" = yes ]; then
	echo "Tunnel running; try: curl http://127.0.0.1:6080/   (Ctrl-C to stop)"
	wait
fi
