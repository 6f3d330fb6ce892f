"""``lucidtls demo``: a real handshake on 127.0.0.1, explained step by step.

A lucidtls server and client run in two threads of this process with a CA and certificates
issued a moment ago; the client sends one HTTP request and the server answers. What happened is
drawn as a message diagram and told as the classic eight handshake steps, with this
connection's real values (``lucidtls.explain``).
"""

from __future__ import annotations

import argparse

from lucidtls.cli.common import describe_failure, fail, write_text
from lucidtls.errors import ConfigError, TLSError


def _run(args: argparse.Namespace) -> int:
    from lucidtls.explain import run_demo, write_html

    version = "1.2" if args.tls12 and not args.tls13 else "1.3"
    try:
        result = run_demo(mutual=args.mutual, version=version, kx=args.kx,
                          show_secrets=args.show_secrets, group=args.group)
    except ConfigError as exc:
        return fail(str(exc))
    except (TLSError, OSError) as exc:
        return fail(f"the demo handshake failed: {describe_failure(exc, peer='server')}")
    if args.html:
        try:
            result.html_path = write_html(result.narration, args.html)
        except OSError as exc:
            return fail(f"cannot write {args.html}: {exc.strerror or exc}")
    write_text(result.report())
    return 0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("demo", help="a loopback handshake, explained step by step",
                              description=__doc__)
    p.add_argument("--mutual", action="store_true", help="the client presents a certificate too")
    p.add_argument("--tls1.3", dest="tls13", action="store_true", help="TLS 1.3 (the default)")
    p.add_argument("--tls1.2", dest="tls12", action="store_true", help="TLS 1.2 instead")
    p.add_argument("--kx", choices=("ecdhe", "rsa"), default="ecdhe",
                   help="key exchange; rsa (key transport) exists only in TLS 1.2")
    p.add_argument("--group", metavar="NAME", help="use only this key-exchange group")
    p.add_argument("--show-secrets", action="store_true",
                   help="show the derived secrets (read back from a temporary key log)")
    p.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report")
    p.set_defaults(func=_run)
