"""``lucidtls demo``: a real handshake on 127.0.0.1, told step by step.

A lucidtls server and client run in two threads of this process, with a CA and certificates
issued a moment ago. The client sends one HTTP request, the server answers, both close; the
steps come from the client's trace events (and the server's, for client authentication).
"""

from __future__ import annotations

import argparse
import html
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lucidtls.cli.common import describe_failure, fail, selected_versions
from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.connection import TraceEvent
from lucidtls.errors import ConfigError, TLSError
from lucidtls.handshake.common import CHANGE_CIPHER_SPEC
from lucidtls.info import ConnectionInfo
from lucidtls.io.sync import wrap_client, wrap_server
from lucidtls.wire import extensions as X
from lucidtls.wire.enums import (
    CipherSuite,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
    describe,
)
from lucidtls.wire.messages import (
    Certificate12,
    Certificate13,
    CertificateVerify,
    ClientHello,
    EncryptedExtensions,
    Finished,
    ServerHello,
)

HT = HandshakeType
REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
TIMEOUT = 30.0


def _version(v: int) -> str:
    try:
        return ProtocolVersion(v).label
    except ValueError:
        return f"0x{v:04x}"


def _bytes(n: int) -> str:
    return "1 byte" if n == 1 else f"{n} bytes"


def _names(enum_cls: Any, values: list[int]) -> str:
    return ", ".join(describe(enum_cls, v) for v in values) or "-"


def _msg_name(msg_type: int) -> str:
    if msg_type == CHANGE_CIPHER_SPEC:
        return "ChangeCipherSpec"
    names: dict[int, str] = {HT.CLIENT_HELLO: "ClientHello", HT.SERVER_HELLO: "ServerHello",
             HT.ENCRYPTED_EXTENSIONS: "EncryptedExtensions", HT.CERTIFICATE: "Certificate",
             HT.CERTIFICATE_REQUEST: "CertificateRequest",
             HT.CERTIFICATE_VERIFY: "CertificateVerify", HT.FINISHED: "Finished",
             HT.NEW_SESSION_TICKET: "NewSessionTicket", HT.KEY_UPDATE: "KeyUpdate",
             HT.SERVER_KEY_EXCHANGE: "ServerKeyExchange",
             HT.CLIENT_KEY_EXCHANGE: "ClientKeyExchange",
             HT.SERVER_HELLO_DONE: "ServerHelloDone"}
    return names.get(msg_type, describe(HandshakeType, msg_type))


def _subject(der_or_cert: Any) -> str:
    from cryptography import x509

    cert = der_or_cert if isinstance(der_or_cert, x509.Certificate) else \
        x509.load_der_x509_certificate(der_or_cert)
    return str(cert.subject.rfc4514_string())


# --- one line per message ----------------------------------------------------------------------
def _client_hello(body: bytes) -> list[str]:
    ch = ClientHello.decode(body)
    sv = ch.view(X.SupportedVersionsClient)
    groups = ch.view(X.SupportedGroups)
    shares = ch.view(X.KeyShareClientHello)
    sni = ch.view(X.ServerNameList)
    alpn = ch.view(X.ALPN)
    sigs = ch.view(X.SignatureAlgorithms)
    lines = [
        f"versions offered: {', '.join(_version(v) for v in sv.versions) if sv else 'TLSv1.2'}",
        f"cipher suites:    {_names(CipherSuite, ch.cipher_suites)}",
        f"groups:           {_names(NamedGroup, groups.groups) if groups else '-'}",
    ]
    if shares is not None:
        lines.append("key shares:       " + ", ".join(
            f"{describe(NamedGroup, e.group)} ({len(e.key_exchange)} bytes)"
            for e in shares.entries))
    if sigs is not None:
        lines.append(f"signatures:       {len(sigs.schemes)} schemes, first "
                     f"{describe(SignatureScheme, sigs.schemes[0])}")
    lines.append(f"server name:      {sni.host_names[0] if sni and sni.host_names else '-'}")
    if alpn is not None:
        lines.append("ALPN:             " + ", ".join(p.decode("latin-1") for p in alpn.protocols))
    return lines


def _server_hello(body: bytes) -> tuple[str, list[str]]:
    sh = ServerHello.decode(body)
    if sh.is_hello_retry_request:
        hrr = sh.view(X.KeyShareHelloRetryRequest)
        want = describe(NamedGroup, hrr.selected_group) if hrr else "(a cookie only)"
        return "HelloRetryRequest", [
            f"the server wants a key share for {want}; the client sends a new ClientHello",
            f"cipher suite:     {describe(CipherSuite, sh.cipher_suite)}"]
    sv = sh.view(X.SupportedVersionsServer)
    version = sv.version if sv else sh.legacy_version
    lines = [f"version chosen:   {_version(version)}",
             f"cipher suite:     {describe(CipherSuite, sh.cipher_suite)}"]
    ks = sh.view(X.KeyShareServerHello) if sv else None
    if ks is not None:
        lines.append(f"key share:        {describe(NamedGroup, ks.entry.group)} "
                     f"({len(ks.entry.key_exchange)} bytes)")
    return "ServerHello", lines


def _message_lines(msg_type: int, body: bytes, tls13: bool) -> tuple[str, list[str]]:
    name = _msg_name(msg_type)
    if msg_type == HT.CLIENT_HELLO:
        return name, _client_hello(body)
    if msg_type == HT.SERVER_HELLO:
        return _server_hello(body)
    if msg_type == HT.ENCRYPTED_EXTENSIONS:
        ee = EncryptedExtensions.decode(body)
        alpn = ee.view(X.ALPN)
        exts = ", ".join(describe(ExtensionType, t) for t in ee.ext_types()) or "none"
        lines = [f"extensions:       {exts}"]
        if alpn is not None:
            lines.append(f"ALPN chosen:      {alpn.protocols[0].decode('latin-1')}")
        return name, lines
    if msg_type == HT.CERTIFICATE_REQUEST:
        return name, ["the server asks the client for a certificate"]
    if msg_type == HT.CERTIFICATE:
        chain = [e.cert_data for e in Certificate13.decode(body).certificate_list] if tls13 \
            else Certificate12.decode(body).certificate_list
        if not chain:
            return name, ["empty: no certificate"]
        lines = [f"subject:          {_subject(chain[0])}"]
        lines += [f"then:             {_subject(der)}" for der in chain[1:]]
        return name, lines
    if msg_type == HT.CERTIFICATE_VERIFY:
        cv = CertificateVerify.decode(body)
        return name, [(f"{describe(SignatureScheme, cv.algorithm)} signature over the "
                       f"transcript ({len(cv.signature)} bytes): proves the private key")]
    if msg_type == HT.FINISHED:
        fin = Finished.decode(body)
        return name, [(f"verify_data {len(fin.verify_data)} bytes: an HMAC over the whole "
                       "transcript")]
    if msg_type == CHANGE_CIPHER_SPEC:
        return name, ["one byte for middlebox compatibility (RFC 8446 Appendix D.4)"
                      if tls13 else "from here on this side's records are protected"]
    return name, []


# --- the story ---------------------------------------------------------------------------------
@dataclass
class Story:
    lines: list[str] = field(default_factory=list)
    step: int = 0
    tls13: bool = True

    def say(self, text: str = "") -> None:
        self.lines.append(text)

    def numbered(self, title: str, details: Sequence[str] = ()) -> None:
        self.step += 1
        self.say(f"{self.step:2d}. {title}")
        for line in details:
            self.say(f"      {line}")

    def note(self, text: str) -> None:
        self.say(f"      -> {text}")


def tell(client_events: list[TraceEvent], server_events: list[TraceEvent],
         story: Story) -> None:
    """Turn the client's trace (and the server's view of client authentication) into steps."""
    events = list(client_events)
    for i in range(len(events) - 1):
        # Tell the key exchange before the keys that come out of it.
        if events[i].kind == "keys" and events[i + 1].kind == "key_share":
            events[i], events[i + 1] = events[i + 1], events[i]
    for event in events:
        f = event.fields
        if event.kind == "message":
            sent = f["direction"] == "sent"
            arrow = "client -> server" if sent else "server -> client"
            raw: bytes = f["raw"]
            msg_type = f["msg_type"]
            if msg_type == HT.SERVER_HELLO:
                try:
                    sh = ServerHello.decode(raw[4:])
                    story.tls13 = sh.view(X.SupportedVersionsServer) is not None
                except TLSError:
                    pass
            try:
                name, details = _message_lines(msg_type, raw[4:] if msg_type !=
                                               CHANGE_CIPHER_SPEC else raw, story.tls13)
            except (TLSError, ValueError):
                name, details = _msg_name(msg_type), []
            where = "encrypted" if f.get("protected") else "in the clear"
            story.numbered(f"{name}  [{arrow}, {_bytes(len(raw))}, {where}]", details)
        elif event.kind == "key_share":
            story.note(f"key exchange on {describe(NamedGroup, f['group'])}: client share "
                       f"{f['client_share_len']} bytes, server share {f['server_share_len']} "
                       f"bytes, shared secret {f['shared_secret_len']} bytes")
        elif event.kind == "keys":
            label = f.get("label") or ""
            who = "client" if f["direction"] == "write" else "server"
            if not story.tls13:
                phase = "the negotiated record"
            elif "updated" in label:
                phase = "updated application traffic"
            elif "TRAFFIC_SECRET_0" in label:
                phase = "application traffic"
            elif not label or "HANDSHAKE" in label:
                phase = "handshake traffic"
            else:
                phase = label
            suite = f" ({f['suite']})" if f.get("suite") else ""
            story.note(f"from here the {who}'s records are protected with {phase} keys{suite}")
        elif event.kind == "verify":
            if f["outcome"] == "verified":
                story.note(f"certificate verified: {f['subject']} chains to the trusted CA "
                           f"{f['anchor']}, and its name matches")
            else:
                story.note(f"certificate {f['outcome']}: {f.get('reason', f.get('alert', ''))}")
        elif event.kind == "client_auth":
            story.note(f"client authentication: {f['outcome']}")
        elif event.kind == "hello_retry":
            story.note("HelloRetryRequest")
        elif event.kind == "handshake_complete":
            info: ConnectionInfo = f["info"]
            story.note(f"handshake complete (client side): {info.version_name}, "
                       f"{info.cipher_name}, {info.group_name}")
    for event in server_events:
        if event.kind == "client_auth":
            outcome = event.fields["outcome"]
            subject = event.fields.get("subject")
            story.note(f"the server's verdict on the client certificate: {outcome}"
                       + (f" ({subject})" if subject else ""))


def _summary(info: ConnectionInfo, server_info: ConnectionInfo | None) -> list[str]:
    leaf = info.peer_certificates[0] if info.peer_certificates else None
    out = [
        f"version:     {info.version_name}",
        f"cipher:      {info.cipher_name}",
        f"group:       {info.group_name or '-'} ({info.kx})",
        f"signature:   {info.signature_scheme_name or '-'}",
        f"alpn:        {info.alpn_protocol or '-'}",
        (f"server:      {leaf.subject.rfc4514_string() if leaf else '-'}, issued by "
         f"{leaf.issuer.rfc4514_string() if leaf else '-'}"),
        f"verified:    {info.verification}",
        f"hello-retry: {'yes' if info.hello_retry else 'no'}",
        f"client-auth: {'yes' if info.client_auth else 'no'}",
    ]
    if server_info is not None and server_info.client_auth and server_info.peer_certificates:
        out.append(f"client:      {server_info.peer_certificates[0].subject.rfc4514_string()}"
                   " (verified by the server)")
    return out


# --- running it --------------------------------------------------------------------------------
@dataclass
class _ServerSide:
    events: list[TraceEvent] = field(default_factory=list)
    info: ConnectionInfo | None = None
    error: BaseException | None = None
    request: bytes = b""


def _serve_one(listener: socket.socket, config: ServerConfig, side: _ServerSide) -> None:
    try:
        sock, _ = listener.accept()
        sock.settimeout(TIMEOUT)
        with wrap_server(sock, config, observer=side.events.append) as tls:
            side.info = tls.info
            while b"\r\n\r\n" not in side.request:
                chunk = tls.recv()
                if not chunk:
                    break
                side.request += chunk
            body = (f"<p>hello over {tls.info.version_name} with {tls.info.cipher_name}</p>\n"
                    ).encode()
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
                        + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    except (TLSError, OSError) as exc:
        side.error = exc


def _configs(args: argparse.Namespace) -> tuple[ClientConfig, ServerConfig, list[str]]:
    from lucidtls.pki.issue import issue_certificate, make_ca
    from lucidtls.pki.trust import TrustStore

    ca = make_ca("lucidtls demo CA")
    server_cred = issue_certificate(ca, "localhost", dns=["localhost"], ips=["127.0.0.1"])
    trust = TrustStore.from_certificates([ca.leaf])
    setup = [(f"a fresh CA ({ca.leaf.subject.rfc4514_string()}, {ca.key_type}) issued the "
              f"server certificate {server_cred.leaf.subject.rfc4514_string()} "
              f"({server_cred.key_type}); the client trusts only that CA")]
    client_kw: dict[str, Any] = {"trust": trust, "alpn_protocols": ("http/1.1",)}
    server_kw: dict[str, Any] = {"credentials": (server_cred,), "alpn_protocols": ("http/1.1",)}
    versions = selected_versions(args)
    if versions is not None:
        client_kw["versions"] = server_kw["versions"] = versions
    if args.mutual:
        client_cred = issue_certificate(ca, "demo-client", client=True)
        client_kw["credentials"] = (client_cred,)
        server_kw["verify_client"] = "required"
        server_kw["client_trust"] = trust
        setup.append(f"the same CA issued the client certificate "
                     f"{client_cred.leaf.subject.rfc4514_string()}; the server requires one")
    return ClientConfig(**client_kw), ServerConfig(**server_kw), setup


def run_demo(args: argparse.Namespace, out: Callable[[str], None]) -> int:
    try:
        client_config, server_config, setup = _configs(args)
    except ConfigError as exc:
        return fail(str(exc))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    side = _ServerSide()
    server = threading.Thread(target=_serve_one, args=(listener, server_config, side),
                              daemon=True)
    server.start()
    client_events: list[TraceEvent] = []
    story = Story()
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        with wrap_client(sock, client_config, "localhost",
                         observer=client_events.append) as tls:
            info = tls.info
            tls.sendall(REQUEST)
            response = tls.recv_all()
    except (TLSError, OSError) as exc:
        server.join(TIMEOUT)
        listener.close()
        why = describe_failure(side.error, peer="client") if side.error else ""
        return fail(describe_failure(exc, peer="server") + (f" (server: {why})" if why else ""))
    server.join(TIMEOUT)
    listener.close()

    story.say(f"lucidtls demo: a real handshake between a lucidtls client and server "
              f"on 127.0.0.1:{port}")
    story.say()
    for line in setup:
        story.say(f"set-up: {line}")
    story.say()
    tell(client_events, side.events, story)
    status_line = response.split(b"\r\n", 1)[0].decode("latin-1")
    story.numbered(f"application data  [client -> server, {_bytes(len(REQUEST))}, encrypted]",
                   [REQUEST.split(b"\r\n", 1)[0].decode()])
    story.numbered(f"application data  [server -> client, {_bytes(len(response))}, encrypted]",
                   [status_line])
    story.numbered("close_notify alerts in both directions: a clean end of the connection")
    story.say()
    story.say("summary:")
    for line in _summary(info, side.info):
        story.say(f"  {line}")
    for line in story.lines:
        out(line)
    if args.html:
        try:
            Path(args.html).write_text(_html(story.lines), encoding="utf-8")
        except OSError as exc:
            return fail(f"cannot write {args.html}: {exc.strerror or exc}")
        out(f"\nwrote {args.html}")
    return 0


def _html(lines: list[str]) -> str:
    text = html.escape("\n".join(lines))
    return ("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>lucidtls demo</title>"
            "</head>\n<body><h1>lucidtls demo</h1>\n<pre>" + text + "</pre></body></html>\n")


def _run(args: argparse.Namespace) -> int:
    return run_demo(args, print)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("demo", help="a loopback handshake, told step by step",
                              description=__doc__)
    p.add_argument("--mutual", action="store_true", help="the client presents a certificate too")
    p.add_argument("--tls1.3", dest="tls13", action="store_true", help="only TLS 1.3")
    p.add_argument("--tls1.2", dest="tls12", action="store_true", help="only TLS 1.2")
    p.add_argument("--html", metavar="FILE", help="also write the story as an HTML page")
    p.set_defaults(func=_run)

