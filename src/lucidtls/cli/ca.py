"""``lucidtls ca``: a tiny certificate authority for demos and tests.

lucidtls ca init DIR [--key-type T]
lucidtls ca issue DIR NAME [--client] [--dns NAME ...] [--ip ADDR ...] [--days N] [--key-type T]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

from lucidtls.errors import ConfigError
from lucidtls.pki.issue import KEY_TYPES, CADirectory, parse_ip


def _split(values: Iterable[str] | None) -> list[str]:
    # --dns a --dns b and --dns a,b mean the same
    return [part.strip() for value in values or () for part in value.split(",") if part.strip()]


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _init(args: argparse.Namespace) -> int:
    try:
        cert, key = CADirectory(args.dir).init(args.key_type, args.common_name)
    except ConfigError as exc:
        return _fail(str(exc))
    print(f"wrote {cert}")
    print(f"wrote {key}")
    if args.key_type == "ed25519":
        # cryptography's verifier applies the WebPKI profile, which has no Ed25519 CAs.
        print("note: OpenSSL and stdlib ssl accept an Ed25519 CA, but lucidtls's own verifier "
              "(the WebPKI profile) does not; use ecdsa-p256 for a CA that lucidtls peers "
              "must trust", file=sys.stderr)
    return 0


def _issue(args: argparse.Namespace) -> int:
    try:
        if args.days <= 0:
            raise ConfigError(f"--days must be a positive number of days, not {args.days}")
        ips = _split(args.ip)
        for ip in ips:
            parse_ip(ip)  # report a bad literal before any key is made
        cert, key = CADirectory(args.dir).issue(
            args.name,
            client=args.client,
            dns=_split(args.dns),
            ips=ips,
            days=args.days,
            key_type=args.key_type,
        )
    except ConfigError as exc:
        return _fail(str(exc))
    print(f"wrote {cert}")
    print(f"wrote {key}")
    return 0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ca = subparsers.add_parser(
        "ca", help="make a demo CA and issue certificates", description=__doc__
    )
    ca_sub = ca.add_subparsers(dest="ca_command", required=True, metavar="{init,issue}")

    init = ca_sub.add_parser("init", help="create DIR/ca.pem and DIR/ca.key")
    init.add_argument("dir", type=Path, metavar="DIR")
    init.add_argument("--key-type", choices=KEY_TYPES, default="ecdsa-p256")
    init.add_argument("--common-name", default=None, help="CA subject CN")
    init.set_defaults(func=_init)

    issue = ca_sub.add_parser("issue", help="issue DIR/NAME.pem (chain) and DIR/NAME.key")
    issue.add_argument("dir", type=Path, metavar="DIR")
    issue.add_argument("name", metavar="NAME", help="file name and subject CN")
    issue.add_argument("--client", action="store_true", help="a client (clientAuth) certificate")
    issue.add_argument(
        "--dns", action="append", metavar="NAME", help="DNS subjectAltName (repeat or a,b)"
    )
    issue.add_argument(
        "--ip", action="append", metavar="ADDR", help="IP subjectAltName (repeat or a,b)"
    )
    issue.add_argument("--days", type=int, default=825, help="validity (default 825)")
    issue.add_argument("--key-type", choices=KEY_TYPES, default="ecdsa-p256")
    issue.set_defaults(func=_issue)
