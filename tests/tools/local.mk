# tests/tools: Python 3 peers (standard library only) for tests/integration:
# tcptool.py (echo, sha256 and misbehaving TCP peers) and fakeagent.py (a hand-made agent
# that speaks doc/PROTOCOL.md, well or badly).  Nothing to build.
EXTRA_DIST += tests/tools/tcptool.py tests/tools/fakeagent.py tests/tools/mkcerts.sh \
	tests/tools/flood.py
