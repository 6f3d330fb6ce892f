"""``lucidtls connect HOST:PORT``: one TLS handshake, reported as ``key: value`` lines.

With ``--send TEXT`` it then writes TEXT, closes its side (close_notify) and prints what the
server sends back until the server closes, raw, to stdout. With ``--explain`` it then draws and
narrates the handshake (also after a failure, before the error line).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

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
    parse_host_port,
    positive_seconds,
    wants_explain,
    write_text,
)
from lucidtls.config import ClientConfig
from lucidtls.connection import TraceEvent
from lucidtls.errors import ConfigError, TLSError
from lucidtls.explain.trace import Recorder
from lucidtls.handshake.common import is_ip_address
from lucidtls.info import ConnectionInfo
from lucidtls.io.aio import connection_info, open_connection

RECV_SIZE = 65536

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "0": "\0"}


def unescape(text: str) -> bytes:
    r"""``\n``, ``\r``, ``\t``, ``\0`` and ``\\`` become the bytes they name; other
    backslashes stay as they are."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in _ESCAPES:
            out.append(_ESCAPES[text[i + 1]])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out).encode("utf-8")


def summary_lines(info: ConnectionInfo) -> list[str]:
    """The ``key: value`` report of a finished client handshake."""
    leaf = info.peer_certificates[0] if info.peer_certificates else None
    if info.verification == "verified":
        verified = "yes"
    elif info.verification == "skipped (insecure)":
        verified = "no (insecure)"
    else:
        verified = info.verification
    lines = [
        ("version", info.version_name),
        ("cipher", info.cipher_name),
        ("group", info.group_name or "-"),
        ("kx", info.kx),
        ("signature", info.signature_scheme_name or "-"),
        ("alpn", info.alpn_protocol or "-"),
        ("sni", "-" if not info.server_name or is_ip_address(info.server_name)
         else info.server_name),  # RFC 6066 §3: no IP literals in SNI
        ("peer", leaf.subject.rfc4514_string() if leaf is not None else "-"),
        ("issuer", leaf.issuer.rfc4514_string() if leaf is not None else "-"),
        ("verified", verified),
        ("client-auth", "yes" if info.client_auth else "no"),
        ("hello-retry", "yes" if info.hello_retry else "no"),
    ]
    return [f"{key}: {value}" for key, value in lines]


def _write_raw(data: bytes) -> None:
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is not None:
        buffer.write(data)
        buffer.flush()
    else:
        sys.stdout.write(data.decode("utf-8", "replace"))
        sys.stdout.flush()


def _build_config(args: argparse.Namespace) -> ClientConfig:
    from lucidtls.pki.credentials import load_credential
    from lucidtls.pki.trust import TrustStore

    kwargs = config_options(args, client=True)
    if args.cafile:
        kwargs["trust"] = TrustStore.from_pem_file(args.cafile)
    if args.insecure:
        kwargs["dangerously_skip_verification"] = True
        kwargs["check_hostname"] = False
    if args.cert:
        kwargs["credentials"] = (load_credential(args.cert, args.key),)
    return ClientConfig(**kwargs)


class _Session:
    """What one run of ``connect`` learned, for the report and the error line."""

    def __init__(self, recorder: Recorder | None) -> None:
        self.recorder = recorder
        self._record = recorder.client if recorder is not None else None
        self.stage = "handshake"
        self.client_auth_requested = False

    def observe(self, event: TraceEvent) -> None:
        if event.kind == "client_auth":
            self.client_auth_requested = True
        if self._record is not None:
            self._record(event)


async def _read_until_closed(reader: asyncio.StreamReader, timeout: float,
                             sink: Callable[[bytes], None] | None = None) -> None:
    while chunk := await asyncio.wait_for(reader.read(RECV_SIZE), timeout):
        if sink is not None:
            sink(chunk)


async def _talk(args: argparse.Namespace, config: ClientConfig, session: _Session,
                payload: bytes | None) -> None:
    """Handshake, report, then (``--send``) the exchange; raises what went wrong."""
    host, port = args.target
    # One bound for TCP connect and handshake together, as the socket timeout was.
    reader, writer = await asyncio.wait_for(
        open_connection(host, port, config=config, server_hostname=args.servername or host,
                        handshake_timeout=None, observer=session.observe),
        args.timeout)
    session.stage = "connection"
    try:
        for line in summary_lines(connection_info(writer)):
            print(line)
        sys.stdout.flush()
        if payload is not None:
            writer.write(payload)
            await asyncio.wait_for(writer.drain(), args.timeout)
            # Half-close (RFC 8446 §6.1): close_notify ends our data; the server may still
            # answer until it closes.
            writer.write_eof()
            await _read_until_closed(reader, args.timeout, _write_raw)
        elif session.client_auth_requested:
            # A server that rejects our certificate says so only after our Finished
            # (RFC 8446 §4.4.2.4): send close_notify and wait for its verdict.
            writer.write_eof()
            await _read_until_closed(reader, args.timeout)
    finally:
        writer.close()  # close_notify unless already sent
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), args.timeout)


def _report(session: _Session, args: argparse.Namespace, keylog: str | None) -> str | None:
    """Print the narration of the connection (``--explain``) and write the HTML report;
    returns why the report could not be written, if it could not."""
    if session.recorder is None:
        return None
    narration = narrate_connection(session.recorder, args, keylog)
    if narration is None:
        return None
    sys.stdout.flush()
    # A blank line after the key: value lines and the server's answer, if any.
    write_text(("\n" if session.stage == "connection" else "") + explain_report(narration))
    if args.html:
        from lucidtls.explain import write_html

        try:
            write_text(f"\nHTML report: {write_html(narration, args.html)}\n")
        except OSError as exc:
            return f"cannot write {args.html}: {exc.strerror or exc}"
    return None


def _run(args: argparse.Namespace) -> int:
    address = format_address(*args.target)
    if bool(args.cert) != bool(args.key):
        return fail("--cert and --key go together", USAGE_ERROR)
    explaining = wants_explain(args)
    if args.html and not Path(args.html).resolve().parent.is_dir():
        return fail(f"cannot write {args.html}: no such directory")
    with tempfile.TemporaryDirectory(prefix="lucidtls-connect-") as tmp:
        keylog = explain_keylog(args, Path(tmp)) if explaining else args.keylog
        if keylog:
            args.keylog = keylog
        try:
            config = _build_config(args)
        except ConfigError as exc:
            return fail(str(exc))
        payload = unescape(args.send) if args.send is not None else None
        session = _Session(Recorder() if explaining else None)
        try:
            asyncio.run(_talk(args, config, session, payload))
        except (TLSError, OSError) as exc:
            # The narration of the failed handshake on stdout, then the one error line (the
            # connection's failure, not the report's).
            _report(session, args, keylog)
            return fail(describe_failure(exc, peer="server", address=address,
                                         stage=session.stage))
        problem = _report(session, args, keylog)
        return fail(problem) if problem else 0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("connect", help="handshake with a TLS server and report it",
                              description=__doc__)
    p.add_argument("target", type=parse_host_port, metavar="HOST:PORT",
                   help="server address; an IPv6 address as [::1]:443")
    p.add_argument("--servername", metavar="NAME",
                   help="SNI and the name the certificate must match (default: HOST)")
    p.add_argument("--cafile", metavar="FILE", help="trust these CAs (default: certifi)")
    p.add_argument("--insecure", action="store_true",
                   help="do not verify the server's certificate (dangerous)")
    add_tls_options(p)
    p.add_argument("--send", metavar="TEXT",
                   help=r"send TEXT (\n \r \t \\ understood), print the reply")
    p.add_argument("--cert", metavar="FILE", help="client certificate chain (PEM)")
    p.add_argument("--key", metavar="FILE", help="client private key (PEM)")
    p.add_argument("--timeout", type=positive_seconds, default=30.0, metavar="SECONDS",
                   help="bound on connecting plus the handshake, and on each later wait "
                        "(default 30)")
    add_explain_options(p, html="file")
    p.set_defaults(func=_run)
