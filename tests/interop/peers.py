"""Real TLS peers for interop tests.

* ``Process``: a spawned peer (``openssl s_server``/``s_client``, ``gnutls-serv``/``gnutls-cli``)
  whose output a reader thread collects, so a test can wait for a line without blocking forever;
  used as a context manager it is always killed.
* ``openssl_server`` / ``openssl_client`` / ``gnutls_server`` / ``gnutls_client``: argv builders
  that take the protocol version as a parameter (``-tls1_3``, ``-tls1_2``; a GnuTLS priority).
* ``ServerThread``: a loopback listener whose handler (a stdlib ``ssl`` server, a lucidtls
  server, ...) runs in a thread and whose exceptions surface in the test.
* ``PemFiles``: the test PKI written as PEM files, for the tools that read files.
* payload helpers: deterministic data and a length-prefixed exchange to check integrity.

Everything binds or connects to 127.0.0.1 only, and every wait has a timeout.
"""

from __future__ import annotations

import hashlib
import random
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import pytest

from lucidtls.connection import Connection
from lucidtls.events import Event
from lucidtls.pki.credentials import Credential
from lucidtls.pki.issue import write_pem

T = TypeVar("T")

LOOPBACK = "127.0.0.1"
TIMEOUT = 20.0  # generous: a wait that expires is a failure, never a measurement

OPENSSL = shutil.which("openssl")
GNUTLS_CLI = shutil.which("gnutls-cli")
GNUTLS_SERV = shutil.which("gnutls-serv")
STDBUF = shutil.which("stdbuf")

needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
needs_gnutls = pytest.mark.skipif(GNUTLS_CLI is None or GNUTLS_SERV is None,
                                  reason="gnutls-bin not installed")


def free_port() -> int:
    """A loopback port from the ephemeral range that was free a moment ago (for tools that
    cannot bind port 0 and report it, like gnutls-serv)."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


# --- the test PKI as files ---------------------------------------------------------------------

@dataclass(frozen=True)
class PemFiles:
    ca: Path  # the trust anchor
    chain: Path  # leaf first
    key: Path


def write_pem_files(directory: Path, ca: Credential, cred: Credential,
                    name: str = "server") -> PemFiles:
    directory.mkdir(parents=True, exist_ok=True)
    return PemFiles(
        ca=write_pem(directory / "ca.pem", ca.leaf),
        chain=write_pem(directory / f"{name}.pem", cred.chain),
        key=write_pem(directory / f"{name}.key", cred.private_key),
    )


# --- spawned peers -----------------------------------------------------------------------------

class PeerFailed(AssertionError):
    pass


class Process:
    """A spawned peer with stdin as a pipe. Its stdout (and stderr, unless *merge_stderr* is
    false: then it goes to ``errors``) is collected into ``output`` by a reader thread, so the
    peer never blocks on a full pipe."""

    def __init__(self, argv: Sequence[str | Path], *, merge_stderr: bool = True) -> None:
        self.argv = [str(a) for a in argv]
        self._buf = bytearray()
        self._err = bytearray()
        self._cond = threading.Condition()
        self._eof = False
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE)
        self._readers = [threading.Thread(target=self._read, args=(self.proc.stdout, self._buf),
                                          daemon=True)]
        if not merge_stderr:
            self._readers.append(threading.Thread(target=self._read,
                                                  args=(self.proc.stderr, self._err),
                                                  daemon=True))
        for reader in self._readers:
            reader.start()
        self.port = 0

    def _read(self, stream: Any, buf: bytearray) -> None:
        while chunk := stream.read1(65536):
            with self._cond:
                buf += chunk
                self._cond.notify_all()
        if buf is self._buf:
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    @property
    def output(self) -> bytes:
        with self._cond:
            return bytes(self._buf)

    @property
    def errors(self) -> bytes:
        with self._cond:
            return bytes(self._err)

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    def describe(self) -> str:
        tail = self.text[-3000:]
        err = self.errors.decode("utf-8", "replace")[-1000:]
        return (f"{' '.join(self.argv)}\n(exit {self.proc.poll()})\n--- output (tail) ---\n"
                f"{tail}\n--- stderr ---\n{err}")

    def wait_for(self, pattern: bytes | str | re.Pattern[bytes], *, count: int = 1,
                 timeout: float = TIMEOUT) -> re.Match[bytes]:
        """Wait until *pattern* (a literal or a compiled regex) occurs *count* times in the
        output; returns the last match. Fails with the peer's output if it exits first."""
        if isinstance(pattern, str):
            pattern = pattern.encode()
        regex = re.compile(re.escape(pattern)) if isinstance(pattern, bytes) else pattern
        with self._cond:
            ok = self._cond.wait_for(
                lambda: len(regex.findall(self._buf)) >= count or self._eof, timeout)
            matches = list(regex.finditer(self._buf))
            if len(matches) >= count:
                return matches[-1]
        why = "timed out" if not ok else "exited"
        raise PeerFailed(f"peer {why} before printing {regex.pattern!r} x{count}:\n"
                         f"{self.describe()}")

    def wait_until(self, predicate: Callable[[bytearray], bool], what: str,
                   timeout: float = TIMEOUT) -> None:
        """Wait until *predicate(output)* holds (*what* names it in the failure)."""
        with self._cond:
            if self._cond.wait_for(lambda: predicate(self._buf) or self._eof, timeout) and \
                    predicate(self._buf):
                return
        raise PeerFailed(f"peer never showed {what}:\n{self.describe()}")

    def write(self, data: bytes) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(data)
        stdin.flush()

    def close_stdin(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass

    def wait(self, timeout: float = TIMEOUT) -> int:
        """The exit status; fails (and kills the peer) if it does not exit in time."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise PeerFailed(f"peer did not exit:\n{self.describe()}") from None
        for reader in self._readers:
            reader.join(timeout)
        return code

    def stop(self) -> None:
        self.close_stdin()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for reader in self._readers:
            reader.join(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _line_buffered(argv: list[str]) -> list[str]:
    """The openssl apps print through stdio, which buffers a pipe fully: a status line such
    as s_server's "SSL_do_handshake -> 1" would only appear at exit. ``stdbuf`` fixes that."""
    return [STDBUF, "-oL", "-eL", *argv] if STDBUF is not None else argv


def _opt(flag: str, value: str | None) -> list[str]:
    return [] if value is None else [flag, value]


def openssl_server(pem: PemFiles, *, version_flag: str = "-tls1_3",
                   ciphersuites: str | None = None, cipher: str | None = None,
                   groups: str | None = None, quiet: bool = False,
                   extra: Sequence[str] = ()) -> Process:
    """``openssl s_server`` for one connection; ``port`` is set.

    By default it picks its own port (``-accept 127.0.0.1:0`` prints ``ACCEPT 127.0.0.1:<port>``)
    and prints the handshake details. With *quiet* (``-quiet``) stdout carries exactly the
    application data received, but nothing says when it listens: connect with
    ``retry_refused``; stderr is kept apart in ``errors``."""
    assert OPENSSL is not None
    port = free_port() if quiet else 0
    argv = [OPENSSL, "s_server", "-accept", f"{LOOPBACK}:{port}", "-naccept", "1",
            version_flag, "-cert", str(pem.chain), "-key", str(pem.key),
            *_opt("-ciphersuites", ciphersuites), *_opt("-cipher", cipher),
            *_opt("-groups", groups), *(["-quiet"] if quiet else []), *extra]
    proc = Process(_line_buffered(argv), merge_stderr=not quiet)
    if quiet:
        proc.port = port
        return proc
    try:
        match = proc.wait_for(re.compile(rb"ACCEPT \S+:(\d+)\n"))
    except BaseException:
        proc.stop()
        raise
    proc.port = int(match.group(1))
    return proc


def retry_refused(connect: Callable[[], T], timeout: float = TIMEOUT) -> T:
    """Call *connect* until the peer listens (it raised ``ConnectionRefusedError`` so far)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return connect()
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def openssl_client(port: int, ca: Path, *, version_flag: str = "-tls1_3",
                   servername: str = "localhost", ciphersuites: str | None = None,
                   cipher: str | None = None, groups: str | None = None,
                   extra: Sequence[str] = ()) -> Process:
    """``openssl s_client`` that refuses an unverified server (``-verify_return_error``)."""
    assert OPENSSL is not None
    argv = [OPENSSL, "s_client", "-connect", f"{LOOPBACK}:{port}", version_flag,
            "-verify_return_error", "-CAfile", str(ca), "-servername", servername,
            *_opt("-ciphersuites", ciphersuites), *_opt("-cipher", cipher),
            *_opt("-groups", groups), *extra]
    return Process(_line_buffered(argv))


def gnutls_server(pem: PemFiles, *, priority: str, extra: Sequence[str] = ("--echo",),
                  attempts: int = 5) -> Process:
    """``gnutls-serv`` (echo mode by default). It binds the port we name on all addresses
    (it has no bind-address option); tests connect to 127.0.0.1 only."""
    assert GNUTLS_SERV is not None
    for _ in range(attempts):
        port = free_port()
        argv = [GNUTLS_SERV, "--port", str(port), "--x509certfile", str(pem.chain),
                "--x509keyfile", str(pem.key), "--priority", priority,
                "--disable-client-cert", *extra]
        proc = Process(argv)
        try:
            proc.wait_for(re.compile(rb"listening on IPv4 .*done"))
        except PeerFailed:
            proc.stop()
            if b"bind" in proc.output.lower():
                continue  # somebody took the port in between: try another
            raise
        proc.port = port
        return proc
    raise PeerFailed("gnutls-serv could not bind a free port")


def gnutls_client(port: int, ca: Path, *, priority: str, servername: str = "localhost",
                  extra: Sequence[str] = ()) -> Process:
    assert GNUTLS_CLI is not None
    argv = [GNUTLS_CLI, "--port", str(port), "--x509cafile", str(ca), "--priority", priority,
            "--sni-hostname", servername, "--verify-hostname", servername, *extra, LOOPBACK]
    return Process(argv)


# --- peers in threads --------------------------------------------------------------------------

class ServerThread:
    """Accepts *count* connections on 127.0.0.1 and runs ``handler(sock)`` for each in turn in
    one thread. Leaving the ``with`` block joins the thread (with a timeout) and re-raises the
    handler's exception, so a server-side failure fails the test."""

    def __init__(self, handler: Callable[[socket.socket], Any], count: int = 1,
                 timeout: float = TIMEOUT) -> None:
        self.handler = handler
        self.count = count
        self.timeout = timeout
        self.listener = socket.create_server((LOOPBACK, 0))
        self.listener.settimeout(timeout)
        self.port: int = self.listener.getsockname()[1]
        self.results: list[Any] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            for _ in range(self.count):
                sock, _ = self.listener.accept()
                with sock:
                    sock.settimeout(self.timeout)
                    self.results.append(self.handler(sock))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread by join()
            self.error = exc

    def join(self) -> list[Any]:
        self._thread.join(self.timeout)
        self.listener.close()
        if self._thread.is_alive():
            raise PeerFailed("server thread did not finish")
        if self.error is not None:
            raise self.error
        return self.results

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None:
            self.join()
        else:  # the test already failed: just make sure nothing lingers
            self.listener.close()
            self._thread.join(self.timeout)


_STDLIB_VERSIONS = {"TLSv1.3": ssl.TLSVersion.TLSv1_3, "TLSv1.2": ssl.TLSVersion.TLSv1_2}


def stdlib_server_context(pem: PemFiles, *, version: str = "TLSv1.3",
                          ciphers: str | None = None) -> ssl.SSLContext:
    """A stdlib ``ssl`` server limited to one protocol version (*ciphers* is the OpenSSL list
    for TLS 1.2 suites; TLS 1.3 suites cannot be limited before Python 3.13's API)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ctx.maximum_version = _STDLIB_VERSIONS[version]
    ctx.load_cert_chain(pem.chain, pem.key)
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    return ctx


def stdlib_client_context(ca: Path, *, version: str = "TLSv1.3",
                          ciphers: str | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ctx.maximum_version = _STDLIB_VERSIONS[version]
    ctx.load_verify_locations(cafile=ca)
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    return ctx


# --- lucidtls helpers --------------------------------------------------------------------------

def record_events(conn: Connection) -> list[Event]:
    """Keep a copy of every event a driver takes from *conn* (the blocking ``TLSSocket``
    consumes events such as ``KeyUpdated`` without exposing them)."""
    seen: list[Event] = []
    take = conn.events

    def events() -> list[Event]:
        out = take()
        seen.extend(out)
        return out

    conn.events = events  # type: ignore[method-assign]
    return seen


# --- payloads ----------------------------------------------------------------------------------

SIZES = {"1B": 1, "16KiB": 16 * 1024, "10MiB": 10 * 1024 * 1024}
# Printable, and no command letter of s_server / s_client (q Q r R P S k K c) can start a line.
_ALPHABET = b"0123456789abdefg"
_LINE = 64


def payload(n: int, seed: int = 0) -> bytes:
    """*n* deterministic bytes: lines of 63 characters and a newline, the last byte a newline
    (line-based peers such as gnutls-serv's echo answer only whole lines); one byte is a single
    character."""
    table = bytes.maketrans(bytes(range(256)), _ALPHABET * 16)
    data = bytearray(random.Random(seed).randbytes(n).translate(table))
    data[_LINE - 1::_LINE] = b"\n" * len(range(_LINE - 1, n, _LINE))
    if n > 1:
        data[-1] = ord("\n")
    return bytes(data)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def recv_exactly(recv: Callable[[int], bytes], n: int) -> bytes:
    """Read exactly *n* bytes with a ``recv``-like function; fails on an early end."""
    parts = bytearray()
    while len(parts) < n:
        chunk = recv(min(n - len(parts), 1 << 20))
        if not chunk:
            raise PeerFailed(f"connection ended after {len(parts)} of {n} bytes")
        parts += chunk
    return bytes(parts)


# A tiny protocol to move data both ways without either side having to read and write at once:
# the client sends an 8-byte length and that many bytes; the server answers with the SHA-256 of
# what it received, then sends the same number of bytes of its own payload.

def exchange_as_client(sendall: Callable[[bytes], Any], recv: Callable[[int], bytes],
                       n: int) -> None:
    mine = payload(n, seed=1)
    sendall(n.to_bytes(8, "big") + mine)
    echoed = recv_exactly(recv, 32)
    assert echoed.hex() == digest(mine), "the server received different bytes"
    theirs = recv_exactly(recv, n)
    assert digest(theirs) == digest(payload(n, seed=2)), "we received different bytes"


def exchange_as_server(sendall: Callable[[bytes], Any], recv: Callable[[int], bytes]) -> int:
    n = int.from_bytes(recv_exactly(recv, 8), "big")
    received = recv_exactly(recv, n)
    sendall(hashlib.sha256(received).digest())
    sendall(payload(n, seed=2))
    return n
