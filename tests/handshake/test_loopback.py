"""lucidtls client against lucidtls server, in memory: every suite and group, HRR, ALPN, SNI,
KeyUpdate, exporters, fragmentation and coalescing."""

from __future__ import annotations

import pytest

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.connection import ClientConnection, ServerConnection
from lucidtls.crypto.suites import TLS13_DEFAULT_SUITES
from lucidtls.errors import ProtocolError
from lucidtls.events import ApplicationData, ConnectionClosed, HandshakeComplete, KeyUpdated
from lucidtls.wire.enums import AlertDescription, NamedGroup
from tests.pairs import pump, split_records

GROUPS = [NamedGroup.X25519MLKEM768, NamedGroup.x25519, NamedGroup.secp256r1,
          NamedGroup.secp384r1]


def handshake(cc: ClientConfig, sc: ServerConfig, name: str = "localhost"):
    client = ClientConnection(cc, name)
    server = ServerConnection(sc)
    ce, se = pump(client, server)
    assert any(isinstance(e, HandshakeComplete) for e in ce)
    assert any(isinstance(e, HandshakeComplete) for e in se)
    return client, server


@pytest.mark.parametrize("suite", TLS13_DEFAULT_SUITES, ids=lambda s: s.name)
@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
def test_every_suite_and_group(client_config, server_config, suite, group):
    cc = ClientConfig(trust=client_config.trust, cipher_suites=(suite.id,), groups=(group,),
                      key_share_groups=(group,))
    client, server = handshake(cc, server_config)
    assert client.info.cipher_suite == suite.id == server.info.cipher_suite
    assert client.info.group == group == server.info.group
    assert client.info.verification == "verified"
    assert not client.info.hello_retry
    client.send(b"ping")
    _, se = pump(client, server)
    assert se == [ApplicationData(b"ping")]
    server.send(b"pong")
    ce, _ = pump(client, server)
    assert ce == [ApplicationData(b"pong")]


@pytest.mark.parametrize("group", [NamedGroup.secp256r1, NamedGroup.secp384r1,
                                   NamedGroup.x25519])
def test_hello_retry_request(client_config, server_config, group):
    # The client shares only the hybrid; the server only accepts *group*: one retry.
    cc = ClientConfig(trust=client_config.trust, key_share_groups=(NamedGroup.X25519MLKEM768,),
                      groups=(NamedGroup.X25519MLKEM768, group))
    sc = ServerConfig(credentials=server_config.credentials, groups=(group,))
    client, server = handshake(cc, sc)
    assert client.info.hello_retry and server.info.hello_retry
    assert client.info.group == group


def test_default_prefers_post_quantum_hybrid(client_config, server_config):
    client, _server = handshake(client_config, server_config)
    assert client.info.group == NamedGroup.X25519MLKEM768
    assert client.info.version_name == "TLSv1.3"


def test_alpn_and_sni(client_config, server_config):
    cc = ClientConfig(trust=client_config.trust, alpn_protocols=("h2", "http/1.1"))
    sc = ServerConfig(credentials=server_config.credentials, alpn_protocols=("http/1.1",))
    client, server = handshake(cc, sc)
    assert client.info.alpn_protocol == server.info.alpn_protocol == "http/1.1"
    assert server.info.server_name == "localhost"


def test_alpn_mismatch_is_no_application_protocol(client_config, server_config):
    cc = ClientConfig(trust=client_config.trust, alpn_protocols=("h2",))
    sc = ServerConfig(credentials=server_config.credentials, alpn_protocols=("http/1.1",))
    client, server = ClientConnection(cc, "localhost"), ServerConnection(sc)
    with pytest.raises(ProtocolError) as info:
        pump(client, server)
    assert info.value.alert == AlertDescription.no_application_protocol


def test_ip_address_name_verified_without_sni(client_config, server_config):
    client, server = handshake(client_config, server_config, "127.0.0.1")
    assert server.info.server_name is None  # RFC 6066: no IP literals in SNI
    assert client.info.verified is not None


@pytest.mark.parametrize("size", [1, 16 * 1024, 10 * 1024 * 1024])
def test_data_crosses_intact(client_config, server_config, size):
    client, server = handshake(client_config, server_config)
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    client.send(payload)
    wire = client.data_to_send()
    # 2^14-byte fragments: ceil(size / 16384) records.
    assert len(split_records(wire)) == -(-size // 16384)
    server.receive_data(wire)
    got = b"".join(e.data for e in server.events() if isinstance(e, ApplicationData))
    assert got == payload


def test_byte_at_a_time_delivery(client_config, server_config):
    client, server = ClientConnection(client_config, "localhost"), ServerConnection(server_config)
    for _ in range(4):
        for src, dst in ((client, server), (server, client)):
            for b in src.data_to_send():
                dst.receive_data(bytes([b]))
    assert client.handshake_complete and server.handshake_complete


def test_key_update_both_ways(client_config, server_config):
    client, server = handshake(client_config, server_config)
    client.key_update(request_peer=True)
    client.send(b"after update")
    ce, se = pump(client, server)
    assert KeyUpdated("read", requested_by_peer=False) in se
    assert KeyUpdated("write", requested_by_peer=True) in se
    assert ApplicationData(b"after update") in se
    assert KeyUpdated("read", requested_by_peer=False) in ce
    server.send(b"server after update")
    ce, _ = pump(client, server)
    assert ce == [ApplicationData(b"server after update")]


def test_send_rekeys_at_the_confidentiality_limit(client_config, server_config):
    # RFC 8446 §5.5: the sender updates its keys before the AEAD's record limit.
    client, server = handshake(client_config, server_config)
    client._record._write13.seq = server._record._read13.seq = client._write_limit - 1
    client.send(b"last under the old key")
    client.send(b"first under the new key")
    _, se = pump(client, server)
    assert se == [ApplicationData(b"last under the old key"),
                  KeyUpdated("read", requested_by_peer=False),
                  ApplicationData(b"first under the new key")]
    assert client._record.write_seq == 1


def test_exporter_agrees(client_config, server_config):
    client, server = handshake(client_config, server_config)
    a = client.export_keying_material("EXPERIMENTAL test", b"ctx", 32)
    b = server.export_keying_material("EXPERIMENTAL test", b"ctx", 32)
    assert a == b and len(a) == 32
    assert a != client.export_keying_material("EXPERIMENTAL test", b"other", 32)


def test_close_notify(client_config, server_config):
    client, server = handshake(client_config, server_config)
    client.close()
    _, se = pump(client, server)
    assert se == [ConnectionClosed(clean=True)]


def test_truncation_is_reported(client_config, server_config):
    _client, server = handshake(client_config, server_config)
    server.receive_data(b"")
    assert server.events() == [ConnectionClosed(clean=False)]


def test_keylog_file(tmp_path, trust, server_config):
    path = tmp_path / "keys.log"
    cc = ClientConfig(trust=trust, keylog_file=str(path))
    _client, _ = handshake(cc, server_config)
    labels = [line.split()[0] for line in path.read_text().splitlines()]
    assert labels == ["SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                      "SERVER_TRAFFIC_SECRET_0", "CLIENT_TRAFFIC_SECRET_0", "EXPORTER_SECRET"]


def test_mutual_tls(trust, server_cred, client_cred):
    cc = ClientConfig(trust=trust, credentials=(client_cred,))
    sc = ServerConfig(credentials=(server_cred,), verify_client="required", client_trust=trust)
    client, server = handshake(cc, sc)
    assert client.info.client_auth and server.info.client_auth
    assert server.info.peer_subject == "CN=alice"
    assert server.info.verified is not None


def test_post_handshake_auth(trust, server_cred, client_cred):
    from lucidtls.events import PostHandshakeAuth
    cc = ClientConfig(trust=trust, credentials=(client_cred,), post_handshake_auth=True)
    sc = ServerConfig(credentials=(server_cred,), client_trust=trust)
    client, server = handshake(cc, sc)
    assert not server.info.client_auth
    resumption = client._handshake.resumption_master_secret
    assert server._handshake.resumption_master_secret == resumption
    server.request_client_certificate()
    client.send(b"interleaved")
    ce, se = pump(client, server)
    assert PostHandshakeAuth(True, "CN=alice") in se
    assert ApplicationData(b"interleaved") in se
    assert server.info.client_auth and server.info.peer_subject == "CN=alice"
    assert PostHandshakeAuth(True, "CN=alice") in ce
    # RFC 8446 §7.1: res master covers ClientHello..client Finished of the handshake only.
    assert client._handshake.resumption_master_secret == resumption
    assert server._handshake.resumption_master_secret == resumption


@pytest.mark.parametrize("chunk", [3, 5, 4099, 16406, 16407, 65536])
def test_data_split_across_receives(client_config, server_config, chunk):
    # Records straddle the receives at every offset: the record layer copies only the
    # straddling record and must join it exactly.
    client, server = handshake(client_config, server_config)
    payload = bytes(range(256)) * 700
    for n in (1, 300, 16384, 40000, len(payload)):
        client.send(payload[:n])
    wire = client.data_to_send()
    got = []
    for i in range(0, len(wire), chunk):
        server.receive_data(wire[i:i + chunk])
        got += [e.data for e in server.events() if isinstance(e, ApplicationData)]
    expected = b"".join(payload[:n] for n in (1, 300, 16384, 40000, len(payload)))
    assert b"".join(got) == expected


def test_one_receive_mixing_data_padding_key_update_and_close(client_config, server_config):
    # A single receive holding application data, padded records, a KeyUpdate and close_notify:
    # events come out in order, the new key takes over mid-receive, nothing after close_notify
    # is delivered (RFC 8446 §4.6.3, §5.4, §6.1).
    client, server = handshake(client_config, server_config)
    client.send(b"a" * 20000)  # two records
    client._record.pad_to = 64
    client.send(b"padded")
    client._record.pad_to = 0
    client.key_update(request_peer=False)
    client.send(b"b" * 17000)  # under the new key
    client.close()
    wire = client.data_to_send()
    server.receive_data(wire)
    events = server.events()
    data = b"".join(e.data for e in events if isinstance(e, ApplicationData))
    assert data == b"a" * 20000 + b"padded" + b"b" * 17000
    assert KeyUpdated("read", requested_by_peer=False) in events
    assert events.index(KeyUpdated("read", requested_by_peer=False)) < len(events) - 3
    assert events[-1] == ConnectionClosed(clean=True)
