"""Wireshark's dissector reads our NSS key log: a loopback session captured with tshark is
decrypted with the log, and the HTTP request and response inside are found in plaintext.
Without the log, they are not."""

from __future__ import annotations

import queue
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lucidtls.explain import run_demo, tls12_available
from lucidtls.explain.demo import BODY

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("tshark") is None,
                       reason="tshark is not installed (.ci/run installs it)"),
]
WAIT = 15.0


class Capture:
    def __init__(self, proc: subprocess.Popen[str], path: Path) -> None:
        self.proc, self.path = proc, path

    def wait_for_fins(self, count: int = 2) -> None:
        """Wait until the file holds *count* TCP FINs (or RSTs: a close_notify sent after the
        peer closed is answered with one): dumpcap writes in batches, and stopping it at once
        would lose the tail of the session."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self.path.exists():
                out = subprocess.run(
                    ["tshark", "-r", str(self.path), "-Y",
                     "tcp.flags.fin == 1 || tcp.flags.reset == 1", "-T", "fields",
                     "-e", "frame.number"], capture_output=True, text=True, timeout=WAIT,
                    check=False)
                if len(out.stdout.split()) >= count:
                    return
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # tshark flushes and closes the file
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(WAIT)


def _start_capture(port: int, path: Path) -> Capture:
    """Start ``tshark -i lo`` on *port*; return once it is capturing, or skip the test if it
    cannot capture here (no permission, no loopback capture device)."""
    proc = subprocess.Popen(
        ["tshark", "-i", "lo", "-f", f"tcp port {port}", "-w", str(path)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    cap = Capture(proc, path)
    seen: list[str] = []
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if "Capture started" in line:  # dumpcap reports it once packets are being read
            return cap
    text = "".join(seen)
    if proc.poll() is None and "Capturing on" in text:
        time.sleep(2.0)  # an older tshark that does not say "Capture started"
        return cap
    cap.stop()
    pytest.skip(f"tshark cannot capture on lo here: {text.strip()[-300:]}")


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.create_server(("127.0.0.1", 0))
    try:
        yield sock
    finally:
        sock.close()


def _read(path: Path, port: int, keylog: Path | None, *fields: str) -> list[list[str]]:
    args = ["tshark", "-r", str(path), "-d", f"tcp.port=={port},tls", "-Y", "http",
            "-T", "fields", "-E", "separator=|"]
    if keylog is not None:
        args[3:3] = ["-o", f"tls.keylog_file:{keylog}"]
    for f in fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, timeout=WAIT, check=True)
    return [line.split("|") for line in out.stdout.splitlines() if line.strip()]


VARIANTS = [
    pytest.param("1.3", "ecdhe", id="tls13"),
    pytest.param("1.2", "ecdhe", id="tls12-ecdhe", marks=pytest.mark.skipif(
        not tls12_available(), reason="TLS 1.2 is not in this build yet")),
    pytest.param("1.2", "rsa", id="tls12-rsa", marks=pytest.mark.skipif(
        not tls12_available(), reason="TLS 1.2 is not in this build yet")),
]


@pytest.mark.parametrize(("version", "kx"), VARIANTS)
def test_tshark_decrypts_with_our_key_log(tmp_path, listener, version, kx):
    port = listener.getsockname()[1]
    pcap, keylog = tmp_path / "session.pcapng", tmp_path / "keys.log"
    cap = _start_capture(port, pcap)
    try:
        result = run_demo(version=version, kx=kx, keylog_path=keylog, listener=listener)
        cap.wait_for_fins()
    finally:
        cap.stop()
    assert result.response.endswith(BODY)
    labels = {line.split()[0] for line in keylog.read_text().splitlines()}
    assert labels == ({"CLIENT_RANDOM"} if version == "1.2" else {
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"})

    rows = _read(pcap, port, keylog, "http.request.method", "http.request.uri",
                 "http.response.code", "http.file_data")
    assert ["GET", "/", "", ""] in rows, rows
    responses = [r for r in rows if r[2] == "200"]
    assert responses and "Hello from the lucidtls demo server." in responses[0][3], rows
    # The capture holds the handshake the narration told, at the version it named.
    versions = subprocess.run(
        ["tshark", "-r", str(pcap), "-d", f"tcp.port=={port},tls",
         "-o", f"tls.keylog_file:{keylog}", "-Y", "tls.handshake.type == 2", "-T", "fields",
         "-e", "tls.handshake.extensions.supported_version", "-e", "tls.handshake.version"],
        capture_output=True, text=True, timeout=WAIT, check=True).stdout
    assert ("0x0304" in versions) is (version == "1.3"), versions
    # Without our key log the same capture shows no plaintext.
    assert _read(pcap, port, None, "http.request.method") == []
