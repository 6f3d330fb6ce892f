"""TLS 1.3, one-way authentication, against Python's ``ssl`` module (its own OpenSSL): our client
with an ``ssl`` server and our server with an ``ssl`` client, each suite and group, data of
1 byte, 16 KiB and 10 MiB both ways, and HelloRetryRequest forced from each side.

Python 3.11's ``ssl`` cannot limit TLS 1.3 suites (``set_ciphersuites`` is missing) nor, on the
server, groups: there we limit our side and check what the ``ssl`` peer reports."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.crypto.suites import TLS13_DEFAULT_SUITES, Suite
from lucidtls.io.sync import wrap_client, wrap_server
from lucidtls.pki.credentials import Credential
from lucidtls.pki.trust import TrustStore
from lucidtls.wire.enums import NamedGroup, ProtocolVersion
from tests.interop.peers import (
    LOOPBACK,
    SIZES,
    TIMEOUT,
    PemFiles,
    ServerThread,
    exchange_as_client,
    exchange_as_server,
    stdlib_client_context,
    stdlib_server_context,
    write_pem_files,
)

pytestmark = pytest.mark.interop

GROUPS = [NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1]
# OpenSSL curve names for SSLContext.set_ecdh_curve (which sets the one group a client offers)
ECDH_CURVES = {NamedGroup.secp256r1: "prime256v1", NamedGroup.secp384r1: "secp384r1"}
suites = pytest.mark.parametrize("suite", TLS13_DEFAULT_SUITES, ids=lambda s: s.name)
groups = pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
sizes = pytest.mark.parametrize("size", list(SIZES))


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory, demo_ca: Credential,
        server_cred: Credential) -> PemFiles:
    return write_pem_files(tmp_path_factory.mktemp("stdlib13"), demo_ca, server_cred)


def client_config(ca: Credential, **kwargs: object) -> ClientConfig:
    return ClientConfig(trust=TrustStore.from_certificates([ca.leaf]), **kwargs)  # type: ignore[arg-type]


def ssl_server(ctx: ssl.SSLContext, size: int = 0):  # type: ignore[no-untyped-def]
    """A handler: the ``ssl`` side of the exchange; returns (version, suite name)."""
    def handler(sock: socket.socket) -> tuple[str | None, str]:
        with ctx.wrap_socket(sock, server_side=True) as tls:
            if size:
                exchange_as_server(tls.sendall, tls.recv)
            else:
                tls.sendall(b"hi " + tls.recv(100))
            cipher = tls.cipher()
            assert cipher is not None
            return tls.version(), cipher[0]
    return handler


def our_client(port: int, config: ClientConfig):  # type: ignore[no-untyped-def]
    sock = socket.create_connection((LOOPBACK, port), timeout=TIMEOUT)
    return wrap_client(sock, config, "localhost")


# --- our client, ssl server ------------------------------------------------------------------

@suites
@groups
def test_client_each_suite_and_group(pem: PemFiles, demo_ca: Credential, suite: Suite,
                                     group: NamedGroup) -> None:
    cfg = client_config(demo_ca, cipher_suites=(suite.id,), groups=(group,),
                        key_share_groups=(group,))
    with (
        ServerThread(ssl_server(stdlib_server_context(pem))) as st,
        our_client(st.port, cfg) as tls,
    ):
        assert tls.info.version == ProtocolVersion.TLS1_3
        assert (tls.info.cipher_suite, tls.info.group) == (suite.id, group)
        assert tls.info.verification == "verified" and not tls.info.hello_retry
        tls.sendall(b"there")
        assert tls.recv() == b"hi there"
    assert st.results == [("TLSv1.3", suite.name)]


@sizes
def test_client_data_both_ways(pem: PemFiles, demo_ca: Credential, size: str) -> None:
    with (
        ServerThread(ssl_server(stdlib_server_context(pem), SIZES[size])) as st,
        our_client(st.port, client_config(demo_ca)) as tls,
    ):
        exchange_as_client(tls.sendall, tls.recv, SIZES[size])
    assert st.results[0][0] == "TLSv1.3"


@pytest.mark.parametrize("group", [NamedGroup.secp256r1, NamedGroup.x25519],
                         ids=lambda g: g.name)
def test_client_hello_retry_from_ssl(pem: PemFiles, demo_ca: Credential,
                                     group: NamedGroup) -> None:
    # Our only share is X25519MLKEM768, unknown to this OpenSSL: it asks for *group*.
    if ssl.OPENSSL_VERSION_INFO >= (3, 5):
        pytest.skip(f"{ssl.OPENSSL_VERSION} knows X25519MLKEM768: no retry to force this way")
    cfg = client_config(demo_ca, groups=(NamedGroup.X25519MLKEM768, group),
                        key_share_groups=(NamedGroup.X25519MLKEM768,))
    with (
        ServerThread(ssl_server(stdlib_server_context(pem))) as st,
        our_client(st.port, cfg) as tls,
    ):
        assert tls.info.hello_retry and tls.info.group == group
        tls.sendall(b"again")
        assert tls.recv() == b"hi again"


# --- our server, ssl client ------------------------------------------------------------------

def lucid_server(config: ServerConfig, size: int = 0):  # type: ignore[no-untyped-def]
    def handler(sock: socket.socket):  # type: ignore[no-untyped-def]
        with wrap_server(sock, config) as tls:
            if size:
                exchange_as_server(tls.sendall, tls.recv)
            else:
                tls.sendall(b"hi " + tls.recv(100))
            return tls.info
    return handler


def ssl_client(port: int, ctx: ssl.SSLContext) -> ssl.SSLSocket:
    sock = socket.create_connection((LOOPBACK, port), timeout=TIMEOUT)
    return ctx.wrap_socket(sock, server_hostname="localhost")


@suites
@groups
def test_server_each_suite_and_group(pem: PemFiles, server_cred: Credential, suite: Suite,
                                     group: NamedGroup) -> None:
    config = ServerConfig(credentials=(server_cred,), cipher_suites=(suite.id,))
    ctx = stdlib_client_context(pem.ca)
    if group in ECDH_CURVES:
        ctx.set_ecdh_curve(ECDH_CURVES[group])  # the client offers (and shares) only this
    with ServerThread(lucid_server(config)) as st, ssl_client(st.port, ctx) as tls:
        assert (tls.version(), (tls.cipher() or ("",))[0]) == ("TLSv1.3", suite.name)
        tls.sendall(b"there")
        assert tls.recv(100) == b"hi there"
    [info] = st.results
    assert (info.cipher_suite, info.group) == (suite.id, group)
    assert not info.hello_retry


@sizes
def test_server_data_both_ways(pem: PemFiles, server_cred: Credential, size: str) -> None:
    config = ServerConfig(credentials=(server_cred,))
    with (
        ServerThread(lucid_server(config, SIZES[size])) as st,
        ssl_client(st.port, stdlib_client_context(pem.ca)) as tls,
    ):
        exchange_as_client(tls.sendall, tls.recv, SIZES[size])
        assert tls.version() == "TLSv1.3"


@pytest.mark.parametrize("group", [NamedGroup.secp256r1, NamedGroup.secp384r1],
                         ids=lambda g: g.name)
def test_server_hello_retry_to_ssl(pem: PemFiles, server_cred: Credential,
                                   group: NamedGroup) -> None:
    # The ssl client shares X25519 first; we accept only *group*: HelloRetryRequest.
    config = ServerConfig(credentials=(server_cred,), groups=(group,))
    with (
        ServerThread(lucid_server(config)) as st,
        ssl_client(st.port, stdlib_client_context(pem.ca)) as tls,
    ):
        tls.sendall(b"there")
        assert tls.recv(100) == b"hi there"
    [info] = st.results
    assert info.hello_retry and info.group == group


def test_ssl_client_refuses_unknown_ca(tmp_path: Path, server_cred: Credential,
                                       other_ca: Credential, demo_ca: Credential) -> None:
    # The check above can fail: an ssl client trusting another CA rejects our server.
    wrong = write_pem_files(tmp_path, other_ca, server_cred)
    config = ServerConfig(credentials=(server_cred,))

    def handler(sock: socket.socket) -> str:
        try:
            wrap_server(sock, config)
        except Exception as exc:  # noqa: BLE001 - we only record what our server saw
            return type(exc).__name__
        return "completed"

    with ServerThread(handler) as st, pytest.raises(ssl.SSLCertVerificationError):
        ssl_client(st.port, stdlib_client_context(wrong.ca))
    assert st.results == ["PeerAlertError"]
