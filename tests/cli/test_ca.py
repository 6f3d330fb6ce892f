from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from lucidtls.cli import main
from lucidtls.pki.credentials import load_credential
from lucidtls.pki.trust import TrustStore, verify_client_chain, verify_server_chain

SRC = Path(__file__).resolve().parents[2] / "src"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(err: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err


@pytest.fixture
def ca_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    d = tmp_path / "ca"
    code, out, err = run(capsys, "ca", "init", str(d))
    assert code == 0, err
    assert str(d / "ca.pem") in out and str(d / "ca.key") in out
    return d


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init(ca_dir: Path) -> None:
    assert mode(ca_dir / "ca.key") == 0o600
    ca = load_credential(ca_dir / "ca.pem", ca_dir / "ca.key")
    assert ca.key_type == "ECDSA P-256"


def test_init_refuses_overwrite(ca_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (ca_dir / "ca.key").read_bytes()
    code, _, err = run(capsys, "ca", "init", str(ca_dir))
    assert code == 1
    assert_one_error_line(err)
    assert "a CA already exists" in err
    assert (ca_dir / "ca.key").read_bytes() == before


def test_issue_server(ca_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "ca",
        "issue",
        str(ca_dir),
        "web",
        "--dns",
        "web.test,www.test",
        "--dns",
        "alt.test",
        "--ip",
        "127.0.0.1",
        "--ip",
        "::1",
        "--days",
        "30",
    )
    assert code == 0, err
    cert, key = ca_dir / "web.pem", ca_dir / "web.key"
    assert str(cert) in out and str(key) in out
    assert mode(key) == 0o600
    cred = load_credential(cert, key)
    assert len(cred.chain) == 2
    store = TrustStore.from_pem_file(ca_dir / "ca.pem")
    result = verify_server_chain(store, list(cred.chain), "www.test")
    assert result.sans == ("DNS:web.test", "DNS:www.test", "DNS:alt.test", "IP:127.0.0.1", "IP:::1")
    verify_server_chain(store, list(cred.chain), "::1")
    lifetime = cred.leaf.not_valid_after_utc - cred.leaf.not_valid_before_utc
    assert lifetime.days == 30


def test_issue_client(ca_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "ca", "issue", str(ca_dir), "alice", "--client", "--key-type", "ecdsa-p384"
    )
    assert code == 0, err
    cred = load_credential(ca_dir / "alice.pem", ca_dir / "alice.key")
    assert cred.key_type == "ECDSA P-384"
    verify_client_chain(TrustStore.from_pem_file(ca_dir / "ca.pem"), list(cred.chain))


def test_issue_refuses_overwrite(ca_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "ca", "issue", str(ca_dir), "web")[0] == 0
    code, _, err = run(capsys, "ca", "issue", str(ca_dir), "web")
    assert code == 1
    assert_one_error_line(err)
    assert "already exists" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--ip", "1.2.3"], "not an IP address: '1.2.3'"),
        (["--ip", "127.0.0.1,nope"], "'nope'"),
        (["--days", "0"], "--days"),
        (["--days", "-5"], "--days"),
    ],
)
def test_issue_bad_arguments(
    ca_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = run(capsys, "ca", "issue", str(ca_dir), "web", *args)
    assert code != 0
    assert_one_error_line(err)
    assert message in err
    assert not (ca_dir / "web.key").exists()


def test_issue_bad_name(ca_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ca", "issue", str(ca_dir), "../escape")
    assert code == 1
    assert_one_error_line(err)


def test_issue_without_ca(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ca", "issue", str(tmp_path / "nothing"), "web")
    assert code == 1
    assert_one_error_line(err)
    assert "no CA" in err


def test_bad_key_type(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ca", "init", str(tmp_path / "d"), "--key-type", "dsa")
    assert code == 2
    assert_one_error_line(err)


def test_subprocess(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    d = tmp_path / "ca"
    for argv in (["ca", "init", str(d)], ["ca", "issue", str(d), "localhost"]):
        proc = subprocess.run(
            [sys.executable, "-m", "lucidtls", *argv],
            check=False,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.count("wrote ") == 2
    proc = subprocess.run(
        [sys.executable, "-m", "lucidtls", "ca", "init", str(d)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 1
    assert_one_error_line(proc.stderr)


def test_ed25519_ca_comes_with_a_note(tmp_path, capsys):
    assert main(["ca", "init", str(tmp_path / "ed"), "--key-type", "ed25519"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("note:") and "Ed25519" in err and err.count("\n") == 1
