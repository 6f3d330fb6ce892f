"""``lucidtls serve``: a subprocess on an ephemeral port, answered by our connect and by curl."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lucidtls.cli import main
from lucidtls.pki.credentials import Credential
from lucidtls.pki.issue import write_pem

SRC = Path(__file__).resolve().parents[2] / "src"
WAIT = 30  # seconds: a bound on every wait, never an expectation


def lucidtls_env() -> dict[str, str]:
    # The package is installed in CI; the source tree first keeps a plain checkout working.
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": str(SRC) + (os.pathsep + path if path else "")}
    env.pop("SSLKEYLOGFILE", None)
    return env


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def run_subprocess(*argv: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "lucidtls", *argv], capture_output=True,
                          text=True, env=lucidtls_env(), timeout=WAIT, check=False)
    assert "Traceback" not in proc.stderr
    return proc


def assert_one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def key_lines(out: str) -> dict[str, str]:
    pairs = (line.split(": ", 1) for line in out.splitlines() if ": " in line)
    return {k: v for k, v in pairs}


@dataclass
class Served:
    """A running ``lucidtls serve`` subprocess; a thread keeps reading its stdout."""

    proc: subprocess.Popen[str]
    port: int
    ca: Path
    reader: threading.Thread
    stdout: list[str] = field(default_factory=list)
    stderr: str = ""

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def wait(self) -> int:
        """Wait for the server to exit by itself (``--once``); collect its log."""
        if self.proc.stderr is None or self.proc.stderr.closed:
            return self.proc.wait(timeout=WAIT)
        self.proc.wait(timeout=WAIT)
        self.reader.join(WAIT)
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()
        self.proc.stderr.close()
        return self.proc.returncode

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.wait()
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.wait()


def start_serve(tmp_path: Path, *args: str) -> Served:
    ca = tmp_path / f"serve-ca-{len(list(tmp_path.iterdir()))}.pem"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lucidtls", "serve", "--port", "0", "--ca-out", str(ca), *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=lucidtls_env())
    stdout: list[str] = []
    listening: queue.Queue[int | None] = queue.Queue()

    def read_stdout() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            stdout.append(line.rstrip("\n"))
            if line.startswith("listening on "):
                listening.put(int(line.rsplit(":", 1)[1]))
        listening.put(None)
        proc.stdout.close()

    reader = threading.Thread(target=read_stdout, daemon=True)
    reader.start()
    try:
        port = listening.get(timeout=WAIT)
        if port is None:
            proc.wait(timeout=WAIT)
            raise AssertionError(f"serve exited: {proc.stderr.read() if proc.stderr else ''}")
    except BaseException:
        proc.kill()
        proc.wait(timeout=WAIT)
        raise
    return Served(proc, port, ca, reader, stdout)


Serve = Callable[..., Served]


def serving(tmp_path: Path) -> Iterator[Serve]:
    """Body of the ``serve`` fixtures: ``serve(*args)`` starts a server; every one started is
    stopped at the end."""
    started: list[Served] = []

    def start(*args: str) -> Served:
        served = start_serve(tmp_path, *args)
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    yield from serving(tmp_path)


def write_credential(cred: Credential, directory: Path, name: str) -> tuple[Path, Path]:
    cert = write_pem(directory / f"{name}.pem", list(cred.chain))
    key = write_pem(directory / f"{name}.key", cred.private_key)
    return cert, key


# --- tests ---------------------------------------------------------------------------------------
def test_prints_how_to_connect(serve: Serve, tmp_path: Path) -> None:
    served = serve()
    code = served.stop()
    assert code == 130
    text = "\n".join(served.stdout)
    assert f"lucidtls connect {served.address} --cafile {served.ca}" in text
    assert "openssl s_client" in text and f"curl --cacert {served.ca}" in text
    assert "Traceback" not in served.stderr
    assert served.stderr.strip() == ""  # Ctrl-C is quiet


def test_http_page_to_our_connect(serve: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    served = serve("--http", "--once")
    code, out, err = run_cli(capsys, "connect", served.address, "--cafile", str(served.ca),
                             "--servername", "localhost", "--alpn", "http/1.1",
                             "--send", r"GET /page HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert code == 0, err
    assert key_lines(out)["alpn"] == "http/1.1"
    assert "HTTP/1.1 200 OK" in out
    assert "Connection: close" in out
    body = out.split("<!doctype html>", 1)[1]
    for fact in ("TLSv1.3", "TLS_AES_128_GCM_SHA256", "http/1.1", "localhost",
                 "GET /page HTTP/1.1"):
        assert fact in body
    assert served.wait() == 0
    log = served.stderr.strip().splitlines()
    assert len(log) == 1, served.stderr
    assert "TLSv1.3" in log[0] and "sni=localhost" in log[0]
    assert "no client certificate" in log[0] and "200 GET /page" in log[0]


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_http_page_to_curl(serve: Serve) -> None:
    served = serve("--once")
    proc = subprocess.run(
        ["curl", "-sS", "--max-time", str(WAIT), "--cacert", str(served.ca), "-D", "-",
         f"https://localhost:{served.port}/hello"],
        capture_output=True, timeout=WAIT, check=False)
    assert proc.returncode == 0, proc.stderr
    head, body = proc.stdout.decode().split("\r\n\r\n", 1)
    assert head.startswith("HTTP/1.1 200")
    assert f"content-length: {len(body.encode())}" in head.lower()
    assert "TLSv1.3" in body and "http/1.1" in body  # curl offers ALPN h2,http/1.1
    assert served.wait() == 0
    assert "sni=localhost" in served.stderr and "200 GET /hello" in served.stderr


def test_echo(serve: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    served = serve("--echo", "--once")
    code, out, err = run_cli(capsys, "connect", served.address, "--cafile", str(served.ca),
                             "--send", r"ping\tpong\\n\n")
    assert code == 0, err
    assert out.endswith("client-auth: no\nhello-retry: no\nping\tpong\\n\n")
    assert served.wait() == 0
    assert "echoed 12 bytes" in served.stderr


def test_choices_reach_the_server(serve: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    served = serve("--echo", "--once", "--ciphers",
                   "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384", "--groups", "P-384")
    code, out, err = run_cli(capsys, "connect", served.address, "--cafile", str(served.ca))
    assert code == 0, err
    got = key_lines(out)
    assert got["cipher"] == "TLS_CHACHA20_POLY1305_SHA256"
    assert got["group"] == "secp384r1"
    assert got["hello-retry"] == "yes"  # we sent X25519MLKEM768 and x25519 shares first
    served.wait()


def test_verify_client_required(serve: Serve, tmp_path: Path, demo_ca: Credential,
                                capsys: pytest.CaptureFixture[str]) -> None:
    client_ca = write_pem(tmp_path / "client-ca.pem", demo_ca.leaf)
    # Without a certificate: the server refuses, after our Finished (RFC 8446 §4.4.2.4).
    served = serve("--verify-client", "required", "--cafile", str(client_ca),
                   "--once")
    code, out, err = run_cli(capsys, "connect", served.address, "--cafile", str(served.ca))
    assert code == 1
    assert "certificate_required" in assert_one_error_line(err)
    assert served.wait() == 0
    assert "failed: certificate_required" in served.stderr
    assert "Traceback" not in served.stderr

    # With one, issued by `lucidtls ca issue --client`.
    ca_dir = tmp_path / "ca"
    assert run_cli(capsys, "ca", "init", str(ca_dir))[0] == 0
    assert run_cli(capsys, "ca", "issue", str(ca_dir), "alice", "--client")[0] == 0
    served = serve("--verify-client", "required", "--cafile",
                   str(ca_dir / "ca.pem"), "--once")
    code, out, err = run_cli(capsys, "connect", served.address, "--cafile", str(served.ca),
                             "--cert", str(ca_dir / "alice.pem"), "--key",
                             str(ca_dir / "alice.key"), "--send",
                             r"GET / HTTP/1.0\r\n\r\n")
    assert code == 0, err
    assert key_lines(out)["client-auth"] == "yes"
    assert "CN=alice" in out  # the page names the client certificate
    assert served.wait() == 0
    assert "client=CN=alice" in served.stderr


def test_verify_client_optional(serve: Serve, tmp_path: Path, demo_ca: Credential,
                                capsys: pytest.CaptureFixture[str]) -> None:
    client_ca = write_pem(tmp_path / "client-ca.pem", demo_ca.leaf)
    served = serve("--verify-client", "optional", "--cafile", str(client_ca),
                   "--once", "--echo")
    code, out, err = run_cli(capsys, "connect", served.address, "--cafile", str(served.ca))
    assert code == 0, err
    assert key_lines(out)["client-auth"] == "no"
    served.wait()
    assert "no client certificate" in served.stderr


def test_own_certificate(serve: Serve, tmp_path: Path, server_cred: Credential,
                         capsys: pytest.CaptureFixture[str]) -> None:
    cert, key = write_credential(server_cred, tmp_path, "server")
    served = serve("--cert", str(cert), "--key", str(key), "--once")
    assert "--cafile <the CA" in "\n".join(served.stdout)
    ca = write_pem(tmp_path / "ca.pem", server_cred.chain[-1])
    code, out, err = run_cli(capsys, "connect", f"localhost:{served.port}", "--cafile",
                             str(ca))
    assert code == 0, err
    assert key_lines(out)["issuer"] == server_cred.leaf.issuer.rfc4514_string()
    served.wait()


def test_failed_handshake_is_logged(serve: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    served = serve("--once", "--alpn", "h2")
    code, _, err = run_cli(capsys, "connect", served.address, "--cafile", str(served.ca),
                           "--alpn", "http/1.1")
    assert code == 1
    assert assert_one_error_line(err) == \
        "error: the server sent a fatal no_application_protocol alert"
    assert served.wait() == 0
    lines = served.stderr.strip().splitlines()
    assert len(lines) == 1 and "failed: no_application_protocol: " in lines[0]


@pytest.mark.parametrize("argv, status, message", [
    (["--verify-client", "required"], 2, "--verify-client needs --cafile"),
    (["--cert", "x.pem"], 2, "--cert and --key go together"),
    (["--port", "70000"], 2, "out of range"),
    (["--http", "--echo"], 2, "not allowed with"),
    (["--ciphers", "NOPE"], 2, "unknown cipher suite 'NOPE'"),
    (["--cert", "/nonexistent.pem", "--key", "/nonexistent.key"], 1, "cannot read"),
])
def test_bad_options(capsys: pytest.CaptureFixture[str], argv: list[str], status: int,
                     message: str) -> None:
    code, out, err = run_cli(capsys, "serve", "--port", "0", *argv)
    assert code == status
    assert message in assert_one_error_line(err)
    assert "listening" not in out


def test_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        code, _, err = run_cli(capsys, "serve", "--port", str(port))
    assert code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in assert_one_error_line(err)


def test_client_alert_reaches_the_log(serve: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    # Our client refuses the certificate before its keys change: its alert is in the clear,
    # and the server must still read it (record: plaintext alerts until the first protected
    # record), so the log names the real reason.
    served = serve("--once")
    code, _, err = run_cli(capsys, "connect", served.address)  # certifi: unknown_ca
    assert code == 1 and "unknown_ca" in err
    assert served.wait() == 0
    assert "failed: unknown_ca: the client sent a fatal unknown_ca alert" in served.stderr


# --- many clients at once (asyncio) ----------------------------------------------------------------
@pytest.mark.interop
def test_concurrent_clients_and_a_silent_one(serve: Serve) -> None:
    """20 stdlib-ssl clients hold their connections open at the same time (a barrier between
    two exchanges: a server taking one client at a time never lets them all reach it), each
    gets its own page, while a client that connected and said nothing waits for its
    handshake timeout."""
    import socket
    import ssl

    clients = 20
    served = serve("--handshake-timeout", "3")
    silent = socket.create_connection(("127.0.0.1", served.port), timeout=WAIT)
    context = ssl.create_default_context(cafile=str(served.ca))
    barrier = threading.Barrier(clients, timeout=WAIT)
    pages: dict[int, str] = {}
    errors: list[BaseException] = []

    def client(i: int) -> None:
        try:
            with socket.create_connection(("127.0.0.1", served.port), timeout=WAIT) as raw, \
                    context.wrap_socket(raw, server_hostname="localhost") as tls:
                barrier.wait()  # every client has completed its handshake
                tls.sendall(f"GET /client-{i} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
                data = b""
                while chunk := tls.recv(65536):
                    data += chunk
                pages[i] = data.decode()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert not errors, errors
    assert sorted(pages) == list(range(clients))
    for i, page in pages.items():
        assert page.startswith("HTTP/1.1 200 OK")
        assert f"<code>GET /client-{i} HTTP/1.1</code>" in page
        assert "<td>TLSv1.3</td>" in page
    # The silent client is dropped once its handshake time is up, and the log says why.
    silent.settimeout(WAIT)
    try:
        assert silent.recv(1) == b""
    except ConnectionResetError:
        pass
    silent.close()
    assert served.stop() == 130
    log = served.stderr.splitlines()
    assert sum(" 200 GET /client-" in line for line in log) == clients
    assert any("failed: the TLS handshake did not complete within 3.0 s" in line
               for line in log), served.stderr


def test_sigterm_is_quiet_and_removes_the_temporary_ca() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "lucidtls", "serve", "--port", "0"], stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=lucidtls_env())
    try:
        assert proc.stdout is not None
        ca = None
        for line in proc.stdout:
            if line.startswith("throwaway CA certificate: "):
                ca = Path(line.split(": ", 1)[1].strip())
            if line.startswith("listening on "):
                break
        assert ca is not None and ca.is_file()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=WAIT) == 130
        assert not ca.exists()
        assert proc.stderr is not None and proc.stderr.read() == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=WAIT)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


# --- --explain ---------------------------------------------------------------------------------------
def reports(stdout: list[str]) -> dict[str, str]:
    """``serve --explain`` output: each connection's report by its header line."""
    out: dict[str, str] = {}
    current = None
    for line in stdout:
        if line.startswith("=== connection "):
            current = line
            out[current] = ""
        elif current is not None:
            out[current] += line + "\n"
    return out


def test_explain(serve: Serve, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    html_dir = tmp_path / "reports"
    served = serve("--explain", "--html-dir", str(html_dir), "--once", "--ciphers",
                   "TLS_AES_256_GCM_SHA384", "--groups", "x25519")
    code, out, err = run_cli(capsys, "connect", served.address, "--cafile", str(served.ca),
                             "--send", r"GET / HTTP/1.0\r\n\r\n")
    assert code == 0, err
    assert served.wait() == 0
    (header, report), = reports(served.stdout).items()
    assert header.startswith("=== connection 1 from 127.0.0.1:") and "200 GET /" in header
    flat = " ".join(report.split())
    assert "TLSv1.3, TLS_AES_256_GCM_SHA384, key exchange x25519" in flat
    assert "── ClientHello ──" in report and "Finished 🔒" in report
    for n in range(1, 9):
        assert f"Step {n}." in report
    # The certificate the narration names is the one the client verified.
    got = key_lines(out)
    assert (got["peer"], got["issuer"]) == ("CN=localhost", "CN=lucidtls serve throwaway CA")
    assert "Certificate [0]: subject CN=localhost, issuer CN=lucidtls serve throwaway CA" in flat
    assert "value redacted" in flat
    page = html_dir / "connection-1.html"
    assert f"HTML report: {page}" in report
    assert "<svg" in page.read_text() and "TLS_AES_256_GCM_SHA384" in page.read_text()


def test_explain_mutual_and_failure(serve: Serve, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    ca_dir = tmp_path / "ca"
    assert run_cli(capsys, "ca", "init", str(ca_dir))[0] == 0
    assert run_cli(capsys, "ca", "issue", str(ca_dir), "alice", "--client")[0] == 0
    served = serve("--explain", "--verify-client", "required", "--cafile",
                   str(ca_dir / "ca.pem"), "--echo")
    code, _, err = run_cli(capsys, "connect", served.address, "--cafile", str(served.ca),
                           "--cert", str(ca_dir / "alice.pem"), "--key",
                           str(ca_dir / "alice.key"), "--send", "hi")
    assert code == 0, err
    code, _, err = run_cli(capsys, "connect", served.address, "--cafile", str(served.ca))
    assert code == 1 and "certificate_required" in err
    assert served.stop() == 130
    (h1, ok), (h2, failed) = reports(served.stdout).items()
    assert "connection 1" in h1 and "echoed 2 bytes" in h1
    flat = " ".join(ok.split())
    assert "mutual TLS" in flat
    assert "The server's verdict on the client certificate: verified — CN=alice" in flat
    assert "connection 2" in h2 and "failed: certificate_required" in h2
    assert "!! the server failed the handshake" in failed and "certificate_required" in failed
