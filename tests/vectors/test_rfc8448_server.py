"""Our ServerConnection against the RFC 8448 traces, byte for byte: §3 (simple 1-RTT) and §5
(HelloRetryRequest). The RFC's client records are fed in; every record our server writes must
equal the RFC's, and the secrets it logs must equal the ones the RFC prints.

The one thing that cannot be reproduced is the RSA-PSS signature in CertificateVerify (PSS is
randomized): the sign hook checks that the RFC's signature verifies over exactly the content
our server asked to sign, and returns it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lucidtls.config import ServerConfig
from lucidtls.connection import Hooks, ServerConnection, TraceEvent
from lucidtls.crypto import keyschedule as ks
from lucidtls.crypto import signatures
from lucidtls.errors import ProtocolError
from lucidtls.events import ApplicationData, ConnectionClosed, HandshakeComplete
from lucidtls.wire.enums import AlertDescription, NamedGroup
from lucidtls.wire.enums import ExtensionType as E
from lucidtls.wire.messages import CertificateVerify, EncryptedExtensions, ServerHello

from . import rfc8448 as v
from .helpers import (
    CIPHER_SUITES,
    SUITE,
    fixed,
    open_records,
    read_keylog,
    rsa_credential,
    split_messages,
)
from .rfc8448 import S3, S5

G = NamedGroup
RSA_PSS_RSAE_SHA256 = 0x0804


def flight_messages(key: bytes, iv: bytes, record: bytes) -> list[bytes]:
    """EE, Certificate, CertificateVerify, Finished of the RFC's protected server flight."""
    [(ctype, content)] = open_records(key, iv, record)
    assert ctype == 22
    return split_messages(content)


def server_shape(rfc_ee: bytes, rfc_hrr: bytes | None = None) -> Callable[[Any], Any]:
    """Add to our messages what the RFC's server (NSS) adds, in its order.

    EncryptedExtensions: NSS sends its supported_groups (RFC 8446 §4.2.7 allows it; we do not
    bother) and record_size_limit (RFC 8449, not implemented) before the server_name
    acknowledgement, which is ours. HelloRetryRequest: NSS adds a cookie (we keep no state
    that needs one) and orders key_share, cookie, supported_versions; key_share and
    supported_versions are ours.
    """
    def reorder(ours: list[tuple[int, bytes]], rfc: list[tuple[int, bytes]],
                borrowed: set[int]) -> list[tuple[int, bytes]]:
        mine, theirs = dict(ours), dict(rfc)
        assert set(mine) == set(theirs) - borrowed, (sorted(mine), sorted(theirs))
        return [(t, theirs[t] if t in borrowed else mine[t]) for t, _ in rfc]

    def shape(msg: Any) -> Any:
        if isinstance(msg, EncryptedExtensions):
            ee = EncryptedExtensions.decode(rfc_ee[4:])
            msg.extensions = reorder(msg.extensions, ee.extensions,
                                     {E.supported_groups, E.record_size_limit})
        elif isinstance(msg, ServerHello) and msg.is_hello_retry_request:
            assert rfc_hrr is not None
            hrr = ServerHello.decode(rfc_hrr[4:])
            msg.extensions = reorder(msg.extensions, hrr.extensions, {E.cookie})
        return msg

    return shape


def rfc_signature(rfc_cv: bytes, calls: list[bytes]) -> Callable[[int, Any, bytes], bytes]:
    cv = CertificateVerify.decode(rfc_cv[4:])

    def sign(scheme: int, private_key: Any, content: bytes) -> bytes:
        assert scheme == cv.algorithm == RSA_PSS_RSAE_SHA256
        # Raises unless the RFC's signature is valid over OUR content: this checks the
        # transcript up to Certificate and the RFC 8446 §4.4.3 signing input.
        signatures.verify(scheme, private_key.public_key(), content, cv.signature)
        calls.append(content)
        return cv.signature

    return sign


def server_config(keylog: Path, groups: tuple[NamedGroup, ...]) -> ServerConfig:
    return ServerConfig(credentials=(rsa_credential(),), cipher_suites=CIPHER_SUITES,
                        groups=groups, keylog_file=str(keylog))


def take(conn: ServerConnection) -> bytes:
    data = conn.data_to_send()
    assert data, "the server wrote nothing"
    return data


def check_keylog(path: Path, client_random: bytes, expected: dict[str, bytes]) -> None:
    logged = read_keylog(path)
    assert {label: secret for label, (_, secret) in logged.items()} == expected
    assert all(random == client_random for random, _ in logged.values())


# --- §3 ------------------------------------------------------------------------------------------
def s3_server(tmp_path: Path, signed: list[bytes],
              trace: list[TraceEvent] | None = None) -> ServerConnection:
    ee, _, cv, _ = split_messages(S3.SERVER_FLIGHT)
    hooks = Hooks(random=fixed(S3.SERVER_RANDOM),
                  key_share_private={G.x25519: S3.SERVER_PRIVATE},
                  sign=rfc_signature(cv, signed), shape=server_shape(ee))
    cfg = server_config(tmp_path / "keys.log", (G.x25519, G.secp256r1, G.secp384r1))
    return ServerConnection(cfg, hooks=hooks, observer=trace.append if trace is not None else None)


def test_s3_full_connection(tmp_path: Path) -> None:
    signed: list[bytes] = []
    trace: list[TraceEvent] = []
    server = s3_server(tmp_path, signed, trace)
    assert server.data_to_send() == b""

    server.receive_data(S3.CLIENT_HELLO_RECORD)
    # ServerHello in the clear, then EE..Finished in one protected record.
    assert take(server) == S3.SERVER_HELLO_RECORD + S3.SERVER_FLIGHT_RECORD
    assert len(signed) == 1
    assert server.events() == []

    server.receive_data(S3.CLIENT_FINISHED_RECORD)
    [done] = server.events()
    assert isinstance(done, HandshakeComplete)
    info = done.info
    assert (info.cipher_suite, info.group, info.signature_scheme) == \
        (0x1301, G.x25519, RSA_PSS_RSAE_SHA256)
    assert info.server_name == v.SERVER_NAME and not info.hello_retry
    assert server.data_to_send() == b""

    check_keylog(tmp_path / "keys.log", S3.CLIENT_RANDOM, {
        "SERVER_HANDSHAKE_TRAFFIC_SECRET": S3.SERVER_HS_TRAFFIC,
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET": S3.CLIENT_HS_TRAFFIC,
        "SERVER_TRAFFIC_SECRET_0": S3.SERVER_AP_TRAFFIC,
        "CLIENT_TRAFFIC_SECRET_0": S3.CLIENT_AP_TRAFFIC,
        "EXPORTER_SECRET": S3.EXPORTER_MASTER,
    })
    assert [e.fields["label"] for e in trace if e.kind == "secret"] == \
        list(read_keylog(tmp_path / "keys.log"))
    assert server._handshake.resumption_master_secret == S3.RESUMPTION_MASTER  # type: ignore
    assert server.export_keying_material("EXPERIMENTAL rfc8448", None, 32) == \
        ks.exporter_13(SUITE.hash, S3.EXPORTER_MASTER, b"EXPERIMENTAL rfc8448", b"", 32)

    # Our server issues no tickets yet; the RFC's NewSessionTicket goes through our record
    # layer so that the sequence numbers line up with the trace (and it must come out as the
    # RFC's record: no padding, server application key, sequence 0).
    [(_, nst)] = open_records(S3.SERVER_AP_KEY, S3.SERVER_AP_IV, S3.NEW_SESSION_TICKET_RECORD)
    server._record.write(22, nst)
    assert take(server) == S3.NEW_SESSION_TICKET_RECORD

    server.receive_data(S3.CLIENT_APPDATA_RECORD)
    assert server.events() == [ApplicationData(v.PAYLOAD)]
    server.send(v.PAYLOAD)
    assert take(server) == S3.SERVER_APPDATA_RECORD
    server.receive_data(S3.CLIENT_CLOSE_RECORD)
    assert server.events() == [ConnectionClosed(clean=True)]
    server.close()
    assert take(server) == S3.SERVER_CLOSE_RECORD


def test_s3_wrong_client_finished_is_refused(tmp_path: Path) -> None:
    # The RFC's client Finished is the only one our server takes: re-encrypt another
    # verify_data under the RFC's client handshake key and it must be decrypt_error.
    from lucidtls.crypto.aead import Tls13Protection

    server = s3_server(tmp_path, [])
    server.receive_data(S3.CLIENT_HELLO_RECORD)
    take(server)
    [(_, fin)] = open_records(S3.CLIENT_HS_KEY, S3.CLIENT_HS_IV, S3.CLIENT_FINISHED_RECORD)
    forged = fin[:-1] + bytes([fin[-1] ^ 1])
    record = Tls13Protection(SUITE, S3.CLIENT_HS_KEY, S3.CLIENT_HS_IV).seal(forged + b"\x16")
    with pytest.raises(ProtocolError) as info:
        server.receive_data(record)
    assert info.value.alert == AlertDescription.decrypt_error


# --- §5 ------------------------------------------------------------------------------------------
def test_s5_hello_retry_request(tmp_path: Path) -> None:
    ee, _, cv, _ = flight_messages(S5.SERVER_HS_KEY, S5.SERVER_HS_IV, S5.SERVER_FLIGHT_RECORD)
    signed: list[bytes] = []
    hooks = Hooks(random=fixed(S5.SERVER_RANDOM),
                  key_share_private={G.secp256r1: S5.SERVER_PRIVATE_P256},
                  sign=rfc_signature(cv, signed),
                  shape=server_shape(ee, S5.HELLO_RETRY_REQUEST))
    # The RFC's server "prefers P-256"; ours takes any mutual group the client already sent a
    # share for (saving the round trip), so P-256 is the only group it enables here.
    server = ServerConnection(server_config(tmp_path / "keys.log", (G.secp256r1,)), hooks=hooks)

    server.receive_data(S5.CLIENT_HELLO_1_RECORD)
    # No CCS after the HRR: the client's session id is empty (RFC 8446 Appendix D.4).
    assert take(server) == S5.HELLO_RETRY_REQUEST_RECORD
    server.receive_data(S5.CLIENT_HELLO_2_RECORD)
    assert take(server) == S5.SERVER_HELLO_RECORD + S5.SERVER_FLIGHT_RECORD
    assert len(signed) == 1

    server.receive_data(S5.CLIENT_FINISHED_RECORD)
    [done] = server.events()
    assert isinstance(done, HandshakeComplete)
    assert done.info.hello_retry and done.info.group == G.secp256r1
    check_keylog(tmp_path / "keys.log", S5.CLIENT_RANDOM, {
        "SERVER_HANDSHAKE_TRAFFIC_SECRET": S5.SERVER_HS_TRAFFIC,
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET": S5.CLIENT_HS_TRAFFIC,
        "SERVER_TRAFFIC_SECRET_0": S5.SERVER_AP_TRAFFIC,
        "CLIENT_TRAFFIC_SECRET_0": S5.CLIENT_AP_TRAFFIC,
        "EXPORTER_SECRET": S5.EXPORTER_MASTER,
    })
    assert server._handshake.resumption_master_secret == S5.RESUMPTION_MASTER  # type: ignore

    server.receive_data(S5.CLIENT_CLOSE_RECORD)
    assert server.events() == [ConnectionClosed(clean=True)]
    server.close()
    assert take(server) == S5.SERVER_CLOSE_RECORD
