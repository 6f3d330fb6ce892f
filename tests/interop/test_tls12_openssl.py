"""TLS 1.2 against OpenSSL's command-line peers: every suite in both directions, the extended
master secret as OpenSSL reports it, mutual TLS, version negotiation, fallback SCSV, legacy-only
clients and renegotiation attempts (RFC 5246, RFC 7627, RFC 7507, RFC 5746)."""

from __future__ import annotations

import re
import socket

import pytest

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.crypto.suites import TLS12_DEFAULT_SUITES, TLS12_RSA_KX_SUITES, Suite
from lucidtls.errors import PeerAlertError, ProtocolError, TLSError
from lucidtls.events import HandshakeComplete
from lucidtls.io.sync import wrap_client, wrap_server
from lucidtls.pki.issue import issue_certificate
from lucidtls.pki.trust import TrustStore
from lucidtls.wire.enums import AlertDescription, AlertLevel, ProtocolVersion
from tests.interop.peers import (
    LOOPBACK,
    TIMEOUT,
    PemFiles,
    ServerThread,
    needs_openssl,
    openssl_client,
    openssl_server,
    record_events,
    write_pem_files,
)

pytestmark = [pytest.mark.interop, needs_openssl]

A = AlertDescription
V = ProtocolVersion
SUITES = TLS12_DEFAULT_SUITES + TLS12_RSA_KX_SUITES[:1]


@pytest.fixture(scope="module")
def pems(tmp_path_factory, demo_ca, server_cred, rsa_server_cred) -> dict[str, PemFiles]:
    d = tmp_path_factory.mktemp("tls12-openssl")
    alice = issue_certificate(demo_ca, "alice", client=True)
    return {"ECDSA": write_pem_files(d, demo_ca, server_cred, "ec"),
            "RSA": write_pem_files(d, demo_ca, rsa_server_cred, "rsa"),
            "alice": write_pem_files(d, demo_ca, alice, "alice"),
            "alice_cred": alice}  # type: ignore[dict-item]


def _server_config(server_cred, rsa_server_cred, **kw) -> ServerConfig:
    return ServerConfig(credentials=(server_cred, rsa_server_cred),
                        cipher_suites=kw.pop("cipher_suites", None) or
                        (*[s.id for s in TLS12_DEFAULT_SUITES], TLS12_RSA_KX_SUITES[0].id),
                        **kw)


def _serve_echo(config: ServerConfig):
    """A lucidtls server for one connection: handshake, echo one read upper-cased. Returns the
    ConnectionInfo, or the TLSError it failed with."""
    def handler(sock: socket.socket):
        try:
            tls = wrap_server(sock, config)
            data = tls.recv()
            tls.sendall(data.upper())
            info = tls.info
            tls.close()
            return info
        except TLSError as exc:
            return exc
    return ServerThread(handler)


def _s_client_session(proc) -> dict[str, str]:
    out = proc.text
    return {k: v.strip() for k, v in re.findall(r"^\s*(Protocol|Cipher|Extended master secret)"
                                                r"\s*:\s*(.*)$", out, re.MULTILINE)}


# --- OpenSSL client, lucidtls server --------------------------------------------------------
@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.openssl_name)
def test_s_client_each_suite(pems, server_cred, rsa_server_cred, suite: Suite):
    config = _server_config(server_cred, rsa_server_cred)
    with _serve_echo(config) as st, openssl_client(
            st.port, pems["RSA"].ca, version_flag="-tls1_2", cipher=suite.openssl_name) as peer:
        peer.wait_for("Extended master secret")
        peer.write(b"hello tls12\n")
        peer.wait_for(b"HELLO TLS12")
        peer.close_stdin()
        peer.wait()
    info = st.results[0]
    assert not isinstance(info, Exception), info
    assert info.version == V.TLS1_2 and info.cipher_suite == suite.id
    assert info.extended_master_secret and info.kx == suite.kx
    session = _s_client_session(peer)
    assert session["Protocol"] == "TLSv1.2"
    assert session["Cipher"] == suite.openssl_name
    assert session["Extended master secret"] == "yes"


def test_s_client_mutual_tls(pems, server_cred, rsa_server_cred, trust):
    config = _server_config(server_cred, rsa_server_cred, verify_client="required",
                            client_trust=trust)
    alice = pems["alice"]
    with _serve_echo(config) as st, openssl_client(
            st.port, alice.ca, version_flag="-tls1_2",
            extra=["-cert", str(alice.chain), "-key", str(alice.key)]) as peer:
        peer.wait_for("Extended master secret")
        peer.write(b"mtls\n")
        peer.wait_for(b"MTLS")
        peer.close_stdin()
        peer.wait()
    info = st.results[0]
    assert not isinstance(info, Exception), info
    assert info.client_auth and info.peer_subject == "CN=alice"


def test_s_client_without_certificate_when_required(pems, server_cred, rsa_server_cred,
                                                    trust):
    config = _server_config(server_cred, rsa_server_cred, verify_client="required",
                            client_trust=trust)
    with _serve_echo(config) as st, openssl_client(
            st.port, pems["RSA"].ca, version_flag="-tls1_2") as peer:
        peer.wait_for("handshake failure")
        peer.stop()
    err = st.results[0]
    assert isinstance(err, ProtocolError) and err.alert == A.handshake_failure


def test_version_negotiation_with_s_client(pems, server_cred, rsa_server_cred):
    config = ServerConfig(credentials=(server_cred,))
    for flag, expected in (("-tls1_3", V.TLS1_3), ("-no_tls1_3", V.TLS1_2)):
        with _serve_echo(config) as st, openssl_client(
                st.port, pems["ECDSA"].ca, version_flag=flag) as peer:
            peer.wait_for("Verify return code")
            peer.write(b"v\n")
            peer.wait_for(b"V\n")
            peer.close_stdin()
            peer.wait()
        assert st.results[0].version == expected


def test_fallback_scsv_from_s_client(pems, server_cred, rsa_server_cred):
    config = ServerConfig(credentials=(server_cred,))  # supports TLS 1.3
    with _serve_echo(config) as st, openssl_client(
            st.port, pems["ECDSA"].ca, version_flag="-tls1_2",
            extra=["-fallback_scsv"]) as peer:
        peer.wait_for("inappropriate fallback")
        peer.stop()
    err = st.results[0]
    assert isinstance(err, ProtocolError) and err.alert == A.inappropriate_fallback


def test_cbc_only_s_client_is_refused(pems, server_cred, rsa_server_cred):
    config = _server_config(server_cred, rsa_server_cred)
    with _serve_echo(config) as st, openssl_client(
            st.port, pems["RSA"].ca, version_flag="-tls1_2",
            cipher="AES128-SHA:ECDHE-RSA-AES256-SHA:DES-CBC3-SHA") as peer:
        peer.wait_for("handshake failure")
        peer.stop()
    err = st.results[0]
    assert isinstance(err, ProtocolError) and err.alert == A.handshake_failure
    assert "CBC" in err.reason


def test_s_client_renegotiation_is_refused(pems, server_cred, rsa_server_cred):
    """s_client's "R" sends a new ClientHello. We answer with a no_renegotiation warning (RFC
    5246 §7.2.2: "always a warning") and ignore the hello; OpenSSL, having asked, then gives up
    with a fatal handshake_failure of its own."""
    config = _server_config(server_cred, rsa_server_cred)
    trace: list = []

    def handler(sock: socket.socket):
        tls = wrap_server(sock, config, observer=trace.append)
        try:
            tls.recv()
        except TLSError as exc:
            return exc
        return None

    with ServerThread(handler) as st, openssl_client(
            st.port, pems["RSA"].ca, version_flag="-tls1_2") as peer:
        peer.wait_for("Extended master secret")
        peer.write(b"R\n")  # s_client: renegotiate (sends a new ClientHello)
        peer.wait_for("no renegotiation")
        peer.stop()
    err = st.results[0]
    assert isinstance(err, PeerAlertError) and err.alert == A.handshake_failure, err
    sent = [(e.fields["level"], e.fields["description"]) for e in trace
            if e.kind == "alert" and e.fields.get("direction") == "sent"]
    assert sent == [(AlertLevel.WARNING, A.no_renegotiation)]


# --- lucidtls client, OpenSSL server --------------------------------------------------------
def _client(trust: TrustStore, **kw) -> ClientConfig:
    return ClientConfig(trust=trust, **kw)


def _connect(port: int, config: ClientConfig):
    sock = socket.create_connection((LOOPBACK, port), timeout=TIMEOUT)
    return wrap_client(sock, config, "localhost")


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.openssl_name)
def test_s_server_each_suite(pems, trust, suite: Suite):
    rsa_kx = suite in TLS12_RSA_KX_SUITES
    with openssl_server(pems[suite.auth], version_flag="-tls1_2",
                        cipher=suite.openssl_name) as peer:
        config = _client(trust, allow_rsa_key_exchange=rsa_kx)
        with _connect(peer.port, config) as tls:
            assert tls.info.version == V.TLS1_2 and tls.info.cipher_suite == suite.id
            assert tls.info.extended_master_secret and tls.info.kx == suite.kx
            tls.sendall(b"from lucidtls\n")
            peer.wait_for(b"from lucidtls")


def test_s_server_tls13_only_gets_tls13(pems, trust):
    with openssl_server(pems["ECDSA"], version_flag="-tls1_3") as peer, \
            _connect(peer.port, _client(trust)) as tls:
        assert tls.info.version == V.TLS1_3


def test_s_server_mutual_tls(pems, trust):
    alice = pems["alice"]
    with openssl_server(pems["RSA"], version_flag="-tls1_2",
                        extra=["-Verify", "1", "-CAfile", str(alice.ca)]) as peer:
        config = _client(trust, credentials=(pems["alice_cred"],))
        with _connect(peer.port, config) as tls:
            assert tls.info.client_auth
            tls.sendall(b"with a certificate\n")
            peer.wait_for(b"with a certificate")
        peer.wait_for(re.compile(rb"subject=\s*/?CN\s*=\s*alice"))


def test_s_server_hello_request_gets_no_renegotiation(pems, trust):
    """s_server's "R" sends a HelloRequest; we answer with a no_renegotiation warning, which
    OpenSSL reports (and, being the side that asked, then gives up the connection)."""
    with openssl_server(pems["ECDSA"], version_flag="-tls1_2") as peer, \
            _connect(peer.port, _client(trust)) as tls:
        seen = record_events(tls.conn)
        tls.sendall(b"first\n")
        peer.wait_for(b"first")
        peer.write(b"R\n")
        peer.wait_for("SSL_do_handshake -> 1")
        try:
            assert tls.recv() == b""
        except PeerAlertError:
            pass
        peer.wait_for("no renegotiation")
        # We never started a handshake of our own, and no alert of ours was fatal.
        assert tls.conn._error is None or isinstance(tls.conn._error, PeerAlertError)
        assert not any(isinstance(e, HandshakeComplete) for e in seen)
