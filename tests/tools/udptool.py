#!/usr/bin/env python3
"""UDP peers for the rtun integration tests: services behind the agent, users in front of rtund.

Every subcommand is bounded in time, talks only to the address it is given, prints its
results as KEY=VALUE words on stdout so a shell can pick them apart, and exits non-zero
with a message on stderr when something went wrong.  Standard library only.

    echo-server  --listen H:P [--timeout S]       answer every datagram with the same bytes,
                                                  to its sender; prints a report on SIGTERM
    sink-server  --listen H:P [--timeout S]       count datagrams, answer none
    flows        --connect H:P --flows N --count K [--size B] [--timeout S] [--tries T]
                 [--window W] [--allow-loss]      N sockets (N flows) at once, each sending K
                                                  distinct datagrams and checking that every
                                                  echo comes back to it, whole and its own;
                                                  at most W unanswered at once, each resent
                                                  until T tries; fails on a wrong reply, and on
                                                  a missing one unless --allow-loss
    flood        --connect H:P --duration S [--rate R] [--size B] [--flows F]
                                                  send as fast as allowed, count what was sent
"""

import argparse
import collections
import errno
import os
import random
import selectors
import signal
import socket
import struct
import sys
import time

PROG = "udptool"


def die(msg, status=1):
    sys.stderr.write("%s: error: %s\n" % (PROG, msg))
    sys.stderr.flush()
    sys.exit(status)


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def parse_hostport(text):
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
    else:
        host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError("bad address %r, want HOST:PORT" % text)
    return host, int(port)


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def big_buffers(sock):
    """Ask for large socket buffers, so that the tool's own sockets do not drop."""
    for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        try:
            sock.setsockopt(socket.SOL_SOCKET, opt, 4 << 20)
        except OSError:
            pass


class Stop(Exception):
    pass


def on_term(signum, frame):
    raise Stop()


def serve(args, reply):
    """The echo and sink servers: one socket, until SIGTERM or the timeout."""
    host, port = args.listen
    sock = socket.socket(family_of(host), socket.SOCK_DGRAM)
    big_buffers(sock)
    sock.bind((host, port))
    signal.signal(signal.SIGTERM, on_term)
    say("listening=%s:%d" % (host, port))
    deadline = time.monotonic() + args.timeout
    got = nbytes = sent = 0
    peers = set()
    try:
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, min(1.0, deadline - time.monotonic())))
            try:
                data, peer = sock.recvfrom(65536)
            except socket.timeout:
                continue
            got += 1
            nbytes += len(data)
            peers.add(peer)
            if reply:
                try:
                    sock.sendto(data, peer)
                    sent += 1
                except OSError:
                    pass
    except Stop:
        pass
    say("received=%d bytes=%d replied=%d peers=%d" % (got, nbytes, sent, len(peers)))


def payload(flow, seq, size, salt):
    """Distinct bytes for datagram seq of flow: a header naming both, then noise."""
    head = struct.pack(">IIQ", flow, seq, salt)
    rnd = random.Random(salt ^ (flow << 20) ^ seq)
    body = bytes(rnd.getrandbits(8) for _ in range(max(0, size - len(head))))
    return (head + body)[:max(size, len(head))]


class Flow:
    def __init__(self, idx, dest, count, size, salt):
        self.idx = idx
        self.sock = socket.socket(family_of(dest[0]), socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.connect(dest)
        self.want = {seq: payload(idx, seq, size, salt) for seq in range(count)}
        self.sent_at = {}
        self.tries = {}
        self.got = set()
        self.wrong = 0

    def done(self):
        return len(self.got) == len(self.want)


def run_flows(args):
    dest = args.connect
    salt = random.getrandbits(48)
    sel = selectors.DefaultSelector()
    flows = []
    for i in range(args.flows):
        f = Flow(i, dest, args.count, args.size, salt)
        sel.register(f.sock, selectors.EVENT_READ, f)
        flows.append(f)
    start = time.monotonic()
    deadline = start + args.timeout
    resent = sent = 0
    pending = collections.deque((f, seq) for seq in range(args.count) for f in flows)
    # Paced: at most args.window datagrams unanswered at once, so that no socket in the
    # path (the tool's, rtund's port, the service's) overflows; what is lost is resent.
    # Until every datagram is answered or out of tries, or the deadline.
    while time.monotonic() < deadline and (pending or any(f.sent_at for f in flows)):
        now = time.monotonic()
        inflight = sum(len(f.sent_at) for f in flows)
        while pending and inflight < args.window:
            f, seq = pending.popleft()
            try:
                f.sock.send(f.want[seq])
            except BlockingIOError:
                pending.appendleft((f, seq))
                break
            f.sent_at[seq] = now
            f.tries[seq] = f.tries.get(seq, 0) + 1
            sent += 1
            inflight += 1
        for key, _ in sel.select(timeout=0.05):
            f = key.data
            while True:
                try:
                    data = f.sock.recv(65536)
                except (BlockingIOError, ConnectionRefusedError):
                    break
                if len(data) < 16:
                    f.wrong += 1
                    continue
                flow, seq, got_salt = struct.unpack(">IIQ", data[:16])
                if flow != f.idx or got_salt != salt or f.want.get(seq) != data:
                    f.wrong += 1
                else:
                    f.got.add(seq)
                    f.sent_at.pop(seq, None)
        now = time.monotonic()
        for f in flows:
            for seq, t in list(f.sent_at.items()):
                if now - t < args.retry:
                    continue
                del f.sent_at[seq]
                if f.tries.get(seq, 0) < args.tries:
                    pending.append((f, seq))
                    resent += 1
    elapsed = time.monotonic() - start
    ok = sum(1 for f in flows if f.done())
    none = sum(1 for f in flows if not f.got)
    answered = sum(len(f.got) for f in flows)
    wrong = sum(f.wrong for f in flows)
    say("flows=%d flows_ok=%d flows_none=%d datagrams=%d answered=%d sent=%d resent=%d "
        "wrong=%d secs=%.2f" % (len(flows), ok, none, len(flows) * args.count, answered, sent,
                                resent, wrong, elapsed))
    for f in flows:
        f.sock.close()
    if wrong:
        die("%d replies came to the wrong flow or with the wrong bytes" % wrong)
    if ok != len(flows) and not args.allow_loss:
        die("%d of %d flows did not get every reply" % (len(flows) - ok, len(flows)))


def run_flood(args):
    dest = args.connect
    socks = []
    for _ in range(args.flows):
        s = socket.socket(family_of(dest[0]), socket.SOCK_DGRAM)
        big_buffers(s)
        s.setblocking(False)
        s.connect(dest)
        socks.append(s)
    data = os.urandom(args.size)
    stopping = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    start = time.monotonic()
    end = start + args.duration
    sent = blocked = i = 0
    while not stopping:
        now = time.monotonic()
        if now >= end:
            break
        if args.rate > 0 and sent >= (now - start) * args.rate:
            time.sleep(min(0.001, end - now))
            continue
        try:
            socks[i % len(socks)].send(data)
            sent += 1
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNREFUSED, errno.ENOBUFS):
                raise
            blocked += 1
        i += 1
    elapsed = time.monotonic() - start
    say("sent=%d bytes=%d blocked=%d secs=%.2f rate=%.0f" %
        (sent, sent * args.size, blocked, elapsed, sent / elapsed if elapsed > 0 else 0))


def main():
    p = argparse.ArgumentParser(prog=PROG)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("echo-server", "sink-server"):
        s = sub.add_parser(name)
        s.add_argument("--listen", type=parse_hostport, required=True)
        s.add_argument("--timeout", type=float, default=300)
    s = sub.add_parser("flows")
    s.add_argument("--connect", type=parse_hostport, required=True)
    s.add_argument("--flows", type=int, required=True)
    s.add_argument("--count", type=int, default=3)
    s.add_argument("--size", type=int, default=64)
    s.add_argument("--timeout", type=float, default=60)
    s.add_argument("--window", type=int, default=256)
    s.add_argument("--retry", type=float, default=1.0)
    s.add_argument("--tries", type=int, default=3)
    s.add_argument("--allow-loss", action="store_true")
    s = sub.add_parser("flood")
    s.add_argument("--connect", type=parse_hostport, required=True)
    s.add_argument("--duration", type=float, required=True)
    s.add_argument("--rate", type=float, default=0)
    s.add_argument("--size", type=int, default=1200)
    s.add_argument("--flows", type=int, default=1)
    args = p.parse_args()
    if args.cmd == "echo-server":
        serve(args, True)
    elif args.cmd == "sink-server":
        serve(args, False)
    elif args.cmd == "flows":
        if args.size < 16:
            die("--size must be at least 16")
        run_flows(args)
    else:
        run_flood(args)


if __name__ == "__main__":
    main()
