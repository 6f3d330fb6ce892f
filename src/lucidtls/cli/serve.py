"""``lucidtls serve``: a small TLS server that shows what each handshake negotiated.

Without ``--cert``/``--key`` it issues a throwaway CA and a certificate for localhost,
127.0.0.1 and ::1, and prints how to connect. ``--http`` (the default) answers each request
with a page describing that connection's handshake; ``--echo`` sends back what it receives.
Each connection is logged on stderr as one line.
"""

from __future__ import annotations

import argparse
import html
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from lucidtls.cli.common import (
    USAGE_ERROR,
    add_tls_options,
    config_options,
    describe_failure,
    fail,
    format_address,
    port_number,
)
from lucidtls.config import ServerConfig
from lucidtls.errors import ConfigError, TLSError
from lucidtls.info import ConnectionInfo
from lucidtls.io.sync import TLSServer, TLSSocket
from lucidtls.pki.credentials import Credential

MAX_REQUEST_HEAD = 64 * 1024
_log_lock = threading.Lock()


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


def read_request_head(tls: TLSSocket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head and b"\n\n" not in head and len(head) < MAX_REQUEST_HEAD:
        chunk = tls.recv()
        if not chunk:
            break
        head += chunk
    return head


def serve_http(tls: TLSSocket) -> str:
    head = read_request_head(tls)
    if not head:
        return "closed without a request"
    request_line = head.split(b"\n", 1)[0].decode("latin-1").strip()
    parts = request_line.split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        status, body = "400 Bad Request", b"bad request\n"
        content_type = "text/plain"
    else:
        status, body = "200 OK", http_page(tls.info, request_line)
        content_type = "text/html; charset=utf-8"
    header = (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
              f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    tls.sendall(header + (b"" if parts[:1] == ["HEAD"] else body))
    return f"{status.split()[0]} {request_line}"


def serve_echo(tls: TLSSocket) -> str:
    total = 0
    while chunk := tls.recv():
        total += len(chunk)
        tls.sendall(chunk)
    return f"echoed {total} bytes"


def make_handler(app: Callable[[TLSSocket], str]) -> Callable[[TLSSocket], None]:
    """Run *app* on a connection and log one line about it, whatever happens."""

    def handler(tls: TLSSocket) -> None:
        try:
            host, port = tls.sock.getpeername()[:2]
            peer = format_address(host, port)
        except OSError:
            peer = "?"
        try:
            outcome = app(tls)
        except (TLSError, OSError) as exc:
            outcome = f"failed: {describe_failure(exc, peer='client')}"
        log(log_line(peer, tls.info, outcome))

    return handler


def on_error(peer: tuple[str, int], exc: Exception) -> None:
    if isinstance(exc, TLSError) and hasattr(exc, "alert"):
        alert = getattr(exc.alert, "name", str(exc.alert))
        reason = describe_failure(exc, peer="client")
        if reason.startswith("certificate verification failed: "):
            reason = reason.removeprefix("certificate verification failed: ")
        if reason.startswith(f"{alert}: "):
            reason = reason.removeprefix(f"{alert}: ")
        log(f"{format_address(*peer[:2])} failed: {alert}: {reason}")
    else:
        log(f"{format_address(*peer[:2])} failed: {describe_failure(exc, peer='client')}")


# --- set-up ------------------------------------------------------------------------------------
def throwaway_credential(ca_out: Path) -> Credential:
    """A fresh CA (written to *ca_out*) and a localhost certificate it issued."""
    from lucidtls.pki.issue import issue_certificate, make_ca, write_pem

    ca = make_ca("lucidtls serve throwaway CA")
    cred = issue_certificate(ca, "localhost", dns=["localhost"], ips=["127.0.0.1", "::1"])
    write_pem(ca_out, ca.leaf)
    return cred


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Let SIGTERM end the server like Ctrl-C (so the temporary CA is cleaned up)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
    app = serve_echo if args.echo else serve_http
    with tempfile.TemporaryDirectory(prefix="lucidtls-serve-") as tmp:
        try:
            config, ca_file = _build_config(args, Path(tmp))
            server = TLSServer(config, make_handler(app), host=args.host, port=args.port,
                               on_error=on_error)
        except ConfigError as exc:
            return fail(str(exc))
        except OSError as exc:
            return fail(f"cannot listen on {format_address(args.host, args.port)}: "
                        f"{exc.strerror or exc}")
        try:
            with _sigterm_as_interrupt():
                _print_instructions(args.host, server.address[1], ca_file)
                server.serve_forever(max_connections=1 if args.once else None)
        except KeyboardInterrupt:
            return 130
        finally:
            server.stop()
    return 0


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
    p.add_argument("--verify-client", choices=("none", "optional", "required"), default="none",
                   help="ask for a client certificate (needs --cafile)")
    p.add_argument("--cafile", metavar="FILE", help="CAs that issue client certificates")
    p.set_defaults(func=_run)
