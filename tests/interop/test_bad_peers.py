"""Real peers that misbehave or cannot agree: OpenSSL limited to old versions, plain HTTP.

Our side is limited to TLS 1.3 explicitly, so these cases stay valid once TLS 1.2 is enabled
by default. Every process is killed in a finalizer and every wait has a timeout.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.connection import Hooks
from lucidtls.errors import (
    ConnectionClosedError,
    PeerAlertError,
    ProtocolError,
    TLSError,
    VersionError,
)
from lucidtls.io.sync import connect, wrap_client, wrap_server
from lucidtls.pki.credentials import Credential
from lucidtls.pki.issue import write_pem
from lucidtls.wire import extensions as X
from lucidtls.wire.enums import AlertDescription, ExtensionType, ProtocolVersion
from lucidtls.wire.messages import ClientHello
from tests.interop.peers import Process, free_port

pytestmark = pytest.mark.interop

A = AlertDescription
OPENSSL = shutil.which("openssl")
LOOPBACK = "127.0.0.1"
TIMEOUT = 20.0
TLS13_ONLY = (ProtocolVersion.TLS1_3,)

needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")


# --- helpers (also used by tests/handshake/test_certificates.py) -------------------------------


def pem_files(tmp_path: Path, cred: Credential, name: str = "server") -> tuple[Path, Path]:
    return (write_pem(tmp_path / f"{name}.pem", cred.chain),
            write_pem(tmp_path / f"{name}.key", cred.private_key))


class OpenSSLServer(Process):
    """``openssl s_server`` on a loopback port (the shared peer process)."""

    def __init__(self, tmp_path: Path, cred: Credential, *args: str) -> None:
        assert OPENSSL is not None
        cert, key = pem_files(tmp_path, cred)
        port = free_port()
        super().__init__([OPENSSL, "s_server", "-accept", f"{LOOPBACK}:{port}", "-cert", cert,
                          "-key", key, *args])
        self.port = port
        try:
            self.wait_for("ACCEPT")
        except BaseException:
            self.stop()
            raise


@contextlib.contextmanager
def openssl_server(tmp_path: Path, cred: Credential, *args: str) -> Iterator[OpenSSLServer]:
    server = OpenSSLServer(tmp_path, cred, *args)
    try:
        yield server
    finally:
        server.stop()


def openssl_client(port: int, *args: str, data: bytes = b"") -> subprocess.CompletedProcess[str]:
    assert OPENSSL is not None
    return subprocess.run(
        [OPENSSL, "s_client", "-connect", f"{LOOPBACK}:{port}", "-servername", "localhost",
         *args], input=data.decode(), capture_output=True, text=True, timeout=TIMEOUT,
        check=False)


class OurServer:
    """One lucidtls handshake on a loopback listener, in a thread; the error it ended with."""

    def __init__(self, config: ServerConfig) -> None:
        self.listener = socket.create_server((LOOPBACK, 0))
        self.listener.settimeout(TIMEOUT)
        self.port = self.listener.getsockname()[1]
        self.error: BaseException | None = None
        self.completed = False
        self._thread = threading.Thread(target=self._serve, args=(config,), daemon=True)
        self._thread.start()

    def _serve(self, config: ServerConfig) -> None:
        try:
            sock, _ = self.listener.accept()
        except OSError as exc:
            self.error = exc
            return
        sock.settimeout(TIMEOUT)
        try:
            tls = wrap_server(sock, config)
            self.completed = True
            tls.close()
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            self.error = exc
        finally:
            sock.close()

    def result(self) -> BaseException | None:
        self._thread.join(TIMEOUT)
        assert not self._thread.is_alive(), "our server is still waiting (a hang)"
        self.listener.close()
        return self.error


@contextlib.contextmanager
def our_server(config: ServerConfig) -> Iterator[OurServer]:
    server = OurServer(config)
    try:
        yield server
    finally:
        server.listener.close()


# --- a TLS 1.2-only peer against our TLS 1.3-only side ------------------------------------------


@needs_openssl
def test_tls12_only_openssl_server(tmp_path, server_cred, trust):
    cc = ClientConfig(trust=trust, versions=TLS13_ONLY)
    with openssl_server(tmp_path, server_cred, "-tls1_2") as server:
        with pytest.raises((VersionError, PeerAlertError)) as info:
            connect(LOOPBACK, server.port, cc, server_hostname="localhost", timeout=TIMEOUT)
        assert info.value.alert == A.protocol_version, info.value
        if isinstance(info.value, VersionError):
            assert "TLS" in info.value.reason


@needs_openssl
def test_tls12_server_hello_from_openssl(tmp_path, server_cred, trust):
    # Make OpenSSL really answer with a TLS 1.2 ServerHello: our hello also lists 0x0303 in
    # supported_versions and a TLS 1.2 suite, while our configuration allows only TLS 1.3. The client must judge
    # the answer by its configuration, not by what went on the wire.
    def also_tls12(msg: object) -> object:
        if isinstance(msg, ClientHello):
            exts = [(t, X.SupportedVersionsClient([0x0304, 0x0303]).encode())
                    if t == ExtensionType.supported_versions else (t, d)
                    for t, d in msg.extensions]
            # and a TLS 1.2 suite, ECDHE-ECDSA-AES128-GCM-SHA256 (RFC 5289)
            return dataclasses.replace(msg, extensions=exts,
                                       cipher_suites=[*msg.cipher_suites, 0xC02B])
        return msg

    cc = ClientConfig(trust=trust, versions=TLS13_ONLY)
    with openssl_server(tmp_path, server_cred, "-tls1_2") as server:
        sock = socket.create_connection((LOOPBACK, server.port), timeout=TIMEOUT)
        with pytest.raises(VersionError) as info:
            wrap_client(sock, cc, "localhost", hooks=Hooks(shape=also_tls12))
        assert info.value.alert == A.protocol_version
        assert "0x0303" in info.value.reason or "TLS" in info.value.reason, info.value.reason
        assert server.wait_for(f"alert number {int(A.protocol_version)}")


@needs_openssl
def test_tls12_only_openssl_client(server_cred):
    sc = ServerConfig(credentials=(server_cred,), versions=TLS13_ONLY)
    with our_server(sc) as server:
        out = openssl_client(server.port, "-tls1_2")
        error = server.result()
    assert out.returncode != 0
    assert "protocol version" in out.stdout + out.stderr, out.stdout + out.stderr
    assert isinstance(error, VersionError), error
    assert error.alert == A.protocol_version
    assert "TLSv1.2" in error.reason and "TLSv1.3" in error.reason


@needs_openssl
@pytest.mark.parametrize("flag", ["-tls1", "-tls1_1"])
def test_old_version_openssl_client(server_cred, flag):
    sc = ServerConfig(credentials=(server_cred,), versions=TLS13_ONLY)
    with our_server(sc) as server:
        out = openssl_client(server.port, flag, "-cipher", "DEFAULT@SECLEVEL=0")
        error = server.result()
    if error is None and "no protocols available" in out.stdout + out.stderr:
        pytest.skip(f"this openssl refuses {flag} locally")
    assert out.returncode != 0
    assert isinstance(error, VersionError), (error, out.stdout + out.stderr)
    assert error.alert == A.protocol_version
    assert "TLSv1.3" in error.reason


# --- not TLS at all -----------------------------------------------------------------------------


def test_plain_http_to_our_server(server_cred):
    sc = ServerConfig(credentials=(server_cred,), versions=TLS13_ONLY)
    with our_server(sc) as server:
        with socket.create_connection((LOOPBACK, server.port), timeout=TIMEOUT) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            reply = b""
            with contextlib.suppress(OSError):
                while chunk := sock.recv(4096):
                    reply += chunk
        error = server.result()
    assert isinstance(error, ProtocolError), error
    assert "HTTP" in error.reason, error.reason
    # What the HTTP client got back is one fatal alert record, then the close.
    assert reply[:1] == b"\x15" and reply[-2:] == bytes((2, int(error.alert))), reply


@contextlib.contextmanager
def raw_peer(behaviour: Callable[[socket.socket], None]) -> Iterator[int]:
    """A one-connection loopback peer that speaks raw bytes: *behaviour* gets the accepted
    socket (in a thread); yields the port. The listener is closed and the thread joined after."""
    listener = socket.create_server((LOOPBACK, 0))
    listener.settimeout(TIMEOUT)

    def serve() -> None:
        with contextlib.suppress(OSError):
            sock, _ = listener.accept()
            with sock:
                sock.settimeout(TIMEOUT)
                behaviour(sock)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        thread.join(TIMEOUT)


def test_plain_http_server_to_our_client(trust):
    def http_server(sock: socket.socket) -> None:
        sock.recv(4096)
        sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        with contextlib.suppress(OSError):
            sock.recv(4096)

    cc = ClientConfig(trust=trust, versions=TLS13_ONLY)
    with raw_peer(http_server) as port, pytest.raises(ProtocolError) as info:
        connect(LOOPBACK, port, cc, server_hostname="localhost", timeout=TIMEOUT)
    assert "HTTP" in info.value.reason, info.value.reason


def test_peer_closes_mid_handshake(trust):
    # A peer that reads the ClientHello and hangs up: a typed error, not a hang.
    with raw_peer(lambda sock: sock.recv(4096)) as port, pytest.raises(TLSError):
        connect(LOOPBACK, port, ClientConfig(trust=trust), server_hostname="localhost",
                timeout=TIMEOUT)


def test_peer_sends_close_notify_mid_handshake(trust):
    # A peer answering the ClientHello with close_notify and hanging up: connect() must end in
    # a typed error. The client runs in a thread so that a regression shows as a failure, not
    # a hung suite.
    def close_notify(sock: socket.socket) -> None:
        sock.recv(4096)
        sock.sendall(b"\x15\x03\x03\x00\x02\x01\x00")

    outcome: list[BaseException | None] = []
    with raw_peer(close_notify) as port:
        def client() -> None:
            try:
                connect(LOOPBACK, port, ClientConfig(trust=trust), server_hostname="localhost",
                        timeout=TIMEOUT)
                outcome.append(None)
            except BaseException as exc:  # noqa: BLE001 - inspected below
                outcome.append(exc)

        thread = threading.Thread(target=client, daemon=True)
        thread.start()
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "connect() hangs after close_notify"
    assert isinstance(outcome[0], ConnectionClosedError), outcome
