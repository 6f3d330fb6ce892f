"""TLS 1.3, one-way authentication, against the ``openssl`` command (3.0): our client with
``openssl s_server -tls1_3``, our server with ``openssl s_client -tls1_3 -verify_return_error``.
Every suite and group OpenSSL 3.0 shares with us, HelloRetryRequest forced from each side,
KeyUpdate sent by OpenSSL (``k`` / ``K`` on its stdin), and data of 1 byte to 10 MiB."""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path

import pytest

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.connection import ClientConnection, ServerConnection
from lucidtls.crypto.suites import TLS13_DEFAULT_SUITES, Suite
from lucidtls.events import KeyUpdated
from lucidtls.io.sync import TLSSocket, connect, wrap_server
from lucidtls.pki.credentials import Credential
from lucidtls.pki.issue import issue_certificate
from lucidtls.pki.trust import TrustStore
from lucidtls.wire.enums import NamedGroup, ProtocolVersion, SignatureScheme
from tests.interop.peers import (
    LOOPBACK,
    SIZES,
    TIMEOUT,
    PemFiles,
    Process,
    ServerThread,
    digest,
    needs_openssl,
    openssl_client,
    openssl_server,
    payload,
    record_events,
    recv_exactly,
    retry_refused,
    write_pem_files,
)

pytestmark = [pytest.mark.interop, needs_openssl]

# Our group, OpenSSL's name for -groups, and how s_client prints it ("Server Temp Key: ...").
GROUPS = {
    NamedGroup.x25519: ("X25519", "X25519, 253 bits"),
    NamedGroup.secp256r1: ("P-256", "ECDH, prime256v1, 256 bits"),
    NamedGroup.secp384r1: ("P-384", "ECDH, secp384r1, 384 bits"),
}
suites = pytest.mark.parametrize("suite", TLS13_DEFAULT_SUITES, ids=lambda s: s.name)
groups = pytest.mark.parametrize("group", list(GROUPS), ids=lambda g: g.name)
VERIFIED = "Verify return code: 0 (ok)"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("openssl13")


@pytest.fixture(scope="module")
def pem(pki_dir: Path, demo_ca: Credential, server_cred: Credential) -> PemFiles:
    return write_pem_files(pki_dir, demo_ca, server_cred, "ecdsa-p256")


@pytest.fixture(scope="module")
def p384_cred(demo_ca: Credential) -> Credential:
    return issue_certificate(demo_ca, "localhost", dns=["localhost"], ips=["127.0.0.1"],
                             key_type="ecdsa-p384")


# (credential fixture, the scheme we must use, what s_client prints as the peer signature type)
CERTS = {
    "rsa2048": ("rsa_server_cred", SignatureScheme.rsa_pss_rsae_sha256, "RSA-PSS"),
    "ecdsa-p384": ("p384_cred", SignatureScheme.ecdsa_secp384r1_sha384, "ECDSA"),
}


def client_config(ca: Credential, **kwargs: object) -> ClientConfig:
    return ClientConfig(trust=TrustStore.from_certificates([ca.leaf]), **kwargs)  # type: ignore[arg-type]


def recv_line(tls: TLSSocket) -> bytes:
    line = bytearray()
    while not line.endswith(b"\n"):
        chunk = tls.recv(1)
        if not chunk:
            break
        line += chunk
    return bytes(line)


def say_and_hear(tls: TLSSocket, srv: Process, mine: bytes, theirs: bytes) -> None:
    """Our *mine* shows in s_server's output; *theirs*, typed into s_server, reaches us."""
    tls.sendall(mine)
    srv.wait_for(mine)
    srv.write(theirs)
    assert recv_exactly(tls.recv, len(theirs)) == theirs


# --- our client, openssl s_server ------------------------------------------------------------

@suites
@groups
def test_client_each_suite_and_group(pem: PemFiles, demo_ca: Credential, suite: Suite,
                                     group: NamedGroup) -> None:
    with openssl_server(pem, ciphersuites=suite.name, groups=GROUPS[group][0]) as srv:
        cfg = client_config(demo_ca, cipher_suites=(suite.id,), groups=(group,),
                            key_share_groups=(group,))
        with connect("localhost", srv.port, cfg, timeout=TIMEOUT) as tls:
            info = tls.info
            assert info.version == ProtocolVersion.TLS1_3
            assert (info.cipher_suite, info.group) == (suite.id, group)
            assert info.verification == "verified" and not info.hello_retry
            srv.wait_for(f"CIPHER is {suite.name}\n")  # s_server's handshake is done too
            say_and_hear(tls, srv, b"ping from lucidtls\n", b"pong from openssl\n")
        assert srv.wait() == 0, srv.describe()


@pytest.mark.parametrize("key_type", list(CERTS))
def test_client_certificate_types(request: pytest.FixtureRequest, pki_dir: Path,
                                  demo_ca: Credential, key_type: str) -> None:
    fixture, scheme, _ = CERTS[key_type]
    pem = write_pem_files(pki_dir, demo_ca, request.getfixturevalue(fixture), key_type)
    with openssl_server(pem) as srv:
        with connect("localhost", srv.port, client_config(demo_ca), timeout=TIMEOUT) as tls:
            assert tls.info.signature_scheme == scheme
            assert tls.info.verification == "verified"
            srv.wait_for("CIPHER is ")
            say_and_hear(tls, srv, b"hello\n", b"hi\n")
        assert srv.wait() == 0, srv.describe()


@pytest.mark.parametrize("size", list(SIZES))
def test_client_data_both_ways(pem: PemFiles, demo_ca: Credential, size: str) -> None:
    # -quiet: s_server's stdout is exactly the application data it received.
    n = SIZES[size]
    mine, theirs = payload(n, seed=1), payload(n, seed=2)
    with openssl_server(pem, quiet=True) as srv:
        tls = retry_refused(lambda: connect("localhost", srv.port, client_config(demo_ca),
                                            timeout=TIMEOUT))
        with tls:
            tls.sendall(mine)
            feeder = threading.Thread(target=srv.write, args=(theirs,), daemon=True)
            feeder.start()
            received = recv_exactly(tls.recv, n)
            feeder.join(TIMEOUT)
            srv.wait_until(lambda out: len(out) >= n, f"{n} bytes of output")
        assert srv.wait() == 0, srv.describe()
    assert digest(received) == digest(theirs)
    assert digest(srv.output) == digest(mine)


@groups
def test_client_hello_retry_from_openssl(pem: PemFiles, demo_ca: Credential,
                                         group: NamedGroup) -> None:
    # Our only key share is X25519MLKEM768, which OpenSSL 3.0 does not know: s_server must
    # ask for *group* with a HelloRetryRequest (RFC 8446 §4.1.4).
    cfg = client_config(demo_ca, groups=(NamedGroup.X25519MLKEM768, group),
                        key_share_groups=(NamedGroup.X25519MLKEM768,))
    with openssl_server(pem) as srv:
        with connect("localhost", srv.port, cfg, timeout=TIMEOUT) as tls:
            assert tls.info.hello_retry
            assert tls.info.group == group
            srv.wait_for("CIPHER is ")
            say_and_hear(tls, srv, b"after retry\n", b"fine\n")
        assert srv.wait() == 0, srv.describe()


@pytest.mark.parametrize("command", ["k", "K"])
def test_client_key_update_from_openssl(pem: PemFiles, demo_ca: Credential,
                                        command: str) -> None:
    # s_server's "k" sends KeyUpdate(update_not_requested), "K" update_requested: we must
    # read with the next keys, and for "K" answer with our own KeyUpdate (RFC 8446 §4.6.3).
    with openssl_server(pem, extra=["-msg"]) as srv:
        sock = socket.create_connection((LOOPBACK, srv.port), timeout=TIMEOUT)
        conn = ClientConnection(client_config(demo_ca), "localhost")
        seen = record_events(conn)
        with TLSSocket(sock, conn) as tls:
            tls.do_handshake()
            srv.wait_for("CIPHER is ")
            for n in (1, 2):
                srv.write(f"{command}\n".encode())
                srv.wait_for("SSL_do_handshake -> 1", count=n)  # the update went out
                srv.write(f"after update {n}\n".encode())
                assert recv_line(tls) == f"after update {n}\n".encode()
                # and s_server reads what we send after it (with our new keys, for "K")
                tls.sendall(f"ack {n}\n".encode())
                srv.wait_for(f"ack {n}\n")
        assert srv.wait() == 0, srv.describe()
    updates = [e for e in seen if isinstance(e, KeyUpdated)]
    expected = [KeyUpdated("read", requested_by_peer=False)]
    if command == "K":
        expected.append(KeyUpdated("write", requested_by_peer=True))
    assert updates == expected * 2
    # -msg: OpenSSL sent two KeyUpdates and, for "K", received our two answers
    assert key_updates(srv.text) == (2, 2 if command == "K" else 0), srv.text


def key_updates(out: str) -> tuple[int, int]:
    """(sent, received) KeyUpdate messages in an openssl app's -msg output."""
    return (len(re.findall(r">>> TLS 1\.3, Handshake \[length \w+\], KeyUpdate", out)),
            len(re.findall(r"<<< TLS 1\.3, Handshake \[length \w+\], KeyUpdate", out)))


# --- our server, openssl s_client ------------------------------------------------------------

def line_server(config: ServerConfig, reply: bytes = b"pong\n"):  # type: ignore[no-untyped-def]
    """A handler: complete the handshake, read one line, answer *reply*, close."""
    def handler(sock: socket.socket):  # type: ignore[no-untyped-def]
        with wrap_server(sock, config) as tls:
            line = recv_line(tls)
            tls.sendall(reply)
            return tls.info, line
    return handler


def s_client_info(out: str) -> dict[str, str]:
    """What s_client printed about the session."""
    fields = {}
    for key, pattern in (("cipher", r"New, TLSv1\.3, Cipher is (\S+)"),
                         ("temp_key", r"Server Temp Key: (.+)"),
                         ("sig_type", r"Peer signature type: (\S+)"),
                         ("verify", r"(Verify return code: .+)")):
        m = re.search(pattern, out)
        if m:
            fields[key] = m.group(1)
    return fields


@suites
@groups
def test_server_each_suite_and_group(pem: PemFiles, server_cred: Credential, suite: Suite,
                                     group: NamedGroup) -> None:
    config = ServerConfig(credentials=(server_cred,))
    with (
        ServerThread(line_server(config)) as st,
        openssl_client(st.port, pem.ca, ciphersuites=suite.name, groups=GROUPS[group][0],
                       extra=["-ign_eof"]) as cli,
    ):
        cli.write(b"ping from openssl\n")
        cli.close_stdin()  # -ign_eof: s_client still waits for our reply and close_notify
        assert cli.wait() == 0, cli.describe()
    [(info, line)] = st.results
    assert line == b"ping from openssl\n"
    assert (info.cipher_suite, info.group) == (suite.id, group)
    assert not info.hello_retry
    out = cli.text
    assert s_client_info(out) == {"cipher": suite.name, "temp_key": GROUPS[group][1],
                                  "sig_type": "ECDSA", "verify": VERIFIED}, out
    assert "pong\n" in out


@pytest.mark.parametrize("key_type", list(CERTS))
def test_server_certificate_types(request: pytest.FixtureRequest, pki_dir: Path,
                                  demo_ca: Credential, key_type: str) -> None:
    fixture, scheme, printed = CERTS[key_type]
    cred = request.getfixturevalue(fixture)
    pem = write_pem_files(pki_dir, demo_ca, cred, key_type)
    with (
        ServerThread(line_server(ServerConfig(credentials=(cred,)))) as st,
        openssl_client(st.port, pem.ca, extra=["-ign_eof"]) as cli,
    ):
        cli.write(b"hello\n")
        cli.close_stdin()
        assert cli.wait() == 0, cli.describe()
    [(info, _)] = st.results
    assert info.signature_scheme == scheme
    fields = s_client_info(cli.text)
    assert (fields.get("sig_type"), fields.get("verify")) == (printed, VERIFIED), cli.text


@pytest.mark.parametrize("size", list(SIZES))
def test_server_data_both_ways(pem: PemFiles, server_cred: Credential, size: str) -> None:
    n = SIZES[size]
    mine, theirs = payload(n, seed=1), payload(n, seed=2)

    def handler(sock: socket.socket) -> str:
        with wrap_server(sock, ServerConfig(credentials=(server_cred,))) as tls:
            received = recv_exactly(tls.recv, n)
            tls.sendall(mine)
            return digest(received)

    # -quiet (implies -ign_eof) and -verify_quiet: s_client's stdout is exactly the data it
    # received (a failed verification still ends it: -verify_return_error).
    with (
        ServerThread(handler) as st,
        openssl_client(st.port, pem.ca, extra=["-quiet", "-verify_quiet"]) as cli,
    ):
        feeder = threading.Thread(target=cli.write, args=(theirs,), daemon=True)
        feeder.start()
        feeder.join(TIMEOUT)
        cli.close_stdin()
        assert cli.wait() == 0, cli.describe()
    assert st.results == [digest(theirs)]
    assert digest(cli.output) == digest(mine)


@pytest.mark.parametrize("group", [NamedGroup.secp256r1, NamedGroup.secp384r1],
                         ids=lambda g: g.name)
def test_server_hello_retry_to_openssl(pem: PemFiles, server_cred: Credential,
                                       group: NamedGroup) -> None:
    # s_client's first flight shares only X25519; we accept only *group*: HelloRetryRequest.
    config = ServerConfig(credentials=(server_cred,), groups=(group,))
    with (
        ServerThread(line_server(config)) as st,
        openssl_client(st.port, pem.ca, extra=["-ign_eof", "-msg"]) as cli,
    ):
        cli.write(b"ping\n")
        cli.close_stdin()
        assert cli.wait() == 0, cli.describe()
    [(info, line)] = st.results
    assert info.hello_retry and info.group == group and line == b"ping\n"
    out = cli.text
    # -msg lists each handshake message: a second ClientHello answers the retry
    assert len(re.findall(r">>> TLS 1\.3, Handshake \[length \w+\], ClientHello", out)) == 2, out
    assert s_client_info(out)["temp_key"] == GROUPS[group][1]
    assert VERIFIED in out and "pong\n" in out


@pytest.mark.parametrize("command", ["k", "K"])
def test_server_key_update_from_openssl(pem: PemFiles, server_cred: Credential,
                                        command: str) -> None:
    # Commands work only in s_client's interactive mode (neither -quiet nor -ign_eof), where
    # "k"/"K" at the start of a line schedules a KeyUpdate sent with the next write.
    def handler(sock: socket.socket) -> list[object]:
        conn = ServerConnection(ServerConfig(credentials=(server_cred,)))
        seen = record_events(conn)
        with TLSSocket(sock, conn) as tls:
            tls.do_handshake()
            while line := recv_line(tls):
                tls.sendall(b"ack " + line)
        return list(seen)

    with ServerThread(handler) as st, openssl_client(st.port, pem.ca, extra=["-msg"]) as cli:
        cli.wait_for(VERIFIED)
        for n in (1, 2):
            cli.write(f"{command}\n".encode())
            cli.wait_for("KEYUPDATE", count=n)
            cli.write(f"after update {n}\n".encode())
            cli.wait_for(f"ack after update {n}\n")  # s_client reads our (new) keys
        cli.close_stdin()
        assert cli.wait() == 0, cli.describe()
    [seen] = st.results
    updates = [e for e in seen if isinstance(e, KeyUpdated)]
    expected = [KeyUpdated("read", requested_by_peer=False)]
    if command == "K":
        expected.append(KeyUpdated("write", requested_by_peer=True))
    assert updates == expected * 2
    assert key_updates(cli.text) == (2, 2 if command == "K" else 0), cli.text
