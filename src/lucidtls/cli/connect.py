"""``lucidtls connect HOST:PORT``: one TLS handshake, reported as ``key: value`` lines.

With ``--send TEXT`` it then writes TEXT, closes its side (close_notify) and prints what the
server sends back until the server closes, raw, to stdout.
"""

from __future__ import annotations

import argparse
import socket
import sys

from lucidtls.cli.common import (
    USAGE_ERROR,
    add_tls_options,
    config_options,
    describe_failure,
    fail,
    format_address,
    parse_host_port,
)
from lucidtls.config import ClientConfig
from lucidtls.connection import TraceEvent
from lucidtls.errors import ConfigError, TLSError
from lucidtls.handshake.common import is_ip_address
from lucidtls.info import ConnectionInfo
from lucidtls.io.sync import TLSSocket, wrap_client

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


def half_close(tls: TLSSocket) -> None:
    """Send close_notify but keep reading (RFC 8446 §6.1: closing is per direction)."""
    tls.conn.close()
    tls.sock.sendall(tls.conn.data_to_send())


def _finish_close(tls: TLSSocket) -> None:
    """Send close_notify and read until the server closes: a server that rejects our client
    certificate says so only after our Finished (RFC 8446 §4.4.2.4), so wait for its verdict."""
    half_close(tls)
    while tls.recv():
        pass


def _run(args: argparse.Namespace) -> int:
    host, port = args.target
    address = format_address(host, port)
    if bool(args.cert) != bool(args.key):
        return fail("--cert and --key go together", USAGE_ERROR)
    try:
        config = _build_config(args)
    except ConfigError as exc:
        return fail(str(exc))
    payload = unescape(args.send) if args.send is not None else None

    client_auth_requested = False

    def observe(event: TraceEvent) -> None:
        nonlocal client_auth_requested
        if event.kind == "client_auth":
            client_auth_requested = True

    stage = "handshake"
    try:
        sock = socket.create_connection((host, port), timeout=args.timeout)
        tls = wrap_client(sock, config, args.servername or host, observer=observe)
        stage = "connection"
        with tls:
            for line in summary_lines(tls.info):
                print(line)
            sys.stdout.flush()
            if payload is not None:
                tls.sendall(payload)
                # Half-close (RFC 8446 §6.1): the server sees the end of our data and may
                # still answer.
                half_close(tls)
                while chunk := tls.recv():
                    _write_raw(chunk)
            elif client_auth_requested:
                _finish_close(tls)
    except (TLSError, OSError) as exc:
        return fail(describe_failure(exc, peer="server", address=address, stage=stage))
    return 0


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
    p.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                   help="socket timeout (default 30)")
    p.set_defaults(func=_run)
