"""Messages a peer repeats byte for byte (its Certificate, a server's EncryptedExtensions and
CertificateRequest) are decoded once: only the decoding is shared, never a verdict. Every
handshake still verifies the chain against its own trust store, still chooses its own
credential, and still refuses a malformed message."""

from __future__ import annotations

import pytest

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.connection import ClientConnection, ServerConnection
from lucidtls.errors import DecodeError, ProtocolError
from lucidtls.events import HandshakeComplete
from lucidtls.handshake import common
from lucidtls.handshake.common import decode_repeated, forget_peers, parse_view, view_repeated
from lucidtls.pki import parsed
from lucidtls.pki.credentials import Credential
from lucidtls.pki.issue import make_ca
from lucidtls.pki.trust import TrustStore
from lucidtls.wire import extensions as X
from lucidtls.wire.enums import AlertDescription
from lucidtls.wire.messages import Certificate13, CertificateEntry, CertificateRequest13
from tests.pairs import pump


def test_decode_repeated_shares_a_decoding_and_refuses_bad_bytes_every_time() -> None:
    body = Certificate13(b"", [CertificateEntry(b"\x30\x03\x02\x01\x01", [])]).encode_body()
    first = decode_repeated(Certificate13, body)
    assert decode_repeated(Certificate13, bytes(body)) is first
    for _ in range(2):
        with pytest.raises(DecodeError):
            decode_repeated(Certificate13, body + b"\x00")
    cr = CertificateRequest13(b"", [(X.SignatureAlgorithms.ext_type, b"\x00\x02\x04\x03")])
    assert view_repeated(cr, X.SignatureAlgorithms) == X.SignatureAlgorithms([0x0403])
    assert view_repeated(cr, X.CertificateAuthorities) is None
    assert parse_view(X.SupportedGroups, b"\x00\x02\x00\x1d") is \
        parse_view(X.SupportedGroups, b"\x00\x02\x00\x1d")
    for _ in range(2):
        with pytest.raises(DecodeError):
            parse_view(X.SupportedGroups, b"\x00\x03\x00\x1d\x00")


def test_parse_view_keeps_views_of_different_types_apart() -> None:
    # one extension_data, two view types (a subclass among them): two decodings, each its type
    data = b"\x00\x02\x04\x03"
    algorithms = parse_view(X.SignatureAlgorithms, data)
    cert_algorithms = parse_view(X.SignatureAlgorithmsCert, data)
    assert type(algorithms) is X.SignatureAlgorithms
    assert type(cert_algorithms) is X.SignatureAlgorithmsCert
    assert parse_view(X.SignatureAlgorithms, bytes(data)) is algorithms
    assert parse_view(X.SignatureAlgorithmsCert, bytes(data)) is cert_algorithms
    assert type(parse_view(X.SupportedGroups, data)) is X.SupportedGroups


def _handshake(client_cfg: ClientConfig, server_cfg: ServerConfig) -> tuple[bool, bool]:
    client = ClientConnection(client_cfg, "localhost")
    server = ServerConnection(server_cfg)
    client_events, server_events = pump(client, server)
    return (any(isinstance(e, HandshakeComplete) for e in client_events),
            any(isinstance(e, HandshakeComplete) for e in server_events))


def test_a_repeated_certificate_is_verified_on_every_handshake(
        trust: TrustStore, other_ca: Credential, server_cred: Credential,
        client_cred: Credential) -> None:
    server_cfg = ServerConfig(credentials=(server_cred,), verify_client="required",
                              client_trust=trust)
    assert _handshake(ClientConfig(trust=trust, credentials=(client_cred,)), server_cfg) == \
        (True, True)
    # The same server Certificate bytes again, to a client that does not trust their CA.
    untrusting = ClientConfig(trust=TrustStore.from_certificates([other_ca.chain[0]]),
                              credentials=(client_cred,))
    with pytest.raises(ProtocolError) as info:
        _handshake(untrusting, server_cfg)
    assert info.value.alert == AlertDescription.unknown_ca
    # The same client Certificate bytes again, to a server that trusts another CA of the
    # same name (so that the client still presents its certificate).
    impostor = make_ca("lucidtls test CA")
    strict = ServerConfig(credentials=(server_cred,), verify_client="required",
                          client_trust=TrustStore.from_certificates([impostor.chain[0]]))
    with pytest.raises(ProtocolError) as info:
        _handshake(ClientConfig(trust=trust, credentials=(client_cred,)), strict)
    assert info.value.alert == AlertDescription.unknown_ca


def test_a_repeated_certificate_request_is_answered_per_client_configuration(
        trust: TrustStore, server_cred: Credential, client_cred: Credential) -> None:
    server_cfg = ServerConfig(credentials=(server_cred,), verify_client="optional",
                              client_trust=trust)
    with_cert = ClientConnection(ClientConfig(trust=trust, credentials=(client_cred,)),
                                 "localhost")
    pump(with_cert, ServerConnection(server_cfg))
    assert with_cert.info is not None and with_cert.info.client_auth
    # The same CertificateRequest bytes, to a client with no credential: an empty Certificate.
    without = ClientConnection(ClientConfig(trust=trust), "localhost")
    pump(without, ServerConnection(server_cfg))
    assert without.info is not None and not without.info.client_auth


def test_forget_peers_empties_every_cache_of_what_peers_sent(
        trust: TrustStore, server_cred: Credential, client_cred: Credential) -> None:
    server_cfg = ServerConfig(credentials=(server_cred,), verify_client="required",
                              client_trust=trust)
    client_cfg = ClientConfig(trust=trust, credentials=(client_cred,))
    assert _handshake(client_cfg, server_cfg) == (True, True)
    caches = (common._decode_cached, common._parse_cached, parsed.load_certificate,
              parsed.public_key)
    assert all(cache.cache_info().currsize for cache in caches)
    forget_peers()
    assert [cache.cache_info().currsize for cache in caches] == [0, 0, 0, 0]
    # A first contact again: everything decoded and parsed afresh, and the handshake the same.
    assert _handshake(client_cfg, server_cfg) == (True, True)
    assert all(cache.cache_info().misses for cache in caches)


def test_large_messages_and_extensions_are_decoded_every_time_and_never_kept() -> None:
    # What peers can make a process keep is bounded: bodies over the limits are not cached.
    forget_peers()
    der = b"\x30\x82" + (common.MAX_CACHED_MESSAGE).to_bytes(2, "big") + bytes(
        common.MAX_CACHED_MESSAGE)
    big = Certificate13(b"", [CertificateEntry(der, [])]).encode_body()
    assert len(big) > common.MAX_CACHED_MESSAGE
    first = decode_repeated(Certificate13, big)
    assert decode_repeated(Certificate13, big) == first
    assert decode_repeated(Certificate13, big) is not first
    names = [b"h" * 200] * 6  # an ALPN list over the extension limit
    data = X.ALPN(names).encode()
    assert len(data) > common.MAX_CACHED_EXTENSION
    assert parse_view(X.ALPN, data) == X.ALPN(names)
    assert parse_view(X.ALPN, data) is not parse_view(X.ALPN, data)
    assert common._decode_cached.cache_info().currsize == 0
    assert common._parse_cached.cache_info().currsize == 0
