"""Mutual TLS 1.3 in memory (RFC 8446 §4.3.2, §4.4.2, §4.6.2): client certificates accepted
and refused, on both sides of the wire; credential choice; post-handshake authentication;
verify callbacks."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.connection import ClientConnection, Connection, Hooks, ServerConnection
from lucidtls.crypto import signatures
from lucidtls.errors import CertificateError, CryptoError, PeerAlertError, ProtocolError, TLSError
from lucidtls.events import Event, HandshakeComplete, PostHandshakeAuth
from lucidtls.pki.credentials import Credential
from lucidtls.pki.issue import issue_certificate, make_ca
from lucidtls.pki.trust import TrustStore, VerifiedChain
from lucidtls.wire.enums import AlertDescription, ExtensionType, SignatureScheme
from lucidtls.wire.messages import CertificateRequest13
from tests.pairs import pump

A = AlertDescription


# --- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def alice(demo_ca: Credential) -> Credential:
    # A client certificate with SANs, so that ConnectionInfo can show them.
    return issue_certificate(demo_ca, "alice", client=True, dns=["alice.example"])


@pytest.fixture(scope="module")
def impostor_ca() -> Credential:
    # Same subject name as the demo CA, different key: the client believes the server's
    # certificate_authorities names it, the server finds no path (unknown_ca).
    return make_ca("lucidtls test CA")


@pytest.fixture(scope="module")
def impostor_cred(impostor_ca: Credential) -> Credential:
    return issue_certificate(impostor_ca, "mallory", client=True)


@pytest.fixture(scope="module")
def other_cred(other_ca: Credential) -> Credential:
    return issue_certificate(other_ca, "bob", client=True)


@pytest.fixture(scope="module")
def expired_cred(demo_ca: Credential) -> Credential:
    now = datetime.datetime.now(datetime.UTC)
    return issue_certificate(demo_ca, "carol", client=True,
                             not_before=now - datetime.timedelta(days=30),
                             not_after=now - datetime.timedelta(days=1))


def _drop_ca_names(msg: object) -> object:
    if isinstance(msg, CertificateRequest13):
        return CertificateRequest13(msg.certificate_request_context, [
            (t, v) for t, v in msg.extensions if t != ExtensionType.certificate_authorities])
    return msg


def no_ca_names() -> Hooks:
    """Server hooks: CertificateRequest without certificate_authorities (it is optional,
    RFC 8446 §4.2.4), so a client sends whatever certificate it has."""
    return Hooks(shape=_drop_ca_names)


def server_cfg(server_cred: Credential, trust: TrustStore, mode: str = "required",
               **kw: object) -> ServerConfig:
    return ServerConfig(credentials=(server_cred,), verify_client=mode,  # type: ignore[arg-type]
                        client_trust=trust, **kw)  # type: ignore[arg-type]


def client_cfg(trust: TrustStore, *creds: Credential, **kw: object) -> ClientConfig:
    return ClientConfig(trust=trust, credentials=creds, **kw)  # type: ignore[arg-type]


# --- driving a pair --------------------------------------------------------------------------
@dataclasses.dataclass
class Outcome:
    client: ClientConnection
    server: ServerConnection
    client_events: list[Event]
    server_events: list[Event]
    client_error: TLSError | None
    server_error: TLSError | None


def drive(cc: ClientConfig, sc: ServerConfig, *, client_hooks: Hooks | None = None,
          server_hooks: Hooks | None = None) -> Outcome:
    """Run a handshake in memory; each side's error is caught and recorded, and the bytes a
    failing side still owes (its alert) are delivered to the other side."""
    client = ClientConnection(cc, "localhost", hooks=client_hooks)
    client.trace_log = []
    server = ServerConnection(sc, hooks=server_hooks)
    return _drive(client, server)


def _drive(client: ClientConnection, server: ServerConnection) -> Outcome:
    sides: list[Connection] = [client, server]
    events: list[list[Event]] = [[], []]
    errors: list[TLSError | None] = [None, None]
    for _ in range(20):
        moved = False
        for src, dst in ((0, 1), (1, 0)):
            data = sides[src].data_to_send()
            if not data or errors[dst] is not None:
                continue
            moved = True
            try:
                sides[dst].receive_data(data)
            except TLSError as exc:
                errors[dst] = exc
            events[dst] += sides[dst].events()
        if not moved:
            break
    return Outcome(client, server, events[0], events[1], errors[0], errors[1])


def assert_refused(out: Outcome, alert: AlertDescription, error_type: type = CertificateError
                   ) -> None:
    """The server refused with *alert* (typed error, alert on the wire) and the client saw it."""
    assert isinstance(out.server_error, error_type), out.server_error
    assert isinstance(out.server_error, ProtocolError)
    assert out.server_error.alert == alert, out.server_error
    assert isinstance(out.client_error, PeerAlertError), out.client_error
    assert out.client_error.alert == alert
    assert not out.server.handshake_complete


def completed(out: Outcome) -> bool:
    return (out.client_error is None and out.server_error is None
            and any(isinstance(e, HandshakeComplete) for e in out.client_events)
            and any(isinstance(e, HandshakeComplete) for e in out.server_events))


def client_auth_trace(conn: Connection) -> list[str]:
    assert conn.trace_log is not None
    return [e.fields["outcome"] for e in conn.trace_log if e.kind == "client_auth"]


# --- accepted ----------------------------------------------------------------------------------
def test_required_client_certificate_identity(trust, server_cred, alice):
    out = drive(client_cfg(trust, alice), server_cfg(server_cred, trust))
    assert completed(out)
    s, c = out.server.info, out.client.info
    assert s is not None and c is not None
    assert s.client_auth and c.client_auth
    assert isinstance(s.verified, VerifiedChain)
    assert s.verified.subject == "CN=alice"
    assert s.verified.sans == ("DNS:alice.example",)
    assert s.verified.anchor_subject == "CN=lucidtls test CA"
    assert s.verification == "verified"
    assert s.peer_certificates[0] == alice.leaf
    assert s.peer_subject == "CN=alice"
    # The client still verified the server as usual.
    assert c.verified is not None and c.verified.subject == "CN=localhost"


def test_certificate_request_names_client_cas(trust, server_cred, alice):
    seen: list[CertificateRequest13] = []

    def shape(msg: object) -> object:
        if isinstance(msg, CertificateRequest13):
            seen.append(msg)
        return msg

    out = drive(client_cfg(trust, alice), server_cfg(server_cred, trust),
                server_hooks=Hooks(shape=shape))
    assert completed(out)
    (cr,) = seen
    assert cr.certificate_request_context == b""
    from lucidtls.wire import extensions as X
    cas = cr.view(X.CertificateAuthorities)
    assert cas is not None and list(cas.authorities) == trust.subjects
    assert cr.view(X.SignatureAlgorithms) is not None


def test_optional_without_certificate(trust, server_cred):
    out = drive(client_cfg(trust), server_cfg(server_cred, trust, "optional"))
    assert completed(out)
    s, c = out.server.info, out.client.info
    assert s is not None and c is not None
    assert not s.client_auth and not c.client_auth
    assert s.peer_certificates == () and s.verified is None and s.peer_subject is None


def test_optional_with_certificate(trust, server_cred, alice):
    out = drive(client_cfg(trust, alice), server_cfg(server_cred, trust, "optional"))
    assert completed(out)
    assert out.server.info.client_auth and out.client.info.client_auth
    assert out.server.info.verified.subject == "CN=alice"


def test_optional_still_refuses_an_untrusted_certificate(trust, server_cred, other_cred):
    # "optional" means a client may stay anonymous, not that a bad certificate passes.
    out = drive(client_cfg(trust, other_cred), server_cfg(server_cred, trust, "optional"),
                server_hooks=no_ca_names())
    assert_refused(out, A.unknown_ca)


def test_none_sends_no_certificate_request(trust, server_cred, alice):
    sc = ServerConfig(credentials=(server_cred,))
    out = drive(client_cfg(trust, alice), sc)
    assert completed(out)
    assert not out.server.info.client_auth and not out.client.info.client_auth
    assert client_auth_trace(out.client) == []


# --- refusals ------------------------------------------------------------------------------------
def test_required_but_no_credentials(trust, server_cred):
    out = drive(client_cfg(trust), server_cfg(server_cred, trust))
    assert_refused(out, A.certificate_required)
    assert "no certificate" in out.server_error.reason
    assert client_auth_trace(out.client) == ["no suitable certificate; sent empty"]


def test_no_credential_from_a_named_ca_sends_empty(trust, server_cred, other_cred):
    # The server names only the demo CA; bob's certificate is from another CA, so the client
    # answers with an empty Certificate (RFC 8446 §4.4.2.4) and the server requires one.
    out = drive(client_cfg(trust, other_cred), server_cfg(server_cred, trust))
    assert_refused(out, A.certificate_required)
    assert client_auth_trace(out.client) == ["no suitable certificate; sent empty"]


def test_no_credential_fits_signature_algorithms(demo_ca, trust, server_cred):
    rsa_alice = issue_certificate(demo_ca, "alice-rsa", client=True, key_type="rsa2048")
    sc = server_cfg(server_cred, trust,
                    signature_schemes=(SignatureScheme.ecdsa_secp256r1_sha256,))
    out = drive(client_cfg(trust, rsa_alice), sc)
    assert_refused(out, A.certificate_required)
    assert client_auth_trace(out.client) == ["no suitable certificate; sent empty"]


def test_client_certificate_from_another_ca(trust, server_cred, other_cred):
    # A server that does not name its CAs: the client sends what it has; unknown_ca.
    out = drive(client_cfg(trust, other_cred), server_cfg(server_cred, trust),
                server_hooks=no_ca_names())
    assert_refused(out, A.unknown_ca)
    assert "CN=bob" in out.server_error.reason
    assert client_auth_trace(out.client) == ["sent"]


def test_expired_client_certificate(trust, server_cred, expired_cred):
    out = drive(client_cfg(trust, expired_cred), server_cfg(server_cred, trust))
    assert_refused(out, A.certificate_expired)
    assert "CN=carol" in out.server_error.reason and "expired" in out.server_error.reason


def test_server_only_certificate_as_client_certificate(trust, server_cred):
    # server_cred has extendedKeyUsage serverAuth only (RFC 5280 §4.2.1.12).
    out = drive(client_cfg(trust, server_cred), server_cfg(server_cred, trust))
    assert_refused(out, A.unsupported_certificate)
    assert "clientAuth" in out.server_error.reason


def test_certificate_verify_with_the_wrong_key(trust, server_cred, alice):
    other_key = ec.generate_private_key(ec.SECP256R1())

    def sign_with_other_key(scheme: int, _key: object, content: bytes) -> bytes:
        return signatures.sign(scheme, other_key, content)

    out = drive(client_cfg(trust, alice), server_cfg(server_cred, trust),
                client_hooks=Hooks(sign=sign_with_other_key))
    assert_refused(out, A.decrypt_error, CryptoError)


def test_callback_rejects_with_its_alert(trust, server_cred, alice):
    calls = []

    def callback(chain, verdict):
        calls.append((chain, verdict))
        return A.access_denied

    out = drive(client_cfg(trust, alice),
                server_cfg(server_cred, trust, verify_callback=callback))
    assert_refused(out, A.access_denied)
    ((chain, verdict),) = calls
    assert chain[0] == alice.leaf
    assert isinstance(verdict, VerifiedChain) and verdict.subject == "CN=alice"


def test_callback_false_rejects_with_bad_certificate(trust, server_cred, alice):
    out = drive(client_cfg(trust, alice),
                server_cfg(server_cred, trust, verify_callback=lambda c, v: False))
    assert_refused(out, A.bad_certificate)


def test_callback_none_keeps_the_builtin_refusal(trust, server_cred, other_cred):
    out = drive(client_cfg(trust, other_cred),
                server_cfg(server_cred, trust, verify_callback=lambda c, v: None),
                server_hooks=no_ca_names())
    assert_refused(out, A.unknown_ca)


def test_callback_accepts_an_unknown_ca(trust, server_cred, other_cred):
    verdicts = []

    def callback(chain, verdict):
        verdicts.append(verdict)
        return True

    out = drive(client_cfg(trust, other_cred),
                server_cfg(server_cred, trust, verify_callback=callback),
                server_hooks=no_ca_names())
    assert completed(out)
    (verdict,) = verdicts
    assert isinstance(verdict, CertificateError) and verdict.alert == A.unknown_ca
    s = out.server.info
    assert s.client_auth and out.client.info.client_auth
    assert s.verification == "accepted by callback"
    assert s.verified is None  # nothing was verified; the chain is there as sent
    assert s.peer_subject == "CN=bob"


def test_callback_accepting_does_not_excuse_a_bad_signature(trust, server_cred, other_cred):
    other_key = ec.generate_private_key(ec.SECP256R1())
    out = drive(client_cfg(trust, other_cred),
                server_cfg(server_cred, trust, verify_callback=lambda c, v: True),
                server_hooks=no_ca_names(),
                client_hooks=Hooks(sign=lambda s, k, m: signatures.sign(s, other_key, m)))
    assert_refused(out, A.decrypt_error, CryptoError)


def test_client_callback_rejects_the_server(trust, server_cred):
    cc = ClientConfig(trust=trust, verify_callback=lambda c, v: A.access_denied)
    out = drive(cc, ServerConfig(credentials=(server_cred,)))
    assert isinstance(out.client_error, CertificateError)
    assert out.client_error.alert == A.access_denied
    assert isinstance(out.server_error, PeerAlertError)
    assert out.server_error.alert == A.access_denied


# --- credential choice ----------------------------------------------------------------------------
@pytest.mark.parametrize("order", ["named-first", "named-last"])
def test_two_credentials_picks_the_named_ca(trust, server_cred, alice, other_cred, order):
    creds = (alice, other_cred) if order == "named-first" else (other_cred, alice)
    out = drive(client_cfg(trust, *creds), server_cfg(server_cred, trust))
    assert completed(out)
    assert out.server.info.verified.subject == "CN=alice"


def test_two_credentials_other_ca_named(trust, other_ca, server_cred, alice, other_cred):
    other_trust = TrustStore.from_certificates([other_ca.leaf])
    out = drive(client_cfg(trust, alice, other_cred), server_cfg(server_cred, other_trust))
    assert completed(out)
    assert out.server.info.verified.subject == "CN=bob"


def test_two_credentials_picks_by_signature_algorithm(demo_ca, trust, rsa_server_cred, alice):
    # Both credentials come from the named CA; only the RSA one can sign with what the
    # server accepts (its signature_algorithms), so that one is chosen.
    rsa_alice = issue_certificate(demo_ca, "alice-rsa", client=True, key_type="rsa2048")
    sc = ServerConfig(credentials=(rsa_server_cred,), verify_client="required",
                      client_trust=trust,
                      signature_schemes=(SignatureScheme.rsa_pss_rsae_sha256,))
    out = drive(client_cfg(trust, alice, rsa_alice), sc)
    assert completed(out)
    assert out.server.info.verified.subject == "CN=alice-rsa"


# --- post-handshake authentication (RFC 8446 §4.6.2) -----------------------------------------------
def pha_pair(cc: ClientConfig, sc: ServerConfig, server_hooks: Hooks | None = None) -> Outcome:
    out = drive(cc, sc, server_hooks=server_hooks)
    assert completed(out)
    assert not out.server.info.client_auth
    return out


def test_post_handshake_auth_identity(trust, server_cred, alice):
    out = pha_pair(client_cfg(trust, alice, post_handshake_auth=True),
                   ServerConfig(credentials=(server_cred,), client_trust=trust))
    out.server.request_client_certificate()
    after = _drive(out.client, out.server)
    assert after.client_error is None and after.server_error is None
    assert PostHandshakeAuth(True, "CN=alice") in after.server_events
    assert PostHandshakeAuth(True, "CN=alice") in after.client_events
    s = out.server.info
    assert s.client_auth and s.verified.subject == "CN=alice"
    assert s.verified.sans == ("DNS:alice.example",)
    # The connection still carries data both ways afterwards.
    out.client.send(b"after")
    out.server.send(b"reply")
    ce, se = pump(out.client, out.server)
    assert [e.data for e in se if hasattr(e, "data")] == [b"after"]
    assert [e.data for e in ce if hasattr(e, "data")] == [b"reply"]


def test_post_handshake_auth_subject_of_the_chosen_credential(trust, server_cred, alice,
                                                              other_cred):
    # The client's event must name the certificate it sent, not its first credential.
    out = pha_pair(client_cfg(trust, other_cred, alice, post_handshake_auth=True),
                   ServerConfig(credentials=(server_cred,), client_trust=trust))
    out.server.request_client_certificate()
    after = _drive(out.client, out.server)
    assert after.client_error is None and after.server_error is None
    assert PostHandshakeAuth(True, "CN=alice") in after.server_events
    assert PostHandshakeAuth(True, "CN=alice") in after.client_events


def test_post_handshake_auth_refuses_unknown_ca(trust, server_cred, other_cred):
    out = pha_pair(client_cfg(trust, other_cred, post_handshake_auth=True),
                   ServerConfig(credentials=(server_cred,), client_trust=trust),
                   server_hooks=no_ca_names())
    out.server.request_client_certificate()
    after = _drive(out.client, out.server)
    assert_refused_after(after, A.unknown_ca)


def test_post_handshake_auth_empty_when_required(trust, server_cred, other_cred):
    out = pha_pair(client_cfg(trust, other_cred, post_handshake_auth=True),
                   ServerConfig(credentials=(server_cred,), client_trust=trust))
    out.server.request_client_certificate(required=True)
    after = _drive(out.client, out.server)
    assert PostHandshakeAuth(False, None) in after.client_events
    assert_refused_after(after, A.certificate_required)


def test_post_handshake_auth_empty_when_optional(trust, server_cred, other_cred):
    out = pha_pair(client_cfg(trust, other_cred, post_handshake_auth=True),
                   ServerConfig(credentials=(server_cred,), client_trust=trust))
    out.server.request_client_certificate(required=False)
    after = _drive(out.client, out.server)
    assert after.client_error is None and after.server_error is None
    assert PostHandshakeAuth(False, None) in after.server_events
    assert PostHandshakeAuth(False, None) in after.client_events
    assert not out.server.info.client_auth


def test_post_handshake_auth_wrong_key(trust, server_cred, alice):
    other_key = ec.generate_private_key(ec.SECP256R1())
    cc = client_cfg(trust, alice, post_handshake_auth=True)
    client = ClientConnection(cc, "localhost",
                              hooks=Hooks(sign=lambda s, k, m: signatures.sign(s, other_key, m)))
    server = ServerConnection(ServerConfig(credentials=(server_cred,), client_trust=trust))
    pump(client, server)
    assert server.handshake_complete
    server.request_client_certificate()
    after = _drive(client, server)
    assert_refused_after(after, A.decrypt_error, CryptoError)


def test_post_handshake_auth_not_offered(trust, server_cred, alice):
    from lucidtls.errors import StateError
    out = drive(client_cfg(trust, alice), ServerConfig(credentials=(server_cred,),
                                                       client_trust=trust))
    assert completed(out)
    with pytest.raises(StateError):
        out.server.request_client_certificate()


def assert_refused_after(out: Outcome, alert: AlertDescription,
                         error_type: type = CertificateError) -> None:
    assert isinstance(out.server_error, error_type), out.server_error
    assert out.server_error.alert == alert
    assert isinstance(out.client_error, PeerAlertError), out.client_error
    assert out.client_error.alert == alert


# --- malformed client authentication: the right alert, a typed error -----------------------------
def _client_shape(replace: type, new: object):
    def shape(msg: object) -> object:
        if isinstance(msg, replace):
            return new(msg) if callable(new) else new
        return msg
    return shape


def test_client_certificate_with_a_context_during_the_handshake(trust, server_cred, alice):
    # RFC 8446 §4.4.2: in the handshake the context is empty (the request's was).
    from lucidtls.errors import IllegalParameter
    from lucidtls.wire.messages import Certificate13
    shape = _client_shape(Certificate13, lambda m: Certificate13(b"ctx", m.certificate_list))
    out = drive(client_cfg(trust, alice), server_cfg(server_cred, trust),
                client_hooks=Hooks(shape=shape))
    assert_refused(out, A.illegal_parameter, IllegalParameter)


def test_client_certificate_without_certificate_verify(trust, server_cred, alice):
    from lucidtls.errors import UnexpectedMessage
    from lucidtls.wire.messages import CertificateVerify
    out = drive(client_cfg(trust, alice), server_cfg(server_cred, trust),
                client_hooks=Hooks(shape=_client_shape(CertificateVerify, b"")))
    assert_refused(out, A.unexpected_message, UnexpectedMessage)


def test_client_certificate_that_does_not_parse(trust, server_cred, alice):
    from lucidtls.wire.messages import Certificate13, CertificateEntry
    shape = _client_shape(Certificate13, lambda m: Certificate13(
        m.certificate_request_context, [CertificateEntry(b"\x30\x03\x02\x01\x01")]))
    out = drive(client_cfg(trust, alice), server_cfg(server_cred, trust),
                client_hooks=Hooks(shape=shape))
    assert_refused(out, A.bad_certificate)


def test_certificate_verify_with_a_scheme_the_server_did_not_offer(trust, server_cred, alice):
    from lucidtls.errors import IllegalParameter
    from lucidtls.wire.messages import CertificateVerify
    shape = _client_shape(CertificateVerify, lambda m: CertificateVerify(
        int(SignatureScheme.ecdsa_sha1), m.signature))
    out = drive(client_cfg(trust, alice), server_cfg(server_cred, trust),
                client_hooks=Hooks(shape=shape))
    assert_refused(out, A.illegal_parameter, IllegalParameter)


# A chain naming our CA but signed by another key has no trusted issuer: unknown_ca, as
# OpenSSL answers (unable to get local issuer certificate).


@pytest.mark.parametrize("chain", ["leaf-only", "with-root"])
def test_chain_from_a_ca_with_our_name_is_unknown_ca(trust, server_cred, impostor_cred, chain):
    # openssl s_client -cert sends the leaf alone; our client sends the whole chain.
    cred = impostor_cred if chain == "with-root" else \
        Credential((impostor_cred.leaf,), impostor_cred.private_key)
    out = drive(client_cfg(trust, cred), server_cfg(server_cred, trust))
    assert_refused(out, A.unknown_ca)


# --- post-handshake authentication, more -------------------------------------------------------------
def test_post_handshake_auth_twice(trust, server_cred, alice):
    out = pha_pair(client_cfg(trust, alice, post_handshake_auth=True),
                   ServerConfig(credentials=(server_cred,), client_trust=trust))
    for _ in range(2):
        out.server.request_client_certificate()
        after = _drive(out.client, out.server)
        assert after.client_error is None and after.server_error is None
        assert PostHandshakeAuth(True, "CN=alice") in after.server_events
    assert out.server.info.client_auth


def test_post_handshake_auth_after_a_client_key_update(trust, server_cred, alice):
    # RFC 8446 §4.4: the post-handshake Finished key comes from the current
    # client_application_traffic_secret_N, here N=1.
    out = pha_pair(client_cfg(trust, alice, post_handshake_auth=True),
                   ServerConfig(credentials=(server_cred,), client_trust=trust))
    out.server.request_client_certificate()
    out.client.key_update(request_peer=True)
    after = _drive(out.client, out.server)
    assert after.client_error is None and after.server_error is None, after
    assert PostHandshakeAuth(True, "CN=alice") in after.server_events
    out.client.send(b"still in sync")
    _, se = pump(out.client, out.server)
    assert [e.data for e in se if hasattr(e, "data")] == [b"still in sync"]


def test_post_handshake_request_to_a_client_that_did_not_offer(trust, server_cred, alice):
    # A CertificateRequest after the handshake without post_handshake_auth offered:
    # unexpected_message (RFC 8446 §4.6.2).
    from lucidtls.errors import UnexpectedMessage
    out = drive(client_cfg(trust, alice), ServerConfig(credentials=(server_cred,),
                                                       client_trust=trust))
    assert completed(out)
    # Make the server believe the client offered it, then ask.
    hs = out.server._handshake
    ch = hs.client_hello
    ch.extensions.append((ExtensionType.post_handshake_auth, b""))
    out.server.request_client_certificate()
    after = _drive(out.client, out.server)
    assert isinstance(after.client_error, UnexpectedMessage), after.client_error
    assert after.client_error.alert == A.unexpected_message
    assert isinstance(after.server_error, PeerAlertError)
    assert after.server_error.alert == A.unexpected_message
