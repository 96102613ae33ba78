# tests/tools: Python 3 peers for tests/integration: tcptool.py (echo, sha256 and
# misbehaving TCP peers), fakeagent.py (a hand-made agent that speaks doc/PROTOCOL.md, well
# or badly), fakeserver.py (a hostile server), fakevisitor.py (a visitor that abuses a P2P
# rendezvous), flood.py (peers that flood or idle), wspeer.py (a WebSocket or TLS peer that
# floods and never reads), on rtunwire.py's codec, punchcheck.py (TCP hole punching
# across the NAT lab of tests/integration/natlab.sh), udptool.py (UDP echo and sink
# servers, many concurrent flows, floods) and webpoke.py (a web client that misbehaves:
# bad heads, slowloris, odd ClientHellos) and promapi.py (the Prometheus HTTP API, and the
# PromQL expressions of a Grafana dashboard), standard library only; wscheck.py checks the
# WebSocket server with the websockets library (python3-websockets).  Nothing to build.
EXTRA_DIST += tests/tools/tcptool.py tests/tools/fakeagent.py tests/tools/fakeserver.py \
	tests/tools/rtunwire.py tests/tools/mkcerts.sh tests/tools/flood.py \
	tests/tools/wspeer.py tests/tools/wscheck.py tests/tools/punchcheck.py \
	tests/tools/fakevisitor.py tests/tools/udptool.py tests/tools/webpoke.py \
	tests/tools/promapi.py
