#!/usr/bin/env python3
"""A web client that misbehaves on purpose, for the tests of rtund's http_listen and
https_listen.  It connects, sends what it is told (all at once, or trickled), then reads
until the server closes or the deadline passes, and prints one line of KEY=VALUE words:

    status=NNN     the HTTP status of the answer (0 if it was not HTTP)
    alert=NNN      the TLS alert description of the answer, if it was a TLS alert
    end=eof|reset|open   how the connection ended (open: still open at the deadline)
    elapsed=S      seconds from connect to the end
    bytes=N        bytes of the answer

    webpoke.py --connect H:P [--send TEXT | --size N | --hello NAME | --hello-none |
               --hello-garbage NAME] [--trickle BPS] [--timeout S]

TEXT may hold \\r and \\n escapes; --size sends a head of N bytes (one long header);
--hello sends the ClientHello of Python's TLS client for NAME (--hello-none without a
server name; --hello-garbage with a broken extension list).  Standard library only.
"""

import argparse
import errno
import select
import socket
import ssl
import struct
import sys
import time


def client_hello(name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    conn = ctx.wrap_bio(inc, out, server_hostname=name)
    try:
        conn.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def garbage_hello(name):
    """The hello with its extensions block one byte longer than what follows."""
    h = bytearray(client_hello(name))
    off = 5 + 4 + 2 + 32
    off += 1 + h[off]
    off += 2 + struct.unpack(">H", h[off:off + 2])[0]
    off += 1 + h[off]
    n = struct.unpack(">H", h[off:off + 2])[0]
    h[off:off + 2] = struct.pack(">H", n + 1)
    return bytes(h)


def payload(args):
    if args.hello is not None:
        return client_hello(args.hello)
    if args.hello_none:
        return client_hello(None)
    if args.hello_garbage is not None:
        return garbage_hello(args.hello_garbage)
    if args.size:
        head = b"GET / HTTP/1.1\r\nHost: x.example\r\nX-Big: "
        return head + b"x" * max(0, args.size - len(head) - 4) + b"\r\n\r\n"
    if args.send is not None:
        return args.send.encode().decode("unicode_escape").encode("latin-1")
    return b""


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--connect", required=True)
    p.add_argument("--send")
    p.add_argument("--size", type=int, default=0)
    p.add_argument("--hello")
    p.add_argument("--hello-none", action="store_true")
    p.add_argument("--hello-garbage")
    p.add_argument("--trickle", type=float, default=0, help="bytes per second")
    p.add_argument("--timeout", type=float, default=10)
    args = p.parse_args()
    host, port = args.connect.rsplit(":", 1)
    data = payload(args)
    t0 = time.monotonic()
    deadline = t0 + args.timeout
    s = socket.create_connection((host, int(port)), timeout=5)
    answer, end = b"", "open"
    try:
        if args.trickle:
            for i in range(len(data)):
                if time.monotonic() >= deadline:
                    break
                s.sendall(data[i:i + 1])
                # Stop talking once the server has answered: read what it said.
                if select.select([s], [], [], 1 / args.trickle)[0]:
                    break
        else:
            s.sendall(data)
    except OSError as e:
        end = "reset" if e.errno in (errno.ECONNRESET, errno.EPIPE) else "error"
    while end == "open":
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except OSError as e:
            end = "reset" if e.errno == errno.ECONNRESET else "error"
            break
        if not chunk:
            end = "eof"
            break
        answer += chunk
    elapsed = time.monotonic() - t0
    s.close()
    status = 0
    if answer.startswith(b"HTTP/1."):
        try:
            status = int(answer.split(b" ", 2)[1])
        except (IndexError, ValueError):
            status = 0
    alert = answer[6] if len(answer) >= 7 and answer[0] == 0x15 else -1
    words = ["status=%d" % status, "end=%s" % end, "elapsed=%.3f" % elapsed,
             "bytes=%d" % len(answer)]
    if alert >= 0:
        words.insert(1, "alert=%d" % alert)
    print(" ".join(words))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
