"""Mutual TLS 1.3 against OpenSSL's command-line peers (RFC 8446 §4.3.2, §4.4.2, §4.6.2).

Our server requires client certificates from ``openssl s_client -cert/-key`` (accepting and
refusing), requests one after the handshake from ``s_client -enable_pha``; our client presents
its certificate to ``openssl s_server -Verify 1`` and answers the post-handshake
CertificateRequest that s_server's interactive ``c`` command sends. Each refusal is checked on
both sides: our typed error and alert, and OpenSSL's output naming that alert.
"""

from __future__ import annotations

import datetime
import re
import shutil
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import pytest

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.connection import Connection
from lucidtls.errors import CertificateError, PeerAlertError
from lucidtls.events import ApplicationData, Event, PostHandshakeAuth
from lucidtls.io.sync import TLSSocket, wrap_client, wrap_server
from lucidtls.pki.credentials import Credential
from lucidtls.pki.issue import issue_certificate, make_ca, write_pem
from lucidtls.pki.trust import TrustStore
from lucidtls.wire.enums import AlertDescription
from tests.interop.peers import Process

A = AlertDescription
OPENSSL = shutil.which("openssl")
LOOPBACK = "127.0.0.1"
TIMEOUT = 15.0  # a wait that expires is a failure, never a measurement

pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")]


# --- the PKI as files ------------------------------------------------------------------------
@dataclass(frozen=True)
class Pem:
    cert: Path  # chain, leaf first
    key: Path


@dataclass(frozen=True)
class Pki:
    ca: Path
    creds: dict[str, Credential]
    files: dict[str, Pem]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory, demo_ca: Credential, other_ca: Credential,
        server_cred: Credential) -> Pki:
    d = tmp_path_factory.mktemp("mtls-openssl")
    now = datetime.datetime.now(datetime.UTC)
    creds = {
        "server": server_cred,
        "alice": issue_certificate(demo_ca, "alice", client=True, dns=["alice.example"]),
        "bob": issue_certificate(other_ca, "bob", client=True),
        # Same CA name as ours, another key: OpenSSL finds no issuer (unknown_ca).
        "mallory": issue_certificate(make_ca("lucidtls test CA"), "mallory", client=True),
        "carol": issue_certificate(demo_ca, "carol", client=True,
                                   not_before=now - datetime.timedelta(days=30),
                                   not_after=now - datetime.timedelta(days=1)),
    }
    files = {name: Pem(write_pem(d / f"{name}.pem", c.chain), write_pem(d / f"{name}.key",
                                                                          c.private_key))
             for name, c in creds.items()}
    return Pki(write_pem(d / "ca.pem", demo_ca.leaf), creds, files)


# --- spawned OpenSSL ---------------------------------------------------------------------------
class Tool(Process):
    """The shared peer process; here every pattern waited for is a regular expression."""

    def wait_for(self, pattern: bytes | str | re.Pattern[bytes], *, count: int = 1,
                 timeout: float = TIMEOUT) -> re.Match[bytes]:
        if isinstance(pattern, str):
            pattern = re.compile(pattern.encode())
        return super().wait_for(pattern, count=count, timeout=timeout)


def s_client(port: int, pki: Pki, *extra: str) -> Tool:
    assert OPENSSL is not None
    return Tool([OPENSSL, "s_client", "-connect", f"{LOOPBACK}:{port}", "-tls1_3",
                 "-servername", "localhost", "-CAfile", str(pki.ca), "-verify_return_error",
                 *extra])


def s_server(pki: Pki, *extra: str) -> tuple[Tool, int]:
    """One-connection s_server on a loopback port it picks (port 0) and reports."""
    assert OPENSSL is not None
    pem = pki.files["server"]
    tool = Tool([OPENSSL, "s_server", "-accept", f"{LOOPBACK}:0", "-naccept", "1", "-tls1_3",
                 "-cert", str(pem.cert), "-key", str(pem.key), "-CAfile", str(pki.ca), *extra])
    try:
        port = int(tool.wait_for(r"ACCEPT \S+:(\d+)").group(1))
    except BaseException:
        tool.stop()
        raise
    return tool, port


def cert_args(pki: Pki, name: str) -> list[str]:
    pem = pki.files[name]
    return ["-cert", str(pem.cert), "-key", str(pem.key)]


# --- our side in a thread ----------------------------------------------------------------------
class OurServer:
    """Accepts one connection on 127.0.0.1 and runs the handshake, then *after(tls)*. The
    handshake error (if any) and the result of *after* are kept for the test."""

    def __init__(self, config: ServerConfig,
                 after: Callable[[TLSSocket], Any] | None = None) -> None:
        self.config = config
        self.after = after or greet_and_close
        self.listener = socket.create_server((LOOPBACK, 0))
        self.listener.settimeout(TIMEOUT)
        self.port: int = self.listener.getsockname()[1]
        self.error: BaseException | None = None
        self.tls: TLSSocket | None = None
        self.result: Any = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            sock, _ = self.listener.accept()
            sock.settimeout(TIMEOUT)
            self.tls = wrap_server(sock, self.config)
            with self.tls:
                self.result = self.after(self.tls)
        except BaseException as exc:  # noqa: BLE001 - handed to the test by join()
            self.error = exc

    def join(self) -> None:
        self._thread.join(TIMEOUT)
        self.listener.close()
        assert not self._thread.is_alive(), "our server thread did not finish"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.join()


def greet_and_close(tls: TLSSocket) -> None:
    tls.sendall(f"hello {tls.info.peer_subject}\n".encode())


def read_until(conn: Connection, sock: socket.socket,
               done: Callable[[list[Event]], bool]) -> list[Event]:
    """Drive a sans-I/O connection over *sock* until *done(events so far)*."""
    events: list[Event] = []
    while not done(events):
        data = sock.recv(65536)
        conn.receive_data(data)
        events += conn.events()
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
        if not data:
            raise AssertionError(f"the peer closed first; events: {events}")
    return events


def server_config(pki: Pki, trust: TrustStore, mode: str = "required") -> ServerConfig:
    return ServerConfig(credentials=(pki.creds["server"],), verify_client=mode,  # type: ignore
                        client_trust=trust)


# --- our server, openssl s_client --------------------------------------------------------------
def test_our_server_requires_and_gets_a_certificate(pki, trust):
    with OurServer(server_config(pki, trust)) as server, \
            s_client(server.port, pki, *cert_args(pki, "alice")) as client:
        client.wait_for(r"hello CN=alice")
        client.wait()
    assert server.error is None, server.error
    assert server.tls is not None
    info = server.tls.info
    assert info.client_auth and info.verification == "verified"
    assert info.verified is not None
    assert info.verified.subject == "CN=alice"
    assert info.verified.sans == ("DNS:alice.example",)
    assert "Verify return code: 0 (ok)" in client.text


# name of the client credential (None: s_client without -cert), our alert, and the words
# OpenSSL 3.0 prints for it.
REFUSALS = [
    (None, A.certificate_required, "certificate required"),
    ("bob", A.unknown_ca, "unknown ca"),
    ("carol", A.certificate_expired, "certificate expired"),
    ("server", A.unsupported_certificate, "unsupported certificate"),
]


@pytest.mark.parametrize("name,alert,words", REFUSALS, ids=[r[1].name for r in REFUSALS])
def test_our_server_refuses_s_client(pki, trust, name, alert, words):
    args = cert_args(pki, name) if name else []
    with OurServer(server_config(pki, trust)) as server, \
            s_client(server.port, pki, *args) as client:
        # s_client has finished its side of the handshake; the alert arrives on its next read.
        client.wait_for(rf"alert {words}.*SSL alert number {int(alert)}")
        client.wait()
    assert isinstance(server.error, CertificateError), server.error
    assert server.error.alert == alert


def test_our_server_post_handshake_auth_with_s_client(pki, trust):
    def request_after_handshake(tls: TLSSocket) -> list[Event]:
        assert not tls.info.client_auth  # nothing asked during the handshake
        tls.conn.request_client_certificate(required=True)  # RFC 8446 §4.6.2
        tls.sock.sendall(tls.conn.data_to_send())
        events = read_until(tls.conn, tls.sock,
                            lambda ev: any(isinstance(e, PostHandshakeAuth) for e in ev))
        tls.sendall(f"pha {tls.info.peer_subject}\n".encode())
        return events

    cfg = ServerConfig(credentials=(pki.creds["server"],), client_trust=trust)
    with OurServer(cfg, request_after_handshake) as server, \
            s_client(server.port, pki, "-enable_pha", *cert_args(pki, "alice")) as client:
        client.wait_for(r"pha CN=alice")
        client.wait()
    assert server.error is None, server.error
    assert PostHandshakeAuth(True, "CN=alice") in server.result
    info = server.tls.info
    assert info.client_auth and info.verified.subject == "CN=alice"


# --- our client, openssl s_server --------------------------------------------------------------
def connect_to(port: int, config: ClientConfig) -> TLSSocket:
    sock = socket.create_connection((LOOPBACK, port), timeout=TIMEOUT)
    return wrap_client(sock, config, "localhost")


def test_our_client_presents_a_certificate_to_s_server(pki, trust):
    server, port = s_server(pki, "-Verify", "1", "-verify_return_error")
    with server:
        cc = ClientConfig(trust=trust, credentials=(pki.creds["alice"],))
        with connect_to(port, cc) as tls:
            assert tls.info.client_auth
            tls.sendall(b"from-alice\n")
            server.wait_for(r"from-alice")
    assert re.search(r"depth=0 CN ?= ?alice", server.text), server.text
    assert "verify error" not in server.text


@pytest.mark.parametrize("name,alert", [(None, A.certificate_required),
                                        ("mallory", A.unknown_ca)],
                         ids=["certificate_required", "unknown_ca"])
def test_s_server_refuses_our_client(pki, trust, name, alert):
    server, port = s_server(pki, "-Verify", "1", "-verify_return_error")
    with server:
        creds = (pki.creds[name],) if name else ()
        cc = ClientConfig(trust=trust, credentials=creds)
        with pytest.raises(PeerAlertError) as err, connect_to(port, cc) as tls:
            # TLS 1.3: our handshake ends with our Finished; the refusal comes with the next read.
            tls.recv()
        server.wait()
    assert err.value.alert == alert, server.text
    if name is None:
        assert "peer did not return a certificate" in server.text.lower(), server.text
    else:
        # We send mallory's chain with its (impostor) root, which OpenSSL does not trust.
        assert "verify error:num=19:self-signed certificate in certificate chain" in \
            server.text, server.text


def test_our_client_answers_s_server_post_handshake_request(pki, trust):
    # -verify 1 asks during the handshake too (and prints each verification); "c" then asks
    # again after it (OpenSSL 3.0 s_server, TLS 1.3 with post_handshake_auth offered).
    server, port = s_server(pki, "-verify", "1", "-verify_return_error")
    verified = r"depth=0 CN ?= ?alice"
    with server:
        cc = ClientConfig(trust=trust, credentials=(pki.creds["alice"],),
                          post_handshake_auth=True)
        with connect_to(port, cc) as tls:
            tls.sendall(b"before\n")
            server.wait_for("before")
            server.wait_for(verified, count=1)
            server.write(b"c\n")
            events = read_until(tls.conn, tls.sock,
                                lambda ev: any(isinstance(e, PostHandshakeAuth) for e in ev))
            tls.sendall(b"after\n")
            server.wait_for("after")
            server.wait_for(verified, count=2)
    assert PostHandshakeAuth(True, "CN=alice") in events
    assert not any(isinstance(e, ApplicationData) for e in events)
    assert "verify error" not in server.text


def test_our_client_without_pha_refuses_a_post_handshake_request(pki, trust):
    # Without post_handshake_auth offered, s_server's "c" must fail locally: OpenSSL refuses to
    # send a request the client did not allow (RFC 8446 §4.6.2).
    server, port = s_server(pki)
    with server:
        cc = ClientConfig(trust=trust, credentials=(pki.creds["alice"],))
        with connect_to(port, cc) as tls:
            tls.sendall(b"hi\n")
            server.wait_for("hi")
            server.write(b"c\n")
            server.wait_for("SSL_verify_client_post_handshake:extension not received")
            tls.sendall(b"still-up\n")
            server.wait_for("still-up")

