#!/usr/bin/env python3
"""A hostile peer for rtund's listen port: it floods and never reads what rtund answers.

It exists to prove that a peer which keeps sending while it reads nothing cannot make
rtund buffer without bound, and that rtund drops it (and only it).  WebSocket frames are
built here by hand (standard library only); fakeagent.py supplies the rtun handshake.

    wspeer.py --connect H:P --mode MODE [--tls] [--path /rtun] [--seconds S] ...

Modes (all stop reading once the flood starts):
    ping-flood    WebSocket upgrade, then empty PING frames as fast as rtund takes them
    binary-flood  WebSocket upgrade, then --size-byte binary messages holding the rtun
                  preface and rtun PING frames, each of which rtund answers with a PONG
    rtun-flood    no WebSocket: the preface and rtun PING frames straight over TCP or TLS
    auth-flood    WebSocket upgrade, authenticate as an agent with --token, then
                  ping-flood (rtund's checks after authentication)
Mode that reads, to check what an authenticated link gets for a protocol error:
    auth-bad-frame  authenticate, then send an unmasked frame; rtund must answer with a
                  Close 1002 before it closes the connection (prints close_code=N)

--tls puts TLS under it all (wss for the WebSocket modes), without verifying rtund's
certificate.  Prints local=ADDR:PORT (as rtund logs the peer), upgraded=1 (or authed=1),
then dropped=reset|eof after=S sent=BYTES once rtund closes the connection.  Exit 0 when
rtund dropped the peer within --seconds, 1 otherwise (with a message on stderr).
"""

import argparse
import base64
import hashlib
import os
import socket
import ssl
import struct
import sys
import time
import types

# fakeagent.py lives beside this file; no bytecode is left in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeagent  # noqa: E402

OP_BINARY, OP_CLOSE, OP_PING = 0x2, 0x8, 0x9
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Fail(Exception):
    """The peer could not do what its mode asks."""


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def mask(data, key):
    """RFC 6455 5.3 masking, a word at a time."""
    if not data:
        return data
    n = len(data)
    word = int.from_bytes((key * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(data, "big") ^ word).to_bytes(n, "big")


def ws_frame(opcode, payload=b""):
    """One final client frame: masked, as a client must."""
    key = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack(">BB", 0x80 | opcode, 0x80 | n)
    elif n < 0x10000:
        head = struct.pack(">BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack(">BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + key + mask(payload, key)


def connect(args):
    try:
        sock = socket.create_connection(args.connect, timeout=10)
    except OSError as e:
        raise Fail("connect %s:%d: %s" % (args.connect[0], args.connect[1], e.strerror or e))
    say("local=%s:%d" % sock.getsockname()[:2])
    if not args.tls:
        return sock
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1" if args.mode != "rtun-flood" else "rtun/1"])
    return ctx.wrap_socket(sock)


def upgrade(sock, args):
    """Sends the upgrade request and reads the 101; returns bytes that followed it."""
    key = base64.b64encode(os.urandom(16))
    sock.sendall(b"GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                 b"Sec-WebSocket-Version: 13\r\n\r\n" % (
                     args.path.encode(), args.connect[0].encode(), key))
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise Fail("rtund closed the connection during the upgrade")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101 "):
        raise Fail("upgrade refused: %s" % head.split(b"\r\n")[0].decode("latin-1"))
    want = base64.b64encode(hashlib.sha1(key + GUID).digest())
    if b"Sec-WebSocket-Accept: " + want not in head:
        raise Fail("bad Sec-WebSocket-Accept")
    say("upgraded=1")
    return rest


class WsSocket:
    """What fakeagent.Link needs of a socket, with link bytes in binary messages."""

    def __init__(self, sock, pending):
        self.sock = sock
        self.raw = bytearray(pending)

    def settimeout(self, t):
        self.sock.settimeout(t)

    def sendall(self, data):
        self.sock.sendall(ws_frame(OP_BINARY, data))

    def next_frame(self):
        """(opcode, payload) of the next whole frame in raw, or None; rtund does not mask."""
        if len(self.raw) < 2:
            return None
        op, n, pos = self.raw[0] & 0x0F, self.raw[1] & 0x7F, 2
        if n >= 126:
            size = 2 if n == 126 else 8
            if len(self.raw) < 2 + size:
                return None
            n = int.from_bytes(self.raw[2:2 + size], "big")
            pos += size
        if len(self.raw) < pos + n:
            return None
        payload = bytes(self.raw[pos:pos + n])
        del self.raw[:pos + n]
        return op, payload

    def recv(self, n):
        """Link bytes: the payload of the next binary messages; b"" at the end."""
        while True:
            f = self.next_frame()
            if f is not None and f[0] == OP_BINARY and f[1]:
                return f[1]
            if f is None:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return b""
                self.raw += chunk


def authenticate(sock, pending, args):
    """The rtun handshake of fakeagent.py, over WebSocket."""
    ws = WsSocket(sock, pending)
    link = fakeagent.Link(None, args.seconds, sock=ws)
    who = types.SimpleNamespace(name=args.name, token=args.token, window=262144)
    try:
        if not fakeagent.authenticate(link, who):
            raise Fail("rtund refused the token")
    except fakeagent.Fail as e:
        raise Fail(str(e))
    say("authed=1")
    return bytes(ws.raw)


def rtun_pings(size):
    """rtun PING frames, size bytes or a little more."""
    ping = fakeagent.frame(fakeagent.mp_array([fakeagent.T_PING, 0, 1]))
    return ping * (size // len(ping) + 1)


def flood_bytes(args):
    """What the mode sends once, and what it then sends again and again."""
    if args.mode in ("ping-flood", "auth-flood"):
        return b"", ws_frame(OP_PING) * 4096
    if args.mode == "binary-flood":
        return ws_frame(OP_BINARY, fakeagent.PREFACE), ws_frame(OP_BINARY, rtun_pings(args.size))
    return fakeagent.PREFACE, rtun_pings(256 * 1024)


def flood(sock, args, t0):
    """Sends until rtund drops us or time is up; never reads.  True if dropped."""
    first, blob = flood_bytes(args)
    sent, off = 0, 0
    deadline = t0 + args.seconds
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            if first:
                sock.sendall(first)
                sent, first = len(first), b""
            n = sock.send(blob[off:] if off else blob)
        except (socket.timeout, ssl.SSLWantWriteError):
            continue
        except (ssl.SSLError, OSError) as e:
            how = "reset" if isinstance(e, (ConnectionResetError, BrokenPipeError)) else \
                type(e).__name__
            say("dropped=%s after=%.3f sent=%d" % (how, time.monotonic() - t0, sent))
            return True
        if n == 0:
            say("dropped=eof after=%.3f sent=%d" % (time.monotonic() - t0, sent))
            return True
        sent += n
        off = (off + n) % len(blob)
    say("still_connected after=%.3f sent=%d" % (time.monotonic() - t0, sent))
    return False


def close_code(sock, pending, seconds):
    """Reads server frames until the stream ends; the code of the Close among them, or None."""
    ws = WsSocket(sock, pending)
    ws.settimeout(seconds)
    code = None
    while True:
        f = ws.next_frame()
        if f is not None:
            if f[0] == OP_CLOSE and code is None:
                code = int.from_bytes(f[1][:2], "big") if len(f[1]) >= 2 else 1005
            continue
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, ConnectionResetError, ssl.SSLError):
            chunk = b""
        if not chunk:
            return code
        ws.raw += chunk


def bad_frame(sock, pending, args):
    """After authenticating, a frame a client must never send: it is not masked."""
    sock.sendall(b"\x82\x03abc")
    code = close_code(sock, pending, args.seconds)
    say("close_code=%s" % code)
    if code != 1002:
        raise Fail("want a Close 1002 before the connection ends, got %s" % code)


def run(args):
    t0 = time.monotonic()
    sock = connect(args)
    if args.mode != "rtun-flood":
        pending = upgrade(sock, args)
        if args.mode.startswith("auth-"):
            pending = authenticate(sock, pending, args)
        if args.mode == "auth-bad-frame":
            bad_frame(sock, pending, args)
            return
    if not flood(sock, args, t0):
        raise Fail("rtund did not drop the peer within %gs" % args.seconds)


def main():
    p = argparse.ArgumentParser(prog="wspeer.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--connect", type=fakeagent.parse_hostport, required=True)
    p.add_argument("--mode", required=True,
                   choices=["ping-flood", "binary-flood", "rtun-flood", "auth-flood",
                            "auth-bad-frame"])
    p.add_argument("--tls", action="store_true", help="TLS underneath (wss), unverified")
    p.add_argument("--path", default="/rtun", help="the upgrade request's target")
    p.add_argument("--size", type=lambda s: int(s, 0), default=512 << 10,
                   help="bytes per binary message in --mode binary-flood (default 512 KiB; "
                   "rtund takes up to 1 MiB)")
    p.add_argument("--token", default="change-me", help="for the auth-* modes")
    p.add_argument("--name", default="wspeer", help="agent name for the auth-* modes")
    p.add_argument("--seconds", type=float, default=30, help="how long rtund may take")
    args = p.parse_args()
    try:
        run(args)
    except (Fail, OSError) as e:
        sys.stderr.write("wspeer %s: error: %s\n" % (args.mode, e))
        sys.exit(1)


if __name__ == "__main__":
    main()
