#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets (tests/fuzz/corpus/*).

Each seed is a well-formed input built here by hand from doc/PROTOCOL.md and
proto/rtun.proto, so the fuzzers start from the shapes a real link carries;
those of upgrade_response are the answers an agent may get to its WebSocket
upgrade, from rtund or from a proxy in between (the upgrade and sniff seeds
are files of their own).
Run from anywhere: python3 tests/fuzz/mkcorpus.py
"""
import hashlib
import hmac
import os
import socket
import ssl
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def frame(header, payload=b""):
    return struct.pack(">I", len(header) + len(payload)) + header + payload


def mp_str(s):
    return bytes([0xA0 | len(s)]) + s if len(s) < 32 else b"\xd9" + bytes([len(s)]) + s


def pb_varint(n):
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        if n == 0:
            return out + bytes([byte])
        out += bytes([byte | 0x80])


def pb_field(num, value):
    """A protobuf field: bytes are length-delimited, ints are varints."""
    if isinstance(value, int):
        return pb_varint(num << 3) + pb_varint(value)
    return pb_varint(num << 3 | 2) + pb_varint(len(value)) + value


NONCE = bytes(range(32))
CONTROL = {
    "client_hello": pb_field(1, pb_field(1, 1) + pb_field(2, 1) + pb_field(3, b"edge-01")
                             + pb_field(4, NONCE) + pb_field(5, b"rtun 0.1.0")),
    "server_hello": pb_field(2, pb_field(1, 1) + pb_field(2, NONCE) + pb_field(3, b"rtund")),
    "auth": pb_field(3, pb_field(1, NONCE) + pb_field(2, 262144)),
    "auth_result": pb_field(4, pb_field(1, 1) + pb_field(3, NONCE) + pb_field(4, 262144)),
    "declare": pb_field(5, pb_field(1, pb_field(1, b"ssh") + pb_field(2, 2222))
                        + pb_field(1, pb_field(1, b"web") + pb_field(2, 8080))),
    "declare_result": pb_field(6, pb_field(1, pb_field(1, b"ssh") + pb_field(2, 2222))
                               + pb_field(1, pb_field(1, b"web") + pb_field(2, 8080)
                                          + pb_field(3, 3) + pb_field(4, b"in use"))),
    "error": pb_field(7, pb_field(1, 1) + pb_field(2, b"no common version")),
    "declare_udp": pb_field(5, pb_field(1, pb_field(1, b"dns") + pb_field(2, 5353) + pb_field(5, 1))
                            + pb_field(1, pb_field(1, b"dns-tcp") + pb_field(2, 5353))),
    "declare_result_udp": pb_field(6, pb_field(1, pb_field(1, b"dns") + pb_field(2, 5353)
                                               + pb_field(5, 1))),
    "declare_web": pb_field(5, pb_field(1, pb_field(1, b"site") + pb_field(5, 2)
                                        + pb_field(6, b"app.example.com")
                                        + pb_field(6, b"*.dev.example.com") + pb_field(7, 1))
                            + pb_field(1, pb_field(1, b"tls") + pb_field(5, 3)
                                       + pb_field(6, b"app.example.com"))),
    "declare_routes": pb_field(5, pb_field(1, pb_field(1, b"ssh") + pb_field(2, 2222))
                               + pb_field(2, 1)),
    "declare_p2p": pb_field(5, pb_field(1, pb_field(1, b"ssh") + pb_field(3, 1)
                                        + pb_field(4, b"laptop") + pb_field(4, b"ci-runner"))),
    "punch_request": pb_field(8, pb_field(1, b"office") + pb_field(2, b"ssh")),
    "punch_refused": pb_field(9, pb_field(1, b"office") + pb_field(2, b"ssh")
                              + pb_field(3, b"not in allow_peers")),
    "punch_session": pb_field(10, pb_field(1, NONCE[:16]) + pb_field(2, NONCE)
                              + pb_field(3, b"laptop") + pb_field(4, b"ssh") + pb_field(5, 1)),
    "punch_go": pb_field(11, pb_field(1, NONCE[:16]) + pb_field(2, b"203.0.113.2:40001")
                         + pb_field(2, b"[2001:db8::1]:40001")),
    "punch_done": pb_field(12, pb_field(1, NONCE[:16]) + pb_field(3, b"no answer")),
}

FRAMES = {
    "data": frame(b"\x92\x00\x02", b"abc"),
    "window": frame(b"\x93\x01\x02\xcd\x40\x00"),
    "open": frame(b"\x95\x02\x02" + mp_str(b"ssh") + mp_str(b"[::1]:5678")
                  + mp_str(b"127.0.0.1:6022")),
    "open_route": frame(b"\x96\x02\x02" + mp_str(b"office-ssh") + mp_str(b"192.0.2.7:40000")
                        + mp_str(b"198.51.100.1:5122") + mp_str(b"192.168.1.4:22")),
    "open_ok": frame(b"\x92\x03\x02"),
    "close": frame(b"\x92\x04\x02"),
    "reset": frame(b"\x94\x05\x02\x02" + mp_str(b"connection refused")),
    "ping": frame(b"\x93\x06\x00\xcf" + bytes(range(1, 9))),
    "pong": frame(b"\x93\x07\x00\x2a"),
    "goaway": frame(b"\x94\x08\x00\x08" + mp_str(b"superseded")),
    "control": frame(b"\x92\x09\x00", CONTROL["client_hello"]),
}
FRAMES["udp_flow"] = (frame(b"\x95\x02\x02" + mp_str(b"dns") + mp_str(b"198.51.100.9:40053")
                            + mp_str(b"0.0.0.0:5353")) + FRAMES["open_ok"]
                      + frame(b"\x92\x00\x02", b"\x12\x34\x01\x00" + bytes(28))
                      + frame(b"\x92\x00\x02", b"\x00" * 1400) + FRAMES["close"])
FRAMES["stream"] = (FRAMES["open"] + FRAMES["open_ok"] + FRAMES["data"] + FRAMES["window"]
                    + FRAMES["close"] + FRAMES["ping"])

# fuzz_upgrade_response expects the answer to the RFC 6455 sample key.
ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
SWITCH = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Accept: " + ACCEPT + b"\r\n\r\n")
RESPONSES = {
    "good": SWITCH,
    "good_frame": SWITCH + b"\x82\x03abc",
    "nginx": b"HTTP/1.1 101 Switching Protocols\r\nServer: nginx/1.24.0\r\n"
             b"Date: Mon, 01 Dec 2025 10:00:00 GMT\r\nConnection: upgrade\r\n"
             b"Upgrade: websocket\r\nSec-WebSocket-Accept: " + ACCEPT + b"\r\n\r\n",
    "folded": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c,\r\n websocket\r\n"
              b"sec-websocket-accept:  " + ACCEPT + b" \r\n\r\n",
    "wrong_accept": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    b"Sec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    "no_upgrade": b"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: " + ACCEPT
                  + b"\r\n\r\n",
    "refused": b"HTTP/1.1 400 Bad Request\r\nSec-WebSocket-Version: 13\r\n"
               b"Content-Type: text/plain\r\nContent-Length: 32\r\nConnection: close\r\n\r\n"
               b"Sec-WebSocket-Version is not 13\n",
    "proxy_auth": b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                  b"Proxy-Authenticate: Basic realm=\"proxy\"\r\nContent-Length: 0\r\n\r\n",
    "bad_gateway": b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "http10": b"HTTP/1.0 200 OK\r\n\r\n",
    "partial": b"HTTP/1.1 101 Swit",
    "ssh": b"SSH-2.0-OpenSSH_9.2\r\n",
}

# fuzz_probe checks MACs with this key, so these seeds reach the good-MAC path.
PROBE_KEY = b"0123456789abcdef0123456789abcdef"
PROBE_SESSION = bytes(range(0xA0, 0xB0))


def probe_local(addr, port):
    """One { family, address, port } of a probe's local addresses."""
    if ":" in addr:
        return b"\x06" + socket.inet_pton(socket.AF_INET6, addr) + struct.pack(">H", port)
    return b"\x04" + socket.inet_pton(socket.AF_INET, addr) + struct.pack(">H", port)


def probe(side, locals_, key=PROBE_KEY):
    body = (b"RTUNPNCH" + bytes([1, side]) + PROBE_SESSION + bytes([len(locals_)])
            + b"".join(probe_local(a, p) for a, p in locals_))
    return body + hmac.new(key, body, hashlib.sha256).digest()


PROBES = {
    "visitor_bare": probe(0, []),
    "target_v4": probe(1, [("192.168.1.20", 40001)]),
    "visitor_mixed": probe(0, [("10.0.0.7", 5000), ("fd00::1:2", 5000), ("127.0.0.1", 1)]),
    "target_four_v6": probe(1, [("2001:db8::%x" % i, 60000 + i) for i in range(1, 5)]),
    "other_key": probe(0, [("192.168.1.20", 40001)], key=b"k" * 32),
    "truncated": probe(1, [("fd00::1:2", 5000)])[:40],
}


def client_hello(server_name):
    """The first flight of Python's own TLS client (OpenSSL), asking for server_name."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    conn = ctx.wrap_bio(incoming, outgoing, server_hostname=server_name)
    try:
        conn.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def records(hello, size):
    """The handshake bytes of a one-record hello re-split into records of size bytes."""
    body, out = hello[5:], b""
    for i in range(0, len(body), size):
        chunk = body[i:i + size]
        out += b"\x16\x03\x01" + struct.pack(">H", len(chunk)) + chunk
    return out


HELLO = client_hello("app.example.com")
SNI = {
    "hello": HELLO,
    "hello_no_name": client_hello(None),
    "hello_split_64": records(HELLO, 64),
    "hello_split_1": records(HELLO, 1)[:600],
    "hello_truncated": HELLO[:len(HELLO) // 2],
}


HEADS = {
    "get": b"GET / HTTP/1.1\r\nHost: app.example.com\r\nUser-Agent: curl/7.88.1\r\n"
           b"Accept: */*\r\n\r\n",
    "port_keepalive": b"GET /a HTTP/1.1\r\nHost: App.Example.com:8080\r\n\r\n"
                      b"GET /b HTTP/1.1\r\nHost: b.example\r\n\r\n",
    "absolute": b"GET http://other.example:81/x?q HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "post_body": b"POST /f HTTP/1.1\r\nHost: a.b\r\nContent-Length: 5\r\n\r\nhello",
    "no_host": b"GET / HTTP/1.0\r\n\r\n",
    "two_hosts": b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "v6": b"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
    "partial": b"GET / HTTP/1.1\r\nHost: app.exa",
}


# fuzz_dest: a destination, a newline, an allow_connect list.
DESTS = {
    "v4_allowed": b"192.168.1.4:22\n192.168.1.0/24:22, 10.0.0.5:80, 127.0.0.1:*",
    "v6_block": b"[fd00::4]:22\n[fd00::/8]:*, [::1]:22",
    "mapped": b"[::ffff:192.168.1.9]:22\n192.168.1.0/24:*, [::/0]:443",
    "name_rule": b"DB.Internal:5432\ndb.internal:5432, nas:*",
    "name_by_address": b"localhost:8080\n127.0.0.0/8:8080",
    "refused": b"10.9.9.9:22\n192.168.1.0/24:22",
    "bad_dest": b"10.1:22\n10.0.0.0/13:*",
    "bad_rule": b"192.168.1.4:22\n192.168.1.4/24:22,,x",
}


def write(folder, seeds, keep=False):
    """Write the seeds of folder; with keep, seeds already there stay (random hellos)."""
    path = os.path.join(HERE, "corpus", folder)
    os.makedirs(path, exist_ok=True)
    for name, data in seeds.items():
        if keep and os.path.exists(os.path.join(path, name)):
            continue
        with open(os.path.join(path, name), "wb") as f:
            f.write(data)


write("frame", FRAMES)
write("control", CONTROL)
write("upgrade_response", RESPONSES)
write("probe", PROBES)
write("sni", SNI, keep=True)
write("http_host", HEADS)
write("dest", DESTS)
