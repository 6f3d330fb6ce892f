"""Certificates the peer must refuse, the explicit ways to accept them anyway, and the same
certificates served by a real ``openssl s_server`` / presented by ``openssl s_client``."""

from __future__ import annotations

import datetime

import pytest

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.connection import ClientConnection, ServerConnection
from lucidtls.errors import CertificateError, ConfigError, ProtocolError
from lucidtls.io.sync import connect
from lucidtls.pki.credentials import Credential
from lucidtls.pki.issue import issue_certificate, make_ca, write_pem
from lucidtls.pki.trust import TrustStore
from lucidtls.wire.enums import AlertDescription
from tests.handshake.test_bad_input import (
    assert_alert_sent,
    complete,
    expect_failure,
    first_flight,
)
from tests.handshake.test_mtls import no_ca_names
from tests.interop.test_bad_peers import (
    LOOPBACK,
    TIMEOUT,
    needs_openssl,
    openssl_client,
    openssl_server,
    our_server,
    pem_files,
)
from tests.pairs import pump

A = AlertDescription
NOW = datetime.datetime.now(datetime.UTC)


@pytest.fixture(scope="module")
def bad_server_certs(demo_ca: Credential, other_ca: Credential
                     ) -> dict[str, tuple[Credential, str, AlertDescription, tuple[str, ...]]]:
    """name -> (credential, host name to connect to, expected alert, words of the reason)."""
    ok = issue_certificate(demo_ca, "localhost", dns=["localhost"], ips=["127.0.0.1"])
    return {
        "unknown-ca": (issue_certificate(other_ca, "localhost", dns=["localhost"]),
                       "localhost", A.unknown_ca, ("trusted CA",)),
        "host-mismatch": (ok, "www.example.com", A.bad_certificate,
                          ("www.example.com", "localhost")),
        "expired": (issue_certificate(demo_ca, "localhost", dns=["localhost"],
                                      not_before=NOW - datetime.timedelta(days=30),
                                      not_after=NOW - datetime.timedelta(days=1)),
                    "localhost", A.certificate_expired, ("expired",)),
        "not-yet-valid": (issue_certificate(demo_ca, "localhost", dns=["localhost"],
                                            not_before=NOW + datetime.timedelta(days=1),
                                            not_after=NOW + datetime.timedelta(days=30)),
                          "localhost", A.certificate_expired, ("not valid before",)),
        "client-eku": (issue_certificate(demo_ca, "localhost", dns=["localhost"], client=True),
                       "localhost", A.unsupported_certificate, ("serverAuth",)),
    }


CASES = ["unknown-ca", "host-mismatch", "expired", "not-yet-valid", "client-eku"]


def run_client(cred: Credential, host: str, cc: ClientConfig
               ) -> tuple[ClientConnection, ServerConnection, bytes]:
    client = ClientConnection(cc, host)
    server = ServerConnection(ServerConfig(credentials=(cred,)))
    return client, server, first_flight(client, server)


# --- the client refuses the server's certificate ----------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_client_rejects(bad_server_certs, trust, case):
    cred, host, alert, words = bad_server_certs[case]
    client, server, flight = run_client(cred, host, ClientConfig(trust=trust))
    err = expect_failure(lambda: client.receive_data(flight), client, CertificateError, alert,
                         *words, peer=server)
    if case == "expired":
        expiry = cred.leaf.not_valid_after_utc.isoformat()
        assert expiry in err.reason, err.reason


@pytest.mark.parametrize("case", CASES)
def test_skip_verification_accepts(bad_server_certs, trust, case):
    cred, host, _, _ = bad_server_certs[case]
    cc = ClientConfig(trust=trust, dangerously_skip_verification=True)
    client = ClientConnection(cc, host)
    server = ServerConnection(ServerConfig(credentials=(cred,)))
    complete(client, server)
    assert client.info.verification == "skipped (insecure)"
    assert client.info.verified is None
    assert client.info.peer_certificates[0] == cred.leaf


@pytest.mark.parametrize("case", CASES)
def test_callback_true_overrides_failure(bad_server_certs, trust, case):
    cred, host, alert, _ = bad_server_certs[case]
    seen: list[object] = []

    def accept(chain, verdict):
        seen.append(verdict)
        return True

    client = ClientConnection(ClientConfig(trust=trust, verify_callback=accept), host)
    server = ServerConnection(ServerConfig(credentials=(cred,)))
    complete(client, server)
    assert client.info.verification == "accepted by callback"
    # The callback saw the built-in verdict: the error it overrides.
    assert isinstance(seen[0], CertificateError) and seen[0].alert == alert


@pytest.mark.parametrize("verdict", ["valid", "expired"])
def test_callback_alert_rejects(bad_server_certs, trust, server_cred, verdict):
    cred, host = (server_cred, "localhost") if verdict == "valid" else \
        bad_server_certs["expired"][:2]
    cc = ClientConfig(trust=trust, verify_callback=lambda chain, v: A.access_denied)
    client, server, flight = run_client(cred, host, cc)
    expect_failure(lambda: client.receive_data(flight), client, CertificateError,
                   A.access_denied, "callback", peer=server)


def test_callback_false_rejects_valid(trust, server_cred):
    cc = ClientConfig(trust=trust, verify_callback=lambda chain, v: False)
    client, server, flight = run_client(server_cred, "localhost", cc)
    expect_failure(lambda: client.receive_data(flight), client, CertificateError,
                   A.bad_certificate, "callback", peer=server)


def test_callback_none_keeps_builtin_verdict(bad_server_certs, trust, server_cred):
    cc = ClientConfig(trust=trust, verify_callback=lambda chain, v: None)
    cred, host, alert, words = bad_server_certs["unknown-ca"]
    client, server, flight = run_client(cred, host, cc)
    expect_failure(lambda: client.receive_data(flight), client, CertificateError, alert,
                   *words, peer=server)
    client = ClientConnection(cc, "localhost")
    server = ServerConnection(ServerConfig(credentials=(server_cred,)))
    complete(client, server)
    assert client.info.verification == "verified"


def test_callback_exception_is_not_swallowed_as_success(trust, server_cred):
    # A buggy callback must not let the handshake succeed: internal_error, to both sides.
    def broken(chain, verdict):
        raise RuntimeError("bug in the user's callback")

    client, server, flight = run_client(server_cred, "localhost",
                                        ClientConfig(trust=trust, verify_callback=broken))
    expect_failure(lambda: client.receive_data(flight), client, ProtocolError,
                   A.internal_error, "bug in the user's callback", peer=server)
    assert not client.handshake_complete


def test_invalid_host_name_fails_the_connection(trust, server_cred):
    # Our misuse (a name that is no host name) is found at verification: the ConfigError is
    # raised, and the server still gets an alert instead of waiting for a Finished.
    client, server, flight = run_client(server_cred, "not a host!", ClientConfig(trust=trust))
    with pytest.raises(ConfigError):
        client.receive_data(flight)
    assert_alert_sent(client, A.internal_error, server)
    with pytest.raises(ProtocolError):
        client.receive_data(b"\x17\x03\x03\x00\x01\x00")


def test_no_server_name_without_opt_out(trust):
    # Verification needs a name to check: refused before anything is sent.
    with pytest.raises(ConfigError):
        ClientConnection(ClientConfig(trust=trust), None)


# --- the server refuses the client's certificate ----------------------------------------------


@pytest.fixture(scope="module")
def bad_client_certs(demo_ca: Credential, other_ca: Credential
                     ) -> dict[str, tuple[Credential, AlertDescription, tuple[str, ...]]]:
    return {
        # An impostor CA with the trusted CA's name (so the client picks it for the server's
        # certificate_authorities) but its own key.
        "unknown-ca": (issue_certificate(make_ca(demo_ca.leaf.subject.rfc4514_string()[3:]),
                                         "mallory", client=True), A.unknown_ca,
                       ("trusted CA",)),
        # Another CA altogether: our client would not even offer it; openssl s_client does.
        "foreign-ca": (issue_certificate(other_ca, "mallory", client=True), A.unknown_ca,
                       ("trusted CA",)),
        "expired": (issue_certificate(demo_ca, "alice", client=True,
                                      not_before=NOW - datetime.timedelta(days=30),
                                      not_after=NOW - datetime.timedelta(days=1)),
                    A.certificate_expired, ("expired",)),
        "server-eku": (issue_certificate(demo_ca, "localhost", dns=["localhost"]),
                       A.unsupported_certificate, ("clientAuth",)),
    }


@pytest.mark.parametrize("case", ["unknown-ca", "expired", "server-eku"])
def test_server_rejects_client_certificate(bad_client_certs, trust, server_cred, case):
    cred, alert, words = bad_client_certs[case]
    client = ClientConnection(ClientConfig(trust=trust, credentials=(cred,)), "localhost")
    server = ServerConnection(ServerConfig(credentials=(server_cred,), verify_client="required",
                                           client_trust=trust))
    client.receive_data(first_flight(client, server))
    expect_failure(lambda: server.receive_data(client.data_to_send()), server,
                   CertificateError, alert, *words, peer=client)


def test_server_callback_overrides_client_failure(bad_client_certs, trust, server_cred):
    cred, _, _ = bad_client_certs["expired"]
    client = ClientConnection(ClientConfig(trust=trust, credentials=(cred,)), "localhost")
    server = ServerConnection(ServerConfig(
        credentials=(server_cred,), verify_client="required", client_trust=trust,
        verify_callback=lambda chain, v: True))
    complete(client, server)
    assert server.info.verification == "accepted by callback"
    assert server.info.client_auth


def test_client_without_fitting_certificate_sends_none(bad_client_certs, trust, server_cred):
    cred, _, _ = bad_client_certs["foreign-ca"]
    client = ClientConnection(ClientConfig(trust=trust, credentials=(cred,)), "localhost")
    server = ServerConnection(ServerConfig(credentials=(server_cred,), verify_client="required",
                                           client_trust=trust))
    client.receive_data(first_flight(client, server))
    expect_failure(lambda: server.receive_data(client.data_to_send()), server,
                   CertificateError, A.certificate_required, "no certificate", peer=client)


def test_server_requires_certificate(trust, server_cred):
    client = ClientConnection(ClientConfig(trust=trust), "localhost")
    server = ServerConnection(ServerConfig(credentials=(server_cred,), verify_client="required",
                                           client_trust=trust))
    client.receive_data(first_flight(client, server))
    expect_failure(lambda: server.receive_data(client.data_to_send()), server,
                   CertificateError, A.certificate_required, "no certificate", peer=client)


# --- real peers ---------------------------------------------------------------------------------


@pytest.mark.interop
@needs_openssl
@pytest.mark.parametrize("case", CASES)
def test_openssl_server_with_bad_certificate(tmp_path, bad_server_certs, trust, case):
    cred, host, alert, words = bad_server_certs[case]
    with openssl_server(tmp_path, cred, "-tls1_3") as server:
        with pytest.raises(CertificateError) as info:
            connect(LOOPBACK, server.port, ClientConfig(trust=trust), server_hostname=host,
                    timeout=TIMEOUT)
        assert info.value.alert == alert
        for word in words:
            assert word in info.value.reason
        # s_server read our (plaintext) fatal alert and reports its number.
        assert server.wait_for(f"alert number {int(alert)}")


@pytest.mark.interop
@needs_openssl
@pytest.mark.parametrize("case", CASES)
def test_openssl_server_bad_certificate_skipped(tmp_path, bad_server_certs, trust, case):
    cred, host, _, _ = bad_server_certs[case]
    cc = ClientConfig(trust=trust, dangerously_skip_verification=True)
    with openssl_server(tmp_path, cred, "-tls1_3") as server, \
            connect(LOOPBACK, server.port, cc, server_hostname=host, timeout=TIMEOUT) as tls:
        assert tls.info.verification == "skipped (insecure)"


@pytest.mark.interop
@needs_openssl
@pytest.mark.parametrize("case", ["foreign-ca", "expired", "server-eku"])
def test_openssl_client_with_bad_certificate(tmp_path, bad_client_certs, trust, server_cred,
                                             demo_ca, case):
    cred, alert, words = bad_client_certs[case]
    cert, key = pem_files(tmp_path, cred, "client")
    ca = write_pem(tmp_path / "ca.pem", demo_ca.leaf)
    sc = ServerConfig(credentials=(server_cred,), verify_client="required", client_trust=trust)
    with our_server(sc) as server:
        # -ign_eof: keep reading after the handshake, since in TLS 1.3 our verdict on the
        # client's certificate arrives after s_client considers the handshake done.
        out = openssl_client(server.port, "-tls1_3", "-cert", str(cert), "-key", str(key),
                             "-CAfile", str(ca), "-ign_eof")
        error = server.result()
    assert isinstance(error, CertificateError), (error, out.stdout + out.stderr)
    assert error.alert == alert
    for word in words:
        assert word in error.reason
    # s_client decrypted our alert and names it.
    assert f"alert number {int(alert)}" in out.stdout + out.stderr, out.stdout + out.stderr


# --- parsed certificates are cached, verdicts never -------------------------------------------


def test_cached_server_certificate_is_validated_again(trust, other_ca, server_cred):
    """The second handshake with the same certificate hits the parse cache; its chain is
    validated all the same, so a client that does not trust the issuer refuses it."""
    complete(ClientConnection(ClientConfig(trust=trust), "localhost"),
             ServerConnection(ServerConfig(credentials=(server_cred,))))
    strangers = TrustStore.from_certificates([other_ca.leaf])
    client, server, flight = run_client(server_cred, "localhost", ClientConfig(trust=strangers))
    expect_failure(lambda: client.receive_data(flight), client, CertificateError, A.unknown_ca,
                   "trusted CA", peer=server)
    # And the trusting client still accepts it afterwards.
    complete(ClientConnection(ClientConfig(trust=trust), "localhost"),
             ServerConnection(ServerConfig(credentials=(server_cred,))))


def test_cached_client_certificate_is_validated_again(trust, other_ca, server_cred,
                                                      client_cred):
    """The same for a client certificate: accepted by a server that trusts its issuer, then
    refused (unknown_ca) by one that does not, with the parse cache warm."""
    cc = ClientConfig(trust=trust, credentials=(client_cred,))

    def server(client_trust: TrustStore) -> ServerConnection:
        # No certificate_authorities in the request, so the client sends its certificate to a
        # server that does not trust its issuer.
        return ServerConnection(ServerConfig(credentials=(server_cred,),
                                             verify_client="required", client_trust=client_trust),
                                hooks=no_ca_names())

    ok = server(trust)
    complete(ClientConnection(cc, "localhost"), ok)
    assert ok.info.peer_certificates[0] == client_cred.leaf
    refusing = server(TrustStore.from_certificates([other_ca.leaf]))
    client = ClientConnection(cc, "localhost")
    with pytest.raises(CertificateError) as info:
        pump(client, refusing)
    assert info.value.alert == A.unknown_ca
