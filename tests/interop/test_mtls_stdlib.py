"""Mutual TLS 1.3 against Python's ``ssl`` module (OpenSSL underneath, driven through its
API): our server with a stdlib client that loaded a client certificate, our client with a
stdlib server in ``CERT_REQUIRED`` mode, refusals on both sides, and post-handshake
authentication both ways (RFC 8446 §4.6.2)."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

import pytest

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.errors import CertificateError, PeerAlertError
from lucidtls.events import ApplicationData, Event, PostHandshakeAuth
from lucidtls.io.sync import TLSSocket, wrap_client, wrap_server
from lucidtls.pki.credentials import Credential
from lucidtls.pki.issue import issue_certificate, write_pem
from lucidtls.pki.trust import TrustStore
from lucidtls.wire.enums import AlertDescription

A = AlertDescription
LOOPBACK = "127.0.0.1"
TIMEOUT = 15.0

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, demo_ca: Credential,
          server_cred: Credential) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("mtls-stdlib")
    alice = issue_certificate(demo_ca, "alice", client=True, dns=["alice.example"])
    return {
        "ca": write_pem(d / "ca.pem", demo_ca.leaf),
        "server.pem": write_pem(d / "server.pem", server_cred.chain),
        "server.key": write_pem(d / "server.key", server_cred.private_key),
        "alice.pem": write_pem(d / "alice.pem", alice.chain),
        "alice.key": write_pem(d / "alice.key", alice.private_key),
    }


@pytest.fixture(scope="module")
def alice(files: dict[str, Path]) -> Credential:
    from lucidtls.pki.credentials import load_credential
    return load_credential(files["alice.pem"], files["alice.key"])


class Listener:
    """One connection accepted on 127.0.0.1 and handed to *serve(sock)* in a thread; its
    result or exception is kept for the test."""

    def __init__(self, serve: Callable[[socket.socket], Any]) -> None:
        self.serve = serve
        self.listener = socket.create_server((LOOPBACK, 0))
        self.listener.settimeout(TIMEOUT)
        self.port: int = self.listener.getsockname()[1]
        self.result: Any = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            sock, _ = self.listener.accept()
            sock.settimeout(TIMEOUT)
            with sock:
                self.result = self.serve(sock)
        except BaseException as exc:  # noqa: BLE001 - the test checks it
            self.error = exc

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join(TIMEOUT)
        self.listener.close()
        assert not self._thread.is_alive(), "server thread did not finish"


def stdlib_client(files: dict[str, Path], port: int, with_cert: bool,
                  pha: bool = False) -> ssl.SSLSocket:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(cafile=files["ca"])
    if with_cert:
        ctx.load_cert_chain(files["alice.pem"], files["alice.key"])
    ctx.post_handshake_auth = pha
    sock = socket.create_connection((LOOPBACK, port), timeout=TIMEOUT)
    return ctx.wrap_socket(sock, server_hostname="localhost")


def stdlib_server_context(files: dict[str, Path], pha: bool = False) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(files["server.pem"], files["server.key"])
    ctx.load_verify_locations(cafile=files["ca"])
    ctx.verify_mode = ssl.CERT_REQUIRED
    # With post_handshake_auth on a server, OpenSSL asks only when told to (after the handshake).
    ctx.post_handshake_auth = pha
    return ctx


def our_server(config: ServerConfig, after: Callable[[TLSSocket], Any] | None = None
               ) -> Callable[[socket.socket], Any]:
    def serve(sock: socket.socket) -> Any:
        tls = wrap_server(sock, config)
        with tls:
            if after is not None:
                result = after(tls)
                return tls.info, result
            tls.sendall(f"hello {tls.info.peer_subject}\n".encode())
            return tls.info, None
    return serve


def required(server_cred: Credential, trust: TrustStore, mode: str = "required"
             ) -> ServerConfig:
    return ServerConfig(credentials=(server_cred,), verify_client=mode,  # type: ignore
                        client_trust=trust)


def read_until(tls: TLSSocket, done: Callable[[list[Event]], bool]) -> list[Event]:
    """Drive *tls*'s sans-I/O connection over its socket until *done(events so far)*."""
    conn, events = tls.conn, []
    while not done(events):
        data = tls.sock.recv(65536)
        conn.receive_data(data)
        events += conn.events()
        out = conn.data_to_send()
        if out:
            tls.sock.sendall(out)
        if not data:
            raise AssertionError(f"the peer closed first; events: {events}")
    return events


# --- our server, stdlib client -----------------------------------------------------------------
def test_our_server_with_stdlib_client_certificate(files, server_cred, trust):
    with Listener(our_server(required(server_cred, trust))) as srv, \
            stdlib_client(files, srv.port, with_cert=True) as client:
        assert client.version() == "TLSv1.3"
        assert client.recv(100) == b"hello CN=alice\n"
    assert srv.error is None, srv.error
    info, _ = srv.result
    assert info.client_auth and info.verified.subject == "CN=alice"
    assert info.verified.sans == ("DNS:alice.example",)


def test_our_server_refuses_stdlib_client_without_certificate(files, server_cred, trust):
    with Listener(our_server(required(server_cred, trust))) as srv, \
            stdlib_client(files, srv.port, with_cert=False) as client, \
            pytest.raises(ssl.SSLError) as err:
        client.recv(100)  # TLS 1.3: the refusal arrives after the client's Finished
    assert "CERTIFICATE_REQUIRED" in str(err.value).upper(), err.value
    assert isinstance(srv.error, CertificateError), srv.error
    assert srv.error.alert == A.certificate_required


def test_our_server_optional_accepts_stdlib_client_without_certificate(files, server_cred,
                                                                       trust):
    with Listener(our_server(required(server_cred, trust, "optional"))) as srv, \
            stdlib_client(files, srv.port, with_cert=False) as client:
        assert client.recv(100) == b"hello None\n"
    assert srv.error is None, srv.error
    info, _ = srv.result
    assert not info.client_auth and info.verified is None


def test_our_server_post_handshake_auth_with_stdlib_client(files, server_cred, trust):
    def request(tls: TLSSocket) -> list[Event]:
        tls.conn.request_client_certificate()
        tls.sock.sendall(tls.conn.data_to_send())
        # The stdlib client answers when it next reads (after sending "ping", which may come
        # before or after its answer): drive the connection until the answer was checked.
        events = read_until(tls, lambda ev: any(isinstance(e, PostHandshakeAuth) for e in ev))
        tls.sendall(f"pong {tls.info.peer_subject}".encode())
        return events

    cfg = ServerConfig(credentials=(server_cred,), client_trust=trust)
    with Listener(our_server(cfg, request)) as srv, \
            stdlib_client(files, srv.port, with_cert=True, pha=True) as client:
        client.sendall(b"ping")
        assert client.recv(100) == b"pong CN=alice"
    assert srv.error is None, srv.error
    _, events = srv.result
    assert PostHandshakeAuth(True, "CN=alice") in events
    assert ApplicationData(b"ping") in events
    info = srv.result[0]
    assert info.client_auth and info.verified.subject == "CN=alice"


# --- our client, stdlib server ----------------------------------------------------------------
def stdlib_server(files: dict[str, Path], pha: bool = False
                  ) -> Callable[[socket.socket], Any]:
    ctx = stdlib_server_context(files, pha)

    def serve(sock: socket.socket) -> Any:
        with ctx.wrap_socket(sock, server_side=True) as tls:
            if pha:
                assert tls.getpeercert() is None
                assert tls.recv(100) == b"ready"
                tls.verify_client_post_handshake()
                tls.sendall(b"asked")  # carries the CertificateRequest out
            data = tls.recv(100)
            peer = tls.getpeercert()
            tls.sendall(b"bye")
            return data, peer
    return serve


def subject_cn(peer: dict[str, Any] | None) -> str | None:
    if not peer:
        return None
    for rdn in peer["subject"]:
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


def test_our_client_presents_certificate_to_stdlib_server(files, trust, alice):
    with Listener(stdlib_server(files)) as srv:
        sock = socket.create_connection((LOOPBACK, srv.port), timeout=TIMEOUT)
        cc = ClientConfig(trust=trust, credentials=(alice,))
        with wrap_client(sock, cc, "localhost") as tls:
            assert tls.info.client_auth
            tls.sendall(b"hi")
            assert tls.recv() == b"bye"
    assert srv.error is None, srv.error
    data, peer = srv.result
    assert data == b"hi" and subject_cn(peer) == "alice"


def test_stdlib_server_refuses_our_client_without_certificate(files, trust):
    with Listener(stdlib_server(files)) as srv:
        sock = socket.create_connection((LOOPBACK, srv.port), timeout=TIMEOUT)
        with pytest.raises(PeerAlertError) as err, \
                wrap_client(sock, ClientConfig(trust=trust), "localhost") as tls:
            tls.recv()
    assert err.value.alert == A.certificate_required
    assert isinstance(srv.error, ssl.SSLError), srv.error
    assert "PEER_DID_NOT_RETURN_A_CERTIFICATE" in str(srv.error).upper()


def test_our_client_answers_stdlib_post_handshake_request(files, trust, alice):
    with Listener(stdlib_server(files, pha=True)) as srv:
        sock = socket.create_connection((LOOPBACK, srv.port), timeout=TIMEOUT)
        cc = ClientConfig(trust=trust, credentials=(alice,), post_handshake_auth=True)
        with wrap_client(sock, cc, "localhost") as tls:
            assert not tls.info.client_auth  # not asked during the handshake
            seen: list[Event] = []
            take = tls.conn.events

            def events() -> list[Event]:
                out = take()
                seen.extend(out)
                return out

            tls.conn.events = events  # type: ignore[method-assign]
            tls.sendall(b"ready")
            assert tls.recv(5) == b"asked"
            tls.sendall(b"hi")
            assert tls.recv() == b"bye"
    assert srv.error is None, srv.error
    data, peer = srv.result
    assert data == b"hi" and subject_cn(peer) == "alice"
    assert PostHandshakeAuth(True, "CN=alice") in seen
