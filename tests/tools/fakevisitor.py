#!/usr/bin/env python3
"""A hand-made visiting agent that abuses a P2P rendezvous, to prove rtund and the target
agent hold up.  The wire format is rtunwire.py's, shared with fakeagent.py and with no code
of src/.

    fakevisitor.py --connect H:P --token T --name N --peer AGENT --service SVC
                   [--refused SVC] [--timeout S] [--hold S] [--openssl PATH]

In order, each step checked here (a failed expectation exits 1 with a message on stderr):
 1. authenticate as --name and declare nothing;
 2. ask for --refused of --peer (a service whose allow_peers leave us out), then for a
    service of an agent that is not connected: each must come back as PunchRefused;
 3. ask for --service of --peer: PunchSession with a 16-byte session, a 32-byte key and
    visitor set;
 4. probe rtund's agent port, each probe on a fresh connection: an unknown session must
    be answered 1, the right session under another key 2, a probe of version 2 4, the
    right probe 0, and that same probe again from another connection 3;
 5. wait for PunchGo: its first address is where rtund saw the peer's probe come from;
 6. as a third party that raced into the punched port, connect there and send (a)
    garbage, (b) a certificate-less TLS 1.3 ClientHello with no PSK, (c) a TLS 1.3
    ClientHello offering a PSK under an identity that is not the session, (d) one under
    the session's identity but with a binder made from another key, and (e) with
    --openssl, `openssl s_client -psk` with another identity and key: the peer must close
    every one of them without finishing a handshake;
 7. report the rendezvous as failed (PunchDone) and stay connected --hold seconds.

Prints KEY=VALUE lines: refused=..., session=HEX, probe NAME=REPLY, go=ADDR,...,
attack NAME=closed how=... after=S, attacks=done, held=S.
"""

import argparse
import hashlib
import hmac
import os
import socket
import ssl
import struct
import subprocess
import sys
import time

from fakeagent import authenticate, declare
from rtunwire import (C_PUNCH_GO, C_PUNCH_REFUSED, C_PUNCH_SESSION, PROBE_REPLIES,
                      PROBE_VISITOR, T_CONTROL, Fail, Link, frame, mp_array, pb_text, probe,
                      punch_done, punch_go_of, punch_request, punch_session_of, say)


def send_control(link, payload):
    link.send(frame(mp_array([T_CONTROL, 0]), payload))


def expect_control(link, want, what):
    kind, msg = link.next_control(what)
    if kind != want:
        raise Fail("waiting for %s, got Control field %d" % (what, kind))
    return msg


def ask_refused(link, peer, service, must_say):
    send_control(link, punch_request(peer, service))
    msg = expect_control(link, C_PUNCH_REFUSED, "PunchRefused for %s/%s" % (peer, service))
    reason = pb_text(msg, 3)
    if pb_text(msg, 1) != peer or pb_text(msg, 2) != service:
        raise Fail("PunchRefused names %s/%s, asked for %s/%s" % (
            pb_text(msg, 1), pb_text(msg, 2), peer, service))
    if must_say not in reason:
        raise Fail("PunchRefused for %s/%s says %r, not %r" % (peer, service, reason, must_say))
    say("refused %s/%s reason=%s" % (peer, service, reason.replace(" ", "_")))


def ask_session(link, peer, service):
    send_control(link, punch_request(peer, service))
    ps = punch_session_of(expect_control(link, C_PUNCH_SESSION, "PunchSession"))
    if len(ps["session"]) != 16 or len(ps["key"]) != 32:
        raise Fail("PunchSession with a %d-byte session and a %d-byte key" % (
            len(ps["session"]), len(ps["key"])))
    if not ps["visitor"] or ps["peer"] != peer or ps["service"] != service:
        raise Fail("PunchSession visitor=%s peer=%s service=%s" % (
            ps["visitor"], ps["peer"], ps["service"]))
    say("session=%s visitor=%d peer=%s service=%s" % (
        ps["session"].hex(), ps["visitor"], ps["peer"], ps["service"]))
    return ps


def send_probe(server, data, timeout):
    """Sends one probe on a fresh connection; returns rtund's reply byte (it then closes)."""
    try:
        s = socket.create_connection(server, timeout=timeout)
    except OSError as e:
        raise Fail("probe: connect %s:%d: %s" % (server[0], server[1], e))
    with s:
        s.sendall(data)
        reply = s.recv(1)
        if len(reply) != 1:
            raise Fail("probe: rtund closed without a reply")
        try:
            rest = s.recv(16)
        except ConnectionResetError:
            rest = b""
        if rest:
            raise Fail("probe: rtund sent %d bytes after its reply" % len(rest))
    return reply[0]


def probes(server, ps, timeout):
    """Step 4: four bad probes and the good one, each answered as the design says."""
    good = probe(PROBE_VISITOR, ps["session"], ps["key"])
    cases = [
        ("unknown", probe(PROBE_VISITOR, os.urandom(16), ps["key"]), 1),
        ("bad-mac", probe(PROBE_VISITOR, ps["session"], os.urandom(32)), 2),
        ("malformed", probe(PROBE_VISITOR, ps["session"], ps["key"], version=2), 4),
        ("valid", good, 0),
        ("replayed", good, 3),
    ]
    for name, data, want in cases:
        got = send_probe(server, data, timeout)
        say("probe %s=%d (%s)" % (name, got, PROBE_REPLIES.get(got, "?")))
        if got != want:
            raise Fail("probe %s: rtund answered %d (%s), want %d (%s)" % (
                name, got, PROBE_REPLIES.get(got, "?"), want, PROBE_REPLIES[want]))


# ---------------------------------------------------------------- TLS 1.3 by hand (RFC 8446)


def hkdf_expand_label(secret, label, context, length=32):
    full = b"tls13 " + label
    info = struct.pack(">H", length) + bytes([len(full)]) + full + bytes([len(context)]) + context
    return hmac.new(secret, info + b"\x01", hashlib.sha256).digest()[:length]


def psk_binder(psk, truncated_hello):
    """The binder of an external PSK over the ClientHello up to its binders (SHA-256)."""
    early = hmac.new(bytes(32), psk, hashlib.sha256).digest()
    binder_key = hkdf_expand_label(early, b"ext binder", hashlib.sha256(b"").digest())
    finished = hkdf_expand_label(binder_key, b"finished", b"")
    return hmac.new(finished, hashlib.sha256(truncated_hello).digest(), hashlib.sha256).digest()


def ext(num, data):
    return struct.pack(">HH", num, len(data)) + data


def client_hello_psk(identity, psk):
    """A TLS 1.3 ClientHello record offering only identity's PSK (psk_dhe_ke, X25519)."""
    exts = (ext(43, b"\x02\x03\x04") +                              # supported_versions
            ext(10, b"\x00\x02\x00\x1d") +                          # supported_groups
            ext(13, b"\x00\x04\x08\x04\x04\x03") +                  # signature_algorithms
            ext(51, b"\x00\x24\x00\x1d\x00\x20" + os.urandom(32)) + # key_share
            ext(45, b"\x01\x01"))                                   # psk_dhe_ke
    ids = struct.pack(">H", len(identity)) + identity + b"\x00\x00\x00\x00"
    offered = struct.pack(">H", len(ids)) + ids + b"\x00\x21\x20" + bytes(32)
    exts += ext(41, offered)                                        # pre_shared_key, last
    body = (b"\x03\x03" + os.urandom(32) + b"\x20" + os.urandom(32) + b"\x00\x02\x13\x01" +
            b"\x01\x00" + struct.pack(">H", len(exts)) + exts)
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    hs = hs[:-32] + psk_binder(psk, hs[:-35])
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs


# ---------------------------------------------------------------- the third party


def wait_closed(s, timeout):
    """Reads until the peer closes; returns how (eof, reset, alert:N), or Fail on a timeout."""
    deadline = time.monotonic() + timeout
    got = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Fail("still open after %gs (read %d bytes)" % (timeout, len(got)))
        s.settimeout(left)
        try:
            data = s.recv(4096)
        except socket.timeout:
            continue
        except ConnectionResetError:
            how = "reset"
            break
        if not data:
            how = "eof"
            break
        got += data
    if got[:1] == b"\x16":
        raise Fail("the peer answered with a TLS handshake record")
    if got[:1] == b"\x15" and len(got) >= 7:
        how += ",alert:%d" % got[6]
    return how


def attack_raw(addr, data, timeout):
    s = socket.create_connection(addr, timeout=timeout)
    with s:
        s.sendall(data)
        return wait_closed(s, timeout)


def attack_nopsk(addr, timeout):
    """A plain TLS 1.3 client, no PSK, no certificate check: the peer must refuse it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    s = socket.create_connection(addr, timeout=timeout)
    with s:
        try:
            with ctx.wrap_socket(s, server_hostname=None, do_handshake_on_connect=False) as t:
                t.do_handshake()
        except (ssl.SSLError, ConnectionError) as e:
            return "tls-refused:%s" % (getattr(e, "reason", None) or type(e).__name__)
        except socket.timeout:
            raise Fail("TLS handshake without a PSK neither finished nor failed in %gs" %
                       timeout)
    raise Fail("a TLS handshake without a PSK completed")


def attack_openssl(openssl, addr, timeout):
    """openssl s_client with a PSK of another identity and key."""
    cmd = [openssl, "s_client", "-connect", "%s:%d" % addr, "-tls1_3", "-psk",
           os.urandom(32).hex(), "-psk_identity", "not-the-session",
           "-ciphersuites", "TLS_AES_128_GCM_SHA256", "-quiet", "-no_ign_eof"]
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout, text=True)
    except subprocess.TimeoutExpired:
        raise Fail("openssl s_client still running after %gs" % timeout)
    out = p.stdout + p.stderr
    if p.returncode == 0 or "Cipher is TLS_" in out:
        raise Fail("openssl s_client with a wrong PSK got through: %s" % out.strip())
    line = [ln for ln in out.splitlines() if "alert" in ln or "error" in ln][:1]
    return "s_client-rc:%d%s" % (p.returncode, (" " + line[0].split(":")[-1]) if line else "")


def attacks(addr, ps, args):
    """Step 6; returns how many connections were made."""
    cases = [
        ("garbage", lambda: attack_raw(addr, b"\x00\xffnot TLS at all\r\n" + os.urandom(512),
                                       args.timeout)),
        ("no-psk", lambda: attack_nopsk(addr, args.timeout)),
        ("other-identity", lambda: attack_raw(addr, client_hello_psk(os.urandom(16),
                                                                     os.urandom(32)),
                                              args.timeout)),
        ("other-key", lambda: attack_raw(addr, client_hello_psk(ps["session"],
                                                                os.urandom(32)),
                                         args.timeout)),
    ]
    if args.openssl:
        cases.append(("openssl", lambda: attack_openssl(args.openssl, addr, args.timeout)))
    for name, fn in cases:
        t0 = time.monotonic()
        try:
            how = fn()
        except OSError as e:
            raise Fail("attack %s on %s:%d: %s" % (name, addr[0], addr[1], e))
        except Fail as e:
            raise Fail("attack %s on %s:%d: %s" % (name, addr[0], addr[1], e))
        say("attack %s=closed how=%s after=%.3f" % (name, how.replace(" ", "_"),
                                                    time.monotonic() - t0))
    say("attacks=done count=%d" % len(cases))


def hold(link, seconds):
    """Stays on the link (answering PINGs) for seconds; Fail if rtund closes it."""
    link.deadline = time.monotonic() + seconds
    try:
        kind, _ = link.next_control("nothing")
        raise Fail("unexpected Control field %d while holding" % kind)
    except Fail as e:
        if "timed out" not in str(e):
            raise
    say("held=%g" % seconds)


def run(args):
    link = Link(args.connect, args.timeout + args.hold + 30)
    try:
        if not authenticate(link, args):
            raise Fail("authentication refused")
        declare(link, [])
        if args.refused:
            ask_refused(link, args.peer, args.refused, "allow_peers")
        ask_refused(link, "no-such-agent", args.service, "not connected")
        ps = ask_session(link, args.peer, args.service)
        probes(args.connect, ps, args.timeout)
        go = punch_go_of(expect_control(link, C_PUNCH_GO, "PunchGo"))
        if go["session"] != ps["session"] or not go["addrs"]:
            raise Fail("PunchGo for another session or with no address: %r" % go)
        say("go=%s" % ",".join(go["addrs"]))
        host, _, port = go["addrs"][0].rpartition(":")
        attacks((host.strip("[]"), int(port)), ps, args)
        send_control(link, punch_done(ps["session"], False, "fakevisitor attacked instead"))
        hold(link, args.hold)
    finally:
        link.sock.close()


def parse_hostport(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError("bad address %r, want HOST:PORT" % text)
    return host.strip("[]"), int(port)


def main():
    p = argparse.ArgumentParser(prog="fakevisitor.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--connect", type=parse_hostport, required=True, help="rtund's agent port")
    p.add_argument("--token", required=True)
    p.add_argument("--name", default="fakevisitor")
    p.add_argument("--window", type=int, default=262144, help="stream_window to grant")
    p.add_argument("--peer", required=True, help="the target agent")
    p.add_argument("--service", required=True, help="its p2p service that allows us")
    p.add_argument("--refused", help="its p2p service whose allow_peers leave us out")
    p.add_argument("--timeout", type=float, default=5, help="bound of each step in seconds")
    p.add_argument("--hold", type=float, default=0, help="seconds to stay connected at the end")
    p.add_argument("--openssl", help="an openssl binary for the s_client attack")
    args = p.parse_args()
    try:
        run(args)
    except Fail as e:
        sys.stderr.write("fakevisitor: error: %s\n" % e)
        sys.exit(1)


if __name__ == "__main__":
    main()
