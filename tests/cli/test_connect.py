"""``lucidtls connect``: against ``lucidtls serve`` and ``openssl s_server``, and its failures."""

from __future__ import annotations

import queue
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lucidtls.cli.common import parse_host_port
from lucidtls.cli.connect import unescape
from lucidtls.config import IMPLEMENTED_VERSIONS
from lucidtls.pki.credentials import Credential
from lucidtls.pki.issue import write_pem
from lucidtls.wire.enums import ProtocolVersion
from tests.cli.test_serve import (
    WAIT,
    Serve,
    assert_one_error_line,
    key_lines,
    run_cli,
    run_subprocess,
    serving,
    write_credential,
)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    yield from serving(tmp_path)


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.create_server(("127.0.0.1", 0)) as s:
        return int(s.getsockname()[1])


# --- against lucidtls serve ----------------------------------------------------------------------
def test_subprocess_reports_the_handshake(serve: Serve) -> None:
    served = serve("--once")
    proc = run_subprocess("connect", served.address, "--cafile", str(served.ca))
    assert proc.returncode == 0, proc.stderr
    got = key_lines(proc.stdout)
    assert got["version"] == "TLSv1.3"
    assert got["cipher"] == "TLS_AES_128_GCM_SHA256"
    assert got["group"] == "X25519MLKEM768"
    assert got["kx"] == "ECDHE"
    assert got["signature"] == "ecdsa_secp256r1_sha256"
    assert got["alpn"] == "-"
    assert got["peer"] == "CN=localhost"
    assert got["issuer"] == "CN=lucidtls serve throwaway CA"
    assert got["verified"] == "yes"
    assert got["client-auth"] == "no"
    assert proc.stderr == ""


def test_unknown_ca(serve: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    served = serve("--once")
    code, out, err = run_cli(capsys, "connect", served.address)  # certifi's roots
    assert code == 1
    line = assert_one_error_line(err)
    assert line.startswith("error: certificate verification failed: unknown_ca: ")
    assert out == ""


def test_insecure(serve: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    served = serve("--once")
    code, out, err = run_cli(capsys, "connect", served.address, "--insecure")
    assert code == 0, err
    assert key_lines(out)["verified"] == "no (insecure)"


def test_wrong_name(serve: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    served = serve("--once")
    code, _, err = run_cli(capsys, "connect", served.address, "--cafile", str(served.ca),
                           "--servername", "example.com")
    assert code == 1
    line = assert_one_error_line(err)
    assert "certificate verification failed" in line and "example.com" in line


def test_no_common_suite(serve: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    served = serve("--once", "--ciphers", "TLS_AES_128_GCM_SHA256")
    code, _, err = run_cli(capsys, "connect", served.address, "--cafile", str(served.ca),
                           "--ciphers", "TLS_AES_256_GCM_SHA384")
    assert code == 1
    assert assert_one_error_line(err) == "error: the server sent a fatal handshake_failure alert"


def test_openssl_suite_names(serve: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    served = serve("--once", "--echo")
    code, out, err = run_cli(capsys, "connect", served.address, "--cafile", str(served.ca),
                             "--ciphers", "TLS_CHACHA20_POLY1305_SHA256", "--groups",
                             "x25519,P-256")
    assert code == 0, err
    got = key_lines(out)
    assert (got["cipher"], got["group"]) == ("TLS_CHACHA20_POLY1305_SHA256", "x25519")


def test_tls12_only_against_a_tls13_server(serve: Serve,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    # Until TLS 1.2 lands this is the config's refusal; afterwards the server's alert.
    served = serve("--once", "--tls1.3")
    code, _, err = run_cli(capsys, "connect", served.address, "--cafile", str(served.ca),
                           "--tls1.2")
    assert code == 1
    assert_one_error_line(err)


def test_keylog(serve: Serve, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    served = serve("--once")
    keylog = tmp_path / "keys.log"
    code, _, err = run_cli(capsys, "connect", served.address, "--cafile", str(served.ca),
                           "--keylog", str(keylog))
    assert code == 0, err
    labels = {line.split()[0] for line in keylog.read_text().splitlines()}
    assert {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"} <= labels


def test_ipv6_literal(tmp_path: Path, serve: Serve,
                      capsys: pytest.CaptureFixture[str]) -> None:
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        pytest.skip("no IPv6 loopback")
    served = serve("--once", "--host", "::1")
    assert served.stdout[-1] == f"listening on [::1]:{served.port}"
    code, out, err = run_cli(capsys, "connect", f"[::1]:{served.port}", "--cafile",
                             str(served.ca))
    assert code == 0, err
    assert key_lines(out)["verified"] == "yes"  # against the certificate's IP:::1


# --- input errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["nohost", "host:", ":443", "host:0", "host:65536",
                                    "host:http", "::1:443", "[::1]", "[::1:443", "a b:1"])
def test_bad_target(capsys: pytest.CaptureFixture[str], target: str) -> None:
    code, out, err = run_cli(capsys, "connect", target)
    assert code == 2
    assert "HOST:PORT" in assert_one_error_line(err)
    assert out == ""


def test_bad_target_subprocess() -> None:
    proc = run_subprocess("connect", "nohost")
    assert proc.returncode == 2
    assert_one_error_line(proc.stderr)


@pytest.mark.parametrize("text, expected", [
    ("example.com:443", ("example.com", 443)),
    ("127.0.0.1:1", ("127.0.0.1", 1)),
    ("[::1]:443", ("::1", 443)),
    ("[fe80::1%eth0]:8443", ("fe80::1%eth0", 8443)),
    ("localhost:65535", ("localhost", 65535)),
])
def test_parse_host_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_host_port(text) == expected


@pytest.mark.parametrize("argv, message", [
    (["--ciphers", "TLS_NOPE"], "unknown cipher suite 'TLS_NOPE'"),
    (["--ciphers", ","], "--ciphers"),
    (["--groups", "ffdhe2048"], "ffdhe2048"),
    (["--alpn", ""], "--alpn"),
    (["--cert", "c.pem"], "--cert and --key go together"),
    (["--timeout", "-1"], "argument --timeout: must be more than 0 seconds, not -1"),
    (["--timeout", "soon"], "argument --timeout: not a number of seconds: 'soon'"),
])
def test_bad_options(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, _, err = run_cli(capsys, "connect", f"127.0.0.1:{closed_port()}", *argv)
    assert code == 2
    assert message in assert_one_error_line(err)


def test_unreadable_cafile(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "connect", "127.0.0.1:1", "--cafile",
                           str(tmp_path / "missing.pem"))
    assert code == 1
    assert "missing.pem" in assert_one_error_line(err)


def test_connection_refused(capsys: pytest.CaptureFixture[str]) -> None:
    port = closed_port()
    code, out, err = run_cli(capsys, "connect", f"127.0.0.1:{port}")
    assert code == 1
    assert assert_one_error_line(err) == f"error: connection refused to 127.0.0.1:{port}"
    assert out == ""


def test_unescape() -> None:
    assert unescape(r"GET / HTTP/1.0\r\n\r\n") == b"GET / HTTP/1.0\r\n\r\n"
    assert unescape(r"a\tb\\n\q\\") == b"a\tb\\n\\q\\"
    assert unescape("caf\u00e9") == "caf\u00e9".encode()


# --- against openssl s_server ---------------------------------------------------------------------
@pytest.fixture
def s_server(tmp_path: Path, server_cred: Credential) -> Iterator[Callable[..., int]]:
    """``s_server(*args)`` starts ``openssl s_server`` on an ephemeral port; returns the port."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = write_credential(server_cred, tmp_path, "server")
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> int:
        proc = subprocess.Popen(
            ["openssl", "s_server", "-accept", "0", "-naccept", "1", "-cert", str(cert),
             "-key", str(key), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(proc)
        ports: queue.Queue[int | None] = queue.Queue()

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("ACCEPT"):
                    ports.put(int(line.strip().rsplit(":", 1)[1]))
            ports.put(None)

        threading.Thread(target=read, daemon=True).start()
        port = ports.get(timeout=WAIT)
        assert port is not None, "openssl s_server did not start"
        return port

    yield start
    for proc in procs:
        proc.kill()
        proc.wait(timeout=WAIT)


@pytest.fixture
def ca_file(tmp_path: Path, demo_ca: Credential) -> Path:
    return write_pem(tmp_path / "ca.pem", demo_ca.leaf)


@pytest.mark.interop
def test_openssl_www(s_server: Callable[..., int], ca_file: Path,
                     capsys: pytest.CaptureFixture[str]) -> None:
    port = s_server("-www", "-alpn", "http/1.1")
    code, out, err = run_cli(capsys, "connect", f"127.0.0.1:{port}", "--cafile", str(ca_file),
                             "--alpn", "h2,http/1.1", "--send", r"GET / HTTP/1.0\r\n\r\n")
    assert code == 0, err
    got = key_lines(out)
    assert got["version"] == "TLSv1.3" and got["verified"] == "yes"
    assert got["alpn"] == "http/1.1"
    assert "HTTP/1.0 200 ok" in out
    assert "TLSv1.3" in out.split("HTTP/1.0 200 ok", 1)[1]  # s_server's own report


@pytest.mark.interop
@pytest.mark.parametrize("group, suite", [
    ("P-384", "TLS_AES_256_GCM_SHA384"),
    ("x25519", "TLS_CHACHA20_POLY1305_SHA256"),
])
def test_openssl_choices(s_server: Callable[..., int], ca_file: Path,
                         capsys: pytest.CaptureFixture[str], group: str, suite: str) -> None:
    port = s_server("-www")
    code, out, err = run_cli(capsys, "connect", f"localhost:{port}", "--cafile", str(ca_file),
                             "--groups", group, "--ciphers", suite)
    assert code == 0, err
    got = key_lines(out)
    assert got["cipher"] == suite
    assert got["sni"] == "localhost"


@pytest.mark.interop
def test_openssl_requires_client_certificate(
        s_server: Callable[..., int], ca_file: Path, tmp_path: Path, client_cred: Credential,
        capsys: pytest.CaptureFixture[str]) -> None:
    port = s_server("-www", "-Verify", "1", "-CAfile", str(ca_file))
    code, out, err = run_cli(capsys, "connect", f"127.0.0.1:{port}", "--cafile", str(ca_file))
    assert code == 1
    assert assert_one_error_line(err) == \
        "error: the server sent a fatal certificate_required alert"

    cert, key = write_credential(client_cred, tmp_path, "alice")
    port = s_server("-www", "-Verify", "1", "-CAfile", str(ca_file))
    code, out, err = run_cli(capsys, "connect", f"127.0.0.1:{port}", "--cafile", str(ca_file),
                             "--cert", str(cert), "--key", str(key), "--send",
                             r"GET / HTTP/1.0\r\n\r\n")
    assert code == 0, err
    assert key_lines(out)["client-auth"] == "yes"
    assert "HTTP/1.0 200 ok" in out


# --- peers that do not speak TLS ------------------------------------------------------------------
@pytest.fixture
def raw_server() -> Iterator[Callable[[bytes], int]]:
    """``raw_server(reply)``: a TCP server that reads once, writes *reply* and closes."""
    listeners: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def start(reply: bytes) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(WAIT)
        listeners.append(listener)

        def answer() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(WAIT)
                conn.recv(65536)
                conn.sendall(reply)

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        threads.append(thread)
        return int(listener.getsockname()[1])

    yield start
    for thread in threads:
        thread.join(WAIT)
    for listener in listeners:
        listener.close()


@pytest.mark.parametrize("reply, expected", [
    (b"HTTP/1.1 400 Bad Request\r\n\r\n", "error: handshake failed: unexpected_message: "),
    (b"", "error: the server closed the connection during the handshake"),
    (b"\x16\x03\x03\x00\x02\x02\x00", "error: the server closed the connection during the"),
    (b"\x15\x03\x03\x00\x02\x02\x28", "error: the server sent a fatal handshake_failure alert"),
])
def test_not_a_tls_server(raw_server: Callable[[bytes], int], capsys: pytest.CaptureFixture[str],
                          reply: bytes, expected: str) -> None:
    port = raw_server(reply)
    code, out, err = run_cli(capsys, "connect", f"127.0.0.1:{port}", "--insecure")
    assert code == 1
    assert assert_one_error_line(err).startswith(expected)
    assert out == ""


# --- TLS 1.2 (once its procedures are in) --------------------------------------------------------
needs_tls12 = pytest.mark.skipif(
    ProtocolVersion.TLS1_2 not in IMPLEMENTED_VERSIONS, reason="TLS 1.2 is not implemented yet")


@needs_tls12
@pytest.mark.interop
def test_openssl_tls12(s_server: Callable[..., int], ca_file: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    port = s_server("-www")
    code, out, err = run_cli(capsys, "connect", f"127.0.0.1:{port}", "--cafile", str(ca_file),
                             "--tls1.2", "--send", r"GET / HTTP/1.0\r\n\r\n")
    assert code == 0, err
    got = key_lines(out)
    assert got["version"] == "TLSv1.2" and got["kx"] == "ECDHE"
    assert got["cipher"].startswith("TLS_ECDHE_ECDSA_WITH_")
    assert "HTTP/1.0 200 ok" in out


@needs_tls12
def test_serve_tls12(serve: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    served = serve("--once", "--tls1.2")
    code, out, err = run_cli(capsys, "connect", served.address, "--cafile", str(served.ca),
                             "--send", r"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert code == 0, err
    assert key_lines(out)["version"] == "TLSv1.2"
    assert "<tr><th>version</th><td>TLSv1.2</td></tr>" in out
    assert served.wait() == 0
    assert " TLSv1.2 " in served.stderr


# --- --explain ------------------------------------------------------------------------------------
def test_explain(serve: Serve, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    served = serve("--once", "--ciphers", "TLS_CHACHA20_POLY1305_SHA256")
    page = tmp_path / "report.html"
    code, out, err = run_cli(capsys, "connect", served.address, "--cafile", str(served.ca),
                             "--explain", "--html", str(page), "--send",
                             r"GET / HTTP/1.0\r\n\r\n")
    assert code == 0, err
    assert err == ""
    got = key_lines(out)
    assert got["cipher"] == "TLS_CHACHA20_POLY1305_SHA256"
    # key: value lines, the server's answer, then the report.
    head, report = out.split("</html>\n", 1)
    assert head.startswith("version: TLSv1.3\n") and "HTTP/1.1 200 OK" in head
    flat = " ".join(report.split())
    assert f"TLSv1.3, {got['cipher']}, key exchange {got['group']}" in flat
    assert "verified — CN=localhost, anchored at CN=lucidtls serve throwaway CA" in flat
    assert "── ClientHello ──" in report and "Step 8." in report
    assert "value redacted" in flat
    assert f"HTML report: {page}" in report
    text = page.read_text()
    assert "<svg" in text and "TLS_CHACHA20_POLY1305_SHA256" in text
    served.wait()


def test_explain_show_secrets(serve: Serve, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    served = serve("--once")
    keylog = tmp_path / "keys.log"
    code, out, err = run_cli(capsys, "connect", served.address, "--cafile", str(served.ca),
                             "--explain", "--show-secrets", "--keylog", str(keylog))
    assert code == 0, err
    flat = "".join(out.split())  # hex values may be wrapped
    secrets = {line.split()[0]: line.split()[2] for line in keylog.read_text().splitlines()}
    assert secrets["CLIENT_TRAFFIC_SECRET_0"] in flat
    assert secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"] in flat
    assert "valueredacted" not in flat
    served.wait()

    # Without --keylog: a temporary one, read back and removed.
    served = serve("--once")
    code, out, err = run_cli(capsys, "connect", served.address, "--cafile", str(served.ca),
                             "--show-secrets")
    assert code == 0, err
    assert "valueredacted" not in "".join(out.split()) and "Step 6." in out
    served.wait()


def test_explain_failed_handshake(serve: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    served = serve("--once")
    code, out, err = run_cli(capsys, "connect", served.address, "--explain")  # certifi roots
    assert code == 1
    line = assert_one_error_line(err)
    assert line.startswith("error: certificate verification failed: unknown_ca: ")
    assert out.startswith("client ")  # the diagram; no key: value lines without a handshake
    assert "── Alert(unknown_ca) ──" in out
    assert "!! the client failed the handshake: " in out and "(alert unknown_ca)" in out
    served.wait()


def test_explain_nothing_to_tell(capsys: pytest.CaptureFixture[str]) -> None:
    port = closed_port()
    code, out, err = run_cli(capsys, "connect", f"127.0.0.1:{port}", "--explain")
    assert code == 1
    assert assert_one_error_line(err) == f"error: connection refused to 127.0.0.1:{port}"
    assert out == ""


def test_timeout_on_a_silent_server(capsys: pytest.CaptureFixture[str]) -> None:
    # The kernel completes the TCP handshake from the backlog; nobody ever answers the hello.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        code, out, err = run_cli(capsys, "connect", f"127.0.0.1:{port}", "--timeout", "0.5",
                                 "--explain")
    assert code == 1
    assert assert_one_error_line(err) == f"error: timed out talking to 127.0.0.1:{port}"
    assert out == ""


def test_explain_html_unwritable(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run_cli(capsys, "connect", f"127.0.0.1:{closed_port()}", "--html",
                             str(tmp_path / "no" / "such.html"))
    assert code == 1
    assert "cannot write" in assert_one_error_line(err)
    assert out == ""
