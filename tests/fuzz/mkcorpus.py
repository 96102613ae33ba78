#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets (tests/fuzz/corpus/*).

Each seed is a well-formed input built here by hand from doc/PROTOCOL.md and
proto/rtun.proto, so the fuzzers start from the shapes a real link carries.
Run from anywhere: python3 tests/fuzz/mkcorpus.py
"""
import os
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
}

FRAMES = {
    "data": frame(b"\x92\x00\x02", b"abc"),
    "window": frame(b"\x93\x01\x02\xcd\x40\x00"),
    "open": frame(b"\x95\x02\x02" + mp_str(b"ssh") + mp_str(b"[::1]:5678")
                  + mp_str(b"127.0.0.1:6022")),
    "open_ok": frame(b"\x92\x03\x02"),
    "close": frame(b"\x92\x04\x02"),
    "reset": frame(b"\x94\x05\x02\x02" + mp_str(b"connection refused")),
    "ping": frame(b"\x93\x06\x00\xcf" + bytes(range(1, 9))),
    "pong": frame(b"\x93\x07\x00\x2a"),
    "goaway": frame(b"\x94\x08\x00\x08" + mp_str(b"superseded")),
    "control": frame(b"\x92\x09\x00", CONTROL["client_hello"]),
}
FRAMES["stream"] = (FRAMES["open"] + FRAMES["open_ok"] + FRAMES["data"] + FRAMES["window"]
                    + FRAMES["close"] + FRAMES["ping"])


def write(folder, seeds):
    path = os.path.join(HERE, "corpus", folder)
    os.makedirs(path, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(path, name), "wb") as f:
            f.write(data)


write("frame", FRAMES)
write("control", CONTROL)
