#!/usr/bin/env python3
"""Checks rtund's WebSocket server with an independent client: the websockets library.

The library (python3-websockets, 10.x) builds the requests and parses every answer and
frame, so these checks share no code with src/ nor with wspeer.py.  Its sans-I/O client
is driven over a plain socket, which lets a check take a header out or send a frame the
library would never send.

    wscheck.py --connect H:P --check CHECK [--tls] [--path /rtun] [--timeout S]

Checks:
    no-host          a request without Host must get 400
    bad-version      Sec-WebSocket-Version: 8 must get 400 with Sec-WebSocket-Version: 13
    unmasked         after the upgrade, an unmasked binary frame must get a Close 1002
                     before rtund closes the connection
    reserved-opcode  the same for a frame with reserved opcode 0x3

Prints status=N (and version=V) or close_code=N; exit 0 when rtund answered as RFC 6455
wants, 1 otherwise, 77 when the websockets library is missing.
"""

import argparse
import socket
import ssl
import sys

try:
    from websockets.client import ClientConnection
    from websockets.http11 import Response
    from websockets.uri import parse_uri
except ImportError:
    sys.stderr.write("wscheck: the websockets library is not installed\n")
    sys.exit(77)

BAD_FRAMES = {
    "unmasked": b"\x82\x03abc",                        # a client frame must be masked
    "reserved-opcode": b"\x83\x80\x01\x02\x03\x04",     # opcode 0x3 is reserved
}


class Fail(Exception):
    """rtund did not answer as it must."""


def connect(args):
    sock = socket.create_connection(args.connect, timeout=args.timeout)
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["http/1.1"])
        sock = ctx.wrap_socket(sock)
    return sock


def flush(conn, sock):
    for data in conn.data_to_send():
        if data:
            sock.sendall(data)


def read_all(sock):
    """Everything rtund sends until it closes; chunks in order."""
    chunks = []
    while True:
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            break
        if not data:
            break
        chunks.append(data)
    return chunks


def handshake(args, edit=None):
    """Sends the library's upgrade request (edited) and returns (conn, sock, response)."""
    scheme = "wss" if args.tls else "ws"
    conn = ClientConnection(parse_uri("%s://%s:%d%s" % (scheme, args.connect[0],
                                                        args.connect[1], args.path)))
    request = conn.connect()
    if edit is not None:
        edit(request.headers)
    sock = connect(args)
    conn.send_request(request)
    flush(conn, sock)
    while True:
        data = sock.recv(65536)
        if not data:
            conn.receive_eof()
        else:
            conn.receive_data(data)
        for event in conn.events_received():
            if isinstance(event, Response):
                return conn, sock, event
        if not data:
            raise Fail("rtund closed the connection without answering")


def check_refusal(args, edit, want_version):
    _, sock, resp = handshake(args, edit)
    sock.close()
    version = resp.headers.get("Sec-WebSocket-Version")
    print("status=%d version=%s" % (resp.status_code, version or "none"))
    if resp.status_code != 400:
        raise Fail("want 400, got %d %s" % (resp.status_code, resp.reason_phrase))
    if want_version and version != "13":
        raise Fail("the 400 lacks Sec-WebSocket-Version: 13 (RFC 6455 4.4)")


def check_violation(args, frame):
    conn, sock, resp = handshake(args)
    if resp.status_code != 101 or conn.handshake_exc is not None:
        raise Fail("upgrade failed: %d %s" % (resp.status_code, conn.handshake_exc))
    sock.sendall(frame)
    for data in read_all(sock):
        conn.receive_data(data)
    close = conn.close_rcvd
    sock.close()
    # close_rcvd is set only by a Close frame that arrived before the end of the stream.
    if close is None:
        print("close_code=none")
        raise Fail("rtund closed the connection without a Close frame")
    print("close_code=%d reason=%s" % (close.code, close.reason.replace(" ", "_") or "none"))
    if close.code != 1002:
        raise Fail("want Close 1002 (protocol error), got %d" % close.code)


def main():
    p = argparse.ArgumentParser(prog="wscheck.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--connect", required=True,
                   type=lambda s: (s.rpartition(":")[0].strip("[]"), int(s.rpartition(":")[2])))
    p.add_argument("--check", required=True,
                   choices=["no-host", "bad-version"] + sorted(BAD_FRAMES))
    p.add_argument("--tls", action="store_true", help="wss, without verifying the server")
    p.add_argument("--path", default="/rtun")
    p.add_argument("--timeout", type=float, default=10)
    args = p.parse_args()

    def no_host(h):
        del h["Host"]

    def bad_version(h):
        del h["Sec-WebSocket-Version"]
        h["Sec-WebSocket-Version"] = "8"

    try:
        if args.check == "no-host":
            check_refusal(args, no_host, False)
        elif args.check == "bad-version":
            check_refusal(args, bad_version, True)
        else:
            check_violation(args, BAD_FRAMES[args.check])
    except (Fail, OSError) as e:
        sys.stderr.write("wscheck %s: error: %s\n" % (args.check, e))
        sys.exit(1)


if __name__ == "__main__":
    main()
