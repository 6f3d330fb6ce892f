"""``run_demo``: a lucidtls server and client on loopback TCP, recorded and explained.

A fresh CA issues the server certificate (and, for mutual TLS, a client certificate); the server
runs in a thread, the client sends one HTTP request, the server answers, both close. Both sides'
trace events go to one ``Recorder``; the result carries the narration, the diagram and, when
asked, the path of the HTML report.
"""

from __future__ import annotations

import importlib.util
import socket
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from lucidtls.config import IMPLEMENTED_VERSIONS, ClientConfig, ServerConfig
from lucidtls.crypto.suites import SUITES
from lucidtls.errors import ConfigError
from lucidtls.explain.diagram import text_diagram
from lucidtls.explain.narrate import Narration, narrate
from lucidtls.explain.trace import Recorder, read_keylog
from lucidtls.info import ConnectionInfo
from lucidtls.io.sync import wrap_client, wrap_server
from lucidtls.pki.issue import issue_certificate, make_ca
from lucidtls.pki.trust import TrustStore
from lucidtls.wire.enums import NamedGroup, ProtocolVersion

REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
BODY = b"Hello from the lucidtls demo server.\n"
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
            + str(len(BODY)).encode() + b"\r\nConnection: close\r\n\r\n" + BODY)
TIMEOUT = 15.0


def tls12_available() -> bool:
    """Whether the TLS 1.2 procedures exist (client and server) and the version is enabled."""
    return ProtocolVersion.TLS1_2 in IMPLEMENTED_VERSIONS and all(
        importlib.util.find_spec(f"lucidtls.handshake.{m}") is not None
        for m in ("client12", "server12"))


@dataclass
class DemoResult:
    narration: Narration
    recorder: Recorder
    client_info: ConnectionInfo
    server_info: ConnectionInfo | None
    response: bytes  # what the client received (the HTTP response)
    html_path: Path | None = None
    keylog_path: Path | None = None
    secrets: dict[str, bytes] | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        """The narrated steps."""
        return self.narration.text()

    @property
    def diagram(self) -> str:
        return text_diagram(self.narration.messages)

    def report(self) -> str:
        """Diagram, narration and where the HTML report is: what ``lucidtls demo`` prints."""
        out = self.diagram + "\n" + self.text
        if self.html_path is not None:
            out += f"\nHTML report: {self.html_path}\n"
        return out


def run_demo(mutual: bool = False, version: str = "1.3", kx: str = "ecdhe",
             html_path: str | Path | None = None, show_secrets: bool = False, *,
             group: str | None = None, key_share_groups: tuple[str, ...] | None = None,
             keylog_path: str | Path | None = None, listener: socket.socket | None = None,
             stream: TextIO | None = None) -> DemoResult:
    """Run one handshake and exchange over 127.0.0.1 and explain it.

    *version* "1.3" or "1.2"; *kx* "ecdhe" or "rsa" (RSA key transport, TLS 1.2 only).
    *group* restricts the key-exchange groups to one (e.g. "x25519"); *key_share_groups* are
    the shares the client sends up front (a group the server does not take forces a
    HelloRetryRequest). *keylog_path*: where to write the NSS key log (a temporary file is used
    for *show_secrets* when None). *listener*: a bound, listening socket to serve on (default: a
    fresh one on an ephemeral port). *stream*: where to print ``report()``.
    """
    if version not in ("1.3", "1.2"):
        raise ConfigError(f"version must be 1.3 or 1.2, not {version!r}")
    if kx not in ("ecdhe", "rsa"):
        raise ConfigError(f"kx must be ecdhe or rsa, not {kx!r}")
    if kx == "rsa" and version != "1.2":
        raise ConfigError("RSA key transport exists only in TLS 1.2 (TLS 1.3 removed it); "
                          "use --tls1.2 with --kx rsa")
    if version == "1.2" and not tls12_available():
        raise ConfigError("TLS 1.2 is not implemented yet in this build "
                          "(lucidtls.handshake.client12/server12 are missing)")
    ca = make_ca("lucidtls demo CA")
    key_type = "rsa2048" if kx == "rsa" else "ecdsa-p256"
    server_cred = issue_certificate(ca, "localhost", dns=["localhost"], ips=["127.0.0.1"],
                                    key_type=key_type)
    trust = TrustStore.from_certificates([ca.chain[0]])
    tmpdir: tempfile.TemporaryDirectory[str] | None = None
    if keylog_path is None and show_secrets:
        tmpdir = tempfile.TemporaryDirectory(prefix="lucidtls-demo-")
        keylog_path = Path(tmpdir.name) / "keys.log"
    try:
        cc, sc = _configs(mutual, version, kx, group, key_share_groups, ca, server_cred, trust,
                          str(keylog_path) if keylog_path is not None else None)
        rec = Recorder()
        client_info, server_info, response = _exchange(cc, sc, rec, listener)
        secrets = None
        if show_secrets and keylog_path is not None:
            secrets = read_keylog(keylog_path, _client_random(rec))
        narration = narrate(rec, secrets)
    finally:
        if tmpdir is not None:
            tmpdir.cleanup()
    result = DemoResult(narration, rec, client_info, server_info, response,
                        keylog_path=Path(keylog_path) if keylog_path and tmpdir is None
                        else None, secrets=secrets)
    if html_path is not None:
        from lucidtls.explain.html import write_html
        result.html_path = write_html(narration, html_path)
    if stream is not None:
        stream.write(result.report())
    return result


def _configs(mutual: bool, version: str, kx: str, group: str | None,
             key_share_groups: tuple[str, ...] | None, ca: object, server_cred: object,
             trust: TrustStore, keylog: str | None) -> tuple[ClientConfig, ServerConfig]:
    from lucidtls.pki.credentials import Credential
    assert isinstance(ca, Credential) and isinstance(server_cred, Credential)
    versions = (ProtocolVersion.TLS1_3,) if version == "1.3" else (ProtocolVersion.TLS1_2,)
    common: dict[str, object] = {"versions": versions}
    if group is not None:
        g = _group(group)
        common["groups"] = (g,)
    if kx == "rsa":
        rsa_suites = tuple(s.id for s in SUITES.values() if s.kx == "RSA")
        common["cipher_suites"] = rsa_suites
        common["allow_rsa_key_exchange"] = True
    client_extra: dict[str, object] = {}
    if group is not None:
        client_extra["key_share_groups"] = (_group(group),) if version == "1.3" else ()
    if key_share_groups is not None:
        shares = tuple(_group(g) for g in key_share_groups)
        client_extra["key_share_groups"] = shares
        server_groups = (_group(group),) if group is not None else ()
        client_extra["groups"] = tuple(dict.fromkeys((*shares, *server_groups)))
    if version == "1.2" and "key_share_groups" not in client_extra:
        client_extra["key_share_groups"] = ()
    client_creds = (issue_certificate(ca, "demo-client", client=True),) if mutual else ()
    cc = ClientConfig(trust=trust, credentials=client_creds, keylog_file=keylog,
                      **{**common, **client_extra})  # type: ignore[arg-type]
    sc = ServerConfig(credentials=(server_cred,),
                      verify_client="required" if mutual else "none",
                      client_trust=trust if mutual else None,
                      **common)  # type: ignore[arg-type]
    return cc, sc


def _group(name: str) -> NamedGroup:
    for g in NamedGroup:
        if g.name.lower() == name.lower().replace("-", ""):
            return g
    raise ConfigError(f"unknown group {name!r}")


def _client_random(rec: Recorder) -> bytes | None:
    from lucidtls.explain.decode import messages
    for m in messages(rec):
        if m.name == "ClientHello" and m.obj is not None:
            return bytes(m.obj.random)
    return None


def _exchange(cc: ClientConfig, sc: ServerConfig, rec: Recorder,
              listener: socket.socket | None) -> tuple[ConnectionInfo, ConnectionInfo | None,
                                                       bytes]:
    own = listener is None
    lsock = listener or socket.create_server(("127.0.0.1", 0))
    lsock.settimeout(TIMEOUT)
    port = lsock.getsockname()[1]
    server_info: list[ConnectionInfo] = []
    server_error: list[BaseException] = []

    def serve() -> None:
        try:
            sock, _ = lsock.accept()
        except OSError as exc:
            server_error.append(exc)
            return
        sock.settimeout(TIMEOUT)
        try:
            tls = wrap_server(sock, sc, observer=rec.server)
        except Exception as exc:  # noqa: BLE001 - re-raised after the client side finishes
            server_error.append(exc)
            return
        with tls:
            server_info.append(tls.info)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = tls.recv()
                if not chunk:
                    break
                request += chunk
            tls.sendall(RESPONSE)

    thread = threading.Thread(target=serve, name="lucidtls-demo-server", daemon=True)
    thread.start()
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        with wrap_client(sock, cc, "localhost", observer=rec.client) as tls:
            client_info = tls.info
            tls.sendall(REQUEST)
            response = tls.recv_all()
    finally:
        thread.join(TIMEOUT)
        if own:
            lsock.close()
    if server_error:
        raise server_error[0]
    return client_info, server_info[0] if server_info else None, response
