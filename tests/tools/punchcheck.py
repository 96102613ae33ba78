#!/usr/bin/env python3
"""TCP hole punching checks for the NAT lab of tests/integration/natlab.sh (t28).

A reflector on the public host tells every client the address it saw the connection come
from, so a host behind a NAT learns its public endpoint; hello does that from a chosen local
port; punch then binds the same local port and opens a TCP connection to a peer's public
endpoint while the peer does the same towards it (simultaneous open), retrying until its
bound; probe tells an open port from a refused, dropped or unreachable one.  Every
subcommand is bounded in time, prints KEY=VALUE words on stdout and exits non-zero when
the check did not hold.  Standard library only.

    reflect --listen H:P [--listen H:P ...] [--duration S]
            on every address: send each client "you=IP:PORT\\n" (its address as seen
            here), print "conn listen=H:P peer=IP:PORT", close
    hello   --connect H:P [--bind H:PORT] [--timeout S]
            connect from that local address, print "local=IP:PORT public=IP:PORT"
    probe   --connect H:P [--connect H:P ...] [--timeout S]
            one connect to each at once; print "target=H:P result=R elapsed_ms=T" per
            target, R one of open, refused, timeout, unreachable, error-ERRNO
    punch   --bind H:PORT --peer H:P --start-at-ms T [--within S] [--attempt S] --name N
            from T (ms since the epoch) on, connect from H:PORT to the peer again and
            again (each attempt up to --attempt seconds) until connected or --within
            seconds have passed; once connected, send "N-NONCE\\n" and read the peer's
            line; print "result=ok|timeout attempts=K elapsed_ms=T ..."

Sockets that bind a local port set SO_REUSEADDR and SO_REUSEPORT, so the port used to reach
the reflector can be bound again at once for the punch.
"""

import argparse
import errno
import os
import selectors
import signal
import socket
import sys
import time

PROG = "punchcheck"


def die(msg, status=1):
    sys.stderr.write("%s: error: %s\n" % (PROG, msg))
    sys.stderr.flush()
    sys.exit(status)


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def parse_hostport(text, port_zero=False):
    host, _, port = text.rpartition(":")
    low = 0 if port_zero else 1
    if not host or not port.isdigit() or not low <= int(port) < 65536:
        raise argparse.ArgumentTypeError("bad address %r, want IPV4:PORT" % text)
    return host, int(port)


def parse_bind(text):
    return parse_hostport(text, port_zero=True)


def fmt_addr(addr):
    return "%s:%d" % (addr[0], addr[1])


def ms_since(t0):
    return int((time.monotonic() - t0) * 1000)


def bound_socket(bind):
    """A non-blocking IPv4 TCP socket bound to bind, reusable as the punch needs."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(bind)
    except OSError:
        s.close()
        raise
    s.setblocking(False)
    return s


def errno_word(err):
    if err in (errno.ECONNREFUSED, errno.ECONNRESET):
        return "refused"
    if err in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return "unreachable"
    if err == errno.ETIMEDOUT:
        return "timeout"
    return "error-" + errno.errorcode.get(err, str(err))


def start_connect(s, addr):
    """Starts a non-blocking connect; 0 when under way, else the errno it failed with."""
    err = s.connect_ex(addr)
    return 0 if err in (0, errno.EINPROGRESS) else err


def wait_connected(s, until):
    """Waits for a connect under way until the monotonic time until; an errno, 0, or None."""
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_WRITE)
    try:
        left = until - time.monotonic()
        if left <= 0 or not sel.select(left):
            return None
    finally:
        sel.close()
    return s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)


def read_line(s, deadline, limit=256):
    """One line from a blocking socket, by the monotonic deadline; b"" if none came."""
    buf = b""
    while b"\n" not in buf and len(buf) < limit:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data = s.recv(limit - len(buf))
        except (socket.timeout, OSError):
            break
        if not data:
            break
        buf += data
    return buf.split(b"\n", 1)[0] if b"\n" in buf else b""


# ---------------------------------------------------------------- subcommands


def cmd_reflect(args):
    sel = selectors.DefaultSelector()
    for addr in args.listen:
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            ls.bind(addr)
        except OSError as e:
            die("bind %s: %s" % (fmt_addr(addr), e))
        ls.listen(64)
        ls.setblocking(False)
        sel.register(ls, selectors.EVENT_READ, fmt_addr(addr))
    say("listening=%s" % ",".join(fmt_addr(a) for a in args.listen))
    end = time.monotonic() + args.duration
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        for key, _ in sel.select(left):
            try:
                c, peer = key.fileobj.accept()
            except OSError:
                continue
            c.settimeout(2)
            try:
                c.sendall(("you=%s\n" % fmt_addr(peer)).encode())
            except OSError:
                pass
            c.close()
            say("conn listen=%s peer=%s" % (key.data, fmt_addr(peer)))


def cmd_hello(args):
    deadline = time.monotonic() + args.timeout
    try:
        s = bound_socket(args.bind)
    except OSError as e:
        die("bind %s: %s" % (fmt_addr(args.bind), e))
    local = fmt_addr(s.getsockname())
    err = start_connect(s, args.connect)
    if err == 0:
        err = wait_connected(s, deadline)
    if err is None:
        die("connect %s from %s: no answer within %gs" % (fmt_addr(args.connect), local,
                                                          args.timeout))
    if err:
        die("connect %s from %s: %s" % (fmt_addr(args.connect), local, os.strerror(err)))
    s.setblocking(True)
    line = read_line(s, deadline)
    s.close()
    if not line.startswith(b"you="):
        die("%s sent no you= line" % fmt_addr(args.connect))
    say("local=%s public=%s" % (local, line[4:].decode(errors="replace")))


def cmd_probe(args):
    t0 = time.monotonic()
    until = t0 + args.timeout
    sel = selectors.DefaultSelector()
    results = {}
    socks = []
    for addr in args.connect:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        socks.append(s)
        err = start_connect(s, addr)
        if err:
            results[addr] = (errno_word(err), ms_since(t0))
        else:
            sel.register(s, selectors.EVENT_WRITE, addr)
    while len(results) < len(args.connect):
        left = until - time.monotonic()
        if left <= 0:
            break
        for key, _ in sel.select(left):
            err = key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            results[key.data] = ("open" if err == 0 else errno_word(err), ms_since(t0))
            sel.unregister(key.fileobj)
    for addr in args.connect:
        word, ms = results.get(addr, ("timeout", ms_since(t0)))
        say("target=%s result=%s elapsed_ms=%d" % (fmt_addr(addr), word, ms))
    for s in socks:
        s.close()


def punch_once(bind, peer, until):
    """One attempt: a connected socket, or None and why not."""
    try:
        s = bound_socket(bind)
    except OSError as e:
        return None, "bind-" + errno_word(e.errno)
    err = start_connect(s, peer)
    if err == 0:
        err = wait_connected(s, until)
    if err == 0:
        return s, "connected"
    s.close()
    return None, "timeout" if err is None else errno_word(err)


def cmd_punch(args):
    delay = args.start_at_ms / 1000.0 - time.time()
    if delay > 10:
        die("--start-at-ms is %.1fs away; at most 10s" % delay)
    if delay > 0:
        time.sleep(delay)
    t0 = time.monotonic()
    deadline = t0 + args.within
    attempts = 0
    why = "none"
    s = None
    while s is None:
        now = time.monotonic()
        if now >= deadline:
            break
        attempts += 1
        s, why = punch_once(args.bind, args.peer, min(deadline, now + args.attempt))
        if s is None and why != "timeout":
            # A refusal comes back at once: pace the retries.
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
    common = "attempts=%d elapsed_ms=%d bind=%s peer=%s" % (
        attempts, ms_since(t0), fmt_addr(args.bind), fmt_addr(args.peer))
    if s is None:
        say("result=timeout last=%s %s" % (why, common))
        sys.exit(1)
    local = fmt_addr(s.getsockname())
    s.setblocking(True)
    token = "%s-%s" % (args.name, os.urandom(6).hex())
    try:
        s.settimeout(args.io_timeout)
        s.sendall((token + "\n").encode())
    except OSError as e:
        say("result=send-failed %s" % common)
        die("send after connecting: %s" % e)
    got = read_line(s, time.monotonic() + args.io_timeout).decode(errors="replace")
    s.close()
    say("result=%s %s local=%s sent=%s recv=%s" % ("ok" if got else "no-data", common, local,
                                                    token, got or "-"))
    if not got:
        sys.exit(1)


# ---------------------------------------------------------------- command line


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    p = argparse.ArgumentParser(prog="punchcheck.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    sp = sub.add_parser("reflect")
    sp.add_argument("--listen", type=parse_hostport, action="append", required=True)
    sp.add_argument("--duration", type=float, default=300,
                    help="exit after this many seconds (default 300)")
    sp.set_defaults(fn=cmd_reflect)

    sp = sub.add_parser("hello")
    sp.add_argument("--connect", type=parse_hostport, required=True)
    sp.add_argument("--bind", type=parse_bind, default=("0.0.0.0", 0))
    sp.add_argument("--timeout", type=float, default=5)
    sp.set_defaults(fn=cmd_hello)

    sp = sub.add_parser("probe")
    sp.add_argument("--connect", type=parse_hostport, action="append", required=True)
    sp.add_argument("--timeout", type=float, default=2,
                    help="a target that has not answered by then is timeout (default 2)")
    sp.set_defaults(fn=cmd_probe)

    sp = sub.add_parser("punch")
    sp.add_argument("--bind", type=parse_bind, required=True)
    sp.add_argument("--peer", type=parse_hostport, required=True)
    sp.add_argument("--start-at-ms", type=int, required=True)
    sp.add_argument("--within", type=float, default=8)
    sp.add_argument("--attempt", type=float, default=1.0,
                    help="give up on one connect after this many seconds (default 1)")
    sp.add_argument("--io-timeout", type=float, default=3)
    sp.add_argument("--name", required=True)
    sp.set_defaults(fn=cmd_punch)

    args = p.parse_args()
    if hasattr(args, "within") and not 0 < args.within <= 60:
        die("--within must be in (0, 60]")
    args.fn(args)


if __name__ == "__main__":
    main()
