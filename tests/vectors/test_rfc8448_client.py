"""Our ClientConnection against the RFC 8448 traces, byte for byte: §3 (simple 1-RTT) and §5
(HelloRetryRequest). The RFC's server records are fed in; every record our client writes must
equal the RFC's, and the secrets it logs must equal the ones the RFC prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from lucidtls.config import ClientConfig
from lucidtls.connection import ClientConnection, Hooks, TraceEvent
from lucidtls.crypto import keyschedule as ks
from lucidtls.errors import ProtocolError
from lucidtls.events import (
    ApplicationData,
    ConnectionClosed,
    HandshakeComplete,
    SessionTicketReceived,
)
from lucidtls.wire.enums import AlertDescription, NamedGroup
from lucidtls.wire.enums import ExtensionType as E
from lucidtls.wire.extensions import Cookie, KeyShareClientHello
from lucidtls.wire.messages import ClientHello, NewSessionTicket13

from . import rfc8448 as v
from .helpers import (
    CIPHER_SUITES,
    SIGNATURE_SCHEMES,
    SUITE,
    client_hello_shape,
    fixed,
    open_records,
    read_keylog,
)
from .rfc8448 import S3, S5

G = NamedGroup


def client_config(keylog: Path, groups: tuple[NamedGroup, ...]) -> ClientConfig:
    # The RFC's certificate is a self-signed "rsa" that expired in 2026: no chain verification,
    # but the CertificateVerify signature is still checked (RFC 8446 §4.4.3).
    return ClientConfig(cipher_suites=CIPHER_SUITES, groups=groups,
                        key_share_groups=(G.x25519,), signature_schemes=SIGNATURE_SCHEMES,
                        dangerously_skip_verification=True, middlebox_compat=False,
                        keylog_file=str(keylog))


def take(conn: ClientConnection) -> bytes:
    data = conn.data_to_send()
    assert data, "the client wrote nothing"
    return data


# --- §3 ------------------------------------------------------------------------------------------
def s3_client(tmp_path: Path, trace: list[TraceEvent]) -> ClientConnection:
    # §3's supported_groups also lists secp521r1 and the FFDHE groups, which we do not
    # implement: that one extension comes from the RFC. Ours would list x25519, P-256, P-384.
    hooks = Hooks(random=fixed(S3.CLIENT_RANDOM), key_share_private={G.x25519: S3.CLIENT_PRIVATE},
                  shape=client_hello_shape([S3.CLIENT_HELLO], replace=frozenset({
                      E.supported_groups})),
                  first_record_version=0x0301)
    cfg = client_config(tmp_path / "keys.log", (G.x25519, G.secp256r1, G.secp384r1))
    return ClientConnection(cfg, v.SERVER_NAME, hooks=hooks, observer=trace.append)


def test_s3_full_connection(tmp_path: Path) -> None:
    trace: list[TraceEvent] = []
    client = s3_client(tmp_path, trace)
    assert take(client) == S3.CLIENT_HELLO_RECORD

    client.receive_data(S3.SERVER_HELLO_RECORD)
    assert client.data_to_send() == b""
    client.receive_data(S3.SERVER_FLIGHT_RECORD)
    assert take(client) == S3.CLIENT_FINISHED_RECORD
    events = client.events()
    assert len(events) == 1 and isinstance(events[0], HandshakeComplete)
    info = events[0].info
    assert (info.cipher_suite, info.group, info.signature_scheme) == (0x1301, G.x25519, 0x0804)
    assert not info.hello_retry
    assert info.peer_certificates[0].subject.rfc4514_string() == "CN=rsa"

    # Secrets: the key log has the values, the trace the labels in protocol order.
    logged = read_keylog(tmp_path / "keys.log")
    assert {label: secret for label, (_, secret) in logged.items()} == {
        "SERVER_HANDSHAKE_TRAFFIC_SECRET": S3.SERVER_HS_TRAFFIC,
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET": S3.CLIENT_HS_TRAFFIC,
        "SERVER_TRAFFIC_SECRET_0": S3.SERVER_AP_TRAFFIC,
        "CLIENT_TRAFFIC_SECRET_0": S3.CLIENT_AP_TRAFFIC,
        "EXPORTER_SECRET": S3.EXPORTER_MASTER,
    }
    assert all(random == S3.CLIENT_RANDOM for random, _ in logged.values())
    assert [e.fields["label"] for e in trace if e.kind == "secret"] == list(logged)
    assert client._handshake.resumption_master_secret == S3.RESUMPTION_MASTER  # type: ignore

    # The exporter runs off the RFC's exporter master secret (RFC 8446 §7.5).
    assert client.export_keying_material("EXPERIMENTAL rfc8448", b"ctx", 32) == \
        ks.exporter_13(SUITE.hash, S3.EXPORTER_MASTER, b"EXPERIMENTAL rfc8448", b"ctx", 32)

    # Post-handshake: the ticket, then 50 bytes each way, then close_notify both ways.
    client.receive_data(S3.NEW_SESSION_TICKET_RECORD)
    [(_, nst_raw)] = open_records(S3.SERVER_AP_KEY, S3.SERVER_AP_IV,
                                  S3.NEW_SESSION_TICKET_RECORD)
    nst = NewSessionTicket13.decode(nst_raw[4:])
    assert client.events() == [SessionTicketReceived(nst.ticket_lifetime, nst.ticket)]
    assert nst.ticket_lifetime == 30

    client.send(v.PAYLOAD)
    assert take(client) == S3.CLIENT_APPDATA_RECORD
    client.receive_data(S3.SERVER_APPDATA_RECORD)
    assert client.events() == [ApplicationData(v.PAYLOAD)]
    client.close()
    assert take(client) == S3.CLIENT_CLOSE_RECORD
    client.receive_data(S3.SERVER_CLOSE_RECORD)
    assert client.events() == [ConnectionClosed(clean=True)]


def test_s3_whole_server_flight_in_one_write(tmp_path: Path) -> None:
    # ServerHello and the encrypted flight arriving together, as they would from one send().
    client = s3_client(tmp_path, [])
    take(client)
    client.receive_data(S3.SERVER_HELLO_RECORD + S3.SERVER_FLIGHT_RECORD)
    assert take(client) == S3.CLIENT_FINISHED_RECORD


def test_s3_one_flipped_bit_in_the_flight_is_bad_record_mac(tmp_path: Path) -> None:
    # The byte-for-byte run above must be able to fail: a single bit decides.
    client = s3_client(tmp_path, [])
    take(client)
    client.receive_data(S3.SERVER_HELLO_RECORD)
    flight = bytearray(S3.SERVER_FLIGHT_RECORD)
    flight[100] ^= 1
    with pytest.raises(ProtocolError) as info:
        client.receive_data(bytes(flight))
    assert info.value.alert == AlertDescription.bad_record_mac


def test_s3_other_client_key_changes_everything(tmp_path: Path) -> None:
    hooks = Hooks(random=fixed(S3.CLIENT_RANDOM),
                  key_share_private={G.x25519: bytes(31) + b"\x09"},
                  shape=client_hello_shape([S3.CLIENT_HELLO], replace=frozenset({
                      E.supported_groups})), first_record_version=0x0301)
    cfg = client_config(tmp_path / "keys.log", (G.x25519, G.secp256r1, G.secp384r1))
    client = ClientConnection(cfg, v.SERVER_NAME, hooks=hooks)
    assert take(client) != S3.CLIENT_HELLO_RECORD
    client.receive_data(S3.SERVER_HELLO_RECORD)
    with pytest.raises(ProtocolError) as info:
        client.receive_data(S3.SERVER_FLIGHT_RECORD)
    assert info.value.alert == AlertDescription.bad_record_mac


# --- §5 ------------------------------------------------------------------------------------------
def s5_client(tmp_path: Path, trace: list[TraceEvent]) -> ClientConnection:
    hooks = Hooks(random=fixed(S5.CLIENT_RANDOM),
                  key_share_private={G.x25519: S5.CLIENT_PRIVATE_X25519,
                                     G.secp256r1: S5.CLIENT_PRIVATE_P256},
                  shape=client_hello_shape([S5.CLIENT_HELLO_1, S5.CLIENT_HELLO_2]),
                  first_record_version=0x0301)
    cfg = client_config(tmp_path / "keys.log", (G.x25519, G.secp256r1, G.secp384r1))
    return ClientConnection(cfg, v.SERVER_NAME, hooks=hooks, observer=trace.append)


def test_s5_hello_retry_request(tmp_path: Path) -> None:
    trace: list[TraceEvent] = []
    client = s5_client(tmp_path, trace)
    assert take(client) == S5.CLIENT_HELLO_1_RECORD

    # The HRR asks for P-256 and carries a cookie; our client must echo the cookie itself
    # (the shape hook only reorders and adds padding) and use 0x0303 from now on.
    client.receive_data(S5.HELLO_RETRY_REQUEST_RECORD)
    assert take(client) == S5.CLIENT_HELLO_2_RECORD

    client.receive_data(S5.SERVER_HELLO_RECORD)
    client.receive_data(S5.SERVER_FLIGHT_RECORD)
    assert take(client) == S5.CLIENT_FINISHED_RECORD
    [done] = client.events()
    assert isinstance(done, HandshakeComplete)
    assert done.info.hello_retry and done.info.group == G.secp256r1

    logged = read_keylog(tmp_path / "keys.log")
    assert {label: secret for label, (_, secret) in logged.items()} == {
        "SERVER_HANDSHAKE_TRAFFIC_SECRET": S5.SERVER_HS_TRAFFIC,
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET": S5.CLIENT_HS_TRAFFIC,
        "SERVER_TRAFFIC_SECRET_0": S5.SERVER_AP_TRAFFIC,
        "CLIENT_TRAFFIC_SECRET_0": S5.CLIENT_AP_TRAFFIC,
        "EXPORTER_SECRET": S5.EXPORTER_MASTER,
    }
    assert client._handshake.resumption_master_secret == S5.RESUMPTION_MASTER  # type: ignore

    client.close()
    assert take(client) == S5.CLIENT_CLOSE_RECORD
    client.receive_data(S5.SERVER_CLOSE_RECORD)
    assert client.events() == [ConnectionClosed(clean=True)]


def test_s5_client_echoes_the_cookie_without_help(tmp_path: Path) -> None:
    # Without any shaping, our own second ClientHello carries the HRR's cookie verbatim and
    # exactly one key share, for the group the HRR selected.
    trace: list[TraceEvent] = []
    cfg = client_config(tmp_path / "keys.log", (G.x25519, G.secp256r1))
    client = ClientConnection(cfg, v.SERVER_NAME, hooks=Hooks(random=fixed(S5.CLIENT_RANDOM)),
                              observer=trace.append)
    take(client)
    client.receive_data(S5.HELLO_RETRY_REQUEST_RECORD)
    assert take(client)[:3] == b"\x16\x03\x03"
    ch2_raw = [e.fields["raw"] for e in trace if e.kind == "message"
               and e.fields["direction"] == "sent"][-1]
    ch2 = ClientHello.decode(ch2_raw[4:])
    cookie = ch2.view(Cookie)
    assert cookie is not None and cookie.cookie == S5.COOKIE
    shares = ch2.view(KeyShareClientHello)
    assert shares is not None and [e.group for e in shares.entries] == [G.secp256r1]
