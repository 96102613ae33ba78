#!/usr/bin/env python3
"""A hand-made rtun agent that speaks doc/PROTOCOL.md version 1 byte by byte, well or badly.

It exists to prove that rtund drops a misbehaving link (and only that link).  msgpack
headers and the few protobuf messages of proto/rtun.proto are encoded here by hand: they
are tiny, and a second implementation that shares no code with src/ catches more.

    fakeagent.py --connect H:P --mode MODE [--token T] [--name N] [--timeout S]

Modes that misbehave and then expect rtund to close the link within --timeout:
    bad-preface     send an SSH banner instead of the preface (an HTTP request would be
                    a WebSocket attempt, answered with 400/404: see t21-ws.sh)
    silent          send the preface, then nothing (rtund's handshake_timeout)
    garbage         preface, then random bytes
    oversize        preface, then a length prefix above FRAME_LEN_MAX (--length to pick)
    zero-length     preface, then a length prefix of 0
    bad-header      preface, then a frame whose header is not msgpack
    wrong-token     a full handshake with --token; expects AuthResult ok=false
    never-opened    authenticate and Declare, then DATA for a stream never opened (--stream)
    bad-msgpack     authenticate and Declare, then a frame with a truncated msgpack array
    early-data      preface, then DATA before any handshake
    flood           authenticate, Declare --service, wait for a user's OPEN, answer
                    OPEN_OK, then send --flood bytes of DATA regardless of credit
    window-overflow as flood, but send a WINDOW that takes the credit past 2^31-1
Mode that behaves:
    auth            authenticate, Declare --service NAME:PORT ..., stay --hold seconds

Prints KEY=VALUE lines (auth=ok, declare NAME=STATUS, goaway=CODE, closed=eof|reset).
Exit 0 when the expectation of the mode was met, 1 otherwise (with a message on stderr).
"""

import argparse
import hashlib
import hmac
import os
import random
import socket
import struct
import sys
import time

PREFACE = b"RTUN\r\n\x1a\n"
FRAME_LEN_MAX = 66560

T_DATA, T_WINDOW, T_OPEN, T_OPEN_OK, T_CLOSE, T_RESET = 0, 1, 2, 3, 4, 5
T_PING, T_PONG, T_GOAWAY, T_CONTROL = 6, 7, 8, 9
TYPE_NAMES = ["DATA", "WINDOW", "OPEN", "OPEN_OK", "CLOSE", "RESET", "PING", "PONG",
              "GOAWAY", "CONTROL"]

# rtun.Control oneof field numbers.
C_CLIENT_HELLO, C_SERVER_HELLO, C_AUTH, C_AUTH_RESULT = 1, 2, 3, 4
C_DECLARE, C_DECLARE_RESULT, C_ERROR = 5, 6, 7
STATUS_NAMES = ["ok", "not_allowed", "in_use", "bind_error", "invalid"]


class Fail(Exception):
    """The mode's expectation was not met."""


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- msgpack (the subset we need)


def mp_uint(n):
    if n < 0x80:
        return bytes([n])
    if n < 0x100:
        return b"\xcc" + struct.pack(">B", n)
    if n < 0x10000:
        return b"\xcd" + struct.pack(">H", n)
    if n < 0x100000000:
        return b"\xce" + struct.pack(">I", n)
    return b"\xcf" + struct.pack(">Q", n)


def mp_str(s):
    b = s.encode() if isinstance(s, str) else s
    if len(b) < 32:
        return bytes([0xa0 | len(b)]) + b
    if len(b) < 0x100:
        return b"\xd9" + bytes([len(b)]) + b
    return b"\xda" + struct.pack(">H", len(b)) + b


def mp_array(items):
    assert len(items) < 16
    out = bytes([0x90 | len(items)])
    for it in items:
        out += mp_uint(it) if isinstance(it, int) else mp_str(it)
    return out


class MsgpackError(Exception):
    pass


def mp_decode(buf, pos=0):
    """Decodes one object at pos; returns (value, new_pos).  Raises MsgpackError."""

    def need(n):
        if pos + n > len(buf):
            raise MsgpackError("truncated")

    need(1)
    b = buf[pos]
    pos += 1
    if b < 0x80:
        return b, pos
    if b >= 0xe0:
        return b - 0x100, pos
    if 0x90 <= b <= 0x9f:
        return mp_items(buf, pos, b & 0x0f)
    if 0xa0 <= b <= 0xbf:
        n = b & 0x1f
        need(n)
        return buf[pos:pos + n].decode("utf-8", "replace"), pos + n
    if b == 0xc0:
        return None, pos
    if b in (0xc2, 0xc3):
        return b == 0xc3, pos
    fixed = {0xcc: ">B", 0xcd: ">H", 0xce: ">I", 0xcf: ">Q",
             0xd0: ">b", 0xd1: ">h", 0xd2: ">i", 0xd3: ">q"}
    if b in fixed:
        n = struct.calcsize(fixed[b])
        need(n)
        return struct.unpack_from(fixed[b], buf, pos)[0], pos + n
    lens = {0xd9: (">B", True), 0xda: (">H", True), 0xdb: (">I", True),
            0xc4: (">B", False), 0xc5: (">H", False), 0xc6: (">I", False)}
    if b in lens:
        fmt, is_str = lens[b]
        k = struct.calcsize(fmt)
        need(k)
        n = struct.unpack_from(fmt, buf, pos)[0]
        pos += k
        need(n)
        raw = bytes(buf[pos:pos + n])
        return (raw.decode("utf-8", "replace") if is_str else raw), pos + n
    if b in (0xdc, 0xdd):
        fmt = ">H" if b == 0xdc else ">I"
        k = struct.calcsize(fmt)
        need(k)
        n = struct.unpack_from(fmt, buf, pos)[0]
        return mp_items(buf, pos + k, n)
    raise MsgpackError("unsupported msgpack byte 0x%02x" % b)


def mp_items(buf, pos, n):
    if n > 64:
        raise MsgpackError("array of %d elements" % n)
    out = []
    for _ in range(n):
        v, pos = mp_decode(buf, pos)
        out.append(v)
    return out, pos


# ---------------------------------------------------------------- protobuf (the subset we need)


def pb_varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_field_varint(num, value):
    return pb_varint(num << 3) + pb_varint(value) if value else b""


def pb_field_bytes(num, value):
    if isinstance(value, str):
        value = value.encode()
    return pb_varint(num << 3 | 2) + pb_varint(len(value)) + value if value else b""


def pb_field_msg(num, value):
    # Embedded messages are written even when empty: the oneof case must be present.
    return pb_varint(num << 3 | 2) + pb_varint(len(value)) + value


def pb_parse(buf):
    """Parses one message into {field: [values]} (ints for varints, bytes otherwise)."""
    fields = {}
    pos = 0

    def varint():
        nonlocal pos
        shift = result = 0
        while True:
            if pos >= len(buf) or shift > 63:
                raise Fail("bad protobuf varint")
            b = buf[pos]
            pos += 1
            result |= (b & 0x7f) << shift
            shift += 7
            if not b & 0x80:
                return result

    while pos < len(buf):
        key = varint()
        num, wt = key >> 3, key & 7
        if wt == 0:
            val = varint()
        elif wt == 2:
            n = varint()
            if pos + n > len(buf):
                raise Fail("truncated protobuf field %d" % num)
            val = bytes(buf[pos:pos + n])
            pos += n
        elif wt in (1, 5):
            n = 8 if wt == 1 else 4
            val = bytes(buf[pos:pos + n])
            pos += n
        else:
            raise Fail("unsupported protobuf wire type %d" % wt)
        fields.setdefault(num, []).append(val)
    return fields


def pb_get(fields, num, default):
    vals = fields.get(num)
    return vals[-1] if vals else default


def control(kind, body):
    return pb_field_msg(kind, body)


# ---------------------------------------------------------------- frames and the link


def frame(header, payload=b""):
    return struct.pack(">I", len(header) + len(payload)) + header + payload


class Link:
    def __init__(self, addr, timeout, sock=None):
        """Connects to addr, or runs over sock: anything with sendall, recv and settimeout."""
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.sock = sock
        try:
            if sock is None:
                self.sock = socket.create_connection(addr, timeout=min(timeout, 10))
        except OSError as e:
            raise Fail("connect %s:%d: %s" % (addr[0], addr[1], e.strerror or e))
        self.buf = bytearray()
        self.eof = None
        self.peer_window = 0

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise Fail("send: %s" % (e.strerror or e))

    def _fill(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Fail("timed out after %gs waiting for rtund" % self.timeout)
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return
        except ConnectionResetError:
            self.eof = "reset"
            return
        except OSError as e:
            self.eof = "error:%s" % e.strerror
            return
        if not data:
            self.eof = "eof"
        self.buf += data

    def read_frame(self):
        """Returns (type, stream, fields, payload), or None once the link is closed."""
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack_from(">I", self.buf)[0]
                if not 1 <= n <= FRAME_LEN_MAX:
                    raise Fail("rtund sent a bad frame length %d" % n)
                if len(self.buf) >= 4 + n:
                    body = bytes(self.buf[4:4 + n])
                    del self.buf[:4 + n]
                    try:
                        hdr, pos = mp_decode(body)
                    except MsgpackError as e:
                        raise Fail("rtund sent a bad header: %s" % e)
                    if not isinstance(hdr, list) or len(hdr) < 2:
                        raise Fail("rtund sent a header that is not [type, stream, ...]")
                    return hdr[0], hdr[1], hdr[2:], body[pos:]
            if self.eof:
                return None
            self._fill()

    def next_control(self, what):
        """Skips PINGs (answering them) until a CONTROL arrives; reports GOAWAY."""
        while True:
            f = self.read_frame()
            if f is None:
                raise Fail("link closed (%s) while waiting for %s" % (self.eof, what))
            typ, sid, fields, payload = f
            if typ == T_PING:
                self.send(frame(mp_array([T_PONG, 0, fields[0]])))
            elif typ == T_GOAWAY:
                say("goaway=%s reason=%s" % (fields[0], (fields[1:] or [""])[0]))
            elif typ == T_CONTROL:
                msg = pb_parse(payload)
                if len(msg) != 1:
                    raise Fail("CONTROL with %d oneof fields" % len(msg))
                kind = next(iter(msg))
                return kind, pb_parse(msg[kind][-1])
            else:
                raise Fail("unexpected %s frame while waiting for %s" % (
                    TYPE_NAMES[typ] if typ < len(TYPE_NAMES) else typ, what))

    def wait_closed(self, t0):
        """Drains frames until rtund closes the link; prints how and when."""
        goaway = None
        while True:
            try:
                f = self.read_frame()
            except Fail as e:
                if "timed out" in str(e):
                    raise Fail("rtund did not close the link within %gs" % self.timeout)
                raise
            if f is None:
                break
            typ, _, fields, _ = f
            if typ == T_GOAWAY:
                goaway = fields[0] if fields else "?"
                say("goaway=%s reason=%s" % (goaway, (fields[1:] or [""])[0]))
            elif typ == T_PING:
                try:
                    self.send(frame(mp_array([T_PONG, 0, fields[0]])))
                except Fail:
                    pass
        say("closed=%s after=%.3f" % (self.eof, time.monotonic() - t0))
        return goaway


def hello(link, args):
    cnonce = os.urandom(32)
    body = (pb_field_varint(1, 1) + pb_field_varint(2, 1) + pb_field_bytes(3, args.name) +
            pb_field_bytes(4, cnonce) + pb_field_bytes(5, "fakeagent 1"))
    link.send(PREFACE + frame(mp_array([T_CONTROL, 0]), control(C_CLIENT_HELLO, body)))
    kind, msg = link.next_control("ServerHello")
    if kind == C_ERROR:
        raise Fail("rtund answered ClientHello with Error code %d" % pb_get(msg, 1, 0))
    if kind != C_SERVER_HELLO:
        raise Fail("rtund answered ClientHello with Control field %d" % kind)
    version, snonce = pb_get(msg, 1, 0), pb_get(msg, 2, b"")
    if version != 1 or len(snonce) != 32:
        raise Fail("bad ServerHello: version %d, nonce of %d bytes" % (version, len(snonce)))
    say("server_hello version=%d software=%s" % (
        version, pb_get(msg, 3, b"").decode("utf-8", "replace").replace(" ", "_")))
    return snonce, cnonce


def authenticate(link, args):
    """Runs the handshake; returns True when rtund accepted the token."""
    snonce, cnonce = hello(link, args)
    token = args.token.encode()
    tail = snonce + cnonce + args.name.encode()
    mac = hmac.new(token, b"rtun-v1 agent\x00" + tail, hashlib.sha256).digest()
    body = pb_field_bytes(1, mac) + pb_field_varint(2, args.window)
    link.send(frame(mp_array([T_CONTROL, 0]), control(C_AUTH, body)))
    kind, msg = link.next_control("AuthResult")
    if kind != C_AUTH_RESULT:
        raise Fail("rtund answered Auth with Control field %d" % kind)
    if not pb_get(msg, 1, 0):
        say("auth=refused message=%s" % pb_get(msg, 2, b"").decode("utf-8", "replace")
            .replace(" ", "_"))
        return False
    want = hmac.new(token, b"rtun-v1 server\x00" + tail, hashlib.sha256).digest()
    if not hmac.compare_digest(pb_get(msg, 3, b""), want):
        raise Fail("AuthResult ok but server_mac is wrong")
    link.peer_window = pb_get(msg, 4, 0)
    say("auth=ok stream_window=%d" % link.peer_window)
    return True


def declare(link, services):
    body = b""
    for name, port in services:
        body += pb_field_msg(1, pb_field_bytes(1, name) + pb_field_varint(2, port))
    link.send(frame(mp_array([T_CONTROL, 0]), control(C_DECLARE, body)))
    kind, msg = link.next_control("DeclareResult")
    if kind != C_DECLARE_RESULT:
        raise Fail("rtund answered Declare with Control field %d" % kind)
    results = [pb_parse(r) for r in msg.get(1, [])]
    if len(results) != len(services):
        raise Fail("DeclareResult has %d results for %d services" % (
            len(results), len(services)))
    say("declared=%d" % len(results))
    for r in results:
        st = pb_get(r, 3, 0)
        say("declare %s=%s port=%d reason=%s" % (
            pb_get(r, 1, b"").decode("utf-8", "replace"),
            STATUS_NAMES[st] if st < len(STATUS_NAMES) else st, pb_get(r, 2, 0),
            pb_get(r, 4, b"").decode("utf-8", "replace").replace(" ", "_")))


def wait_open(link):
    """Waits (answering PINGs) for rtund to OPEN a stream; returns its id."""
    while True:
        f = link.read_frame()
        if f is None:
            raise Fail("rtund closed the link (%s) while we waited for OPEN" % link.eof)
        typ, sid, fields, _ = f
        if typ == T_PING:
            link.send(frame(mp_array([T_PONG, 0, fields[0]])))
        elif typ == T_OPEN:
            say("open stream=%d service=%s peer=%s" % (sid, fields[0], fields[1]))
            return sid
        elif typ != T_DATA:
            raise Fail("unexpected %s frame while waiting for OPEN" % (
                TYPE_NAMES[typ] if typ < len(TYPE_NAMES) else typ))


def hold(link, seconds):
    """Stays connected, answering PINGs, for seconds; Fail if rtund closes the link."""
    end = time.monotonic() + seconds
    link.deadline = end
    while time.monotonic() < end:
        try:
            f = link.read_frame()
        except Fail as e:
            if "timed out" in str(e):
                break
            raise
        if f is None:
            raise Fail("rtund closed the link (%s) while holding" % link.eof)
        typ, sid, fields, _ = f
        if typ == T_PING:
            link.send(frame(mp_array([T_PONG, 0, fields[0]])))
        elif typ == T_OPEN:
            # We serve nothing: refuse politely, as an agent must.
            link.send(frame(mp_array([T_RESET, sid, 2, "fakeagent serves nothing"])))


def run(args):
    link = Link(args.connect, args.timeout)
    mode = args.mode
    rng = random.Random(args.seed)
    if mode == "bad-preface":
        link.send(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
    elif mode == "silent":
        link.send(PREFACE)
    elif mode == "garbage":
        link.send(PREFACE + rng.randbytes(4096))
    elif mode == "oversize":
        link.send(PREFACE + struct.pack(">I", args.length) + rng.randbytes(1024))
    elif mode == "zero-length":
        link.send(PREFACE + struct.pack(">I", 0) + rng.randbytes(64))
    elif mode == "bad-header":
        link.send(PREFACE + frame(b"\xc1\xc1\xc1"))
    elif mode == "early-data":
        link.send(PREFACE + frame(mp_array([T_DATA, 1]), b"too early"))
    elif mode == "wrong-token":
        if authenticate(link, args):
            raise Fail("rtund accepted token %r" % args.token)
        goaway = link.wait_closed(time.monotonic())
        if goaway is not None and goaway != 9:
            raise Fail("GOAWAY code %s after a failed authentication, want 9" % goaway)
        return
    else:
        if not authenticate(link, args):
            raise Fail("authentication refused")
        declare(link, args.service)
        if mode == "auth":
            hold(link, args.hold)
            say("held=%g" % args.hold)
            return
        if mode == "never-opened":
            link.send(frame(mp_array([T_DATA, args.stream]), b"hello, nobody"))
        elif mode == "bad-msgpack":
            # An array announcing three elements that holds one: truncated header.
            link.send(frame(b"\x93\x00"))
        elif mode in ("flood", "window-overflow"):
            sid = wait_open(link)
            link.send(frame(mp_array([T_OPEN_OK, sid])))
            if mode == "flood":
                # --flood bytes in 16 KiB frames, never looking at WINDOW.  rtund may grant
                # credit for what it writes to its user's socket, so the user must not read
                # (tcptool noread) and --flood must exceed the window plus what the user's
                # socket buffers can hold: then the credit is overrun and the link must go.
                chunk = bytes(16384)
                for _ in range(args.flood // len(chunk)):
                    try:
                        link.send(frame(mp_array([T_DATA, sid]), chunk))
                    except Fail:
                        break  # rtund already dropped us, or stopped reading
            else:
                link.send(frame(mp_array([T_WINDOW, sid, 0x7fffffff])))
        else:
            raise Fail("unknown mode %s" % mode)
    say("sent=%s" % mode)
    link.wait_closed(time.monotonic())


def parse_hostport(text):
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError("bad address %r, want HOST:PORT" % text)
    return host, int(port)


def parse_service(text):
    name, _, port = text.rpartition(":")
    if not name or not port.isdigit():
        raise argparse.ArgumentTypeError("bad service %r, want NAME:PORT" % text)
    return name, int(port)


def main():
    p = argparse.ArgumentParser(prog="fakeagent.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--connect", type=parse_hostport, required=True)
    p.add_argument("--mode", required=True, choices=[
        "bad-preface", "silent", "garbage", "oversize", "zero-length", "bad-header",
        "wrong-token", "never-opened", "bad-msgpack", "early-data", "flood",
        "window-overflow", "auth"])
    p.add_argument("--token", default="change-me")
    p.add_argument("--name", default="fakeagent")
    p.add_argument("--timeout", type=float, default=10, help="overall deadline in seconds")
    p.add_argument("--seed", type=int, default=1, help="for the garbage bytes")
    p.add_argument("--length", type=lambda s: int(s, 0), default=FRAME_LEN_MAX + 1,
                   help="length prefix for --mode oversize (default FRAME_LEN_MAX+1)")
    p.add_argument("--stream", type=int, default=1,
                   help="stream id for --mode never-opened (default 1)")
    p.add_argument("--service", type=parse_service, action="append", default=[],
                   help="NAME:PORT to declare (repeatable)")
    p.add_argument("--window", type=int, default=262144, help="stream_window to grant")
    p.add_argument("--flood", type=lambda s: int(s, 0), default=32 << 20,
                   help="bytes of DATA for --mode flood (default 32 MiB)")
    p.add_argument("--hold", type=float, default=1, help="seconds to stay in --mode auth")
    args = p.parse_args()
    try:
        run(args)
    except Fail as e:
        sys.stderr.write("fakeagent %s: error: %s\n" % (args.mode, e))
        sys.exit(1)


if __name__ == "__main__":
    main()
