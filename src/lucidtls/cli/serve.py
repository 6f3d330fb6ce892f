"""``lucidtls serve``: a small TLS server that shows what each handshake negotiated.

Without ``--cert``/``--key`` it issues a throwaway CA and a certificate for localhost,
127.0.0.1 and ::1, and prints how to connect. ``--http`` (the default) answers each request
with a page describing that connection's handshake; ``--echo`` sends back what it receives.
Each connection is logged on stderr as one line; with ``--explain`` its handshake is drawn and
narrated on stdout. Clients are served concurrently, one asyncio task each (``lucidtls.aio``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from lucidtls.cli.common import (
    USAGE_ERROR,
    add_explain_options,
    add_tls_options,
    config_options,
    describe_failure,
    explain_keylog,
    explain_report,
    fail,
    format_address,
    narrate_connection,
    port_number,
    positive_seconds,
    wants_explain,
    write_text,
)
from lucidtls.config import ServerConfig
from lucidtls.connection import Connection
from lucidtls.errors import ConfigError, TLSError
from lucidtls.info import ConnectionInfo
from lucidtls.io.aio import TruncationError, connection_info, start_server
from lucidtls.pki.credentials import Credential

MAX_REQUEST_HEAD = 64 * 1024
READ_SIZE = 65536
IDLE_TIMEOUT = 30.0  # seconds a client may stay silent after its handshake
LINGER = 5.0  # seconds to wait for the client's end after our close_notify
_log_lock = threading.Lock()  # one line (or one report) at a time


def log(line: str) -> None:
    with _log_lock:
        print(line, file=sys.stderr, flush=True)


# --- what a connection negotiated --------------------------------------------------------------
def client_subject(info: ConnectionInfo) -> str | None:
    if info.client_auth and info.peer_certificates:
        return info.peer_certificates[0].subject.rfc4514_string()
    return None


def describe_connection(info: ConnectionInfo) -> list[tuple[str, str]]:
    return [
        ("version", info.version_name),
        ("cipher suite", info.cipher_name),
        ("key exchange", f"{info.kx} {info.group_name or ''}".strip()),
        ("signature scheme", info.signature_scheme_name or "-"),
        ("ALPN", info.alpn_protocol or "-"),
        ("SNI", info.server_name or "-"),
        ("HelloRetryRequest", "yes" if info.hello_retry else "no"),
        ("client certificate", client_subject(info) or "none"),
    ]


def log_line(peer: str, info: ConnectionInfo, outcome: str) -> str:
    parts = [peer, info.version_name, info.cipher_name, info.group_name or "-",
             f"sni={info.server_name or '-'}",
             f"client={client_subject(info)}" if client_subject(info) else
             "no client certificate"]
    return " ".join(parts) + f": {outcome}"


# --- the two applications ----------------------------------------------------------------------
def http_page(info: ConnectionInfo, request_line: str) -> bytes:
    rows = "\n".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                     for k, v in describe_connection(info))
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>lucidtls</title></head>
<body>
<h1>Hello from lucidtls</h1>
<p>Your request <code>{html.escape(request_line)}</code> came over this TLS connection:</p>
<table>
{rows}
</table>
</body></html>
""".encode()


async def _read(reader: asyncio.StreamReader) -> bytes:
    """Some bytes, ``b""`` once the client closed; a client silent for ``IDLE_TIMEOUT``
    seconds fails with TimeoutError."""
    return await asyncio.wait_for(reader.read(READ_SIZE), IDLE_TIMEOUT)


async def read_request_head(reader: asyncio.StreamReader) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head and b"\n\n" not in head and len(head) < MAX_REQUEST_HEAD:
        try:
            chunk = await _read(reader)
        except TruncationError:
            if head:
                raise
            break  # a browser's spare connection, closed unused: no request, nothing lost
        if not chunk:
            break
        head += chunk
    return head


async def serve_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     info: ConnectionInfo) -> str:
    head = await read_request_head(reader)
    if not head:
        return "closed without a request"
    request_line = head.split(b"\n", 1)[0].decode("latin-1").strip()
    parts = request_line.split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        status, body = "400 Bad Request", b"bad request\n"
        content_type = "text/plain"
    else:
        status, body = "200 OK", http_page(info, request_line)
        content_type = "text/html; charset=utf-8"
    header = (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
              f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    writer.write(header + (b"" if parts[:1] == ["HEAD"] else body))
    await writer.drain()
    return f"{status.split()[0]} {request_line}"


async def serve_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     info: ConnectionInfo) -> str:
    total = 0
    while chunk := await _read(reader):
        total += len(chunk)
        writer.write(chunk)
        await writer.drain()  # back-pressure: a client that does not read slows us down
    return f"echoed {total} bytes"


App = Callable[[asyncio.StreamReader, asyncio.StreamWriter, ConnectionInfo], Awaitable[str]]


def peer_name(peername: Any) -> str:
    if isinstance(peername, tuple) and len(peername) >= 2:
        return format_address(str(peername[0]), int(peername[1]))
    return "?"


def failure_outcome(exc: BaseException) -> str:
    """How a connection whose handshake failed ended: the alert first, when there was one."""
    if isinstance(exc, TLSError) and hasattr(exc, "alert"):
        alert = getattr(exc.alert, "name", str(exc.alert))
        reason = describe_failure(exc, peer="client")
        reason = reason.removeprefix("certificate verification failed: ")
        reason = reason.removeprefix(f"{alert}: ")
        return f"failed: {alert}: {reason}"
    return f"failed: {describe_failure(exc, peer='client')}"


async def close_gracefully(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Send close_notify (RFC 8446 §6.1), then read until the client ends too (for at most
    ``LINGER`` seconds) before closing the socket: closing a socket with unread data in it
    makes the kernel send RST, and a RST can destroy our answer before the client read it."""
    with contextlib.suppress(Exception):
        writer.write_eof()
        async with asyncio.timeout(LINGER):
            while await reader.read(READ_SIZE):
                pass
    writer.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(writer.wait_closed(), IDLE_TIMEOUT)


class Connections:
    """Runs the application on each connection (one asyncio task each) and reports every
    connection, handshake failures included: a log line on stderr and, with ``--explain``,
    the narrated handshake on stdout."""

    def __init__(self, app: App, args: argparse.Namespace, keylog: str | None) -> None:
        self.app = app
        self.args = args
        self.keylog = keylog
        self.explaining = wants_explain(args)
        self.served = 0
        self.first_done = asyncio.Event()  # --once

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = peer_name(writer.get_extra_info("peername"))
        info = connection_info(writer)
        try:
            outcome = await self.app(reader, writer, info)
        except (TLSError, OSError) as exc:
            outcome = f"failed: {describe_failure(exc, peer='client')}"
        finally:
            await close_gracefully(reader, writer)
        log(log_line(peer, info, outcome))
        self.done(peer, writer.get_extra_info("tls_connection"), outcome)

    def handshake_failed(self, peername: Any, conn: Connection, exc: BaseException) -> None:
        peer = peer_name(peername)
        outcome = failure_outcome(exc)
        log(f"{peer} {outcome}")
        self.done(peer, conn, outcome)

    def done(self, peer: str, conn: Connection, outcome: str) -> None:
        self.served += 1
        if self.explaining:
            try:
                self.explain(self.served, peer, conn, outcome)
            except Exception as exc:  # noqa: BLE001 - a report must not stop the server
                log(f"cannot explain connection {self.served}: {type(exc).__name__}: {exc}")
        self.first_done.set()

    def explain(self, number: int, peer: str, conn: Connection, outcome: str) -> None:
        from lucidtls.explain import Recorder, write_html

        rec = Recorder()
        rec.add("server", conn.trace_log or ())
        narration = narrate_connection(rec, self.args, self.keylog)
        if narration is None:
            return
        text = f"\n=== connection {number} from {peer}: {outcome} ===\n\n"
        text += explain_report(narration)
        if self.args.html_dir:
            path = Path(self.args.html_dir) / f"connection-{number}.html"
            try:
                text += f"\nHTML report: {write_html(narration, path)}\n"
            except OSError as exc:
                log(f"cannot write {path}: {exc.strerror or exc}")
        with _log_lock:
            write_text(text)


# --- set-up ------------------------------------------------------------------------------------
def throwaway_credential(ca_out: Path) -> Credential:
    """A fresh CA (written to *ca_out*) and a localhost certificate it issued."""
    from lucidtls.pki.issue import issue_certificate, make_ca, write_pem

    ca = make_ca("lucidtls serve throwaway CA")
    cred = issue_certificate(ca, "localhost", dns=["localhost"], ips=["127.0.0.1", "::1"])
    write_pem(ca_out, ca.leaf)
    return cred


def _print_instructions(host: str, port: int, ca_file: Path | None) -> None:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)
    address = format_address(shown, port)
    if ca_file is not None:
        print(f"throwaway CA certificate: {ca_file}")
        print("connect with:")
        print(f"  lucidtls connect {address} --cafile {ca_file}")
        print(f"  openssl s_client -connect {address} -CAfile {ca_file}")
        print(f"  curl --cacert {ca_file} https://{address}/")
    else:
        print("connect with:")
        print(f"  lucidtls connect {address} --cafile <the CA of your certificate>")
    # Last, so that a script reading it knows everything above is out.
    print(f"listening on {address}", flush=True)


def _run(args: argparse.Namespace) -> int:
    if bool(args.cert) != bool(args.key):
        return fail("--cert and --key go together", USAGE_ERROR)
    if args.verify_client != "none" and not args.cafile:
        return fail("--verify-client needs --cafile (the CAs of client certificates)",
                    USAGE_ERROR)
    if args.html_dir:
        try:
            Path(args.html_dir).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return fail(f"cannot create {args.html_dir}: {exc.strerror or exc}")
    app = serve_echo if args.echo else serve_http
    with tempfile.TemporaryDirectory(prefix="lucidtls-serve-") as tmp:
        keylog = explain_keylog(args, Path(tmp)) if wants_explain(args) else args.keylog
        if keylog:
            args.keylog = keylog
        try:
            config, ca_file = _build_config(args, Path(tmp))
        except ConfigError as exc:
            return fail(str(exc))
        try:
            family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
            listener = socket.create_server((args.host, args.port), family=family)
        except OSError as exc:
            return fail(f"cannot listen on {format_address(args.host, args.port)}: "
                        f"{exc.strerror or exc}")
        try:
            return asyncio.run(_serve(args, config, ca_file, listener, app, keylog))
        except KeyboardInterrupt:  # before or after the signal handlers were in place
            return 130
        finally:
            listener.close()


async def _serve(args: argparse.Namespace, config: ServerConfig, ca_file: Path | None,
                 listener: socket.socket, app: App, keylog: str | None) -> int:
    """Serve until Ctrl-C or SIGTERM (130), or after the first connection with ``--once``."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals: list[int] = []

    def on_signal(sig: int) -> None:  # Ctrl-C or SIGTERM: stop quietly
        signals.append(sig)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, on_signal, sig)
        except (RuntimeError, ValueError, NotImplementedError):  # not the main thread
            continue
    connections = Connections(app, args, keylog)
    try:
        server = await start_server(
            connections.handle, sock=listener, config=config,
            handshake_timeout=args.handshake_timeout, trace=connections.explaining,
            handshake_error_cb=connections.handshake_failed)
        _print_instructions(args.host, listener.getsockname()[1], ca_file)
        waits = [asyncio.ensure_future(stop.wait())]
        if args.once:
            waits.append(asyncio.ensure_future(connections.first_done.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
            server.close()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(RuntimeError, ValueError, NotImplementedError):
                loop.remove_signal_handler(sig)
    return 130 if signals else 0


def _build_config(args: argparse.Namespace, tmp: Path) -> tuple[ServerConfig, Path | None]:
    from lucidtls.pki.credentials import load_credential
    from lucidtls.pki.trust import TrustStore

    kwargs = config_options(args, client=False)
    if "alpn_protocols" not in kwargs and not args.echo:
        kwargs["alpn_protocols"] = ("http/1.1",)
    ca_file: Path | None = None
    if args.cert:
        cred = load_credential(args.cert, args.key)
    else:
        ca_file = Path(args.ca_out) if args.ca_out else tmp / "ca.pem"
        cred = throwaway_credential(ca_file)
    kwargs["credentials"] = (cred,)
    if args.verify_client != "none":
        kwargs["verify_client"] = args.verify_client
        kwargs["client_trust"] = TrustStore.from_pem_file(args.cafile)
    return ServerConfig(**kwargs), ca_file


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("serve", help="run a TLS server that describes each handshake",
                              description=__doc__)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=port_number, default=4433, help="port (4433; 0 picks one)")
    p.add_argument("--cert", metavar="FILE", help="certificate chain (PEM)")
    p.add_argument("--key", metavar="FILE", help="private key (PEM)")
    p.add_argument("--ca-out", metavar="FILE",
                   help="where to write the throwaway CA (default: a temporary directory)")
    add_tls_options(p)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--http", action="store_true",
                      help="answer HTTP/1.x requests with a page about the handshake (default)")
    mode.add_argument("--echo", action="store_true", help="echo bytes back until the client "
                                                          "closes")
    p.add_argument("--once", action="store_true", help="serve one connection, then exit")
    p.add_argument("--handshake-timeout", type=positive_seconds, default=30.0,
                   metavar="SECONDS", help="drop a client whose handshake takes longer (30)")
    p.add_argument("--verify-client", choices=("none", "optional", "required"), default="none",
                   help="ask for a client certificate (needs --cafile)")
    p.add_argument("--cafile", metavar="FILE", help="CAs that issue client certificates")
    add_explain_options(p, html="dir")
    p.set_defaults(func=_run)
