#!/usr/bin/env python3
"""A hand-made rtun agent that speaks doc/PROTOCOL.md version 1 byte by byte, well or badly.

It exists to prove that rtund drops a misbehaving link (and only that link).  The wire
format is rtunwire.py's, shared with fakeserver.py and with no code of src/.

    fakeagent.py --connect H:P --mode MODE [--token T] [--name N] [--timeout S] [--bind A]

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
    open-connect    authenticate and Declare, then an OPEN that names a destination, as
                    only rtund may (a route's OPEN): a compromised agent reaching out
    flood           authenticate, Declare --service, wait for a user's OPEN, answer
                    OPEN_OK, then send --flood bytes of DATA regardless of credit
    window-overflow as flood, but send a WINDOW that takes the credit past 2^31-1
    hostile-hello   a ClientHello whose name is rtunwire.HOSTILE_NAME
    hostile         authenticate, Declare HOSTILE_NAME (on the port of the first --service)
                    and the --service list, answer the first OPEN with a RESET whose
                    reason is rtunwire.HOSTILE, then end with --end: a GOAWAY or an
                    Error with that text
Mode that behaves:
    auth            authenticate, Declare --service NAME:PORT ..., stay --hold seconds;
                    with --count N, N links one after another named NAME0 .. NAME<N-1>

Prints KEY=VALUE lines (auth=ok, declare NAME=STATUS, goaway=CODE, closed=eof|reset).
Exit 0 when the expectation of the mode was met, 1 otherwise (with a message on stderr).
"""

import argparse
import hashlib
import hmac
import os
import random
import struct
import sys
import time

from rtunwire import (C_AUTH, C_AUTH_RESULT, C_CLIENT_HELLO, C_DECLARE, C_DECLARE_RESULT,
                      C_ERROR, C_SERVER_HELLO, FRAME_LEN_MAX, HOSTILE, HOSTILE_NAME, PREFACE,
                      STATUS_NAMES, T_CONTROL, T_DATA, T_GOAWAY, T_OPEN, T_OPEN_OK, T_PING,
                      T_PONG, T_RESET, T_WINDOW, TYPE_NAMES, Fail, Link, control, frame,
                      mp_array, pb_field_bytes, pb_field_msg, pb_field_varint, pb_get,
                      pb_parse, say)


def send_hello(link, name):
    """Sends the preface and a ClientHello for name; returns the client nonce."""
    cnonce = os.urandom(32)
    body = (pb_field_varint(1, 1) + pb_field_varint(2, 1) + pb_field_bytes(3, name) +
            pb_field_bytes(4, cnonce) + pb_field_bytes(5, "fakeagent 1"))
    link.send(PREFACE + frame(mp_array([T_CONTROL, 0]), control(C_CLIENT_HELLO, body)))
    return cnonce


def hello(link, args):
    cnonce = send_hello(link, args.name)
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


def hostile(link, args):
    """Declares HOSTILE_NAME, resets the first OPEN with HOSTILE, ends the link with it."""
    declare(link, [(HOSTILE_NAME, 1)] + args.service)
    sid = wait_open(link)
    link.send(frame(mp_array([T_RESET, sid, 2, HOSTILE])))
    if args.end == "goaway":
        link.send(frame(mp_array([T_GOAWAY, 0, 0, HOSTILE])))
    else:
        body = pb_field_varint(1, 2) + pb_field_bytes(2, HOSTILE)
        link.send(frame(mp_array([T_CONTROL, 0]), control(C_ERROR, body)))


def run(args):
    if args.count == 0:
        run_once(args)
        return
    base = args.name
    for i in range(args.count):
        args.name = "%s%d" % (base, i)
        run_once(args)


def run_once(args):
    link = Link(args.connect, args.timeout, bind=args.bind)
    try:
        run_mode(link, args)
    finally:
        link.sock.close()


def run_mode(link, args):
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
    elif mode == "hostile-hello":
        send_hello(link, HOSTILE_NAME)
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
        elif mode == "open-connect":
            link.send(frame(mp_array([T_OPEN, 1, "office/ssh", "192.0.2.1:4000",
                                      "192.0.2.2:22", "10.0.0.1:22"])))
        elif mode == "bad-msgpack":
            # An array announcing three elements that holds one: truncated header.
            link.send(frame(b"\x93\x00"))
        elif mode == "hostile":
            hostile(link, args)
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
        "wrong-token", "never-opened", "bad-msgpack", "early-data", "open-connect", "flood",
        "window-overflow", "hostile-hello", "hostile", "auth"])
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
    p.add_argument("--count", type=int, default=0,
                   help="--mode auth: this many links in turn, --name plus 0, 1, ...")
    p.add_argument("--end", choices=["goaway", "error"], default="goaway",
                   help="how --mode hostile ends the link")
    p.add_argument("--bind", help="source address to connect from")
    args = p.parse_args()
    try:
        run(args)
    except Fail as e:
        sys.stderr.write("fakeagent %s: error: %s\n" % (args.mode, e))
        sys.exit(1)


if __name__ == "__main__":
    main()
