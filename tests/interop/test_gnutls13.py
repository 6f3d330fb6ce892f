"""TLS 1.3, one-way authentication, against GnuTLS (Debian's gnutls-bin): our client with
``gnutls-serv --echo``, our server with ``gnutls-cli``, limited to TLS 1.3 and to one group at a
time by priority strings."""

from __future__ import annotations

import re
import socket

import pytest

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.io.sync import connect, wrap_server
from lucidtls.pki.credentials import Credential
from lucidtls.pki.trust import TrustStore
from lucidtls.wire.enums import NamedGroup, ProtocolVersion
from tests.interop.peers import (
    TIMEOUT,
    PemFiles,
    ServerThread,
    gnutls_client,
    gnutls_server,
    needs_gnutls,
    payload,
    recv_exactly,
    write_pem_files,
)

pytestmark = [pytest.mark.interop, needs_gnutls]

TLS13_ONLY = "NORMAL:-VERS-ALL:+VERS-TLS1.3"
# Our group and GnuTLS's priority keyword and name for it in "- Description: ...".
GROUPS = {
    NamedGroup.x25519: ("GROUP-X25519", "ECDHE-X25519"),
    NamedGroup.secp256r1: ("GROUP-SECP256R1", "ECDHE-SECP256R1"),
    NamedGroup.secp384r1: ("GROUP-SECP384R1", "ECDHE-SECP384R1"),
}
groups = pytest.mark.parametrize("group", list(GROUPS), ids=lambda g: g.name)


def priority(group: NamedGroup | None) -> str:
    return TLS13_ONLY if group is None else f"{TLS13_ONLY}:-GROUP-ALL:+{GROUPS[group][0]}"


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory, demo_ca: Credential,
        server_cred: Credential) -> PemFiles:
    return write_pem_files(tmp_path_factory.mktemp("gnutls13"), demo_ca, server_cred)


@pytest.mark.parametrize("group", [None, *GROUPS], ids=lambda g: g.name if g else "default")
def test_client_with_gnutls_serv(pem: PemFiles, demo_ca: Credential,
                                 group: NamedGroup | None) -> None:
    # Our default first flight shares X25519MLKEM768 and X25519; a server limited to a NIST
    # curve must ask again (HelloRetryRequest).
    cfg = ClientConfig(trust=TrustStore.from_certificates([demo_ca.leaf]))
    with (
        gnutls_server(pem, priority=priority(group)) as srv,
        connect("localhost", srv.port, cfg, timeout=TIMEOUT) as tls,
    ):
        info = tls.info
        assert info.version == ProtocolVersion.TLS1_3
        assert info.verification == "verified"
        expected = NamedGroup.x25519 if group is None else group
        assert info.group == expected
        assert info.hello_retry == (expected != NamedGroup.x25519)
        for data in (b"ping\n", payload(16 * 1024, seed=3)):  # the echo answers lines
            tls.sendall(data)
            assert recv_exactly(tls.recv, len(data)) == data


@groups
def test_server_with_gnutls_cli(pem: PemFiles, server_cred: Credential,
                                group: NamedGroup) -> None:
    def handler(sock: socket.socket):  # type: ignore[no-untyped-def]
        with wrap_server(sock, ServerConfig(credentials=(server_cred,))) as tls:
            line = bytearray()
            while not line.endswith(b"\n"):
                chunk = tls.recv(100)
                assert chunk, "gnutls-cli closed early"
                line += chunk
            tls.sendall(b"reply:" + line)
            return tls.info

    with (
        ServerThread(handler) as st,
        gnutls_client(st.port, pem.ca, priority=priority(group)) as cli,
    ):
        cli.wait_for("Handshake was completed")
        cli.write(b"ping\n")
        cli.wait_for("reply:ping\n")
        cli.close_stdin()
        assert cli.wait() == 0, cli.describe()
    [info] = st.results
    assert info.group == group and not info.hello_retry
    out = cli.text
    assert "Status: The certificate is trusted." in out, out
    description = re.search(r"- Description: (\S+)", out)
    assert description is not None, out
    assert description.group(1).startswith(f"(TLS1.3-X.509)-({GROUPS[group][1]})"), out
