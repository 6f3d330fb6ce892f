"""TLS 1.2 against Python's ``ssl`` module (the system OpenSSL): each suite both ways, and a
stdlib client allowed 1.2 and 1.3 getting 1.3 from us."""

from __future__ import annotations

import socket
import ssl

import pytest

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.crypto.suites import TLS12_DEFAULT_SUITES, TLS12_RSA_KX_SUITES, Suite
from lucidtls.errors import TLSError
from lucidtls.io.sync import wrap_client, wrap_server
from lucidtls.wire.enums import ProtocolVersion
from tests.interop.peers import (
    LOOPBACK,
    TIMEOUT,
    PemFiles,
    ServerThread,
    stdlib_client_context,
    stdlib_server_context,
    write_pem_files,
)

pytestmark = pytest.mark.interop
V = ProtocolVersion
SUITES = TLS12_DEFAULT_SUITES + TLS12_RSA_KX_SUITES


@pytest.fixture(scope="module")
def pems(tmp_path_factory, demo_ca, server_cred, rsa_server_cred) -> dict[str, PemFiles]:
    d = tmp_path_factory.mktemp("tls12-stdlib")
    return {"ECDSA": write_pem_files(d, demo_ca, server_cred, "ec"),
            "RSA": write_pem_files(d, demo_ca, rsa_server_cred, "rsa")}


def _lucid_server(config: ServerConfig) -> ServerThread:
    def handler(sock: socket.socket):
        try:
            tls = wrap_server(sock, config)
            tls.sendall(tls.recv().upper())
            info = tls.info
            tls.close()
            return info
        except TLSError as exc:
            return exc
    return ServerThread(handler)


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.openssl_name)
def test_stdlib_client(pems, server_cred, rsa_server_cred, suite: Suite):
    config = ServerConfig(credentials=(server_cred, rsa_server_cred),
                          cipher_suites=(suite.id,))
    ctx = stdlib_client_context(pems["RSA"].ca, version="TLSv1.2", ciphers=suite.openssl_name)
    with _lucid_server(config) as st, \
            socket.create_connection((LOOPBACK, st.port), timeout=TIMEOUT) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        assert tls.version() == "TLSv1.2" and tls.cipher()[0] == suite.openssl_name
        tls.sendall(b"stdlib says hi")
        assert tls.recv(100) == b"STDLIB SAYS HI"
    info = st.results[0]
    assert not isinstance(info, Exception), info
    assert info.cipher_suite == suite.id and info.extended_master_secret


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.openssl_name)
def test_stdlib_server(pems, trust, suite: Suite):
    ctx = stdlib_server_context(pems[suite.auth], version="TLSv1.2",
                                ciphers=suite.openssl_name)

    def handler(sock: socket.socket) -> bytes:
        with ctx.wrap_socket(sock, server_side=True) as tls:
            data = tls.recv(100)
            tls.sendall(data[::-1])
            return data

    config = ClientConfig(trust=trust, allow_rsa_key_exchange=suite.kx == "RSA")
    with ServerThread(handler) as st:
        sock = socket.create_connection((LOOPBACK, st.port), timeout=TIMEOUT)
        with wrap_client(sock, config, "localhost") as tls:
            assert tls.info.version == V.TLS1_2 and tls.info.cipher_suite == suite.id
            assert tls.info.extended_master_secret
            tls.sendall(b"abc")
            assert tls.recv() == b"cba"
    assert st.results == [b"abc"]


def test_stdlib_client_offering_both_gets_tls13(pems, server_cred):
    ctx = ssl.create_default_context(cafile=str(pems["ECDSA"].ca))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    with _lucid_server(ServerConfig(credentials=(server_cred,))) as st, \
            socket.create_connection((LOOPBACK, st.port), timeout=TIMEOUT) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        assert tls.version() == "TLSv1.3"
        tls.sendall(b"x")
        assert tls.recv(10) == b"X"
    assert st.results[0].version == V.TLS1_3
