#!/usr/bin/env python3
"""Hostile peers that cost a daemon memory or CPU if it lets them: floods that never read,
and crowds of idle half-open handshakes.  Standard library only; the rtun handshake comes
from fakeagent.py and fakeserver.py (a second implementation that shares no code with
src/).

    flood.py ping-flood --connect H:P [--tls] [--auth --token T --name N] [--timeout S]
        Optionally authenticate (over raw TCP or TLS), then send PING frames as fast as the
        socket takes them and never read.  Passes when the daemon closes the connection
        within --timeout; prints closed=reset|eof after=S sent=BYTES.
    flood.py server-flood --listen H:P --token T [--preauth] [--tls CERT KEY] [--timeout S]
        A fake rtund: accept one agent (over TLS with --tls), run the server side of the
        handshake, answer its Declare (or, with --preauth, skip all that), then flood PINGs
        without reading.  Passes when the agent drops the link.
    flood.py trickle --connect H:P [--tls] [--delay S] [--timeout S]
        Wait --delay seconds after connecting (before the TLS handshake, with --tls), then
        send the preface and a PING every 0.1 s, never authenticating; prints closed=HOW
        after=S, S counted from the TCP connect.  Passes when the daemon closes it.
    flood.py partial --connect H:P --conns K --kind preface|tls [--hold S]
        Open K connections that each send the first half of a preface or of a TLS
        ClientHello and then wait; prints open=N at the end (connections the daemon kept).

Exit 0 when the expectation was met, 1 otherwise (with a message on stderr).
"""

import argparse
import os
import socket
import ssl
import sys
import time

# The modules beside this file; no bytecode is left in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeagent  # noqa: E402  (the agent side of the handshake)
import fakeserver  # noqa: E402  (the server side)
import rtunwire as fa  # noqa: E402  (the hand-made codec)

PROG = "flood"


def die(msg):
    sys.stderr.write("%s: error: %s\n" % (PROG, msg))
    sys.exit(1)


def pings(n):
    """n PING frames in one buffer."""
    one = fa.frame(fa.mp_array([fa.T_PING, 0, 12345]))
    return one * n


def tls_wrap(sock, server_hostname="rtund"):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["rtun/1"])
    return ctx.wrap_socket(sock, server_hostname=server_hostname)


def flood_until_closed(sock, timeout, t0):
    """Send PINGs without reading until the peer closes; returns (how, bytes sent)."""
    burst = pings(4096)
    sent = 0
    deadline = t0 + timeout
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            n = sock.send(burst)
            sent += n
        except (socket.timeout, ssl.SSLWantWriteError, BlockingIOError):
            continue
        except (ConnectionResetError, BrokenPipeError):
            return "reset", sent
        except ssl.SSLError as e:
            return "tls:" + (e.reason or "error"), sent
        except OSError as e:
            return "error:%s" % (e.strerror or e), sent
    return None, sent


def cmd_ping_flood(args):
    t0 = time.monotonic()
    link = fa.Link(args.connect, args.timeout)
    if args.tls:
        try:
            link.sock = tls_wrap(link.sock)
        except (OSError, ssl.SSLError) as e:
            die("TLS handshake: %s" % e)
    if args.auth:
        if not fakeagent.authenticate(link, args):
            die("rtund refused the token")
        say_flush("auth=ok")
    else:
        link.send(fa.PREFACE)
    how, sent = flood_until_closed(link.sock, args.timeout, t0)
    say_flush("closed=%s after=%.3f sent=%d" % (how or "no", time.monotonic() - t0, sent))
    if how is None:
        die("still connected after %gs of flooding" % args.timeout)


def say_flush(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def cmd_server_flood(args):
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(args.listen)
    lst.listen(4)
    say_flush("listening=%s:%d" % lst.getsockname())
    lst.settimeout(args.timeout)
    try:
        sock, _ = lst.accept()
    except socket.timeout:
        die("no agent connected within %gs" % args.timeout)
    t0 = time.monotonic()
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        ctx.set_alpn_protocols(["rtun/1"])
        try:
            sock = ctx.wrap_socket(sock, server_side=True)
        except (OSError, ssl.SSLError) as e:
            die("TLS handshake: %s" % e)
    link = fa.Link(None, args.timeout, sock=sock)
    if not args.preauth:
        fakeserver.handshake(link, args)
        fakeserver.declare_result(link, [(name, port, 0, b"") for name, port in
                                         fakeserver.declared(link)])
        say_flush("auth=ok")
    else:
        say_flush("connected=1")
    how, sent = flood_until_closed(sock, args.timeout, t0)
    say_flush("closed=%s after=%.3f sent=%d" % (how or "no", time.monotonic() - t0, sent))
    if how is None:
        die("agent still connected after %gs of flooding" % args.timeout)


def drain_for(sock, seconds):
    """Read (and drop) what arrives for this long; "eof" if the peer closed, else None."""
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            if sock.recv(65536) == b"":
                return "eof"
        except socket.timeout:
            return None


def cmd_trickle(args):
    t0 = time.monotonic()
    try:
        sock = socket.create_connection(args.connect, timeout=5)
    except OSError as e:
        die("connect: %s" % (e.strerror or e))
    time.sleep(args.delay)
    if args.tls:
        try:
            sock = tls_wrap(sock)
        except (OSError, ssl.SSLError) as e:
            say_flush("closed=tls after=%.3f" % (time.monotonic() - t0))
            die("TLS handshake: %s" % e)
    how = None
    try:
        sock.sendall(fa.PREFACE)
        while how is None and time.monotonic() < t0 + args.timeout:
            sock.sendall(pings(1))
            how = drain_for(sock, 0.1)
    except (ConnectionResetError, BrokenPipeError):
        how = "reset"
    except ssl.SSLError:
        how = "tls"
    except OSError as e:
        how = "error:%s" % (e.strerror or e)
    say_flush("closed=%s after=%.3f" % (how or "no", time.monotonic() - t0))
    if how is None:
        die("still connected after %gs" % args.timeout)


def cmd_partial(args):
    if args.kind == "preface":
        half = fa.PREFACE[:4]
    else:
        # A TLS record header announcing a 512-byte ClientHello, and a few of its bytes.
        half = b"\x16\x03\x01\x02\x00" + b"\x01\x00\x01\xfc\x03\x03"
    socks = []
    for i in range(args.conns):
        try:
            s = socket.create_connection(args.connect, timeout=5)
            s.sendall(half)
        except OSError as e:
            die("connection %d: %s" % (i, e.strerror or e))
        socks.append(s)
    say_flush("ready=%d" % len(socks))
    time.sleep(args.hold)
    alive = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1):
                alive += 1  # the daemon answered something: still open
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
        s.close()
    say_flush("open=%d" % alive)


def main():
    global PROG
    p = argparse.ArgumentParser(prog="flood.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("ping-flood")
    sp.add_argument("--connect", type=fakeagent.parse_hostport, required=True)
    sp.add_argument("--tls", action="store_true")
    sp.add_argument("--auth", action="store_true")
    sp.add_argument("--token", default="change-me")
    sp.add_argument("--name", default="flooder")
    sp.add_argument("--window", type=int, default=262144)
    sp.add_argument("--timeout", type=float, default=30)
    sp.set_defaults(fn=cmd_ping_flood)
    sp = sub.add_parser("server-flood")
    sp.add_argument("--listen", type=fakeagent.parse_hostport, required=True)
    sp.add_argument("--token", required=True)
    sp.add_argument("--preauth", action="store_true")
    sp.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    sp.add_argument("--timeout", type=float, default=30)
    sp.set_defaults(fn=cmd_server_flood)
    sp = sub.add_parser("trickle")
    sp.add_argument("--connect", type=fakeagent.parse_hostport, required=True)
    sp.add_argument("--tls", action="store_true")
    sp.add_argument("--delay", type=float, default=0)
    sp.add_argument("--timeout", type=float, default=30)
    sp.set_defaults(fn=cmd_trickle)
    sp = sub.add_parser("partial")
    sp.add_argument("--connect", type=fakeagent.parse_hostport, required=True)
    sp.add_argument("--conns", type=int, default=100)
    sp.add_argument("--kind", choices=("preface", "tls"), required=True)
    sp.add_argument("--hold", type=float, default=3)
    sp.set_defaults(fn=cmd_partial)
    args = p.parse_args()
    PROG = "flood %s" % args.cmd
    try:
        args.fn(args)
    except fa.Fail as e:
        die(str(e))


if __name__ == "__main__":
    main()
