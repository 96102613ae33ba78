#!/usr/bin/env python3
"""A hand-made, hostile rtund that speaks doc/PROTOCOL.md version 1 to a real rtun.

It exists to prove that nothing a server sends can forge a line in rtun's log.  It
listens on --listen and serves one agent connection per scenario, in the order given;
every text field it controls carries rtunwire.HOSTILE (names: rtunwire.HOSTILE_NAME).

    fakeserver.py --listen H:P --token T --scenario NAME [--scenario NAME ...]

Scenarios:
    auth-refused    ServerHello, then AuthResult ok=false with a hostile message and a
                    GOAWAY code 9 with a hostile reason
    bad-proof       AuthResult ok=true with a server_mac made without the token
    declare-reason  a correct handshake; DeclareResult refusing every declared service
                    with a hostile reason; OPEN for a hostile service name; a DeclareResult
                    accepting the first declared service, then OPEN for it with hostile
                    peer and dest, RESET of it with a hostile reason once rtun answers; an
                    Error with a hostile message
    declare-name    a correct handshake; DeclareResult naming a hostile service, then an
                    Error (rtun should have dropped the link already)
    goaway          a correct handshake and DeclareResult; GOAWAY with a hostile reason

Prints listening=H:P, then scenario=NAME begin|end per scenario.  Exit 0 when every
scenario ran to its end, 1 otherwise (with a message on stderr).
"""

import argparse
import hashlib
import hmac
import os
import socket
import sys
import time

from rtunwire import (C_AUTH, C_AUTH_RESULT, C_CLIENT_HELLO, C_DECLARE, C_DECLARE_RESULT,
                      C_ERROR, C_SERVER_HELLO, HOSTILE, HOSTILE_NAME, PREFACE, T_CONTROL,
                      T_GOAWAY, T_OPEN, T_OPEN_OK, T_RESET, Fail, Link, control, frame,
                      mp_array, pb_field_bytes, pb_field_msg, pb_field_varint, pb_get,
                      pb_parse, say)

STATUS_NOT_ALLOWED = 1


def send_control(link, kind, body):
    link.send(frame(mp_array([T_CONTROL, 0]), control(kind, body)))


def expect_control(link, want, what):
    kind, msg = link.next_control(what)
    if kind != want:
        raise Fail("rtun sent Control field %d, want %s" % (kind, what))
    return msg


def read_preface(link):
    while len(link.buf) < len(PREFACE):
        if link.eof:
            raise Fail("rtun closed before the preface (%s)" % link.eof)
        link._fill()
    if bytes(link.buf[:len(PREFACE)]) != PREFACE:
        raise Fail("rtun sent no preface")
    del link.buf[:len(PREFACE)]


def handshake(link, args, ok=True, proof=True):
    """ClientHello, ServerHello, Auth, AuthResult; returns the agent's name."""
    read_preface(link)
    hello = expect_control(link, C_CLIENT_HELLO, "ClientHello")
    name, cnonce = pb_get(hello, 3, b""), pb_get(hello, 4, b"")
    snonce = os.urandom(32)
    send_control(link, C_SERVER_HELLO, pb_field_varint(1, 1) + pb_field_bytes(2, snonce) +
                 pb_field_bytes(3, "fakeserver 1"))
    auth = expect_control(link, C_AUTH, "Auth")
    token = args.token.encode() if proof else os.urandom(16)
    tail = snonce + cnonce + name
    want = hmac.new(args.token.encode(), b"rtun-v1 agent\x00" + tail, hashlib.sha256).digest()
    if not hmac.compare_digest(pb_get(auth, 1, b""), want):
        raise Fail("rtun's Auth mac is wrong")
    if not ok:
        send_control(link, C_AUTH_RESULT, pb_field_varint(1, 0) + pb_field_bytes(2, HOSTILE))
        link.send(frame(mp_array([T_GOAWAY, 0, 9, HOSTILE])))
        return name
    smac = hmac.new(token, b"rtun-v1 server\x00" + tail, hashlib.sha256).digest()
    send_control(link, C_AUTH_RESULT, pb_field_varint(1, 1) + pb_field_bytes(3, smac) +
                 pb_field_varint(4, 262144))
    return name


def declared(link):
    """Reads the Declare; returns [(name, port)]."""
    msg = expect_control(link, C_DECLARE, "Declare")
    out = []
    for raw in msg.get(1, []):
        svc = pb_parse(raw)
        out.append((pb_get(svc, 1, b""), pb_get(svc, 2, 0)))
    if not out:
        raise Fail("rtun declared no service")
    return out


def declare_result(link, results):
    """Sends a DeclareResult of (name, port, status, reason)."""
    body = b""
    for name, port, status, reason in results:
        body += pb_field_msg(1, pb_field_bytes(1, name) + pb_field_varint(2, port) +
                             pb_field_varint(3, status) + pb_field_bytes(4, reason))
    send_control(link, C_DECLARE_RESULT, body)


def wait_frame(link, want):
    """Skips frames (PINGs answered) until one of type want; returns its stream id."""
    while True:
        f = link.read_frame()
        if f is None:
            raise Fail("rtun closed the link (%s) while we waited for frame %d" % (
                link.eof, want))
        typ, sid, fields, _ = f
        if typ == want:
            return sid
        if typ == T_RESET:
            raise Fail("rtun reset stream %d: %s" % (sid, fields[1:]))


def declare_reason(link, args):
    services = declared(link)
    declare_result(link, [(n, p, STATUS_NOT_ALLOWED, HOSTILE) for n, p in services])
    # rtun does not know this service: it answers with RESET, logging the name.
    link.send(frame(mp_array([T_OPEN, 2, HOSTILE_NAME, HOSTILE, HOSTILE])))
    wait_frame(link, T_RESET)
    # rtun serves only what the server accepted: accept the first service, then open it.
    declare_result(link, [(n, p, 0, b"") for n, p in services[:1]])
    link.send(frame(mp_array([T_OPEN, 4, services[0][0], HOSTILE, HOSTILE])))
    wait_frame(link, T_OPEN_OK)
    link.send(frame(mp_array([T_RESET, 4, 6, HOSTILE])))
    send_control(link, C_ERROR, pb_field_varint(1, 2) + pb_field_bytes(2, HOSTILE))


def scenario(link, args, name):
    if name == "auth-refused":
        handshake(link, args, ok=False)
    elif name == "bad-proof":
        handshake(link, args, proof=False)
    else:
        handshake(link, args)
        if name == "declare-reason":
            declare_reason(link, args)
        elif name == "declare-name":
            declared(link)
            declare_result(link, [(HOSTILE_NAME, 1, 0, b"")])
            # Ends the link should rtun take the name (it must not).
            send_control(link, C_ERROR, pb_field_varint(1, 2) + pb_field_bytes(2, b"end"))
        elif name == "goaway":
            declare_result(link, [(n, p, 0, b"") for n, p in declared(link)])
            link.send(frame(mp_array([T_GOAWAY, 0, 0, HOSTILE])))
    link.wait_closed(time.monotonic())


def main():
    p = argparse.ArgumentParser(prog="fakeserver.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--listen", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--scenario", action="append", required=True, choices=[
        "auth-refused", "bad-proof", "declare-reason", "declare-name", "goaway"])
    p.add_argument("--timeout", type=float, default=20, help="deadline per scenario")
    args = p.parse_args()
    host, _, port = args.listen.rpartition(":")
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, int(port)))
    srv.listen(4)
    srv.settimeout(args.timeout)
    say("listening=%s" % args.listen)
    name = None
    try:
        for name in args.scenario:
            try:
                sock, _ = srv.accept()
            except socket.timeout:
                raise Fail("no agent connected within %gs" % args.timeout)
            say("scenario=%s begin" % name)
            link = Link(None, args.timeout, sock=sock)
            try:
                scenario(link, args, name)
            finally:
                sock.close()
            say("scenario=%s end" % name)
    except Fail as e:
        sys.stderr.write("fakeserver %s: error: %s\n" % (name, e))
        sys.exit(1)


if __name__ == "__main__":
    main()
