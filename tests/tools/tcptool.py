#!/usr/bin/env python3
"""TCP peers for the rtun integration tests: servers behind the agent, users in front of rtund.

Every subcommand is bounded in time (a deadline or timeout argument), talks only to the
address it is given, prints its results as KEY=VALUE words on stdout (one line per
connection or per run) so a shell can pick them apart, and exits non-zero with a message
on stderr when something went wrong.  Standard library only.

    echo-server   --listen H:P [--greet TEXT] [--report] echo every connection, half-close aware;
                                                        --report: a line as each one ends
    sha-server    --listen H:P --send N [--seed S] [--after-eof] [--rate R]
                                                        read all, send N deterministic bytes,
                                                        report sha256 of both directions
    sha-client    --connect H:P --send N [--seed S] [--rate R]
                                                        the same from the user's side
    echo-client   --connect H:P [--conns C] [--bytes B] [--greet TEXT]
                                                        C concurrent connections, each echoing
                                                        distinct random data, verified
    halfclose     --connect H:P --send N                send N, shutdown(SHUT_WR), then read
                                                        the whole reply
    noread        --connect H:P --duration S            connect, keep sending, never read
    wait-close    --connect H:P --within S [--count K]  time until the peer closes
    hold          --connect H:P --max-wait S            echo check, print ready, wait for close
    chatter       --connect H:P --every S --for S       echo a few bytes every S seconds, then
                                                        half-close and expect a clean end
    probe         --connect H:P --until open|closed --within S
    gen-sha       --bytes N [--seed S]                  sha256 of the deterministic stream

Sizes accept K, M and G suffixes (powers of 1024).
"""

import argparse
import errno
import hashlib
import os
import random
import selectors
import signal
import socket
import sys
import time

CHUNK = 65536
PROG = "tcptool"


class ToolError(Exception):
    """A failure worth one line on stderr and exit status 1."""


def die(msg, status=1):
    sys.stderr.write("%s: error: %s\n" % (PROG, msg))
    sys.stderr.flush()
    sys.exit(status)


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def parse_size(text):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    t = text.strip().upper().rstrip("B").rstrip("I")
    try:
        if t and t[-1] in mult:
            return int(float(t[:-1]) * mult[t[-1]])
        return int(t)
    except ValueError:
        raise argparse.ArgumentTypeError("bad size %r" % text)


def parse_hostport(text):
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
    else:
        host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError("bad address %r, want HOST:PORT" % text)
    return host, int(port)


def fmt_addr(addr):
    return "%s:%d" % (addr[0], addr[1])


def sock_family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


# ---------------------------------------------------------------- byte sources and sinks


class GenSource:
    """nbytes of a deterministic pseudo-random stream, hashed as it is handed out."""

    def __init__(self, nbytes, seed):
        self.left = nbytes
        self.rng = random.Random(seed)
        self.buf = memoryview(b"")
        self.sha = hashlib.sha256()
        self.count = 0

    def pull(self, n):
        if self.left <= 0:
            return b""
        if not self.buf:
            self.buf = memoryview(self.rng.randbytes(min(CHUNK, self.left)))
        take = min(n, len(self.buf), self.left)
        out = self.buf[:take]
        self.buf = self.buf[take:]
        self.left -= take
        self.count += take
        self.sha.update(out)
        return out

    def done(self):
        return self.left <= 0


class BytesSource:
    def __init__(self, data):
        self.data = memoryview(data)
        self.sha = hashlib.sha256(data)
        self.count = len(data)

    def pull(self, n):
        out = self.data[:n]
        self.data = self.data[len(out):]
        return out

    def done(self):
        return not self.data


class HashSink:
    def __init__(self):
        self.sha = hashlib.sha256()
        self.count = 0

    def push(self, data):
        self.sha.update(data)
        self.count += len(data)


class EchoBuffer:
    """Sink and source at once: what comes in goes back out, with a bounded backlog."""

    LIMIT = 1 << 20

    def __init__(self, greet=b""):
        self.buf = bytearray(greet)
        self.eof = False

    def push(self, data):
        self.buf += data

    def pull(self, n):
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def done(self):
        return self.eof and not self.buf

    def room(self):
        return len(self.buf) < self.LIMIT


# ---------------------------------------------------------------- the event loop


class Conn:
    """One non-blocking TCP socket: sends what its source yields, then shutdown(SHUT_WR)
    (unless shut_wr is False); hands what it reads to its sink until EOF.  Its selector
    interest is derived from its state in interest(), never toggled by hand."""

    def __init__(self, sock, source=None, sink=None, rate=0, read=True, shut_wr=True,
                 send_after_eof=False, on_done=None, on_eof=None):
        sock.setblocking(False)
        self.sock = sock
        self.source = source
        self.sink = sink
        self.rate = rate
        self.read = read
        self.shut_wr = shut_wr
        self.send_after_eof = send_after_eof
        self.on_done = on_done
        self.on_eof = on_eof
        self.connecting = False
        self.out = memoryview(b"")
        self.sent = 0
        self.rd_eof = False
        self.wr_shut = source is None and shut_wr
        self.error = None
        self.closed = False
        self.t0 = time.monotonic()
        self.t_eof = None
        self.loop = None

    def fileno(self):
        return self.sock.fileno()

    def finished(self):
        return self.closed

    def _may_send(self):
        if self.wr_shut or self.connecting:
            return False
        if self.send_after_eof and not self.rd_eof:
            return False
        if self.rate and self.sent >= self.rate * (time.monotonic() - self.t0) + 16384:
            return False
        if self.out:
            return True
        if self.source is None:
            return False
        if self.source.done():
            return self.shut_wr
        return True

    def interest(self):
        if self.closed:
            return 0
        ev = 0
        if self.connecting:
            return selectors.EVENT_WRITE
        if self._may_send():
            ev |= selectors.EVENT_WRITE
        room = getattr(self.sink, "room", None)
        if self.read and not self.rd_eof and (room is None or room()):
            ev |= selectors.EVENT_READ
        return ev

    def handle(self, mask):
        try:
            if self.connecting:
                err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    raise OSError(err, os.strerror(err))
                self.connecting = False
                self.t0 = time.monotonic()
                return
            if mask & selectors.EVENT_READ:
                self._do_read()
            if mask & selectors.EVENT_WRITE and not self.closed:
                self._do_write()
        except OSError as e:
            self.fail(e)
        self._check_done()

    def _do_read(self):
        for _ in range(16):
            try:
                data = self.sock.recv(262144)
            except BlockingIOError:
                return
            if not data:
                self.rd_eof = True
                self.t_eof = time.monotonic()
                if isinstance(self.sink, EchoBuffer):
                    self.sink.eof = True
                if self.on_eof:
                    self.on_eof(self)
                return
            self.sink.push(data)
            room = getattr(self.sink, "room", None)
            if room is not None and not room():
                return

    def _do_write(self):
        for _ in range(16):
            if not self.out:
                if self.source is not None and not self.source.done():
                    self.out = memoryview(self.source.pull(262144))
                if not self.out:
                    if self.source is None or self.source.done():
                        if self.shut_wr and not self.wr_shut:
                            self.sock.shutdown(socket.SHUT_WR)
                            self.wr_shut = True
                    return
            try:
                n = self.sock.send(self.out)
            except BlockingIOError:
                return
            self.out = self.out[n:]
            self.sent += n
            if self.rate and self.sent >= self.rate * (time.monotonic() - self.t0) + 16384:
                return

    def fail(self, exc):
        if exc.errno in (errno.ECONNRESET, errno.EPIPE):
            self.error = "reset"
        else:
            self.error = str(exc)
        self.close()

    def _check_done(self):
        if self.closed:
            return
        if self.rd_eof and (self.wr_shut or not self.shut_wr and not self.out):
            self.close()

    def close(self):
        if self.closed:
            return
        self.closed = True
        if self.loop is not None:
            self.loop.forget(self)
        try:
            self.sock.close()
        except OSError:
            pass
        if self.on_done:
            self.on_done(self)


class Listener:
    def __init__(self, addr, make_conn):
        host, port = addr
        self.sock = socket.socket(sock_family(host), socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, port))
        except OSError as e:
            raise ToolError("bind %s: %s" % (fmt_addr(addr), e.strerror))
        self.sock.listen(1024)
        self.sock.setblocking(False)
        self.make_conn = make_conn
        self.closed = False
        self.loop = None

    def fileno(self):
        return self.sock.fileno()

    def interest(self):
        return selectors.EVENT_READ

    def handle(self, mask):
        for _ in range(64):
            try:
                s, peer = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.ENFILE):
                    sys.stderr.write("%s: accept: %s\n" % (PROG, e.strerror))
                    return
                raise
            self.loop.add(self.make_conn(s, peer))


class Loop:
    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.items = []
        self.masks = {}

    def add(self, item):
        item.loop = self
        self.items.append(item)
        return item

    def forget(self, item):
        """Unregisters item; called before its socket is closed, so no fd is reused under us."""
        if self.masks.pop(id(item), 0):
            self.sel.unregister(item)

    def _sync(self):
        alive = []
        for it in self.items:
            if it.closed:
                continue
            ev = it.interest()
            old = self.masks.get(id(it), 0)
            if ev != old:
                if old and ev:
                    self.sel.modify(it, ev)
                elif old:
                    self.sel.unregister(it)
                else:
                    self.sel.register(it, ev)
                if ev:
                    self.masks[id(it)] = ev
                else:
                    self.masks.pop(id(it), None)
            alive.append(it)
        self.items = alive

    def run(self, until, deadline, what):
        """Run until until() is true; ToolError when deadline (monotonic) passes first."""
        while not until():
            now = time.monotonic()
            if now >= deadline:
                raise ToolError("%s: timed out" % what)
            self._sync()
            if not self.masks:
                time.sleep(min(0.01, deadline - now))
                continue
            for key, mask in self.sel.select(min(0.02, deadline - now)):
                if not key.fileobj.closed:
                    key.fileobj.handle(mask)


def connect_blocking(addr, timeout, rcvbuf=0):
    host, port = addr
    s = socket.socket(sock_family(host), socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
    except OSError as e:
        s.close()
        raise ToolError("connect %s: %s" % (fmt_addr(addr), e.strerror or e))
    return s


def connect_nonblocking(addr):
    host, port = addr
    s = socket.socket(sock_family(host), socket.SOCK_STREAM)
    s.setblocking(False)
    err = s.connect_ex((host, port))
    if err not in (0, errno.EINPROGRESS):
        s.close()
        raise ToolError("connect %s: %s" % (fmt_addr(addr), os.strerror(err)))
    return s


def serve_forever(loop, args):
    deadline = time.monotonic() + args.deadline
    try:
        loop.run(lambda: False, deadline, "server")
    except ToolError:
        die("deadline of %gs reached, exiting" % args.deadline)


# ---------------------------------------------------------------- servers


def cmd_echo_server(args):
    greet = (args.greet + "\n").encode() if args.greet is not None else b""

    count = [0]

    def report(c):
        say("conn=%d end=%s" % (c.number, c.error or "eof"))

    def make(s, peer):
        buf = EchoBuffer(greet)
        c = Conn(s, source=buf, sink=buf, on_done=report if args.report else None)
        c.number = count[0]
        count[0] += 1
        return c

    loop = Loop()
    lst = loop.add(Listener(args.listen, make))
    say("listening=%s" % fmt_addr(lst.sock.getsockname()))
    serve_forever(loop, args)


def cmd_sha_server(args):
    counter = [0]

    def done(c):
        counter[0] += 1
        say("conn=%d peer=%s recv_bytes=%d recv_sha256=%s sent_bytes=%d sent_sha256=%s "
            "result=%s" % (counter[0], c.peer, c.sink.count, c.sink.sha.hexdigest(),
                           c.source.count, c.source.sha.hexdigest(), c.error or "ok"))

    def make(s, peer):
        c = Conn(s, source=GenSource(args.send, args.seed), sink=HashSink(),
                 send_after_eof=args.after_eof, rate=args.rate, on_done=done)
        c.peer = fmt_addr(peer)
        return c

    loop = Loop()
    lst = loop.add(Listener(args.listen, make))
    say("listening=%s" % fmt_addr(lst.sock.getsockname()))
    serve_forever(loop, args)


# ---------------------------------------------------------------- clients


def cmd_sha_client(args):
    deadline = time.monotonic() + args.timeout
    t0 = time.monotonic()
    s = connect_blocking(args.connect, args.timeout)
    loop = Loop()
    c = loop.add(Conn(s, source=GenSource(args.send, args.seed), sink=HashSink(),
                      rate=args.rate))
    try:
        loop.run(c.finished, deadline, "sha-client")
    except ToolError as e:
        die("%s after sent=%d recv=%d" % (e, c.sent, c.sink.count))
    elapsed = time.monotonic() - t0
    say("sent_bytes=%d sent_sha256=%s recv_bytes=%d recv_sha256=%s elapsed=%.3f result=%s" % (
        c.source.count, c.source.sha.hexdigest(), c.sink.count, c.sink.sha.hexdigest(),
        elapsed, c.error or "ok"))
    if c.error:
        die("connection error: %s" % c.error)
    if c.source.count != args.send:
        die("sent only %d of %d bytes" % (c.source.count, args.send))


class EchoCheck:
    """Verifies that everything read equals greet + what was sent, byte for byte."""

    def __init__(self, idx, nbytes, greet):
        # Distinct data per connection: a header naming it, then fresh random bytes.
        head = b"conn %06d " % idx
        self.data = head + os.urandom(max(0, nbytes - len(head)))
        self.expect = greet + self.data
        self.got = 0
        self.bad = None

    def push(self, data):
        if self.bad is None:
            want = self.expect[self.got:self.got + len(data)]
            if data != want:
                for i in range(min(len(data), len(want))):
                    if data[i] != want[i]:
                        break
                else:
                    i = min(len(data), len(want))
                self.bad = "mismatch at byte %d" % (self.got + i)
        self.got += len(data)


def cmd_echo_client(args):
    deadline = time.monotonic() + args.timeout
    greet = (args.greet + "\n").encode() if args.greet is not None else b""
    loop = Loop()
    conns = []
    # Phase 1: every connection is established before any sends, so all are open at once.
    for i in range(args.conns):
        try:
            s = connect_nonblocking(args.connect)
        except ToolError as e:
            die("connection %d: %s" % (i, e))
        chk = EchoCheck(i, args.bytes, greet)
        c = Conn(s, source=None, sink=chk, shut_wr=False)
        c.connecting = True
        c.check = chk
        conns.append(loop.add(c))
    try:
        loop.run(lambda: all(not c.connecting or c.closed for c in conns), deadline,
                 "echo-client connect phase")
    except ToolError as e:
        die("%s (%d of %d connected)" % (e, sum(not c.connecting for c in conns), len(conns)))
    broken = [c for c in conns if c.closed]
    if broken:
        die("%d connections failed to connect, first: %s" % (len(broken), broken[0].error))
    # Phase 2: all send their data at once; each is verified as its echo comes back.
    for c in conns:
        c.source = BytesSource(c.check.data)
    expect = len(greet) + args.bytes

    def all_echoed():
        return all(c.closed or c.check.got >= expect or c.check.bad for c in conns)

    try:
        loop.run(all_echoed, deadline, "echo-client echo phase")
    except ToolError as e:
        short = [c for c in conns if c.check.got < expect]
        die("%s: %d connections short, first got %d of %d bytes" % (
            e, len(short), short[0].check.got, expect))
    # Phase 3: half-close each and expect a clean EOF with nothing extra.
    for c in conns:
        c.shut_wr = True
    try:
        loop.run(lambda: all(c.closed for c in conns), deadline, "echo-client close phase")
    except ToolError as e:
        die("%s: %d connections saw no EOF" % (e, sum(not c.closed for c in conns)))
    bad = []
    for i, c in enumerate(conns):
        if c.check.bad:
            bad.append("conn %d: %s" % (i, c.check.bad))
        elif c.error:
            bad.append("conn %d: %s after %d bytes" % (i, c.error, c.check.got))
        elif c.check.got != expect:
            bad.append("conn %d: got %d bytes, want %d" % (i, c.check.got, expect))
    say("conns=%d ok=%d bytes=%d" % (len(conns), len(conns) - len(bad), args.bytes))
    if bad:
        die("%d connections failed: %s" % (len(bad), "; ".join(bad[:5])))


def cmd_halfclose(args):
    """Sends everything and shuts its write side before reading a single byte."""
    deadline = time.monotonic() + args.timeout
    t0 = time.monotonic()
    s = connect_blocking(args.connect, args.timeout)
    src = GenSource(args.send, args.seed)
    while not src.done():
        chunk = src.pull(CHUNK)
        while chunk:
            left = deadline - time.monotonic()
            if left <= 0:
                die("timed out sending (sent %d of %d)" % (src.count, args.send))
            s.settimeout(left)
            try:
                n = s.send(chunk)
            except socket.timeout:
                continue
            except OSError as e:
                die("send: %s after %d bytes" % (e.strerror, src.count))
            chunk = chunk[n:]
    s.shutdown(socket.SHUT_WR)
    say("shutdown_wr sent_bytes=%d" % src.count)
    sink = HashSink()
    result = "ok"
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            die("timed out reading the reply after shutdown (got %d bytes)" % sink.count)
        s.settimeout(left)
        try:
            data = s.recv(262144)
        except socket.timeout:
            continue
        except OSError as e:
            result = "reset" if e.errno == errno.ECONNRESET else str(e)
            break
        if not data:
            break
        sink.push(data)
    s.close()
    say("sent_bytes=%d sent_sha256=%s recv_bytes=%d recv_sha256=%s elapsed=%.3f result=%s" % (
        src.count, src.sha.hexdigest(), sink.count, sink.sha.hexdigest(),
        time.monotonic() - t0, result))
    if result != "ok":
        die("reply ended by %s after %d bytes" % (result, sink.count))


def cmd_noread(args):
    """Connects and keeps writing for --duration seconds; never calls recv."""
    s = connect_blocking(args.connect, 10, rcvbuf=4096)
    say("connected=%s" % fmt_addr(s.getsockname()))
    end = time.monotonic() + args.duration
    data = os.urandom(CHUNK)
    sent = 0
    next_report = time.monotonic() + 1
    stalled = False
    while time.monotonic() < end:
        s.settimeout(0.2)
        try:
            sent += s.send(data)
        except socket.timeout:
            stalled = True
        except OSError as e:
            say("sent_bytes=%d result=%s" % (sent, e.strerror))
            die("send failed: %s after %d bytes" % (e.strerror, sent))
        if args.rate:
            ahead = sent / args.rate - (time.monotonic() - (end - args.duration))
            if ahead > 0:
                time.sleep(min(ahead, 0.2))
        if time.monotonic() >= next_report:
            say("sent_bytes=%d stalled=%d" % (sent, int(stalled)))
            next_report += 1
    say("sent_bytes=%d done=1" % sent)
    s.close()


def wait_end(s, deadline):
    """Reads until EOF or reset; returns 'eof', 'reset' or None at the deadline."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        s.settimeout(left)
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        except OSError as e:
            return "reset" if e.errno == errno.ECONNRESET else "error:%s" % e.strerror
        if not data:
            return "eof"


def cmd_wait_close(args):
    late = 0
    for i in range(args.count):
        t0 = time.monotonic()
        try:
            s = connect_blocking(args.connect, 5)
        except ToolError as e:
            # A reset that beats connect() to the finish line is the fastest close of all.
            if "reset" not in str(e).lower():
                raise
            s = None
        if s is None:
            how = "reset"
        else:
            t0 = time.monotonic()
            how = wait_end(s, t0 + max(args.within * 3, args.within + 2))
            s.close()
        elapsed = time.monotonic() - t0
        say("conn=%d closed=%s elapsed=%.3f" % (i, how or "no", elapsed))
        if how is None or elapsed > args.within:
            late += 1
    if late:
        die("%d of %d connections not closed within %gs" % (late, args.count, args.within))


def echo_once(s, msg, what):
    """Sends msg on s and reads it back within 10 s; dies naming what otherwise."""
    s.settimeout(10)
    got = b""
    try:
        s.sendall(msg)
        while len(got) < len(msg):
            data = s.recv(len(msg) - len(got))
            if not data:
                break
            got += data
    except OSError as e:
        die("%s: %s" % (what, e))
    if got != msg:
        die("%s failed: got %d bytes back, want %d identical" % (what, len(got), len(msg)))


def cmd_hold(args):
    s = connect_blocking(args.connect, 10)
    echo_once(s, b"hold " + os.urandom(1024), "echo check")
    t0 = time.monotonic()
    say("ready=1")
    how = wait_end(s, t0 + args.max_wait)
    say("closed=%s after=%.3f" % (how or "no", time.monotonic() - t0))
    if how is None:
        die("connection still open after %gs" % args.max_wait)


def cmd_chatter(args):
    s = connect_blocking(args.connect, 10)
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < args.duration:
        echo_once(s, b"chatter %d " % n + os.urandom(16),
                  "message %d after %.3fs" % (n, time.monotonic() - t0))
        n += 1
        time.sleep(args.every)
    s.shutdown(socket.SHUT_WR)
    how = wait_end(s, time.monotonic() + 10)
    say("messages=%d closed=%s after=%.3f" % (n, how or "no", time.monotonic() - t0))
    if how != "eof":
        die("the connection ended with %s, not a clean end" % (how or "nothing"))


def try_connect(addr, timeout):
    host, port = addr
    s = socket.socket(sock_family(host), socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def cmd_probe(args):
    end = time.monotonic() + args.within
    want = args.until == "open"
    while True:
        state = try_connect(args.connect, 1.0)
        if state == want:
            say(args.until)
            return
        if time.monotonic() >= end:
            say("open" if state else "closed")
            sys.exit(1)
        time.sleep(0.1)


def cmd_gen_sha(args):
    src = GenSource(args.bytes, args.seed)
    while not src.done():
        src.pull(CHUNK)
    say("bytes=%d sha256=%s" % (src.count, src.sha.hexdigest()))


# ---------------------------------------------------------------- command line


def main():
    global PROG
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    p = argparse.ArgumentParser(prog="tcptool.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    def server(name, fn):
        sp = sub.add_parser(name)
        sp.add_argument("--listen", type=parse_hostport, required=True)
        sp.add_argument("--deadline", type=float, default=600,
                        help="exit after this many seconds (default 600)")
        sp.set_defaults(fn=fn)
        return sp

    def client(name, fn, timeout=60):
        sp = sub.add_parser(name)
        sp.add_argument("--connect", type=parse_hostport, required=True)
        sp.add_argument("--timeout", type=float, default=timeout,
                        help="overall deadline in seconds (default %g)" % timeout)
        sp.set_defaults(fn=fn)
        return sp

    sp = server("echo-server", cmd_echo_server)
    sp.add_argument("--greet", help="send this line first on every connection")
    sp.add_argument("--report", action="store_true", help="say how each connection ended")
    sp = server("sha-server", cmd_sha_server)
    sp.add_argument("--send", type=parse_size, required=True)
    sp.add_argument("--seed", type=int, default=2)
    sp.add_argument("--after-eof", action="store_true",
                    help="send only after the peer has shut its write side")
    sp.add_argument("--rate", type=parse_size, default=0, help="bytes per second, 0: no limit")
    sp = client("sha-client", cmd_sha_client)
    sp.add_argument("--send", type=parse_size, required=True)
    sp.add_argument("--seed", type=int, default=1)
    sp.add_argument("--rate", type=parse_size, default=0, help="bytes per second, 0: no limit")
    sp = client("echo-client", cmd_echo_client)
    sp.add_argument("--conns", type=int, default=1)
    sp.add_argument("--bytes", type=parse_size, default=65536)
    sp.add_argument("--greet", help="expect this line first on every connection")
    sp = client("halfclose", cmd_halfclose)
    sp.add_argument("--send", type=parse_size, required=True)
    sp.add_argument("--seed", type=int, default=1)
    sp = client("noread", cmd_noread)
    sp.add_argument("--duration", type=float, required=True)
    sp.add_argument("--rate", type=parse_size, default=0, help="bytes per second, 0: no limit")
    sp = client("wait-close", cmd_wait_close)
    sp.add_argument("--within", type=float, required=True)
    sp.add_argument("--count", type=int, default=1)
    sp = client("hold", cmd_hold)
    sp.add_argument("--max-wait", type=float, required=True)
    sp = client("chatter", cmd_chatter)
    sp.add_argument("--every", type=float, required=True)
    sp.add_argument("--for", dest="duration", type=float, required=True)
    sp = client("probe", cmd_probe)
    sp.add_argument("--until", choices=("open", "closed"), required=True)
    sp.add_argument("--within", type=float, default=0)
    sp = sub.add_parser("gen-sha")
    sp.add_argument("--bytes", type=parse_size, required=True)
    sp.add_argument("--seed", type=int, default=1)
    sp.set_defaults(fn=cmd_gen_sha)

    args = p.parse_args()
    PROG = "tcptool %s" % args.cmd
    try:
        args.fn(args)
    except ToolError as e:
        die(str(e))
    except KeyboardInterrupt:
        die("interrupted")


if __name__ == "__main__":
    main()
