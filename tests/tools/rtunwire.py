"""The wire format of doc/PROTOCOL.md version 1, by hand, for the fake peers of the tests.

fakeagent.py (an agent), fakeserver.py (a server) and fakevisitor.py (a visitor that
misbehaves in a rendezvous) share it: msgpack frame headers, the few protobuf messages of
proto/rtun.proto and the punch probe of src/punch-probe.h, encoded and decoded here without
any library.  They are tiny, and a second implementation that shares no code with src/
catches more.  Link is one TCP connection with a deadline, read frame by frame.
"""

import hashlib
import hmac
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

# Text a hostile peer puts in every field it controls: line breaks that would start a
# forged line, ANSI and C1 escape sequences, a backslash that imitates an escape, invalid,
# overlong and truncated UTF-8.  HOSTILE_NAME fits the 64 bytes of a name field.
HOSTILE = (b"x\n2000-01-01T00:00:00.000Z rtund[1]: error: FORGED\r\x1b[31mred\x1b[0m"
           b"\xc2\x9b2J\\x0a\xff\xc0\xaf\xe2\x82")
HOSTILE_NAME = b"s\nFORGED\r\x1b[2J\xff\xc0\xaf"

# rtun.Control oneof field numbers.
C_CLIENT_HELLO, C_SERVER_HELLO, C_AUTH, C_AUTH_RESULT = 1, 2, 3, 4
C_DECLARE, C_DECLARE_RESULT, C_ERROR = 5, 6, 7
C_PUNCH_REQUEST, C_PUNCH_REFUSED, C_PUNCH_SESSION, C_PUNCH_GO, C_PUNCH_DONE = 8, 9, 10, 11, 12
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


def pb_text(fields, num):
    """A string field, decoded for printing."""
    return pb_get(fields, num, b"").decode("utf-8", "replace")


# ---------------------------------------------------------------- rendezvous


def punch_request(peer, service):
    return control(C_PUNCH_REQUEST, pb_field_bytes(1, peer) + pb_field_bytes(2, service))


def punch_done(session, ok, reason=""):
    return control(C_PUNCH_DONE, pb_field_bytes(1, session) + pb_field_varint(2, 1 if ok else 0) +
                   pb_field_bytes(3, reason))


def punch_session_of(fields):
    """PunchSession as a dict: session, key (bytes), peer, service (str), visitor (bool)."""
    return {"session": pb_get(fields, 1, b""), "key": pb_get(fields, 2, b""),
            "peer": pb_text(fields, 3), "service": pb_text(fields, 4),
            "visitor": bool(pb_get(fields, 5, 0))}


def punch_go_of(fields):
    """PunchGo as a dict: session (bytes), addrs (list of str, in order)."""
    return {"session": pb_get(fields, 1, b""),
            "addrs": [a.decode("utf-8", "replace") for a in fields.get(2, [])]}


PROBE_MAGIC = b"RTUNPNCH"
PROBE_VISITOR, PROBE_TARGET = 0, 1
PROBE_REPLIES = {0: "accepted", 1: "unknown-session", 2: "bad-mac", 3: "repeated",
                 4: "malformed"}


def probe(side, session, key, local=(), version=1):
    """A punch probe: local is a list of (ipv4 text, port); the MAC is made with key."""
    body = PROBE_MAGIC + bytes([version, side]) + session + bytes([len(local)])
    for host, port in local:
        body += b"\x04" + socket.inet_aton(host) + struct.pack(">H", port)
    return body + hmac.new(key, body, hashlib.sha256).digest()


# ---------------------------------------------------------------- frames and the link


def frame(header, payload=b""):
    return struct.pack(">I", len(header) + len(payload)) + header + payload


class Link:
    """A connection to addr (from source address bind, if given), or the accepted sock."""

    def __init__(self, addr, timeout, bind=None, sock=None):
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.sock = sock
        if sock is None:
            try:
                self.sock = socket.create_connection(
                    addr, timeout=min(timeout, 10),
                    source_address=(bind, 0) if bind else None)
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
            raise Fail("timed out after %gs waiting for the peer" % self.timeout)
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
                    raise Fail("the peer sent a bad frame length %d" % n)
                if len(self.buf) >= 4 + n:
                    body = bytes(self.buf[4:4 + n])
                    del self.buf[:4 + n]
                    try:
                        hdr, pos = mp_decode(body)
                    except MsgpackError as e:
                        raise Fail("the peer sent a bad header: %s" % e)
                    if not isinstance(hdr, list) or len(hdr) < 2:
                        raise Fail("the peer sent a header that is not [type, stream, ...]")
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
        """Drains frames until the peer closes the link; prints how and when."""
        goaway = None
        while True:
            try:
                f = self.read_frame()
            except Fail as e:
                if "timed out" in str(e):
                    raise Fail("the peer did not close the link within %gs" % self.timeout)
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
