"""The receiving end of the ``tcp/process`` rows, run as its own process (``python -m
bench.sink``) so that its CPU and the sender's do not share one GIL.

It listens on 127.0.0.1 (port 0), writes the port as one line to stdout, accepts one connection,
handshakes as the TLS 1.3 server of ``BULK_SCENARIO`` with the given implementation, reads
exactly *total* bytes, answers one byte ``k`` and writes the CPU seconds it spent from the end
of the handshake to the answer (``time.process_time()``) as a second line. Both implementations
run the same code here; only the wrap call differs."""

from __future__ import annotations

import argparse
import socket
import ssl
import sys
import time

import lucidtls
from bench.common import BULK_SCENARIO, lucid_server_config, stdlib_server_context
from lucidtls.pki.credentials import load_credential

CHUNK = 1 << 16


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("impl", choices=("lucidtls", "stdlib"))
    ap.add_argument("chain")
    ap.add_argument("key")
    ap.add_argument("total", type=int)
    args = ap.parse_args(argv)
    sc = BULK_SCENARIO
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(60)
    print(listener.getsockname()[1], flush=True)
    conn, _ = listener.accept()
    conn.settimeout(60)
    listener.close()
    tls: lucidtls.TLSSocket | ssl.SSLSocket
    if args.impl == "lucidtls":
        scfg = lucid_server_config(load_credential(args.chain, args.key), sc)
        tls = lucidtls.wrap_server(conn, scfg)
    else:
        tls = stdlib_server_context(sc, args.chain, args.key).wrap_socket(conn,
                                                                          server_side=True)
    with tls:
        c0 = time.process_time()
        got = 0
        while got < args.total:
            data = tls.recv(CHUNK)
            if not data:
                raise RuntimeError(f"stream ended after {got} of {args.total} bytes")
            got += len(data)
        tls.sendall(b"k")
        cpu = time.process_time() - c0
    print(repr(cpu), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
