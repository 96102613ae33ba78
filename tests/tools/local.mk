# tests/tools: Python 3 peers (standard library only) for tests/integration:
# tcptool.py (echo, sha256 and misbehaving TCP peers), fakeagent.py (a hand-made agent
# that speaks doc/PROTOCOL.md, well or badly), fakeserver.py (a hostile server) and
# flood.py (peers that flood or idle), on rtunwire.py's codec.  Nothing to build.
EXTRA_DIST += tests/tools/tcptool.py tests/tools/fakeagent.py tests/tools/fakeserver.py \
	tests/tools/rtunwire.py tests/tools/mkcerts.sh tests/tools/flood.py
