"""Options and error reporting shared by ``connect``, ``serve`` and ``demo``.

Every failure ends as one ``error: ...`` line on stderr: exit 2 for usage errors (as argparse
does), exit 1 for everything that failed at run time.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lucidtls.config import DEFAULT_KEY_SHARES
from lucidtls.crypto.groups import parse_group_names
from lucidtls.crypto.suites import parse_suite_names
from lucidtls.errors import (
    CertificateError,
    ConfigError,
    ConnectionClosedError,
    PeerAlertError,
    ProtocolError,
    TLSError,
)
from lucidtls.io.aio import TruncationError
from lucidtls.wire.enums import NamedGroup, ProtocolVersion

if TYPE_CHECKING:
    from lucidtls.explain import Narration, Recorder

USAGE_ERROR = 2


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def print_error(message: str) -> None:
    print(f"error: {one_line(message)}", file=sys.stderr, flush=True)


def fail(message: str, status: int = 1) -> int:
    print_error(message)
    return status


def write_text(text: str) -> None:
    """Print *text* to stdout; a terminal that cannot show the diagram's symbols gets
    replacements instead of an encoding error."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        text = text.encode(encoding, "replace").decode(encoding, "replace")
    sys.stdout.write(text)
    sys.stdout.flush()


# --- shared options ----------------------------------------------------------------------------
def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value


def suite_list(text: str) -> tuple[int, ...]:
    """argparse type for --ciphers: IANA or OpenSSL names, comma- or colon-separated."""
    try:
        suites = parse_suite_names(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not suites:
        raise argparse.ArgumentTypeError("names no cipher suite")
    return tuple(int(s.id) for s in suites)


def group_list(text: str) -> tuple[NamedGroup, ...]:
    try:
        groups = parse_group_names(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not groups:
        raise argparse.ArgumentTypeError("names no group")
    return tuple(groups)


def alpn_list(text: str) -> tuple[str, ...]:
    protocols = tuple(part.strip() for part in re.split(r"[,:]", text) if part.strip())
    if not protocols:
        raise argparse.ArgumentTypeError("names no protocol")
    return protocols


def add_tls_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tls1.3", dest="tls13", action="store_true", help="only TLS 1.3")
    parser.add_argument("--tls1.2", dest="tls12", action="store_true", help="only TLS 1.2")
    parser.add_argument("--ciphers", metavar="LIST", type=suite_list,
                        help="cipher suites, IANA or OpenSSL names, comma- or colon-separated")
    parser.add_argument("--groups", metavar="LIST", type=group_list,
                        help="key-exchange groups (x25519, secp256r1, X25519MLKEM768, ...)")
    parser.add_argument("--alpn", metavar="LIST", type=alpn_list,
                        help="ALPN protocols, e.g. h2,http/1.1")
    parser.add_argument("--keylog", metavar="FILE",
                        help="append secrets in NSS key log format (default: $SSLKEYLOGFILE)")


def selected_versions(args: argparse.Namespace) -> tuple[ProtocolVersion, ...] | None:
    """``--tls1.3`` / ``--tls1.2`` alone select that version; both ask for both; neither
    (None) leaves the configuration's default. The config refuses what is not implemented."""
    if args.tls13 and not args.tls12:
        return (ProtocolVersion.TLS1_3,)
    if args.tls12 and not args.tls13:
        return (ProtocolVersion.TLS1_2,)
    if args.tls12 and args.tls13:
        return (ProtocolVersion.TLS1_3, ProtocolVersion.TLS1_2)
    return None


def config_options(args: argparse.Namespace, *, client: bool) -> dict[str, Any]:
    """Keyword arguments for ``ClientConfig`` / ``ServerConfig`` from the shared options;
    what is not given keeps the configuration's default."""
    kwargs: dict[str, Any] = {}
    versions = selected_versions(args)
    if versions is not None:
        kwargs["versions"] = versions
    if args.ciphers is not None:
        kwargs["cipher_suites"] = args.ciphers
    if args.groups is not None:
        kwargs["groups"] = args.groups
        if client:
            # Send shares for the default share groups still enabled, else for the first.
            kwargs["key_share_groups"] = tuple(
                g for g in DEFAULT_KEY_SHARES if g in args.groups) or args.groups[:1]
    if args.alpn is not None:
        kwargs["alpn_protocols"] = args.alpn
    if args.keylog:
        kwargs["keylog_file"] = args.keylog
    return kwargs


# --- --explain ------------------------------------------------------------------------------
def add_explain_options(parser: argparse.ArgumentParser, *, html: str) -> None:
    """``--explain``, ``--show-secrets`` and the HTML option (``--html FILE`` for one
    connection, ``--html-dir DIR`` for a server); the last two imply ``--explain``."""
    parser.add_argument("--explain", action="store_true",
                        help="after each connection, draw and narrate its handshake")
    parser.add_argument("--show-secrets", action="store_true",
                        help="with --explain: show the derived secrets (from the key log)")
    if html == "file":
        parser.add_argument("--html", metavar="FILE",
                            help="with --explain: also write a self-contained HTML report")
    else:
        parser.add_argument("--html-dir", metavar="DIR",
                            help="with --explain: also write one HTML report per connection")


def wants_explain(args: argparse.Namespace) -> bool:
    return bool(args.explain or args.show_secrets or getattr(args, "html", None)
                or getattr(args, "html_dir", None))


def explain_keylog(args: argparse.Namespace, tmp: Path) -> str | None:
    """The key log ``--show-secrets`` reads back: ``--keylog``, else ``$SSLKEYLOGFILE``
    (which the configuration honours anyway), else a file in *tmp*."""
    if not args.show_secrets:
        return args.keylog or None
    return args.keylog or os.environ.get("SSLKEYLOGFILE") or str(tmp / "keys.log")


def narrate_connection(rec: Recorder, args: argparse.Namespace,
                       keylog: str | None) -> Narration | None:
    """The narration of a recorded connection, or None when the peer never answered (the
    TCP connection failed, or closed before any TLS message: nothing to tell)."""
    from lucidtls.explain import explain

    answered = any(e.kind in ("alert", "error") or (
        e.kind == "message" and e.fields.get("direction") == "received") for e in rec.entries)
    if not answered:
        return None
    return explain(rec, keylog_path=keylog, show_secrets=bool(args.show_secrets))


def explain_report(n: Narration) -> str:
    """What ``--explain`` prints: the diagram, then the narrated steps."""
    from lucidtls.explain import report_text

    return report_text(n)


# --- addresses ---------------------------------------------------------------------------------
def parse_host_port(text: str) -> tuple[str, int]:
    """``host:port``, ``1.2.3.4:port`` or ``[v6]:port``; an argparse type (one-line errors)."""
    m = re.fullmatch(r"\[([0-9A-Fa-f:.%\w]+)\]:(\d+)|([^\[\]:\s]+):(\d+)", text)
    if m is None:
        raise argparse.ArgumentTypeError(
            f"expected HOST:PORT (an IPv6 address as [::1]:PORT), not {text!r}")
    host = m.group(1) or m.group(3)
    port = int(m.group(2) or m.group(4))
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range 1..65535")
    return host, port


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range 0..65535")
    return port


# --- describing failures -----------------------------------------------------------------------
def describe_failure(exc: BaseException, *, peer: str, address: str = "",
                     stage: str = "") -> str:
    """One line saying what failed, with the alert name when there was one.

    *peer* is "server" or "client" (who sent an alert); *address* names the endpoint for
    socket errors; *stage* ("handshake", "connection") prefixes our own protocol errors."""
    if isinstance(exc, CertificateError):
        return f"certificate verification failed: {exc.alert.name}: {one_line(exc.reason)}"
    if isinstance(exc, ProtocolError):
        prefix = f"{stage} failed: " if stage else ""
        return f"{prefix}{exc.alert.name}: {one_line(exc.reason)}"
    if isinstance(exc, PeerAlertError):
        name = getattr(exc.alert, "name", f"alert({exc.alert})")
        return f"the {peer} sent a fatal {name} alert"
    if isinstance(exc, TruncationError):
        return f"the {peer} ended the connection without close_notify (truncated)"
    if isinstance(exc, ConnectionClosedError):
        return f"the {peer} closed the connection during the handshake"
    if isinstance(exc, TLSError):
        return one_line(str(exc))
    where = f" to {address}" if address else ""
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused{where}"
    if isinstance(exc, ConnectionResetError):
        return f"connection reset by the {peer}"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve {address or 'host'}: {exc.strerror or exc}"
    if isinstance(exc, TimeoutError):
        return f"timed out{' talking' + where if where else ''}"
    if isinstance(exc, OSError):
        return f"{address + ': ' if address else ''}{exc.strerror or exc}"
    return f"{type(exc).__name__}: {one_line(str(exc))}"
