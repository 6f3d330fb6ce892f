"""TLS 1.2 against tlslite-ng (an independent pure-Python implementation): each suite both ways,
the RFC 5705 exporter with the extended master secret, and a peer without EMS refused."""

from __future__ import annotations

import socket

import pytest

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.crypto.suites import TLS12_DEFAULT_SUITES, TLS12_RSA_KX_SUITES, Suite
from lucidtls.errors import ProtocolError, TLSError
from lucidtls.io.sync import wrap_client, wrap_server
from lucidtls.pki.issue import write_pem
from lucidtls.wire.enums import AlertDescription, ProtocolVersion
from tests.interop.peers import LOOPBACK, TIMEOUT, ServerThread

tlslite = pytest.importorskip("tlslite.api")

pytestmark = pytest.mark.interop
A = AlertDescription
V = ProtocolVersion
SUITES = TLS12_DEFAULT_SUITES + TLS12_RSA_KX_SUITES
_CIPHER = {"AES_128_GCM": "aes128gcm", "AES_256_GCM": "aes256gcm",
           "CHACHA20_POLY1305": "chacha20-poly1305"}
_KX = {("ECDHE", "ECDSA"): "ecdhe_ecdsa", ("ECDHE", "RSA"): "ecdhe_rsa", ("RSA", "RSA"): "rsa"}
LABEL = b"EXPERIMENTAL lucidtls"


def _settings(suite: Suite | None = None, ems: bool = True):
    s = tlslite.HandshakeSettings()
    s.minVersion = s.maxVersion = (3, 3)
    if suite is not None:
        s.cipherNames = [_CIPHER[suite.aead]]
        s.keyExchangeNames = [_KX[(suite.kx, suite.auth)]]
    s.useExtendedMasterSecret = ems
    s.requireExtendedMasterSecret = ems
    return s


@pytest.fixture(scope="module")
def tl_creds(tmp_path_factory, server_cred, rsa_server_cred):
    d = tmp_path_factory.mktemp("tls12-tlslite")
    out = {}
    for auth, cred in (("ECDSA", server_cred), ("RSA", rsa_server_cred)):
        chain = tlslite.X509CertChain()
        chain.parsePemList(write_pem(d / f"{auth}.pem", cred.chain).read_text())
        key = tlslite.parsePEMKey(write_pem(d / f"{auth}.key", cred.private_key).read_text(),
                                  private=True)
        out[auth] = (chain, key)
    return out


def _lucid_server(config: ServerConfig) -> ServerThread:
    def handler(sock: socket.socket):
        try:
            tls = wrap_server(sock, config)
            tls.sendall(tls.recv().upper())
            exported = tls.conn.export_keying_material(LABEL, None, 20)
            info = tls.info
            tls.close()
            return info, exported
        except TLSError as exc:
            return exc
    return ServerThread(handler)


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.openssl_name)
def test_tlslite_client(server_cred, rsa_server_cred, suite: Suite):
    config = ServerConfig(credentials=(server_cred, rsa_server_cred),
                          cipher_suites=(suite.id,))
    with _lucid_server(config) as st:
        sock = socket.create_connection((LOOPBACK, st.port), timeout=TIMEOUT)
        conn = tlslite.TLSConnection(sock)
        try:
            conn.handshakeClientCert(settings=_settings(suite), serverName="localhost")
            assert conn.session.cipherSuite == suite.id
            assert conn.extendedMasterSecret
            conn.write(b"tlslite")
            assert conn.read() == b"TLSLITE"
            theirs = conn.keyingMaterialExporter(LABEL, 20)
        finally:
            conn.close()
    info, ours = st.results[0]
    assert info.cipher_suite == suite.id and info.extended_master_secret
    assert ours == bytes(theirs)


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.openssl_name)
def test_tlslite_server(trust, tl_creds, suite: Suite):
    chain, key = tl_creds[suite.auth]

    def handler(sock: socket.socket):
        conn = tlslite.TLSConnection(sock)
        conn.handshakeServer(certChain=chain, privateKey=key, settings=_settings(suite))
        conn.write(conn.read()[::-1])
        exported = bytes(conn.keyingMaterialExporter(LABEL, 20))
        conn.close()
        return exported

    config = ClientConfig(trust=trust, allow_rsa_key_exchange=suite.kx == "RSA")
    with ServerThread(handler) as st:
        sock = socket.create_connection((LOOPBACK, st.port), timeout=TIMEOUT)
        with wrap_client(sock, config, "localhost") as tls:
            assert tls.info.version == V.TLS1_2 and tls.info.cipher_suite == suite.id
            tls.sendall(b"abc")
            assert tls.recv() == b"cba"
            ours = tls.conn.export_keying_material(LABEL, None, 20)
    assert st.results == [ours]


def test_tlslite_client_without_ems_is_refused(server_cred):
    with _lucid_server(ServerConfig(credentials=(server_cred,))) as st:
        sock = socket.create_connection((LOOPBACK, st.port), timeout=TIMEOUT)
        conn = tlslite.TLSConnection(sock)
        with pytest.raises(tlslite.TLSRemoteAlert) as info:
            conn.handshakeClientCert(settings=_settings(ems=False), serverName="localhost")
        sock.close()
    assert info.value.description == A.handshake_failure
    err = st.results[0]
    assert isinstance(err, ProtocolError) and "extended master secret" in err.reason


def test_tlslite_server_without_ems_is_refused(trust, tl_creds):
    chain, key = tl_creds["ECDSA"]

    def handler(sock: socket.socket):
        conn = tlslite.TLSConnection(sock)
        try:
            conn.handshakeServer(certChain=chain, privateKey=key, settings=_settings(ems=False))
        except tlslite.TLSRemoteAlert as exc:
            return exc.description
        return None

    with ServerThread(handler) as st:
        sock = socket.create_connection((LOOPBACK, st.port), timeout=TIMEOUT)
        with pytest.raises(ProtocolError) as info:
            wrap_client(sock, ClientConfig(trust=trust), "localhost")
    assert info.value.alert == A.handshake_failure
    assert st.results == [A.handshake_failure]
