"""Bad input into both roles: each case ends in the right alert on the wire, a typed error
naming the cause, and a connection that stays failed.

Bad input is made either by the sending side's ``Hooks`` (reshape a message before it is
encoded and encrypted) or by rewriting the wire bytes between the two connections.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.connection import ClientConnection, Connection, Hooks, ServerConnection
from lucidtls.crypto import signatures
from lucidtls.crypto.suites import SUITES
from lucidtls.errors import (
    ConnectionClosedError,
    CryptoError,
    DecodeError,
    IllegalParameter,
    PeerAlertError,
    ProtocolError,
    RecordError,
    StateError,
    UnexpectedMessage,
    VersionError,
)
from lucidtls.events import ApplicationData
from lucidtls.pki.credentials import Credential
from lucidtls.pki.trust import TrustStore
from lucidtls.wire import extensions as X
from lucidtls.wire.enums import (
    AlertDescription,
    CipherSuite,
    ExtensionType,
    NamedGroup,
    ProtocolVersion,
)
from lucidtls.wire.messages import (
    HRR_RANDOM,
    Certificate13,
    CertificateVerify,
    ClientHello,
    EncryptedExtensions,
    Finished,
    KeyUpdate,
    ServerHello,
)
from tests.pairs import pump, split_records

A = AlertDescription
E = ExtensionType
TLS13_ONLY = (ProtocolVersion.TLS1_3,)

# --- helpers -----------------------------------------------------------------------------------


def expect_failure(action: Callable[[], Any], conn: Connection, cls: type[ProtocolError],
                   alert: AlertDescription, *words: str,
                   peer: Connection | None = None) -> ProtocolError:
    """Run *action*; *conn* must fail with *cls*/*alert*, a reason naming *words*, send the
    alert (checked in the clear, or through *peer* when it is encrypted) and stay failed."""
    with pytest.raises(cls) as info:
        action()
    err = info.value
    assert err.alert == alert, err
    for word in words:
        assert word.lower() in err.reason.lower(), (word, err.reason)
    assert_alert_sent(conn, alert, peer)
    assert_stays_failed(conn, err)
    return err


def assert_alert_sent(conn: Connection, alert: AlertDescription,
                      peer: Connection | None) -> None:
    wire = conn.data_to_send()
    records = split_records(wire)
    assert records, "no alert record was sent"
    last = records[-1]
    if last[0] == 21:  # a plaintext alert: fatal, with our description
        assert last[5:] == bytes((2, int(alert))), last.hex()
    else:  # TLS 1.3 after keys: an encrypted record; only the peer can read it
        assert last[0] == 23 and peer is not None, last[:5].hex()
    if peer is not None:
        with pytest.raises(PeerAlertError) as info:
            peer.receive_data(wire)
        assert info.value.alert == alert


def assert_stays_failed(conn: Connection, err: ProtocolError) -> None:
    with pytest.raises(type(err)) as again:
        conn.receive_data(b"\x16\x03\x03\x00\x01\x00")
    assert again.value is err
    with pytest.raises(StateError):
        conn.send(b"more")
    assert conn.data_to_send() == b""  # one fatal alert, nothing after it


def shaper(cls: type, change: Callable[[Any], Any], *, nth: int = 1) -> Hooks:
    """Hooks whose shape applies *change* to the *nth* outgoing message of class *cls*."""
    seen = [0]

    def shape(msg: Any) -> Any:
        if isinstance(msg, cls):
            seen[0] += 1
            if seen[0] == nth:
                return change(msg)
        return msg

    return Hooks(shape=shape)


def first_flight(client: Connection, server: Connection) -> bytes:
    """Move the ClientHello to the server and return the server's first flight (unread)."""
    server.receive_data(client.data_to_send())
    return server.data_to_send()


def complete(client: Connection, server: Connection) -> None:
    pump(client, server)
    assert client.handshake_complete and server.handshake_complete


def header(ctype: int, length: int) -> bytes:
    return bytes((ctype, 3, 3)) + length.to_bytes(2, "big")


def plain_record(ctype: int, payload: bytes) -> bytes:
    return header(ctype, len(payload)) + payload


def flip_last_record(data: bytes) -> bytes:
    """Flip one bit in the last byte (the AEAD tag) of the flight's last record."""
    return data[:-1] + bytes((data[-1] ^ 0x01,))


def with_ext(hello: Any, ext_type: int, data: bytes | None) -> Any:
    """*hello* with extension *ext_type* replaced by *data* (or removed when None)."""
    exts = [(t, d) for t, d in hello.extensions if t != ext_type]
    if data is not None:
        exts.append((ext_type, data))
    return dataclasses.replace(hello, extensions=exts)


@pytest.fixture
def pair(client_config: ClientConfig, server_config: ServerConfig
         ) -> tuple[ClientConnection, ServerConnection]:
    return ClientConnection(client_config, "localhost"), ServerConnection(server_config)


@pytest.fixture
def established(pair: tuple[ClientConnection, ServerConnection]
                ) -> tuple[ClientConnection, ServerConnection]:
    client, server = pair
    complete(client, server)
    return client, server


def roles(established: tuple[ClientConnection, ServerConnection], role: str
          ) -> tuple[Connection, Connection]:
    """(sender, receiver) for a post-handshake case in which *role* receives bad input."""
    client, server = established
    return (client, server) if role == "server" else (server, client)


BOTH = pytest.mark.parametrize("role", ["client", "server"])

# --- Finished (RFC 8446 §4.4.4) -------------------------------------------------------------


def corrupt_finished(fin: Finished) -> Finished:
    return Finished(bytes((fin.verify_data[0] ^ 0x80,)) + fin.verify_data[1:])


def test_wrong_server_finished(client_config, server_config):
    client = ClientConnection(client_config, "localhost")
    server = ServerConnection(server_config, hooks=shaper(Finished, corrupt_finished))
    flight = first_flight(client, server)
    expect_failure(lambda: client.receive_data(flight), client, CryptoError, A.decrypt_error,
                   "server Finished", peer=server)


def test_wrong_client_finished(client_config, server_config):
    client = ClientConnection(client_config, "localhost",
                              hooks=shaper(Finished, corrupt_finished))
    server = ServerConnection(server_config)
    client.receive_data(first_flight(client, server))
    assert client.handshake_complete  # the client cannot know yet
    expect_failure(lambda: server.receive_data(client.data_to_send()), server, CryptoError,
                   A.decrypt_error, "client Finished", peer=client)


# --- record protection (RFC 8446 §5.2) ---------------------------------------------------------


def test_tampered_server_handshake_record(pair):
    client, server = pair
    flight = flip_last_record(first_flight(client, server))
    expect_failure(lambda: client.receive_data(flight), client, RecordError,
                   A.bad_record_mac, peer=server)


def test_tampered_client_finished_record(pair):
    client, server = pair
    client.receive_data(first_flight(client, server))
    flight = flip_last_record(client.data_to_send())
    expect_failure(lambda: server.receive_data(flight), server, RecordError,
                   A.bad_record_mac, peer=client)


@BOTH
@pytest.mark.parametrize("where", [5, -1, -17], ids=["first-ciphertext-byte", "tag", "body"])
def test_tampered_application_record(established, role, where):
    sender, receiver = roles(established, role)
    sender.send(b"a perfectly ordinary message")
    wire = bytearray(sender.data_to_send())
    wire[where] ^= 0x40
    expect_failure(lambda: receiver.receive_data(bytes(wire)), receiver, RecordError,
                   A.bad_record_mac, peer=sender)


@BOTH
def test_records_before_a_tampered_one_are_delivered(established, role):
    # One receive, three records, the last one forged: what came before it still arrives as
    # events, in order, and then the receive fails.
    sender, receiver = roles(established, role)
    sender.send(b"first")
    sender.send(b"x" * 20000)  # two records
    wire = bytearray(sender.data_to_send())
    wire[-1] ^= 0x01
    expect_failure(lambda: receiver.receive_data(bytes(wire)), receiver, RecordError,
                   A.bad_record_mac, peer=sender)
    assert receiver.events() == [ApplicationData(b"first"), ApplicationData(b"x" * 16384)]


@BOTH
def test_tampered_record_header_is_authenticated(established, role):
    # RFC 8446 §5.2: the header is the AEAD's additional data.
    sender, receiver = roles(established, role)
    sender.send(b"header check")
    wire = bytearray(sender.data_to_send())
    wire[2] = 0x01  # legacy_record_version 0x0301
    expect_failure(lambda: receiver.receive_data(bytes(wire)), receiver, RecordError,
                   A.bad_record_mac, peer=sender)


@BOTH
def test_replayed_application_record(established, role):
    sender, receiver = roles(established, role)
    sender.send(b"once")
    wire = sender.data_to_send()
    receiver.receive_data(wire)
    assert receiver.events() == [ApplicationData(b"once")]
    expect_failure(lambda: receiver.receive_data(wire), receiver, RecordError,
                   A.bad_record_mac, peer=sender)


# --- sizes (RFC 8446 §5.1, §5.2) ---------------------------------------------------------------


@BOTH
def test_protected_record_length_over_limit(established, role):
    _, receiver = roles(established, role)
    sender = established[0] if role == "server" else established[1]
    expect_failure(lambda: receiver.receive_data(header(23, (1 << 14) + 257)), receiver,
                   RecordError, A.record_overflow, "16641", peer=sender)


def test_plaintext_record_over_2_14_to_server(pair):
    _, server = pair
    expect_failure(lambda: server.receive_data(header(22, (1 << 14) + 1)), server, RecordError,
                   A.record_overflow, "16385")


def test_plaintext_record_over_2_14_to_client(pair):
    client, server = pair
    first_flight(client, server)
    expect_failure(lambda: client.receive_data(header(22, (1 << 14) + 1)), client, RecordError,
                   A.record_overflow, "16385")


@BOTH
def test_decrypted_record_over_2_14(established, role):
    # The sender's record layer is told to build 2^14 + 1 byte fragments; the receiver must
    # refuse the inner plaintext even though the ciphertext length is within 2^14 + 256.
    sender, receiver = roles(established, role)
    sender._record.max_fragment = (1 << 14) + 1
    sender.send(bytes((1 << 14) + 1))
    wire = sender.data_to_send()
    assert len(split_records(wire)) == 1
    expect_failure(lambda: receiver.receive_data(wire), receiver, RecordError,
                   A.record_overflow, peer=sender)


def test_handshake_message_over_limit(pair):
    _, server = pair
    huge = bytes((1,)) + (1 << 20).to_bytes(3, "big")
    expect_failure(lambda: server.receive_data(plain_record(22, huge)), server, DecodeError,
                   A.decode_error, "exceeds")


# --- malformed messages (decode_error) ---------------------------------------------------------


def test_client_hello_vector_runs_past_body(pair):
    client, server = pair
    ch = bytearray(split_records(client.data_to_send())[0][5:])
    # body: version(2) random(32) session_id<1> cipher_suites<2>...; inflate the suites length.
    sid_len = ch[4 + 34]
    at = 4 + 35 + sid_len
    ch[at:at + 2] = (len(ch) + 10).to_bytes(2, "big")
    expect_failure(lambda: server.receive_data(plain_record(22, bytes(ch))), server,
                   DecodeError, A.decode_error, "ClientHello")


def test_client_hello_trailing_bytes(pair):
    client, server = pair
    ch = split_records(client.data_to_send())[0][5:]
    body = ch[4:] + b"\x00\x00\x00"
    msg = bytes((1,)) + len(body).to_bytes(3, "big") + body
    expect_failure(lambda: server.receive_data(plain_record(22, msg)), server, DecodeError,
                   A.decode_error, "ClientHello")


def test_server_hello_trailing_bytes(client_config, server_config):
    client = ClientConnection(client_config, "localhost")
    server = ServerConnection(server_config, hooks=shaper(
        ServerHello, lambda sh: with_len_fixed(sh.to_bytes() + b"\x01")))
    flight = first_flight(client, server)
    expect_failure(lambda: client.receive_data(flight), client, DecodeError, A.decode_error,
                   "ServerHello")


def with_len_fixed(raw: bytes) -> bytes:
    """Rewrite the handshake header's length to cover everything after it."""
    return raw[:1] + (len(raw) - 4).to_bytes(3, "big") + raw[4:]


def test_encrypted_extensions_trailing_bytes(client_config, server_config):
    client = ClientConnection(client_config, "localhost")
    server = ServerConnection(server_config, hooks=shaper(
        EncryptedExtensions, lambda ee: with_len_fixed(ee.to_bytes() + b"\x00")))
    flight = first_flight(client, server)
    expect_failure(lambda: client.receive_data(flight), client, DecodeError, A.decode_error,
                   "EncryptedExtensions", peer=server)


def test_client_finished_trailing_bytes(client_config, server_config):
    client = ClientConnection(client_config, "localhost", hooks=shaper(
        Finished, lambda fin: with_len_fixed(fin.to_bytes() + b"\x00")))
    server = ServerConnection(server_config)
    client.receive_data(first_flight(client, server))
    expect_failure(lambda: server.receive_data(client.data_to_send()), server, DecodeError,
                   A.decode_error, "client Finished is 33 bytes", peer=client)


def test_server_finished_trailing_bytes(client_config, server_config):
    client = ClientConnection(client_config, "localhost")
    server = ServerConnection(server_config, hooks=shaper(
        Finished, lambda fin: with_len_fixed(fin.to_bytes() + b"\x00")))
    flight = first_flight(client, server)
    expect_failure(lambda: client.receive_data(flight), client, DecodeError, A.decode_error,
                   "server Finished is 33 bytes", peer=server)


def test_empty_server_certificate(client_config, server_config):
    client = ClientConnection(client_config, "localhost")
    server = ServerConnection(server_config, hooks=shaper(
        Certificate13, lambda c: Certificate13(b"", [])))
    flight = first_flight(client, server)
    expect_failure(lambda: client.receive_data(flight), client, DecodeError, A.decode_error,
                   "empty Certificate", peer=server)


def test_handshake_header_runs_past_record_then_key_change(pair):
    # A ClientHello followed by the first bytes of another message in the same record: the
    # server installs keys while a message is half received (RFC 8446 §5.1).
    client, server = pair
    ch = split_records(client.data_to_send())[0][5:]
    expect_failure(lambda: server.receive_data(plain_record(22, ch + b"\x14\x00")), server,
                   UnexpectedMessage, A.unexpected_message, "key change", peer=client)


def test_message_spanning_key_change_to_client(pair):
    client, server = pair
    flight = split_records(first_flight(client, server))
    sh = flight[0][5:]
    bad = plain_record(22, sh + b"\x08\x00\x00") + b"".join(flight[1:])
    expect_failure(lambda: client.receive_data(bad), client, UnexpectedMessage,
                   A.unexpected_message, "key change", peer=server)


# --- unexpected messages and records -----------------------------------------------------------


def test_server_drops_encrypted_extensions(client_config, server_config):
    client = ClientConnection(client_config, "localhost")
    server = ServerConnection(server_config, hooks=shaper(EncryptedExtensions, lambda m: b""))
    flight = first_flight(client, server)
    expect_failure(lambda: client.receive_data(flight), client, UnexpectedMessage,
                   A.unexpected_message, "expected ENCRYPTED_EXTENSIONS", "CERTIFICATE",
                   peer=server)


def test_client_sends_key_update_instead_of_finished(client_config, server_config):
    client = ClientConnection(client_config, "localhost",
                              hooks=shaper(Finished, lambda m: KeyUpdate(0)))
    server = ServerConnection(server_config)
    client.receive_data(first_flight(client, server))
    expect_failure(lambda: server.receive_data(client.data_to_send()), server,
                   UnexpectedMessage, A.unexpected_message, "expected FINISHED", "KEY_UPDATE",
                   peer=client)


def test_server_hello_sent_to_server(pair):
    _, server = pair
    sh = ServerHello(random=bytes(32), legacy_session_id_echo=b"", cipher_suite=0x1301,
                     extensions=[]).to_bytes()
    expect_failure(lambda: server.receive_data(plain_record(22, sh)), server,
                   UnexpectedMessage, A.unexpected_message, "expected CLIENT_HELLO", "SERVER_HELLO")


@pytest.mark.parametrize("stage", ["before-hello", "established"])
@BOTH
def test_unknown_content_type(pair, role, stage):
    client, server = pair
    if stage == "established":
        complete(client, server)
    elif role == "client":
        first_flight(client, server)
    receiver = client if role == "client" else server
    expect_failure(lambda: receiver.receive_data(plain_record(99, b"hi")), receiver,
                   UnexpectedMessage, A.unexpected_message, "content type 99",
                   peer=(server if role == "client" else client) if stage != "before-hello"
                   else None)


@BOTH
def test_application_data_before_handshake(pair, role):
    client, server = pair
    if role == "client":
        first_flight(client, server)
    receiver = client if role == "client" else server
    expect_failure(lambda: receiver.receive_data(plain_record(23, b"GET /")), receiver,
                   UnexpectedMessage, A.unexpected_message, "before the handshake")


def test_ccs_with_payload_2_to_server(pair):
    client, server = pair
    server.receive_data(client.data_to_send())
    expect_failure(lambda: server.receive_data(plain_record(20, b"\x02")), server,
                   UnexpectedMessage, A.unexpected_message, "ChangeCipherSpec", peer=client)


def test_ccs_with_payload_2_to_client(pair):
    client, server = pair
    flight = split_records(first_flight(client, server))
    assert flight[1][0] == 20  # the server's middlebox-compatibility CCS
    bad = flight[0] + plain_record(20, b"\x02") + b"".join(flight[2:])
    expect_failure(lambda: client.receive_data(bad), client, UnexpectedMessage,
                   A.unexpected_message, "ChangeCipherSpec", peer=server)


def test_ccs_before_client_hello(pair):
    _, server = pair
    expect_failure(lambda: server.receive_data(plain_record(20, b"\x01")), server,
                   UnexpectedMessage, A.unexpected_message, "ChangeCipherSpec")


@BOTH
def test_ccs_after_handshake(established, role):
    sender, receiver = roles(established, role)
    expect_failure(lambda: receiver.receive_data(plain_record(20, b"\x01")), receiver,
                   UnexpectedMessage, A.unexpected_message, "ChangeCipherSpec", peer=sender)


@BOTH
def test_unprotected_handshake_after_keys(established, role):
    sender, receiver = roles(established, role)
    msg = KeyUpdate(0).to_bytes()
    expect_failure(lambda: receiver.receive_data(plain_record(22, msg)), receiver,
                   UnexpectedMessage, A.unexpected_message, "unprotected", peer=sender)


@BOTH
def test_protected_client_hello_after_handshake(established, role):
    # A handshake message that has no place after the handshake, properly encrypted.
    sender, receiver = roles(established, role)
    sender._record.write(22, Finished(bytes(32)).to_bytes())
    expect_failure(lambda: receiver.receive_data(sender.data_to_send()), receiver,
                   UnexpectedMessage, A.unexpected_message, "post-handshake Finished",
                   peer=sender)


@BOTH
def test_empty_alert_record_after_handshake(established, role):
    sender, receiver = roles(established, role)
    sender._record.write(21, b"\x02")
    expect_failure(lambda: receiver.receive_data(sender.data_to_send()), receiver,
                   DecodeError, A.decode_error, "alert", peer=sender)


# --- hello parameters (illegal_parameter) ------------------------------------------------------


def test_client_hello_with_compression(client_config, server_config):
    client = ClientConnection(client_config, "localhost", hooks=shaper(
        ClientHello, lambda ch: dataclasses.replace(ch, legacy_compression_methods=b"\x01")))
    server = ServerConnection(server_config)
    expect_failure(lambda: server.receive_data(client.data_to_send()), server,
                   IllegalParameter, A.illegal_parameter, "compression", peer=client)


def _hrr_configs(trust: TrustStore, cred: Credential) -> tuple[ClientConfig, ServerConfig]:
    cc = ClientConfig(trust=trust, groups=(NamedGroup.x25519, NamedGroup.secp256r1),
                      key_share_groups=(NamedGroup.x25519,))
    sc = ServerConfig(credentials=(cred,), groups=(NamedGroup.secp256r1,))
    return cc, sc


def test_second_client_hello_with_other_group(trust, server_cred):
    cc, sc = _hrr_configs(trust, server_cred)
    first = ClientConnection(cc, "localhost")
    x25519_share = X.KeyShareClientHello.decode(
        ClientHello.decode(split_records(first.data_to_send())[0][9:]).ext(E.key_share))
    client = ClientConnection(cc, "localhost", hooks=shaper(
        ClientHello, lambda ch: with_ext(ch, E.key_share, x25519_share.encode()), nth=2))
    server = ServerConnection(sc)
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())  # the HelloRetryRequest
    expect_failure(lambda: server.receive_data(client.data_to_send()), server,
                   IllegalParameter, A.illegal_parameter, "requested group", peer=client)


def test_second_client_hello_changes_random(trust, server_cred):
    cc, sc = _hrr_configs(trust, server_cred)
    client = ClientConnection(cc, "localhost", hooks=shaper(
        ClientHello, lambda ch: dataclasses.replace(ch, random=bytes(32)), nth=2))
    server = ServerConnection(sc)
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    expect_failure(lambda: server.receive_data(client.data_to_send()), server,
                   IllegalParameter, A.illegal_parameter, "second ClientHello", peer=client)


def _hrr_shaper(change: Callable[[ServerHello], ServerHello]) -> Hooks:
    def shape(msg: Any) -> Any:
        if isinstance(msg, ServerHello) and msg.random == HRR_RANDOM:
            return change(msg)
        return msg
    return Hooks(shape=shape)


@pytest.mark.parametrize("change", [
    lambda hrr: with_ext(hrr, E.key_share, None),
    lambda hrr: with_ext(hrr, E.key_share,
                         X.KeyShareHelloRetryRequest(NamedGroup.x25519).encode()),
], ids=["no-key-share-no-cookie", "group-already-shared"])
def test_hello_retry_request_that_changes_nothing(trust, server_cred, change):
    cc, sc = _hrr_configs(trust, server_cred)
    client = ClientConnection(cc, "localhost")
    server = ServerConnection(sc, hooks=_hrr_shaper(change))
    hrr = first_flight(client, server)
    expect_failure(lambda: client.receive_data(hrr), client, IllegalParameter,
                   A.illegal_parameter, "HelloRetryRequest", peer=server)


def test_second_hello_retry_request(trust, server_cred):
    cc, sc = _hrr_configs(trust, server_cred)
    client = ClientConnection(cc, "localhost")
    server = ServerConnection(sc)
    hrr = first_flight(client, server)
    client.receive_data(hrr)
    records = split_records(hrr)
    expect_failure(lambda: client.receive_data(records[0]), client, UnexpectedMessage,
                   A.unexpected_message, "second HelloRetryRequest")


def test_server_hello_selects_suite_not_offered(trust, server_config):
    cc = ClientConfig(trust=trust, cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,))
    client = ClientConnection(cc, "localhost")
    server = ServerConnection(server_config, hooks=shaper(
        ServerHello, lambda sh: dataclasses.replace(
            sh, cipher_suite=int(CipherSuite.TLS_CHACHA20_POLY1305_SHA256))))
    flight = first_flight(client, server)
    expect_failure(lambda: client.receive_data(flight), client, IllegalParameter,
                   A.illegal_parameter, "cipher suite 0x1303", peer=server)


@pytest.mark.parametrize("sentinel", [b"DOWNGRD\x01", b"DOWNGRD\x00"])
def test_downgrade_sentinel_with_tls13(client_config, server_config, sentinel):
    client = ClientConnection(client_config, "localhost")
    server = ServerConnection(server_config, hooks=Hooks(
        random=lambda n: bytes(n - 8) + sentinel if n == 32 else bytes(n)))
    flight = first_flight(client, server)
    expect_failure(lambda: client.receive_data(flight), client, IllegalParameter,
                   A.illegal_parameter, "downgrade", peer=server)


def test_server_hello_key_share_for_unshared_group(client_config, server_config):
    client = ClientConnection(client_config, "localhost")
    server = ServerConnection(server_config, hooks=shaper(
        ServerHello, lambda sh: with_ext(sh, E.key_share, X.KeyShareServerHello(
            X.KeyShareEntry(NamedGroup.secp384r1, bytes(97))).encode())))
    flight = first_flight(client, server)
    expect_failure(lambda: client.receive_data(flight), client, IllegalParameter,
                   A.illegal_parameter, "secp384r1", peer=server)


def test_alpn_not_offered(trust, server_cred):
    cc = ClientConfig(trust=trust, alpn_protocols=("h2",))
    sc = ServerConfig(credentials=(server_cred,), alpn_protocols=("h2",))
    client = ClientConnection(cc, "localhost")
    server = ServerConnection(sc, hooks=shaper(
        EncryptedExtensions, lambda ee: with_ext(
            ee, E.application_layer_protocol_negotiation, X.ALPN([b"spdy/1"]).encode())))
    flight = first_flight(client, server)
    expect_failure(lambda: client.receive_data(flight), client, IllegalParameter,
                   A.illegal_parameter, "'spdy/1'", peer=server)


def test_alpn_when_client_offered_none(client_config, server_config):
    client = ClientConnection(client_config, "localhost")
    server = ServerConnection(server_config, hooks=shaper(
        EncryptedExtensions, lambda ee: with_ext(
            ee, E.application_layer_protocol_negotiation, X.ALPN([b"h2"]).encode())))
    flight = first_flight(client, server)
    expect_failure(lambda: client.receive_data(flight), client, ProtocolError,
                   A.unsupported_extension, "did not offer", peer=server)


# --- signatures (RFC 8446 §4.4.3) --------------------------------------------------------------


def wrong_key_signer() -> Callable[[int, Any, bytes], bytes]:
    other = ec.generate_private_key(ec.SECP256R1())
    return lambda scheme, key, content: signatures.sign(scheme, other, content)


def test_server_certificate_verify_wrong_key(client_config, server_config):
    client = ClientConnection(client_config, "localhost")
    server = ServerConnection(server_config, hooks=Hooks(sign=wrong_key_signer()))
    flight = first_flight(client, server)
    expect_failure(lambda: client.receive_data(flight), client, CryptoError, A.decrypt_error,
                   peer=server)


def test_client_certificate_verify_wrong_key(trust, server_cred, client_cred):
    other = ec.generate_private_key(ec.SECP256R1())
    cc = ClientConfig(trust=trust, credentials=(client_cred,))
    sc = ServerConfig(credentials=(server_cred,), verify_client="required", client_trust=trust)
    client = ClientConnection(cc, "localhost", hooks=shaper(CertificateVerify, lambda cv: (
        CertificateVerify(cv.algorithm, signatures.sign(cv.algorithm, other, b"not it")))))
    server = ServerConnection(sc)
    client.receive_data(first_flight(client, server))
    expect_failure(lambda: server.receive_data(client.data_to_send()), server, CryptoError,
                   A.decrypt_error, peer=client)


def test_client_drops_certificate_when_asked(trust, server_cred, client_cred):
    cc = ClientConfig(trust=trust, credentials=(client_cred,))
    sc = ServerConfig(credentials=(server_cred,), verify_client="required", client_trust=trust)
    client = ClientConnection(cc, "localhost", hooks=shaper(Certificate13, lambda m: b""))
    server = ServerConnection(sc)
    client.receive_data(first_flight(client, server))
    expect_failure(lambda: server.receive_data(client.data_to_send()), server,
                   UnexpectedMessage, A.unexpected_message, "expected CERTIFICATE", "CERTIFICATE_VERIFY",
                   peer=client)


def test_server_signature_scheme_not_offered(trust, server_config):
    cc = ClientConfig(trust=trust, signature_schemes=(0x0403, 0x0804))  # P-256, PSS
    client = ClientConnection(cc, "localhost")
    server = ServerConnection(server_config, hooks=shaper(
        CertificateVerify, lambda cv: CertificateVerify(0x0503, cv.signature)))
    flight = first_flight(client, server)
    expect_failure(lambda: client.receive_data(flight), client, IllegalParameter,
                   A.illegal_parameter, "did not offer", peer=server)


# --- versions (RFC 8446 §4.2.1, §D) ------------------------------------------------------------


def test_tls12_server_hello_to_tls13_only_client(trust, server_config):
    cc = ClientConfig(trust=trust, versions=TLS13_ONLY)
    client = ClientConnection(cc, "localhost")
    server = ServerConnection(server_config, hooks=shaper(
        ServerHello, lambda sh: with_ext(sh, E.supported_versions, None)))
    flight = first_flight(client, server)
    err = expect_failure(lambda: client.receive_data(flight), client, VersionError,
                         A.protocol_version, peer=server)
    assert "TLS 1.2" in err.reason or "0x0303" in err.reason, err.reason


@pytest.mark.parametrize("versions", [None, [0x0303], [0x0303, 0x0302]],
                         ids=["no-supported_versions", "tls12", "tls12-tls11"])
def test_tls12_client_hello_to_tls13_only_server(client_config, server_cred, versions):
    sc = ServerConfig(credentials=(server_cred,), versions=TLS13_ONLY)
    data = None if versions is None else X.SupportedVersionsClient(versions).encode()
    client = ClientConnection(client_config, "localhost", hooks=shaper(
        ClientHello, lambda ch: with_ext(ch, E.supported_versions, data)))
    server = ServerConnection(sc)
    err = expect_failure(lambda: server.receive_data(client.data_to_send()), server,
                         VersionError, A.protocol_version, "TLSv1.2", peer=client)
    assert "we support TLSv1.3" in err.reason


def test_tls13_client_hello_with_old_legacy_version(client_config, server_config):
    client = ClientConnection(client_config, "localhost", hooks=shaper(
        ClientHello, lambda ch: dataclasses.replace(ch, legacy_version=0x0301)))
    server = ServerConnection(server_config)
    expect_failure(lambda: server.receive_data(client.data_to_send()), server, VersionError,
                   A.protocol_version, "legacy_version", peer=client)


def test_server_selects_version_not_offered(client_config, server_config):
    client = ClientConnection(client_config, "localhost")
    server = ServerConnection(server_config, hooks=shaper(
        ServerHello, lambda sh: with_ext(sh, E.supported_versions,
                                         X.SupportedVersionsServer(0x0305).encode())))
    flight = first_flight(client, server)
    expect_failure(lambda: client.receive_data(flight), client, IllegalParameter,
                   A.illegal_parameter, "0x0305", peer=server)


# --- the peer's own alerts ---------------------------------------------------------------------


@BOTH
def test_peer_fatal_alert_is_sticky(established, role):
    sender, receiver = roles(established, role)
    sender._record.write(21, bytes((2, int(A.internal_error))))
    with pytest.raises(PeerAlertError) as info:
        receiver.receive_data(sender.data_to_send())
    assert info.value.alert == A.internal_error
    with pytest.raises(PeerAlertError):
        receiver.receive_data(b"\x17\x03\x03\x00\x01\x00")
    with pytest.raises(StateError):
        receiver.send(b"x")


def test_suites_table_is_what_we_test():
    # The suite ids used above are TLS 1.3 suites in the one table.
    assert SUITES[CipherSuite.TLS_CHACHA20_POLY1305_SHA256].version == ProtocolVersion.TLS1_3


# --- the peer closes during the handshake ------------------------------------------------------

CLOSE_NOTIFY = plain_record(21, bytes((1, 0)))


@BOTH
def test_close_notify_during_handshake(pair, role):
    # The handshake cannot complete: a typed error now, and again at end of file (a driver
    # looping "until the handshake completes" must not spin forever).
    client, server = pair
    if role == "client":
        first_flight(client, server)
    receiver = client if role == "client" else server
    with pytest.raises(ConnectionClosedError):
        receiver.receive_data(CLOSE_NOTIFY)
    with pytest.raises(ConnectionClosedError):
        receiver.receive_data(b"")
    assert not receiver.handshake_complete
    with pytest.raises(StateError):
        receiver.send(b"x")


@BOTH
def test_eof_during_handshake(pair, role):
    client, server = pair
    if role == "client":
        first_flight(client, server)
    receiver = client if role == "client" else server
    receiver.receive_data(b"\x16\x03\x03\x00")  # part of a record, then the transport ends
    with pytest.raises(ConnectionClosedError):
        receiver.receive_data(b"")
    with pytest.raises(ConnectionClosedError):
        receiver.receive_data(b"")


@pytest.mark.parametrize("ext_type,data,what", [
    (E.supported_versions, b"\x03\x04\x00", "selected_version"),
    (E.supported_versions, b"\x03", "selected_version"),
    (E.key_share, b"\x00\x1d\x00\x20" + bytes(31), "key_share"),
    (E.key_share, b"\x00\x1d\x00\x20" + bytes(33), "key_share"),
    (E.key_share, b"\x00\x1d\x00", "key_share"),
])
def test_server_hello_fixed_size_extension_of_wrong_length(client_config, server_config,
                                                           ext_type, data, what):
    # supported_versions and key_share in a ServerHello have exact sizes: one byte short or
    # over is a decode_error, sent to the server (RFC 8446 §4.2.1, §4.2.8).
    client = ClientConnection(client_config, "localhost")
    server = ServerConnection(server_config, hooks=shaper(
        ServerHello, lambda sh: with_ext(sh, ext_type, data)))
    flight = first_flight(client, server)
    expect_failure(lambda: client.receive_data(flight), client, DecodeError, A.decode_error,
                   what, peer=server)
