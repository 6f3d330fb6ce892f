"""``lucidtls`` command line: connect, serve, demo, ca, bench.

Each subcommand lives in its own module exposing ``add_parser(subparsers)``; the parser sets
``func`` which returns the exit status. Errors are printed as one ``error: ...`` line.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

_SUBCOMMANDS = ("connect", "serve", "demo", "ca")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, no usage dump
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lucidtls", description="A lucid TLS 1.3 / TLS 1.2 stack.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in _SUBCOMMANDS:
        try:
            module = importlib.import_module(f"lucidtls.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"lucidtls.cli.{name}":
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
