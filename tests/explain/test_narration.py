"""The narration's facts against the connection they describe: the suite named is the suite
used, the certificate named is the one verified, the group, the HelloRetryRequest, the randoms,
the Finished values; secrets only with show_secrets; diagrams and the HTML report."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.connection import ClientConnection, Hooks, ServerConnection
from lucidtls.crypto.suites import SUITES
from lucidtls.errors import ConfigError, TLSError
from lucidtls.events import HandshakeComplete
from lucidtls.explain import (
    Narration,
    Recorder,
    explain,
    read_keylog,
    render_html,
    report_text,
    run_demo,
    svg_diagram,
    text_diagram,
    tls12_available,
)
from lucidtls.pki.credentials import Credential
from lucidtls.pki.trust import TrustStore
from lucidtls.wire.enums import NamedGroup, ProtocolVersion
from tests.pairs import pump

CLIENT_RANDOM_BYTE, SERVER_RANDOM_BYTE = 0xC1, 0x5E
NEEDS_TLS12 = pytest.mark.skipif(not tls12_available(),
                                 reason="TLS 1.2 procedures (handshake/client12, server12) "
                                        "are not in this build yet")

COMBINATIONS = [
    pytest.param("1.3", "ecdhe", False, id="tls13-oneway"),
    pytest.param("1.3", "ecdhe", True, id="tls13-mutual"),
    pytest.param("1.2", "ecdhe", False, id="tls12-ecdhe-oneway", marks=NEEDS_TLS12),
    pytest.param("1.2", "ecdhe", True, id="tls12-ecdhe-mutual", marks=NEEDS_TLS12),
    pytest.param("1.2", "rsa", False, id="tls12-rsa-oneway", marks=NEEDS_TLS12),
    pytest.param("1.2", "rsa", True, id="tls12-rsa-mutual", marks=NEEDS_TLS12),
]


def _configs(version: str, kx: str, mutual: bool, trust: TrustStore, server: Credential,
             client: Credential, keylog: Path | None = None, **client_kw: object
             ) -> tuple[ClientConfig, ServerConfig]:
    common: dict[str, object] = {}
    if version == "1.2":
        common["versions"] = (ProtocolVersion.TLS1_2,)
    if kx == "rsa":
        common["cipher_suites"] = tuple(s.id for s in SUITES.values() if s.kx == "RSA")
        common["allow_rsa_key_exchange"] = True
    cc = ClientConfig(trust=trust, credentials=(client,) if mutual else (),
                      keylog_file=str(keylog) if keylog else None,
                      **{**common, **client_kw})  # type: ignore[arg-type]
    sc = ServerConfig(credentials=(server,), verify_client="required" if mutual else "none",
                      client_trust=trust if mutual else None, **common)  # type: ignore[arg-type]
    return cc, sc


def recorded(cc: ClientConfig, sc: ServerConfig, rec: Recorder | None = None,
             record: tuple[str, ...] = ("client", "server")
             ) -> tuple[ClientConnection, ServerConnection, Recorder]:
    """An in-memory handshake with fixed randoms, both sides (or *record*) observed."""
    rec = rec or Recorder()
    client = ClientConnection(
        cc, "localhost", hooks=Hooks(random=lambda n: bytes([CLIENT_RANDOM_BYTE]) * n),
        observer=rec.client if "client" in record else None)
    server = ServerConnection(
        sc, hooks=Hooks(random=lambda n: bytes([SERVER_RANDOM_BYTE]) * n),
        observer=rec.server if "server" in record else None)
    ce, se = pump(client, server)
    assert any(isinstance(e, HandshakeComplete) for e in ce)
    assert any(isinstance(e, HandshakeComplete) for e in se)
    client.send(b"ping")
    pump(client, server)
    return client, server, rec


def step(n: Narration, number: str) -> str:
    s = next(s for s in n.steps if s.number == number)
    return "\n".join([s.title, s.classic, *s.happened, s.wrong])


@pytest.mark.parametrize(("version", "kx", "mutual"), COMBINATIONS)
def test_narration_facts_match_the_connection(version, kx, mutual, trust, server_cred,
                                              rsa_server_cred, client_cred):
    cred = rsa_server_cred if kx == "rsa" else server_cred
    cc, sc = _configs(version, kx, mutual, trust, cred, client_cred)
    client, server, rec = recorded(cc, sc)
    n = explain(rec)
    info, sinfo = client.info, server.info
    assert info is not None and sinfo is not None and info.verified is not None
    text = n.text()

    # The suite, version and group named are the ones negotiated.
    assert n.suite == info.cipher_name == sinfo.cipher_name
    assert info.cipher_name in step(n, "2") and info.cipher_name in text.splitlines()[0]
    assert n.version == info.version_name
    assert n.group == info.group_name
    assert n.hello_retry is info.hello_retry is False
    assert n.kx == ("RSA" if kx == "rsa" else "ECDHE")
    # The randoms are the ones the connection drew.
    assert n.client_random == bytes([CLIENT_RANDOM_BYTE]) * 32
    assert n.server_random == bytes([SERVER_RANDOM_BYTE]) * 32
    assert n.client_random.hex() in step(n, "1")
    assert n.server_random.hex() in step(n, "2")

    # The certificate named is the one the client verified, with the path that verified it.
    assert n.server_subject == info.verified.subject == info.peer_subject
    path = " → ".join(c.subject.rfc4514_string() for c in info.verified.chain)
    assert f"Verified path: {path}" in step(n, "3")
    assert info.verified.chain[-1].subject == trust.certificates[0].subject

    # Client authentication: steps 3b and 5b exactly when mutual, naming the verified client.
    numbers = [s.number for s in n.steps]
    assert numbers == (["1", "2", "3", "3b", "4", "5", "5b", "6", "7", "8"] if mutual
                       else ["1", "2", "3", "4", "5", "6", "7", "8"])
    assert n.mutual is mutual is sinfo.client_auth
    if mutual:
        assert sinfo.verified is not None
        assert n.client_subject == sinfo.verified.subject == client_cred.leaf.subject \
            .rfc4514_string()
        assert sinfo.verified.subject in step(n, "3b")

    # Key exchange and the private key's role, per version and kx.
    s4, s5 = step(n, "4"), step(n, "5")
    if version == "1.3":
        ks = rec.first("key_share", "client")
        assert ks is not None
        assert f"client share {ks.fields['client_share_len']} bytes" in s4
        assert f"shared secret {ks.fields['shared_secret_len']} bytes" in s4
        assert "Nothing is encrypted to the server's public key" in s4
        assert "it signs" in s5 and "CertificateVerify" in s5
    elif kx == "rsa":
        assert "RSA key of 2048 bits: 256 bytes of ciphertext" in s4
        assert "decrypted" in s5
    else:
        assert f"one-time {info.group_name} public key" in s4
        assert "ServerKeyExchange signature" in s5

    # Finished values are the connection's own.
    for sender in ("client", "server"):
        fin = rec.first("finished", sender, sender=sender)
        assert fin is not None
        assert fin.fields["verify_data"].hex() in step(n, "7")
    # Each side's completion line names what the connection reports.
    assert f"Client: handshake complete — {info.version_name}, {info.cipher_name}" in step(n, "8")

    # Secret labels are named, their values redacted.
    assert n.secret_labels
    assert "value redacted" in step(n, "6")
    assert n.failure is None


@pytest.mark.parametrize(("version", "kx", "mutual"), COMBINATIONS)
def test_diagram_and_protection_markers(version, kx, mutual, trust, server_cred,
                                        rsa_server_cred, client_cred):
    cred = rsa_server_cred if kx == "rsa" else server_cred
    cc, sc = _configs(version, kx, mutual, trust, cred, client_cred)
    _, _, rec = recorded(cc, sc)
    n = explain(rec)
    text = text_diagram(n.messages, marker="[enc]")
    rows = [line for line in text.splitlines() if line.startswith("  │")]
    widths = {sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in r) for r in rows}
    assert len(widths) == 1, text  # arrows aligned
    names = [m.name for m in n.messages]
    assert names[0] == "ClientHello" and "ServerHello" in names
    assert names.count("Finished") == 2
    by_name = {(m.sender, m.name): m for m in n.messages}
    assert not by_name[("client", "ClientHello")].protected
    assert not by_name[("server", "ServerHello")].protected
    assert by_name[("client", "Finished")].protected and by_name[("server", "Finished")].protected
    # TLS 1.3 encrypts the certificate; TLS 1.2 sends it in the clear.
    assert by_name[("server", "Certificate")].protected is (version == "1.3")
    for row in rows:
        if "Certificate " in row and "Request" not in row and "Verify" not in row \
                and "◀" in row:
            assert ("[enc]" in row) is (version == "1.3")
    if version == "1.2":
        assert ("client", "ClientKeyExchange") in by_name
        assert (("server", "ServerKeyExchange") in by_name) is (kx == "ecdhe")
    svg = svg_diagram(n.messages)
    assert svg.startswith("<svg") and svg.count('class="msg"') == len(n.messages)


def test_hello_retry_request_is_told(trust, server_cred, client_cred):
    cc, sc = _configs("1.3", "ecdhe", False, trust, server_cred, client_cred,
                      key_share_groups=(NamedGroup.X25519MLKEM768,),
                      groups=(NamedGroup.X25519MLKEM768, NamedGroup.secp256r1))
    sc = ServerConfig(credentials=sc.credentials, groups=(NamedGroup.secp256r1,))
    client, _, rec = recorded(cc, sc)
    n = explain(rec)
    assert client.info is not None and client.info.hello_retry
    assert n.hello_retry and n.group == "secp256r1" == client.info.group_name
    s1 = step(n, "1")
    assert "HelloRetryRequest" in s1 and "asks for secp256r1" in s1
    assert "secp256r1 (65 bytes)" in s1  # the second hello's single P-256 share
    names = [m.name for m in n.messages if m.name != "ChangeCipherSpec"]
    assert names[:4] == ["ClientHello", "HelloRetryRequest", "ClientHello", "ServerHello"]


def test_secrets_only_with_show_secrets(tmp_path, trust, server_cred, client_cred):
    keylog = tmp_path / "keys.log"
    cc, sc = _configs("1.3", "ecdhe", False, trust, server_cred, client_cred, keylog=keylog)
    _, _, rec = recorded(cc, sc)
    logged = read_keylog(keylog)
    assert {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"} <= set(logged)
    hidden = explain(rec, keylog_path=keylog).text() + render_html(explain(rec))
    shown = explain(rec, keylog_path=keylog, show_secrets=True).text()
    for label, value in logged.items():
        assert value.hex() not in hidden, label
        assert f"{label} = " in shown and value.hex() in shown.replace("\n      ", ""), label


def test_one_side_recorded(trust, server_cred, client_cred):
    # What `connect --explain` has: the client's events only.
    cc, sc = _configs("1.3", "ecdhe", True, trust, server_cred, client_cred)
    client, _, rec = recorded(cc, sc, record=("client",))
    assert rec.sides == ("client",)
    n = explain(rec)
    assert client.info is not None
    assert n.suite == client.info.cipher_name and n.mutual
    assert "server's decision is not in this trace" in step(n, "3b")
    names = [(m.sender, m.name) for m in n.messages]
    assert ("server", "CertificateVerify") in names and ("client", "CertificateVerify") in names
    assert "ClientHello" in report_text(n)


def test_failed_handshake_is_narrated(trust, server_cred, client_cred, other_ca):
    # The client trusts another CA: it rejects the server with unknown_ca, and says so.
    cc = ClientConfig(trust=TrustStore.from_certificates([other_ca.leaf]))
    rec = Recorder()
    client = ClientConnection(cc, "localhost", observer=rec.client)
    server = ServerConnection(ServerConfig(credentials=(server_cred,)), observer=rec.server)
    with pytest.raises(TLSError):
        pump(client, server)
    n = explain(rec)
    assert n.failure is not None and "unknown_ca" in n.failure
    assert "rejected" in step(n, "3")
    assert any(m.name == "Alert(unknown_ca)" for m in n.messages)
    assert "unknown_ca" in render_html(n)


def test_html_is_self_contained(trust, server_cred, client_cred):
    cc, sc = _configs("1.3", "ecdhe", True, trust, server_cred, client_cred)
    _, _, rec = recorded(cc, sc)
    page = render_html(explain(rec))
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    # No external assets: the only URL is the SVG namespace name, which is never fetched, and
    # nothing refers to a resource outside the page. (Only the places a browser loads from are
    # searched for protocol-relative "//" URLs: the hex dumps' text column may hold any bytes.)
    urls = set(re.findall(r"https?://[^\s\"'<>]*", page))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    loads = re.findall(r"""(?:\b(?:src|href|xlink:href|action|srcset)\s*=\s*["']?|url\(\s*["']?"""
                       r"""|@import\s+["']?)(?!#)[^"'\s>)]+""", page)
    assert not loads, loads
    assert not re.search(r"<(script|link|img|iframe)\b", page)
    for name in ("ClientHello", "ServerHello", "EncryptedExtensions", "CertificateRequest",
                 "CertificateVerify", "Finished"):
        assert f'data-name="{name}"' in page
    assert "Where the simple story is wrong" in page
    # Each message's bytes are in the hex dump: the ClientHello starts 01 00 ...
    assert re.search(r"000000  01 00 [0-9a-f]{2} [0-9a-f]{2} 03 03", page)


def test_demo_over_tcp(tmp_path):
    report = tmp_path / "report.html"
    result = run_demo(mutual=True, html_path=report, show_secrets=True)
    assert result.response.startswith(b"HTTP/1.1 200 OK")
    n = result.narration
    assert n.suite == result.client_info.cipher_name
    assert n.server_subject == result.client_info.peer_subject
    assert result.server_info is not None and n.client_subject == result.server_info.peer_subject
    assert result.html_path == report.resolve() and report.read_text().count("<svg") == 1
    assert result.secrets and all(v.hex() in result.text.replace("\n      ", "")
                                  for v in result.secrets.values())
    assert f"HTML report: {report.resolve()}" in result.report()


def test_demo_refuses_what_does_not_exist():
    with pytest.raises(ConfigError, match="RSA key transport exists only in TLS 1.2"):
        run_demo(version="1.3", kx="rsa")
    with pytest.raises(ConfigError):
        run_demo(version="1.1")
