"""``lucidtls demo``: a real loopback handshake, told step by step (``make demo`` runs it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lucidtls.config import IMPLEMENTED_VERSIONS
from lucidtls.wire.enums import ProtocolVersion
from tests.cli.test_serve import assert_one_error_line, run_cli, run_subprocess


def steps(out: str) -> list[str]:
    """The numbered step titles, in order."""
    return [m.group(1) for m in re.finditer(r"^\s*\d+\. (\S+)", out, re.MULTILINE)]


def test_subprocess() -> None:
    proc = run_subprocess("demo")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    out = proc.stdout
    assert steps(out) == ["ClientHello", "ServerHello", "EncryptedExtensions", "Certificate",
                          "CertificateVerify", "Finished", "ChangeCipherSpec", "Finished",
                          "application", "application", "close_notify"]
    assert "versions offered: TLSv1.3" in out
    assert "key shares:       X25519MLKEM768 (1216 bytes), x25519 (32 bytes)" in out
    assert "version chosen:   TLSv1.3" in out
    # The hybrid share: 1216-byte client share, 1120-byte server share, 64-byte secret.
    assert "client share 1216 bytes, server share 1120 bytes, shared secret 64 bytes" in out
    assert "certificate verified: CN=localhost chains to the trusted CA CN=lucidtls demo CA" \
        in out
    assert "HTTP/1.1 200 OK" in out
    assert "client-auth: no" in out and "hello-retry: no" in out


def test_mutual(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "demo", "--mutual")
    assert code == 0, err
    assert steps(out)[:11] == [
        "ClientHello", "ServerHello", "EncryptedExtensions", "CertificateRequest",
        "Certificate", "CertificateVerify", "Finished", "ChangeCipherSpec", "Certificate",
        "CertificateVerify", "Finished"]
    assert "subject:          CN=demo-client" in out
    assert "the server's verdict on the client certificate: verified (CN=demo-client)" in out
    assert "client-auth: yes" in out
    assert "client:      CN=demo-client (verified by the server)" in out


def test_html(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    page = tmp_path / "demo.html"
    code, out, err = run_cli(capsys, "demo", "--html", str(page))
    assert code == 0, err
    text = page.read_text()
    assert text.startswith("<!doctype html>") and "ClientHello" in text
    assert "-&gt; certificate verified" in text  # escaped
    assert f"wrote {page}" in out


def test_html_unwritable(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "demo", "--html", str(tmp_path / "no" / "such" / "dir.html"))
    assert code == 1
    assert "cannot write" in assert_one_error_line(err)


def test_tls12(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "demo", "--tls1.2")
    if ProtocolVersion.TLS1_2 not in IMPLEMENTED_VERSIONS:
        assert code == 1
        assert_one_error_line(err)
        return
    if code == 1:  # the procedures are still landing: a one-line failure, not a traceback
        assert_one_error_line(err)
        pytest.xfail(f"TLS 1.2 demo not working yet: {err.strip()}")
    assert "version chosen:   TLSv1.2" in out
    assert "version:     TLSv1.2" in out
