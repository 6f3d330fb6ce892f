"""TLS 1.2 against GnuTLS's own tools (Debian's gnutls-bin): our client with ``gnutls-serv
--echo``, our server with ``gnutls-cli``, each limited by a priority string to TLS 1.2 and to one
suite at a time. Covers every default ECDHE suite both ways, RSA key transport once opted in
(RFC 5288), the extended master secret we require (RFC 7627), mutual TLS and a client-initiated
renegotiation that we refuse (RFC 5746, RFC 5246 §7.2.2)."""

from __future__ import annotations

import functools
import re
import socket
import subprocess
import threading
from typing import Any

import pytest

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.connection import TraceEvent
from lucidtls.crypto.suites import TLS12_DEFAULT_SUITES, TLS12_RSA_KX_SUITES, Suite
from lucidtls.errors import HandshakeFailure, PeerAlertError, TLSError
from lucidtls.io.sync import TLSSocket, wrap_client, wrap_server
from lucidtls.pki.credentials import Credential
from lucidtls.pki.issue import issue_certificate
from lucidtls.pki.trust import TrustStore
from lucidtls.wire.enums import AlertDescription, AlertLevel, ProtocolVersion
from tests.interop.peers import (
    GNUTLS_CLI,
    LOOPBACK,
    TIMEOUT,
    PeerFailed,
    PemFiles,
    Process,
    ServerThread,
    digest,
    gnutls_client,
    gnutls_server,
    needs_gnutls,
    payload,
    recv_exactly,
    write_pem_files,
)

pytestmark = [pytest.mark.interop, needs_gnutls]

A = AlertDescription
TLS12 = ProtocolVersion.TLS1_2
TLS12_ONLY = "NORMAL:-VERS-ALL:+VERS-TLS1.2"
N = 256 * 1024  # bytes moved each way per connection
CHUNK = 16 * 1024
# GnuTLS's names for our AEADs (priority keyword and "- Cipher:" value alike).
CIPHERS = {"AES_128_GCM": "AES-128-GCM", "AES_256_GCM": "AES-256-GCM",
           "CHACHA20_POLY1305": "CHACHA20-POLY1305"}

suites = pytest.mark.parametrize("suite", TLS12_DEFAULT_SUITES, ids=lambda s: s.openssl_name)
rsa_suites = pytest.mark.parametrize("suite", TLS12_RSA_KX_SUITES, ids=lambda s: s.openssl_name)


def gnutls_kx(suite: Suite) -> str:
    return "RSA" if suite.kx == "RSA" else f"ECDHE-{suite.auth}"


def priority(suite: Suite, extra: str = "") -> str:
    """TLS 1.2 and exactly *suite*. ``+RSA`` is what GnuTLS needs for RSA key transport (it is
    off by default in recent releases)."""
    return (f"{TLS12_ONLY}:-KX-ALL:+{gnutls_kx(suite)}:-CIPHER-ALL:+{CIPHERS[suite.aead]}"
            f"{extra}")


@functools.cache
def no_ems_keyword() -> str | None:
    """The priority keyword that stops GnuTLS from offering or accepting the extended master
    secret. GnuTLS 3.7 spells it ``%NO_SESSION_HASH`` (``%NO_EXTMASTER`` is a syntax error
    there); ``gnutls-cli --list`` fails on a keyword it does not know."""
    assert GNUTLS_CLI is not None
    for keyword in ("%NO_SESSION_HASH", "%NO_EXTMASTER"):
        listed = subprocess.run([GNUTLS_CLI, "--list", "--priority", f"NORMAL:{keyword}"],
                                capture_output=True, timeout=TIMEOUT, check=False)
        if listed.returncode == 0:
            return keyword
    return None


def description(out: str) -> str:
    """GnuTLS's one-line summary, e.g. ``(TLS1.2-X.509)-(ECDHE-X25519)-(ECDSA-SHA256)-
    (AES-128-GCM)``; for RSA key transport ``(TLS1.2-X.509)-(RSA)-(AES-128-GCM)``."""
    found = re.search(r"^- Description: (\S+)", out, re.MULTILINE)
    assert found is not None, out
    return found.group(1)


def expected_description(suite: Suite) -> re.Pattern[str]:
    cipher = re.escape(CIPHERS[suite.aead])
    if suite.kx == "RSA":
        return re.compile(rf"\(TLS1\.2-X\.509\)-\(RSA\)-\({cipher}\)")
    # The signature names the certificate's key type: ECDSA-..., RSA-SHA..., RSA-PSS-...
    return re.compile(rf"\(TLS1\.2-X\.509\)-\(ECDHE-[A-Z0-9]+\)-\({suite.auth}-[A-Z0-9-]+\)"
                      rf"-\({cipher}\)")


def options(out: str) -> str:
    found = re.search(r"^- Options: (.*)$", out, re.MULTILINE)
    assert found is not None, out
    return found.group(1)


def serv_session(out: str) -> dict[str, str]:
    """What gnutls-serv prints about an accepted session (Version, Key Exchange, Cipher, ...)."""
    return dict(re.findall(r"^- (Version|Key Exchange|Cipher|MAC|Options): (.*?)\s*$", out,
                           re.MULTILINE))


def check_info(info: Any, suite: Suite) -> None:
    assert not isinstance(info, BaseException), info
    assert info.version == TLS12 and info.cipher_suite == suite.id, info
    assert info.kx == suite.kx and info.extended_master_secret, info


def alerts_sent(trace: list[TraceEvent]) -> list[tuple[int, int]]:
    return [(e.fields["level"], e.fields["description"]) for e in trace
            if e.kind == "alert" and e.fields.get("direction") == "sent"]


@pytest.fixture(scope="module")
def pems(tmp_path_factory: pytest.TempPathFactory, demo_ca: Credential,
         server_cred: Credential, rsa_server_cred: Credential) -> dict[str, PemFiles]:
    d = tmp_path_factory.mktemp("gnutls12")
    return {"ECDSA": write_pem_files(d, demo_ca, server_cred, "ec"),
            "RSA": write_pem_files(d, demo_ca, rsa_server_cred, "rsa")}


@pytest.fixture(scope="module")
def alice(tmp_path_factory: pytest.TempPathFactory,
          demo_ca: Credential) -> tuple[Credential, PemFiles]:
    cred = issue_certificate(demo_ca, "alice", client=True)
    return cred, write_pem_files(tmp_path_factory.mktemp("gnutls12-alice"), demo_ca, cred,
                                 "alice")


# --- lucidtls client, gnutls-serv ---------------------------------------------------------------

def _connect(port: int, config: ClientConfig, trace: list[TraceEvent] | None = None) -> TLSSocket:
    sock = socket.create_connection((LOOPBACK, port), timeout=TIMEOUT)
    return wrap_client(sock, config, "localhost",
                       observer=None if trace is None else trace.append)


def _echo_both_ways(tls: TLSSocket) -> None:
    """A line, then N bytes in chunks small enough that neither side's buffers fill while the
    other writes (gnutls-serv's echo answers whole lines)."""
    tls.sendall(b"ping\n")
    assert recv_exactly(tls.recv, 5) == b"ping\n"
    sent, back = payload(N, seed=5), bytearray()
    for i in range(0, N, CHUNK):
        tls.sendall(sent[i:i + CHUNK])
        back += recv_exactly(tls.recv, len(sent[i:i + CHUNK]))
    assert digest(bytes(back)) == digest(sent)


def _client_against_serv(pem: PemFiles, config: ClientConfig, suite: Suite) -> None:
    with gnutls_server(pem, priority=priority(suite)) as srv:
        with _connect(srv.port, config) as tls:
            check_info(tls.info, suite)
            assert tls.info.verification == "verified"
            _echo_both_ways(tls)
        srv.wait_for("- Options:")
    out = srv.text
    assert expected_description(suite).fullmatch(description(out)), out
    session = serv_session(out)
    assert session["Version"] == "TLS1.2", out
    assert session["Key Exchange"] == gnutls_kx(suite), out
    assert session["Cipher"] == CIPHERS[suite.aead] and session["MAC"] == "AEAD", out
    # RFC 7627 and RFC 5746 as GnuTLS saw them.
    assert "extended master secret" in session["Options"], out
    assert "safe renegotiation" in session["Options"], out


@suites
def test_client_with_gnutls_serv(pems: dict[str, PemFiles], trust: TrustStore,
                                 suite: Suite) -> None:
    _client_against_serv(pems[suite.auth], ClientConfig(trust=trust), suite)


@rsa_suites
@pytest.mark.parametrize("opt_in", ["flag", "named"])
def test_client_rsa_kx_with_gnutls_serv(pems: dict[str, PemFiles], trust: TrustStore,
                                        suite: Suite, opt_in: str) -> None:
    # Either opt-in works: the flag, or a cipher_suites list that names the RSA suite.
    config = ClientConfig(trust=trust, allow_rsa_key_exchange=True) if opt_in == "flag" else \
        ClientConfig(trust=trust, cipher_suites=(*ClientConfig().cipher_suites, suite.id))
    _client_against_serv(pems["RSA"], config, suite)


def test_client_without_rsa_opt_in_is_refused_by_rsa_only_serv(pems: dict[str, PemFiles],
                                                               trust: TrustStore) -> None:
    # We offer no RSA key transport by default, so an RSA-only server has nothing to pick.
    suite = TLS12_RSA_KX_SUITES[0]
    with gnutls_server(pems["RSA"], priority=priority(suite)) as srv:
        with pytest.raises(PeerAlertError) as caught:
            _connect(srv.port, ClientConfig(trust=trust))
        assert caught.value.alert == A.handshake_failure
        srv.wait_for("Error in handshake")


def test_serv_without_ems_is_refused(pems: dict[str, PemFiles], trust: TrustStore) -> None:
    keyword = no_ems_keyword()
    if keyword is None:
        pytest.skip("this GnuTLS has no priority keyword to disable the extended master secret")
    trace: list[TraceEvent] = []
    suite = TLS12_DEFAULT_SUITES[0]
    # -d 5 makes gnutls-serv log each record, including the alert it receives.
    with gnutls_server(pems["ECDSA"], priority=priority(suite, f":{keyword}"),
                       extra=("--echo", "-d", "5")) as srv:
        with pytest.raises(HandshakeFailure) as caught:
            _connect(srv.port, ClientConfig(trust=trust), trace)
        err = caught.value
        assert err.alert == A.handshake_failure and "extended master secret" in err.reason
        srv.wait_for("Error in handshake")
        # RFC 7627 §5.3 leaves the choice of alert to us; we send a fatal handshake_failure.
        srv.wait_for(re.compile(rb"Alert\[2\|40\] - Handshake failed - was received"))
    assert alerts_sent(trace) == [(AlertLevel.FATAL, A.handshake_failure)]


# --- gnutls-cli, lucidtls server ----------------------------------------------------------------

def _server_config(server_cred: Credential, rsa_server_cred: Credential,
                   **kw: Any) -> ServerConfig:
    return ServerConfig(credentials=(server_cred, rsa_server_cred), **kw)


def _serve(config: ServerConfig, trace: list[TraceEvent] | None = None) -> ServerThread:
    """A lucidtls server for one connection. It reads "ping\\n" and N bytes, answers
    "reply:ping\\n", the SHA-256 of the N bytes and N bytes of its own between BEGIN and END,
    then waits for the client's close. Returns (ConnectionInfo, clean close), or the TLSError."""
    def handler(sock: socket.socket) -> Any:
        try:
            tls = wrap_server(sock, config,
                              observer=None if trace is None else trace.append)
            with tls:
                got = recv_exactly(tls.recv, 5 + N)
                tls.sendall(b"reply:" + got[:5] + f"sha256:{digest(got[5:])}\n".encode()
                            + b"BEGIN\n" + payload(N, seed=2) + b"END\n")
                rest = tls.recv()
                return tls.info, rest == b"" and tls.clean_close
        except TLSError as exc:
            return exc
    return ServerThread(handler)


def _feed(cli: Process, data: bytes) -> None:
    """Write to gnutls-cli's stdin without risking an unbounded block."""
    writer = threading.Thread(target=cli.write, args=(data,), daemon=True)
    writer.start()
    writer.join(TIMEOUT)
    if writer.is_alive():
        raise PeerFailed(f"gnutls-cli stopped reading its input:\n{cli.describe()}")


def _cli_against_server(st: ServerThread, cli: Process) -> str:
    cli.wait_for("- Handshake was completed")
    mine = payload(N, seed=1)
    _feed(cli, b"ping\n" + mine)
    cli.wait_for(b"\nEND\n")
    cli.close_stdin()  # gnutls-cli sends close_notify and exits
    assert cli.wait() == 0, cli.describe()
    out = cli.output
    assert b"reply:ping\n" in out
    assert f"sha256:{digest(mine)}\n".encode() in out, "the server received different bytes"
    theirs = re.search(rb"\nBEGIN\n(.*)\nEND\n", out, re.DOTALL)
    assert theirs is not None
    assert digest(theirs.group(1) + b"\n") == digest(payload(N, seed=2)), \
        "gnutls-cli received different bytes"
    return cli.text


def _check_cli_server(st: ServerThread, text: str, suite: Suite) -> Any:
    [result] = st.results
    assert not isinstance(result, BaseException), result
    info, clean = result
    check_info(info, suite)
    assert clean, "gnutls-cli did not end with close_notify"
    assert "Status: The certificate is trusted." in text, text
    assert expected_description(suite).fullmatch(description(text)), text
    assert "extended master secret" in options(text), text
    assert "safe renegotiation" in options(text), text
    return info


@suites
def test_server_with_gnutls_cli(pems: dict[str, PemFiles], server_cred: Credential,
                                rsa_server_cred: Credential, suite: Suite) -> None:
    config = _server_config(server_cred, rsa_server_cred)
    with _serve(config) as st, gnutls_client(st.port, pems[suite.auth].ca,
                                             priority=priority(suite)) as cli:
        text = _cli_against_server(st, cli)
    _check_cli_server(st, text, suite)


@rsa_suites
@pytest.mark.parametrize("opt_in", ["flag", "named"])
def test_server_rsa_kx_with_gnutls_cli(pems: dict[str, PemFiles], server_cred: Credential,
                                       rsa_server_cred: Credential, suite: Suite,
                                       opt_in: str) -> None:
    config = _server_config(server_cred, rsa_server_cred, allow_rsa_key_exchange=True) \
        if opt_in == "flag" else _server_config(
            server_cred, rsa_server_cred,
            cipher_suites=(*ServerConfig(credentials=(server_cred,)).cipher_suites, suite.id))
    with _serve(config) as st, gnutls_client(st.port, pems["RSA"].ca,
                                             priority=priority(suite)) as cli:
        text = _cli_against_server(st, cli)
    _check_cli_server(st, text, suite)


def _cli_gets_handshake_failure(config: ServerConfig, pem: PemFiles, prio: str) -> None:
    """gnutls-cli against our server ends in our fatal handshake_failure, which it reports."""
    with _serve(config) as st, gnutls_client(st.port, pem.ca, priority=prio) as cli:
        cli.wait_for("*** Received alert [40]: Handshake failed")
        assert cli.wait() != 0
    [err] = st.results
    assert isinstance(err, HandshakeFailure) and err.alert == A.handshake_failure, err


def test_server_without_rsa_opt_in_refuses_rsa_only_cli(pems: dict[str, PemFiles],
                                                        server_cred: Credential,
                                                        rsa_server_cred: Credential) -> None:
    config = _server_config(server_cred, rsa_server_cred)
    _cli_gets_handshake_failure(config, pems["RSA"], priority(TLS12_RSA_KX_SUITES[0]))


def test_cli_without_ems_is_refused(pems: dict[str, PemFiles], server_cred: Credential,
                                    rsa_server_cred: Credential) -> None:
    keyword = no_ems_keyword()
    if keyword is None:
        pytest.skip("this GnuTLS has no priority keyword to disable the extended master secret")
    trace: list[TraceEvent] = []
    config = _server_config(server_cred, rsa_server_cred)
    suite = TLS12_DEFAULT_SUITES[3]
    with _serve(config, trace) as st, gnutls_client(
            st.port, pems["RSA"].ca, priority=priority(suite, f":{keyword}")) as cli:
        cli.wait_for("*** Received alert [40]: Handshake failed")
        assert cli.wait() != 0
    assert "Fatal error: A TLS fatal alert has been received" in cli.text, cli.text
    [err] = st.results
    assert isinstance(err, HandshakeFailure), err
    assert err.alert == A.handshake_failure and "extended master secret" in err.reason
    assert alerts_sent(trace) == [(AlertLevel.FATAL, A.handshake_failure)]


def test_cli_mutual_tls(pems: dict[str, PemFiles], server_cred: Credential,
                        rsa_server_cred: Credential, trust: TrustStore,
                        alice: tuple[Credential, PemFiles]) -> None:
    config = _server_config(server_cred, rsa_server_cred, verify_client="required",
                            client_trust=trust)
    suite = TLS12_DEFAULT_SUITES[0]
    _, alice_pem = alice
    with _serve(config) as st, gnutls_client(
            st.port, alice_pem.ca, priority=priority(suite),
            extra=["--x509certfile", str(alice_pem.chain),
                   "--x509keyfile", str(alice_pem.key)]) as cli:
        text = _cli_against_server(st, cli)
    info = _check_cli_server(st, text, suite)
    assert info.client_auth and info.peer_subject == "CN=alice", info
    assert info.verification == "verified", info


def test_cli_without_certificate_when_required(pems: dict[str, PemFiles],
                                               server_cred: Credential,
                                               rsa_server_cred: Credential,
                                               trust: TrustStore) -> None:
    config = _server_config(server_cred, rsa_server_cred, verify_client="required",
                            client_trust=trust)
    _cli_gets_handshake_failure(config, pems["ECDSA"], priority(TLS12_DEFAULT_SUITES[0]))


def test_cli_rehandshake_is_refused(pems: dict[str, PemFiles], server_cred: Credential,
                                    rsa_server_cred: Credential) -> None:
    """``gnutls-cli --rehandshake`` sends a second ClientHello right after the first handshake.
    We answer each with a no_renegotiation warning (RFC 5246 §7.2.2: "always a warning") and
    ignore it; GnuTLS retries a number of times, reports that the rehandshake failed and ends
    the connection with a fatal alert of its own: nothing hangs, and we never send a fatal."""
    trace: list[TraceEvent] = []
    config = _server_config(server_cred, rsa_server_cred)

    def handler(sock: socket.socket) -> Any:
        try:
            with wrap_server(sock, config, observer=trace.append) as tls:
                return tls.recv()
        except TLSError as exc:
            return exc

    with ServerThread(handler) as st, gnutls_client(
            st.port, pems["ECDSA"].ca, priority=priority(TLS12_DEFAULT_SUITES[0]),
            extra=["--rehandshake"]) as cli:
        cli.wait_for("*** ReHandshake has failed")
        assert cli.wait() != 0, cli.describe()
    text = cli.text
    assert "*** Received alert [100]: No renegotiation is allowed" in text, text
    # GnuTLS names the level it read off the wire.
    assert "A TLS warning alert has been received" in text, text
    assert "fatal alert has been received" not in text, text
    sent = alerts_sent(trace)
    assert sent and set(sent) == {(AlertLevel.WARNING, A.no_renegotiation)}, sent
    [err] = st.results
    assert isinstance(err, PeerAlertError), err  # GnuTLS gave up with a fatal alert
