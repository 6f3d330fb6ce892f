"""TLS 1.2 (RFC 5246), lucidtls against lucidtls in memory: every suite, version negotiation and
downgrade protection, the extended master secret, RSA key transport without a padding oracle,
mutual TLS, renegotiation refusal, and the alert each bad input ends in."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric import padding

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.connection import ClientConnection, Hooks, ServerConnection
from lucidtls.crypto.suites import SUITES, TLS12_DEFAULT_SUITES, TLS12_RSA_KX_SUITES
from lucidtls.errors import PeerAlertError, ProtocolError
from lucidtls.events import AlertReceived, ApplicationData, HandshakeComplete
from lucidtls.pki.issue import issue_certificate
from lucidtls.wire.enums import (
    AlertDescription,
    AlertLevel,
    CipherSuite,
    ContentType,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
)
from lucidtls.wire.messages import (
    CertificateRequest12,
    ClientHello,
    ClientKeyExchangeRSA,
    Finished,
    HelloRequest,
    ServerHello,
)
from tests.pairs import pump, split_records

A = AlertDescription
E = ExtensionType
V = ProtocolVersion
BOTH = (V.TLS1_3, V.TLS1_2)
ONLY12 = (V.TLS1_2,)
RSA_KX = TLS12_RSA_KX_SUITES[0].id


@pytest.fixture(scope="module")
def creds(server_cred, rsa_server_cred):
    return (server_cred, rsa_server_cred)


def configs(trust, creds, *, client: dict | None = None, server: dict | None = None):
    cc = ClientConfig(trust=trust, **{"versions": BOTH, **(client or {})})
    sc = ServerConfig(credentials=creds, **{"versions": BOTH, **(server or {})})
    return cc, sc


def connect(cc, sc, *, client_hooks=None, server_hooks=None, to_server=None, to_client=None):
    client = ClientConnection(cc, "localhost", hooks=client_hooks)
    server = ServerConnection(sc, hooks=server_hooks)
    ce, se = pump(client, server, to_server=to_server, to_client=to_client)
    return client, server, ce, se


def handshake(cc, sc, **kw):
    client, server, ce, se = connect(cc, sc, **kw)
    assert any(isinstance(e, HandshakeComplete) for e in ce)
    assert any(isinstance(e, HandshakeComplete) for e in se)
    return client, server


def fails(cc, sc, **kw) -> ProtocolError:
    """Run a pair that must fail; return the ProtocolError of the side that detected it."""
    with pytest.raises(ProtocolError) as info:
        connect(cc, sc, **kw)
    return info.value


def reshape(cls, change):
    """A Hooks.shape that rewrites outgoing messages of type *cls* with *change*."""
    def shape(msg):
        return change(msg) if isinstance(msg, cls) else msg
    return Hooks(shape=shape)


def without_ext(msg, ext_type):
    return dataclasses.replace(msg, extensions=[(t, d) for t, d in msg.extensions
                                                if t != ext_type])


# --- every suite, both key types ------------------------------------------------------------
@pytest.mark.parametrize("suite", TLS12_DEFAULT_SUITES + TLS12_RSA_KX_SUITES,
                         ids=lambda s: s.name)
def test_every_suite(trust, creds, suite):
    cc, sc = configs(trust, creds, client={"cipher_suites": (suite.id,)},
                     server={"versions": ONLY12, "cipher_suites": (suite.id,)})
    client, server = handshake(cc, sc)
    for info in (client.info, server.info):
        assert info.version == V.TLS1_2 and info.cipher_suite == suite.id
        assert info.kx == suite.kx and info.extended_master_secret
    if suite.kx == "ECDHE":
        assert client.info.group == server.info.group == NamedGroup.x25519
        assert client.info.signature_scheme == server.info.signature_scheme is not None
    else:
        assert client.info.group is None and client.info.signature_scheme is None
    assert client.info.verification == "verified"
    client.send(b"ping")
    assert pump(client, server)[1] == [ApplicationData(b"ping")]
    server.send(b"pong")
    assert pump(client, server)[0] == [ApplicationData(b"pong")]
    assert client.export_keying_material("EXPERIMENTAL x", b"ctx", 32) == \
        server.export_keying_material("EXPERIMENTAL x", b"ctx", 32)
    assert client.export_keying_material("EXPERIMENTAL x", None, 32) != \
        client.export_keying_material("EXPERIMENTAL x", b"", 32)


@pytest.mark.parametrize("group", [NamedGroup.secp256r1, NamedGroup.secp384r1])
def test_nist_groups(trust, creds, group):
    cc, sc = configs(trust, creds, client={"groups": (group,), "key_share_groups": (group,)},
                     server={"versions": ONLY12})
    client, _ = handshake(cc, sc)
    assert client.info.group == group


def test_alpn_sni_and_keylog(trust, creds, tmp_path):
    log = tmp_path / "keys.log"
    cc, sc = configs(trust, creds, client={"alpn_protocols": ("h2", "http/1.1"),
                                           "keylog_file": str(log)},
                     server={"versions": ONLY12, "alpn_protocols": ("http/1.1",)})
    client, server = handshake(cc, sc)
    assert client.info.alpn_protocol == server.info.alpn_protocol == "http/1.1"
    assert server.info.server_name == "localhost"
    label, random_hex, secret_hex = log.read_text().split()
    assert label == "CLIENT_RANDOM" and len(bytes.fromhex(secret_hex)) == 48
    assert random_hex == client._result.client_random.hex()
    assert bytes.fromhex(secret_hex) == client._result.master_secret


# --- version negotiation and downgrade protection (RFC 8446 §4.1.3, RFC 7507) --------------
def test_both_offered_gets_tls13(trust, creds):
    client, _ = handshake(*configs(trust, creds))
    assert client.info.version == V.TLS1_3


def test_server_writes_downgrade_sentinel_only_when_it_supports_tls13(trust, creds):
    cc, sc = configs(trust, creds, client={"versions": ONLY12})
    client, server = handshake(cc, sc)
    assert server._result.server_random[-8:] == b"DOWNGRD\x01"
    cc, sc = configs(trust, creds, server={"versions": ONLY12})
    client, server = handshake(cc, sc)
    assert client.info.version == V.TLS1_2
    assert server._result.server_random[-8:] != b"DOWNGRD\x01"


def _strip_tls13_from_hello(flight: bytes) -> bytes:
    """An active attacker removing supported_versions from the (plaintext) ClientHello."""
    records = split_records(flight)
    first = records[0]
    if first[0] != ContentType.HANDSHAKE or first[5] != 1:
        return flight
    ch = ClientHello.decode(first[9:])
    raw = without_ext(ch, E.supported_versions).to_bytes()
    return first[:3] + len(raw).to_bytes(2, "big") + raw + b"".join(records[1:])


def test_client_detects_downgrade_sentinel(trust, creds):
    cc, sc = configs(trust, creds)
    err = fails(cc, sc, to_server=_strip_tls13_from_hello)
    assert err.alert == A.illegal_parameter and "downgrade" in err.reason


def test_inappropriate_fallback(trust, creds):
    hooks = reshape(ClientHello, lambda ch: dataclasses.replace(
        ch, cipher_suites=ch.cipher_suites + [CipherSuite.TLS_FALLBACK_SCSV]))
    cc, sc = configs(trust, creds, client={"versions": ONLY12})
    err = fails(cc, sc, client_hooks=hooks)
    assert err.alert == A.inappropriate_fallback
    # A server whose best is TLS 1.2 sees no fallback.
    sc12 = dataclasses.replace(sc, versions=ONLY12)
    handshake(cc, sc12, client_hooks=hooks)


@pytest.mark.parametrize("version", [0x0300, 0x0301, 0x0302])
def test_old_versions_get_protocol_version(trust, creds, version):
    hooks = reshape(ClientHello, lambda ch: dataclasses.replace(
        without_ext(ch, E.supported_versions), legacy_version=version))
    cc, sc = configs(trust, creds, client={"versions": ONLY12})
    assert fails(cc, sc, client_hooks=hooks).alert == A.protocol_version


def test_server_choosing_old_version_gets_protocol_version(trust, creds):
    hooks = reshape(ServerHello, lambda sh: dataclasses.replace(sh, legacy_version=0x0302))
    cc, sc = configs(trust, creds, client={"versions": ONLY12}, server={"versions": ONLY12})
    assert fails(cc, sc, server_hooks=hooks).alert == A.protocol_version


# --- suites and compression (RFC 5246 §7.4.1.2) ---------------------------------------------
def test_cbc_only_client_is_refused(trust, creds):
    legacy = [0x002F, 0x0035, 0xC013, 0x000A, 0x0005, 0x0003, 0x0001]  # CBC, 3DES, RC4, export, NULL
    hooks = reshape(ClientHello, lambda ch: dataclasses.replace(ch, cipher_suites=legacy))
    cc, sc = configs(trust, creds, client={"versions": ONLY12})
    err = fails(cc, sc, client_hooks=hooks)
    assert err.alert == A.handshake_failure and "CBC" in err.reason


def test_compression_without_null_is_illegal(trust, creds):
    hooks = reshape(ClientHello, lambda ch: dataclasses.replace(
        ch, legacy_compression_methods=b"\x01"))
    cc, sc = configs(trust, creds, client={"versions": ONLY12})
    assert fails(cc, sc, client_hooks=hooks).alert == A.illegal_parameter


def test_compression_list_with_null_is_fine(trust, creds):
    hooks = reshape(ClientHello, lambda ch: dataclasses.replace(
        ch, legacy_compression_methods=b"\x01\x00"))
    cc, sc = configs(trust, creds, client={"versions": ONLY12})
    handshake(cc, sc, client_hooks=hooks)


# --- RSA key transport: opt-in, and no padding oracle (RFC 5246 §7.4.7.1) -------------------
def test_rsa_kx_not_offered_or_accepted_by_default(trust, creds):
    client = ClientConnection(ClientConfig(trust=trust, versions=BOTH), "localhost")
    ch = ClientHello.decode(client.data_to_send()[9:])
    assert not set(ch.cipher_suites) & {s.id for s in TLS12_RSA_KX_SUITES}
    cc, sc = configs(trust, creds, client={"versions": ONLY12, "cipher_suites": (RSA_KX,)})
    err = fails(cc, sc)
    assert err.alert == A.handshake_failure and "allow_rsa_key_exchange" in err.reason


@pytest.mark.parametrize("how", ["flag", "listed"])
def test_rsa_kx_enabled_by_flag_or_by_listing(trust, creds, how):
    server = {"allow_rsa_key_exchange": True} if how == "flag" else \
        {"cipher_suites": (*[s.id for s in TLS12_DEFAULT_SUITES], RSA_KX)}
    client = {"allow_rsa_key_exchange": True, "cipher_suites": (RSA_KX,)} if how == "flag" \
        else {"cipher_suites": (RSA_KX,)}
    client_conf, server_conf = configs(trust, creds, client=client, server=server)
    c, _ = handshake(client_conf, server_conf)
    assert c.info.kx == "RSA"


def _rsa_pair(trust, rsa_server_cred):
    return configs(trust, (rsa_server_cred,), client={"cipher_suites": (RSA_KX,)},
                   server={"cipher_suites": (RSA_KX,)})


def _encrypted(pub, plaintext: bytes) -> bytes:
    return pub.encrypt(plaintext, padding.PKCS1v15())


def _bad_cke(kind, pub) -> bytes:
    n = pub.key_size // 8
    if kind == "bad padding":
        # Valid length, below the modulus, not PKCS#1 v1.5 (a raw RSA of random bytes).
        m = int.from_bytes(b"\x00\x02" + b"\x00" * (n - 2), "big") | 1
        return pow(m, pub.public_numbers().e, pub.public_numbers().n).to_bytes(n, "big")
    if kind == "wrong ciphertext length":
        return b"\x01" * (n - 1)
    if kind == "wrong premaster length":
        return _encrypted(pub, b"\x03\x03" + b"\x11" * 45)
    if kind == "wrong version":
        return _encrypted(pub, b"\x03\x02" + b"\x11" * 46)
    if kind == "all zero":
        return bytes(n)
    raise AssertionError(kind)


BAD_CKE = ["bad padding", "wrong ciphertext length", "wrong premaster length", "wrong version",
           "all zero"]


def test_rsa_kx_bad_client_key_exchange_all_end_identically(trust, rsa_server_cred):
    """Every decryption failure is invisible until the client's Finished: the server continues
    with a random premaster, so its keys differ and the Finished record fails to decrypt."""
    pub = rsa_server_cred.chain[0].public_key()
    outcomes = set()
    for kind in BAD_CKE:
        cc, sc = _rsa_pair(trust, rsa_server_cred)
        hooks = reshape(ClientKeyExchangeRSA,
                        lambda m, kind=kind: ClientKeyExchangeRSA(_bad_cke(kind, pub)))
        client = ClientConnection(cc, "localhost", hooks=hooks)
        server = ServerConnection(sc)
        server.trace_log = []
        with pytest.raises(ProtocolError) as info:
            pump(client, server)
        err = info.value
        steps = tuple(e.kind for e in server.trace_log)
        outcomes.add((type(err), err.alert, err.reason, steps))
        assert err.alert == A.bad_record_mac, kind
        # The failure is the server's, after the whole client flight, at the Finished record.
        assert client._error is None or isinstance(client._error, PeerAlertError)
    assert len(outcomes) == 1, outcomes


def test_rsa_kx_fallback_premaster_drawn_before_decryption(trust, rsa_server_cred):
    sizes: list[int] = []

    def rng(n: int) -> bytes:
        sizes.append(n)
        return bytes(n)

    cc, sc = _rsa_pair(trust, rsa_server_cred)
    client = ClientConnection(cc, "localhost")
    server = ServerConnection(sc, hooks=Hooks(random=rng))
    server.receive_data(client.data_to_send())  # ClientHello -> server flight, no CKE yet
    assert 48 in sizes


# --- the extended master secret (RFC 7627) ----------------------------------------------------
def test_server_requires_ems(trust, creds):
    hooks = reshape(ClientHello, lambda ch: without_ext(ch, E.extended_master_secret))
    cc, sc = configs(trust, creds, client={"versions": ONLY12})
    err = fails(cc, sc, client_hooks=hooks)
    assert err.alert == A.handshake_failure and "extended master secret" in err.reason


def test_client_requires_ems(trust, creds):
    hooks = reshape(ServerHello, lambda sh: without_ext(sh, E.extended_master_secret))
    cc, sc = configs(trust, creds, server={"versions": ONLY12})
    err = fails(cc, sc, server_hooks=hooks)
    assert err.alert == A.handshake_failure and "extended master secret" in err.reason


def test_without_ems_when_both_allow_it(trust, creds):
    hooks = reshape(ClientHello, lambda ch: without_ext(ch, E.extended_master_secret))
    cc, sc = configs(trust, creds, client={"require_extended_master_secret": False},
                     server={"versions": ONLY12, "require_extended_master_secret": False})
    client, server = handshake(cc, sc, client_hooks=hooks)
    assert not client.info.extended_master_secret and not server.info.extended_master_secret
    assert client.export_keying_material("x", None, 16) == \
        server.export_keying_material("x", None, 16)


# --- Finished (RFC 5246 §7.4.9) ----------------------------------------------------------------
def test_tampered_finished_verify_data(trust, creds):
    hooks = reshape(Finished, lambda f: Finished(bytes([f.verify_data[0] ^ 1]) +
                                                 f.verify_data[1:]))
    cc, sc = configs(trust, creds, server={"versions": ONLY12})
    err = fails(cc, sc, client_hooks=hooks)
    assert err.alert == A.decrypt_error and "Finished" in err.reason


def test_tampered_finished_record(trust, creds):
    def flip_last(flight: bytes) -> bytes:
        if flight[-1:] and split_records(flight)[-1][0] == ContentType.HANDSHAKE and \
                len(split_records(flight)) > 1:
            return flight[:-1] + bytes([flight[-1] ^ 1])
        return flight
    cc, sc = configs(trust, creds, server={"versions": ONLY12})
    assert fails(cc, sc, to_server=flip_last).alert == A.bad_record_mac


# --- renegotiation is refused (RFC 5746) --------------------------------------------------------
def test_hello_request_gets_no_renegotiation_warning(trust, creds):
    cc, sc = configs(trust, creds, server={"versions": ONLY12})
    client, server = handshake(cc, sc)
    server._record.write(ContentType.HANDSHAKE, HelloRequest().to_bytes())
    _, se = pump(client, server)
    assert AlertReceived(AlertLevel.WARNING, A.no_renegotiation) in se
    client.send(b"still here")
    assert pump(client, server)[1] == [ApplicationData(b"still here")]


def test_hello_request_during_the_handshake_is_ignored(trust, creds):
    # RFC 5246 §7.4.1.1: a client that is negotiating ignores HelloRequest; it is not hashed.
    cc, sc = configs(trust, creds, server={"versions": ONLY12})
    hello_request = bytes((ContentType.HANDSHAKE, 3, 3, 0, 4)) + HelloRequest().to_bytes()
    flights = []

    def inject(data: bytes) -> bytes:
        flights.append(data)
        return data + hello_request if len(flights) == 1 else data

    client, _server = handshake(cc, sc, to_client=inject)
    assert client.info.version == V.TLS1_2


def test_hello_request_with_a_body_is_a_decode_error(trust, creds):
    cc, sc = configs(trust, creds, server={"versions": ONLY12})
    bad = bytes((ContentType.HANDSHAKE, 3, 3, 0, 5, HandshakeType.HELLO_REQUEST, 0, 0, 1, 0))
    flights = []

    def inject(data: bytes) -> bytes:
        flights.append(data)
        return data + bad if len(flights) == 1 else data

    with pytest.raises(ProtocolError) as info:
        connect(cc, sc, to_client=inject)
    assert info.value.alert == A.decode_error
    assert "HelloRequest" in info.value.reason


def test_client_hello_after_handshake_gets_no_renegotiation_warning(trust, creds):
    # RFC 5246 §7.2.2: the server answers a renegotiating ClientHello with a no_renegotiation
    # warning ("always a warning") and ignores it; the client decides whether to go on.
    cc, sc = configs(trust, creds, server={"versions": ONLY12})
    client, server = handshake(cc, sc)
    hello = ClientHello(random=bytes(32), legacy_session_id=b"",
                        cipher_suites=[int(TLS12_DEFAULT_SUITES[0].id)], extensions=[])
    client._record.write(ContentType.HANDSHAKE, hello.to_bytes())
    ce, _ = pump(client, server)
    assert ce == [AlertReceived(AlertLevel.WARNING, A.no_renegotiation)]
    server.send(b"still here")
    client.send(b"me too")
    ce, se = pump(client, server)
    assert (ce, se) == ([ApplicationData(b"still here")], [ApplicationData(b"me too")])


def test_non_empty_renegotiation_info_in_initial_hello(trust, creds):
    hooks = reshape(ClientHello, lambda ch: dataclasses.replace(ch, extensions=[
        (t, b"\x0c" + bytes(12) if t == E.renegotiation_info else d) for t, d in ch.extensions]))
    cc, sc = configs(trust, creds, client={"versions": ONLY12})
    assert fails(cc, sc, client_hooks=hooks).alert == A.handshake_failure


def test_renegotiation_scsv_is_answered_with_the_extension(trust, creds):
    hooks = reshape(ClientHello, lambda ch: dataclasses.replace(
        without_ext(ch, E.renegotiation_info),
        cipher_suites=ch.cipher_suites + [CipherSuite.TLS_EMPTY_RENEGOTIATION_INFO_SCSV]))
    seen = []
    server_hooks = Hooks(shape=lambda m: seen.append(m) or m)
    cc, sc = configs(trust, creds, client={"versions": ONLY12})
    handshake(cc, sc, client_hooks=hooks, server_hooks=server_hooks)
    sh = next(m for m in seen if isinstance(m, ServerHello))
    assert sh.ext(E.renegotiation_info) == b"\x00"


# --- mutual TLS 1.2 (RFC 5246 §7.4.4, §7.4.6, §7.4.8) ---------------------------------------
def _mtls(trust, creds, client_creds, verify_client="required", **server):
    return configs(trust, creds, client={"credentials": client_creds},
                   server={"versions": ONLY12, "verify_client": verify_client,
                           "client_trust": trust, **server})


NO_CA_NAMES = reshape(CertificateRequest12,
                      lambda cr: dataclasses.replace(cr, certificate_authorities=[]))


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa2048", "ed25519"])
def test_mutual_tls(trust, creds, demo_ca, key_type):
    cred = issue_certificate(demo_ca, f"alice-{key_type}", client=True, key_type=key_type)
    client, server = handshake(*_mtls(trust, creds, (cred,)))
    assert server.info.client_auth and client.info.client_auth
    assert server.info.peer_subject == f"CN=alice-{key_type}"
    assert server.info.verification == "verified"


def test_mutual_tls_required_but_absent(trust, creds):
    err = fails(*_mtls(trust, creds, ()))
    assert err.alert == A.handshake_failure and "no certificate" in err.reason


def test_mutual_tls_optional_and_absent(trust, creds):
    client, server = handshake(*_mtls(trust, creds, (), verify_client="optional"))
    assert not server.info.client_auth and not client.info.client_auth


def test_mutual_tls_untrusted_client(trust, creds, other_ca):
    stranger = issue_certificate(other_ca, "mallory", client=True)
    # The server names its CAs: a certificate from another CA is not sent at all...
    err = fails(*_mtls(trust, creds, (stranger,)))
    assert err.alert == A.handshake_failure
    # ... and when the server does not name them, the chain is rejected.
    assert fails(*_mtls(trust, creds, (stranger,)), server_hooks=NO_CA_NAMES).alert == \
        A.unknown_ca


def test_mutual_tls_callback_overrides(trust, creds, other_ca):
    stranger = issue_certificate(other_ca, "mallory", client=True)
    cc, sc = _mtls(trust, creds, (stranger,), verify_callback=lambda chain, verdict: True)
    _, server = handshake(cc, sc, server_hooks=NO_CA_NAMES)
    assert server.info.verification == "accepted by callback"


def test_mutual_tls_bad_certificate_verify(trust, creds, client_cred):
    hooks = Hooks(sign=lambda scheme, key, data: __import__(
        "lucidtls.crypto.signatures", fromlist=["sign"]).sign(scheme, key, data + b"x"))
    err = fails(*_mtls(trust, creds, (client_cred,)), client_hooks=hooks)
    assert err.alert == A.decrypt_error


def test_server_key_exchange_bad_signature(trust, creds):
    from lucidtls.crypto import signatures
    hooks = Hooks(sign=lambda scheme, key, data: signatures.sign(scheme, key, data[::-1]))
    cc, sc = configs(trust, creds, server={"versions": ONLY12})
    assert fails(cc, sc, server_hooks=hooks).alert == A.decrypt_error


def test_suite_table_names_what_we_test():
    assert {s.id for s in TLS12_DEFAULT_SUITES + TLS12_RSA_KX_SUITES} == \
        {i for i, s in SUITES.items() if s.version == V.TLS1_2}


@pytest.mark.parametrize("versions,has_key_share", [(ONLY12, False), (BOTH, True)])
def test_key_share_only_when_offering_tls13(trust, versions, has_key_share) -> None:
    # RFC 8446 §4.2.8: key_share belongs to TLS 1.3; a TLS 1.2-only client neither sends one
    # nor spends an (EC)DHE key generation on it (as OpenSSL does with a 1.2 maximum).
    client = ClientConnection(ClientConfig(trust=trust, versions=versions), "localhost")
    record = split_records(client.data_to_send())[0]
    ch = ClientHello.decode(record[5 + 4:])
    assert ch.has_ext(E.key_share) is has_key_share
    assert bool(client._handshake.key_shares) is has_key_share


def test_send_never_asks_for_a_key_update_in_tls12(trust, creds):
    # TLS 1.2 has no KeyUpdate: a sequence number past the TLS 1.3 limit changes nothing.
    cc, sc = configs(trust, creds, client={"versions": ONLY12})
    client, server = handshake(cc, sc)
    client._record._write12.seq = server._record._read12.seq = 1 << 40
    client.send(b"still TLS 1.2")
    _, se = pump(client, server)
    assert se == [ApplicationData(b"still TLS 1.2")]


# --- ServerHello extensions: usual encodings compared as bytes, any other parsed ------------
def _sh_with(ext_type, data):
    """Sets (or adds) one ServerHello extension's extension_data."""
    def change(sh):
        exts = [(t, d) for t, d in sh.extensions if t != ext_type]
        return dataclasses.replace(sh, extensions=exts + [(ext_type, data)])
    return reshape(ServerHello, change)


@pytest.mark.parametrize(("ext_type", "data", "alert", "reason"), [
    (E.renegotiation_info, b"\x01\x00", A.handshake_failure, "renegotiation_info is not empty"),
    (E.renegotiation_info, b"\x05", A.decode_error, "renegotiation_info"),
    (E.renegotiation_info, b"", A.decode_error, "renegotiation_info"),
    (E.extended_master_secret, b"\x00", A.decode_error, "extended_master_secret"),
    (E.server_name, b"\x00", A.decode_error, "server_name"),
    (E.ec_point_formats, b"\x01\x01", A.illegal_parameter, "lacks uncompressed"),
    (E.ec_point_formats, b"\x00", A.decode_error, "ec_point_formats"),
    (E.ec_point_formats, b"\x02\x00", A.decode_error, "ec_point_formats"),
    (E.supported_groups, b"\x00\x02\x00\x1d", A.illegal_parameter, "not allowed"),
    (E.session_ticket, b"", A.unsupported_extension, "did not offer"),
])
def test_client_refuses_server_hello_extension(trust, creds, ext_type, data, alert, reason):
    cc, sc = configs(trust, creds, server={"versions": ONLY12})
    err = fails(cc, sc, server_hooks=_sh_with(ext_type, data))
    assert err.alert == alert and reason in err.reason


@pytest.mark.parametrize(("ext_type", "data"), [
    (E.renegotiation_info, b"\x00"),
    (E.extended_master_secret, b""),
    (E.server_name, b""),
    (E.ec_point_formats, b"\x01\x00"),
    (E.ec_point_formats, b"\x03\x01\x02\x00"),  # not the usual bytes, but lists uncompressed
])
def test_client_accepts_server_hello_extension(trust, creds, ext_type, data):
    cc, sc = configs(trust, creds, server={"versions": ONLY12})
    handshake(cc, sc, server_hooks=_sh_with(ext_type, data))


# --- ClientHello extensions the TLS 1.2 server checks: the same split ------------------------
def _ch_with(ext_type, data):
    """Sets one ClientHello extension's extension_data (the client sends all three)."""
    return reshape(ClientHello, lambda ch: dataclasses.replace(ch, extensions=[
        (t, data if t == ext_type else d) for t, d in ch.extensions]))


@pytest.mark.parametrize(("ext_type", "data", "alert", "reason"), [
    (E.renegotiation_info, b"\x01\x00", A.handshake_failure, "non-empty renegotiation_info"),
    (E.renegotiation_info, b"\x05", A.decode_error, "renegotiation_info"),
    (E.renegotiation_info, b"", A.decode_error, "renegotiation_info"),
    (E.extended_master_secret, b"\x00", A.decode_error, "extended_master_secret"),
    (E.ec_point_formats, b"\x01\x01", A.illegal_parameter, "does not include uncompressed"),
    (E.ec_point_formats, b"\x00", A.decode_error, "ec_point_formats"),
    (E.ec_point_formats, b"\x02\x00", A.decode_error, "ec_point_formats"),
])
def test_server_refuses_client_hello_extension(trust, creds, ext_type, data, alert, reason):
    cc, sc = configs(trust, creds, client={"versions": ONLY12})
    err = fails(cc, sc, client_hooks=_ch_with(ext_type, data))
    assert err.alert == alert and reason in err.reason


@pytest.mark.parametrize(("ext_type", "data"), [
    (E.renegotiation_info, b"\x00"),
    (E.extended_master_secret, b""),
    (E.ec_point_formats, b"\x01\x00"),
    (E.ec_point_formats, b"\x03\x00\x01\x02"),  # OpenSSL's list: not the usual bytes, but fine
])
def test_server_accepts_client_hello_extension(trust, creds, ext_type, data):
    cc, sc = configs(trust, creds, client={"versions": ONLY12})
    _, server = handshake(cc, sc, client_hooks=_ch_with(ext_type, data))
    assert server.info.extended_master_secret
