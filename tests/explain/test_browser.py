"""Real clients load the page ``lucidtls serve --http`` serves: headless Chromium over TLS 1.3
with X25519MLKEM768 (BoringSSL offers it by default), and curl over the system's OpenSSL. The page
and the server's log must both name what was negotiated, and agree."""

from __future__ import annotations

import base64
import hashlib
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.cli.test_serve import WAIT, Serve, Served, serving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or \
    shutil.which("google-chrome")
CURL = shutil.which("curl")

pytestmark = pytest.mark.interop


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    yield from serving(tmp_path)


def spki_pin(cert: x509.Certificate) -> str:
    """Chromium's pin format: base64 of SHA-256 of the DER SubjectPublicKeyInfo."""
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def server_leaf(served: Served) -> x509.Certificate:
    """The certificate ``serve`` presents, fetched over a connection verified by its CA."""
    pem = ssl.get_server_certificate(("127.0.0.1", served.port), ca_certs=str(served.ca),
                                     timeout=WAIT)
    return x509.load_pem_x509_certificate(pem.encode())


def page_fact(page: str, name: str) -> str:
    """A row of the page's table (``<tr><th>name</th><td>value</td></tr>``)."""
    marker = f"<th>{name}</th><td>"
    assert marker in page, page
    return page.split(marker, 1)[1].split("</td>", 1)[0]


def log_fields(served: Served, path: str) -> list[str]:
    """``peer version suite group sni=...`` of the log line for the request of *path*."""
    lines = [line for line in served.stderr.splitlines()
             if line.endswith(f": 200 GET {path} HTTP/1.1")]
    assert len(lines) == 1, served.stderr
    return lines[0].split()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_chromium_loads_the_page_over_x25519mlkem768(serve: Serve, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    served = serve("--http")
    # --ignore-certificate-errors-spki-list accepts a chain if the key of a certificate in it
    # (as the server sent it) is listed; the leaf's key is the one that is always sent.
    pin = spki_pin(server_leaf(served))
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         "--host-resolver-rules=MAP localhost 127.0.0.1",
         f"--ignore-certificate-errors-spki-list={pin}",
         "--dump-dom", f"https://localhost:{served.port}/chromium"],
        capture_output=True, text=True, timeout=WAIT, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert "Hello from lucidtls" in dom, (dom, proc.stderr[-2000:])
    assert page_fact(dom, "version") == "TLSv1.3"
    assert page_fact(dom, "key exchange") == "ECDHE X25519MLKEM768"
    assert page_fact(dom, "SNI") == "localhost"
    assert page_fact(dom, "ALPN") == "http/1.1"  # Chromium offers h2 too; serve takes 1.1
    served.stop()
    _, version, suite, group, sni = log_fields(served, "/chromium")[:5]
    assert (version, group, sni) == ("TLSv1.3", "X25519MLKEM768", "sni=localhost")
    assert page_fact(dom, "cipher suite") == suite


@pytest.mark.skipif(CURL is None, reason="curl is not installed (.ci/run installs it)")
def test_curl_loads_the_page(serve: Serve) -> None:
    assert CURL is not None
    served = serve("--http")
    proc = subprocess.run(
        [CURL, "-sS", "--max-time", str(WAIT), "--cacert", str(served.ca),
         f"https://localhost:{served.port}/curl"],
        capture_output=True, text=True, timeout=WAIT, check=False)
    assert proc.returncode == 0, proc.stderr
    page = proc.stdout
    assert page_fact(page, "version") == "TLSv1.3"
    served.stop()
    _, version, suite, group, sni = log_fields(served, "/curl")[:5]
    # Whatever the system's OpenSSL chose (x25519 for OpenSSL 3.0), page and log agree.
    assert (version, sni) == ("TLSv1.3", "sni=localhost")
    assert page_fact(page, "key exchange") == f"ECDHE {group}"
    assert page_fact(page, "cipher suite") == suite
