"""Certificates from pki.issue against real verifiers: ``openssl verify`` and stdlib ``ssl``."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from lucidtls.pki.credentials import Credential
from lucidtls.pki.issue import issue_certificate, issue_intermediate, write_pem
from tests.pki.conftest import Pki

pytestmark = pytest.mark.interop

OPENSSL = shutil.which("openssl")


def files(tmp_path: Path, ca: Credential, cred: Credential) -> tuple[Path, Path, Path]:
    return (
        write_pem(tmp_path / "ca.pem", ca.leaf),
        write_pem(tmp_path / "leaf.pem", cred.chain),
        write_pem(tmp_path / "leaf.key", cred.private_key),
    )


def openssl_verify(*args: str | Path) -> subprocess.CompletedProcess[str]:
    assert OPENSSL is not None
    return subprocess.run(
        [OPENSSL, "verify", *map(str, args)],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
def test_openssl_verify(tmp_path: Path, pki: Pki, key_type: str) -> None:
    ca, server, client = pki.get(key_type)
    ca_pem, server_pem, _ = files(tmp_path, ca, server)
    client_pem = write_pem(tmp_path / "client.pem", client.leaf)
    for leaf, purpose in ((server_pem, "sslserver"), (client_pem, "sslclient")):
        ok = openssl_verify("-x509_strict", "-purpose", purpose, "-CAfile", ca_pem, leaf)
        assert ok.returncode == 0, ok.stdout + ok.stderr
    # and each is refused for the other purpose
    wrong = openssl_verify("-purpose", "sslclient", "-CAfile", ca_pem, server_pem)
    assert wrong.returncode != 0
    wrong = openssl_verify("-purpose", "sslserver", "-CAfile", ca_pem, client_pem)
    assert wrong.returncode != 0


@pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
def test_openssl_verify_intermediate(tmp_path: Path, ca: Credential) -> None:
    inter = issue_intermediate(ca, "interop intermediate")
    leaf = issue_certificate(inter, "deep.example")
    ca_pem = write_pem(tmp_path / "ca.pem", ca.leaf)
    inter_pem = write_pem(tmp_path / "inter.pem", inter.leaf)
    leaf_pem = write_pem(tmp_path / "leaf.pem", leaf.leaf)
    ok = openssl_verify(
        "-x509_strict",
        "-purpose",
        "sslserver",
        "-CAfile",
        ca_pem,
        "-untrusted",
        inter_pem,
        leaf_pem,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr


def handshake(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, server_hostname: str
) -> tuple[ssl.SSLSocket, ssl.SSLSocket]:
    """Run a stdlib TLS handshake over a socketpair; returns (server, client) sockets."""
    a, b = socket.socketpair()
    a.settimeout(10)
    b.settimeout(10)
    result: dict[str, object] = {}

    def serve() -> None:
        try:
            result["server"] = server_ctx.wrap_socket(a, server_side=True)
        except (ssl.SSLError, OSError) as exc:  # reported by the main thread
            result["error"] = exc

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        client = client_ctx.wrap_socket(b, server_hostname=server_hostname)
    finally:
        thread.join(10)
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    server = result["server"]
    assert isinstance(server, ssl.SSLSocket)
    return server, client


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_stdlib_ssl_handshake(tmp_path: Path, pki: Pki, key_type: str, host: str) -> None:
    ca, server, client = pki.get(key_type)
    ca_pem, server_pem, server_key = files(tmp_path, ca, server)
    client_pem = write_pem(tmp_path / "client.pem", client.chain)
    client_key = write_pem(tmp_path / "client.key", client.private_key)

    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(server_pem, server_key)
    server_ctx.load_verify_locations(ca_pem)
    server_ctx.verify_mode = ssl.CERT_REQUIRED  # client authentication too

    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # check_hostname on, CERT_REQUIRED
    assert client_ctx.check_hostname
    client_ctx.load_verify_locations(ca_pem)
    client_ctx.load_cert_chain(client_pem, client_key)

    srv, cli = handshake(server_ctx, client_ctx, host)
    try:
        cli.sendall(b"ping")
        assert srv.recv(4) == b"ping"
        peer = srv.getpeercert()
        assert peer is not None and ("commonName", "alice.example") in peer["subject"][0]
    finally:
        srv.close()
        cli.close()


def test_stdlib_ssl_rejects_wrong_host(tmp_path: Path, pki: Pki) -> None:
    ca, server, _ = pki.get("ecdsa-p256")
    ca_pem, server_pem, server_key = files(tmp_path, ca, server)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(server_pem, server_key)
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.load_verify_locations(ca_pem)
    with pytest.raises((ssl.SSLError, OSError)):
        handshake(server_ctx, client_ctx, "evil.example")
