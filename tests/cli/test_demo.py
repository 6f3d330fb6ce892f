"""``lucidtls demo``: a real loopback handshake, explained (``make demo`` runs it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_serve import assert_one_error_line, run_cli, run_subprocess

TLS13_FLIGHT = ["ClientHello", "ServerHello", "EncryptedExtensions", "Certificate",
                "CertificateVerify", "Finished"]


def diagram_messages(out: str) -> list[str]:
    """Message names in the arrow diagram, in order."""
    names = []
    for line in out.splitlines():
        if "──" in line and ("▶" in line or "◀" in line):
            words = [w for w in line.replace("─", " ").split() if w[:1].isupper()]
            names += words[:1]
    return names


def test_subprocess() -> None:
    proc = run_subprocess("demo")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    out = proc.stdout
    sent = [m for m in diagram_messages(out) if m != "ChangeCipherSpec"]
    assert sent[:len(TLS13_FLIGHT)] == TLS13_FLIGHT
    assert "CertificateRequest" not in sent
    for n in range(1, 9):
        assert f"Step {n}." in out
    flat = " ".join(out.split())  # the steps are wrapped to the terminal
    assert "Versions offered: TLSv1.3" in flat
    assert "Key shares sent with the hello: X25519MLKEM768 (1216 bytes), x25519 (32 bytes)" \
        in flat
    assert "verified — CN=localhost, anchored at CN=lucidtls demo CA" in flat


def test_mutual(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "demo", "--mutual")
    assert code == 0, err
    sent = diagram_messages(out)
    assert "CertificateRequest" in sent and sent.count("Certificate") == 2
    flat = " ".join(out.split())
    assert "The server's verdict on the client certificate: verified — CN=demo-client" in flat


def test_html(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    page = tmp_path / "demo.html"
    code, out, err = run_cli(capsys, "demo", "--html", str(page))
    assert code == 0, err
    text = page.read_text()
    assert "<html" in text.lower() and "ClientHello" in text
    assert f"HTML report: {page}" in out


def test_html_unwritable(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run_cli(capsys, "demo", "--html", str(tmp_path / "no" / "such.html"))
    assert code == 1
    assert "cannot write" in assert_one_error_line(err)
    assert out == ""


def test_tls12(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "demo", "--tls1.2")
    if code == 1:  # TLS 1.2 not in this build: a one-line refusal, never a traceback
        assert "TLS 1.2" in assert_one_error_line(err)
        return
    assert code == 0, err
    assert "Chosen version: TLSv1.2" in " ".join(out.split())


@pytest.mark.parametrize("argv, message", [
    (["--kx", "rsa"], "RSA key transport exists only in TLS 1.2"),
    (["--group", "nope"], "nope"),
])
def test_bad_options(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out, err = run_cli(capsys, "demo", *argv)
    assert code == 1
    assert message in assert_one_error_line(err)
    assert out == ""


def test_narrow_terminal_encoding(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.cli.test_serve import lucidtls_env

    env = {**lucidtls_env(), "PYTHONIOENCODING": "latin-1"}
    proc = subprocess.run([sys.executable, "-m", "lucidtls", "demo"], capture_output=True,
                          env=env, timeout=60, check=False, cwd=os.fspath(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert b"Traceback" not in proc.stderr and b"ClientHello" in proc.stdout
