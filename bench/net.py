"""Over loopback TCP: bulk transfer with blocking sockets and with asyncio, and many concurrent
asyncio connections. Client and server run in this process, so CPU time covers both ends, except
in ``process_bulk``, whose receiver is a separate process (``bench/sink.py``)."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from typing import Any

import lucidtls
from bench.common import BULK_SCENARIO, HOSTNAME, PKI, Scenario, lucid_configs, stdlib_contexts
from lucidtls import aio

HOST = "127.0.0.1"
CHUNK = 1 << 16


def _measure(fn: Any) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of fn()."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def _recv_count(recv: Any, total: int) -> None:
    got = 0
    while got < total:
        data = recv(CHUNK)
        if not data:
            raise RuntimeError(f"stream ended after {got} of {total} bytes")
        got += len(data)


# --- blocking ----------------------------------------------------------------------------------
def _send_blocking(tls: lucidtls.TLSSocket | ssl.SSLSocket, total: int) -> None:
    """The sender of every blocking row: *total* bytes in 64 KiB writes, then wait for the
    receiver's one-byte acknowledgement (so the time covers delivery, not just buffering)."""
    chunk = bytes(CHUNK)
    for _ in range(total // CHUNK):
        tls.sendall(chunk)
    if tls.recv(1) != b"k":
        raise RuntimeError("no acknowledgement")


def blocking_lucid(pki: PKI, sc: Scenario, total: int) -> tuple[float, float]:
    cc, scfg = lucid_configs(pki, sc)

    def handler(tls: lucidtls.TLSSocket) -> None:
        _recv_count(tls.recv, total)
        tls.sendall(b"k")

    with lucidtls.TLSServer(scfg, handler, HOST, 0) as server:
        tls = lucidtls.connect(HOST, server.address[1], cc, server_hostname=HOSTNAME)
        result = _measure(lambda: _send_blocking(tls, total))
        tls.close()
    return result


def blocking_stdlib(pki: PKI, sc: Scenario, total: int) -> tuple[float, float]:
    cctx, sctx = stdlib_contexts(pki, sc)
    listener = socket.create_server((HOST, 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with sctx.wrap_socket(conn, server_side=True) as tls:
            _recv_count(tls.recv, total)
            tls.sendall(b"k")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        raw = socket.create_connection((HOST, port), timeout=60)
        with cctx.wrap_socket(raw, server_hostname=HOSTNAME) as tls:
            result = _measure(lambda: _send_blocking(tls, total))
    finally:
        t.join(60)
        listener.close()
    return result


# --- blocking, receiver in its own process ---------------------------------------------------------
def process_bulk(pki: PKI, total: int, impl: str) -> tuple[float, float, float]:
    """*total* bytes from this process to a TLS server in a child process (``bench.sink``),
    blocking sockets on both ends. Returns (wall s, sender CPU s, receiver CPU s); the
    receiver's CPU comes back over the child's stdout."""
    sc = BULK_SCENARIO
    cc, _ = lucid_configs(pki, sc)
    cctx, _ = stdlib_contexts(pki, sc)
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    src = os.path.join(here, "src")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, here, env.get("PYTHONPATH")]))
    child = subprocess.Popen([sys.executable, "-m", "bench.sink", impl, *pki.server_files(sc),
                              str(total)], stdout=subprocess.PIPE, text=True, env=env, cwd=here)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        raw = socket.create_connection((HOST, port), timeout=60)
        tls: lucidtls.TLSSocket | ssl.SSLSocket
        if impl == "lucidtls":
            tls = lucidtls.wrap_client(raw, cc, server_hostname=HOSTNAME)
        else:
            tls = cctx.wrap_socket(raw, server_hostname=HOSTNAME)
        with tls:
            wall, cpu = _measure(lambda: _send_blocking(tls, total))
        receiver_cpu = float(child.stdout.readline())
        if child.wait(timeout=60) != 0:
            raise RuntimeError(f"sink exited with {child.returncode}")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()
    return wall, cpu, receiver_cpu


# --- asyncio -----------------------------------------------------------------------------------
async def _sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    (n,) = struct.unpack("!Q", await reader.readexactly(8))
    got = 0
    while got < n:
        data = await reader.read(CHUNK)
        if not data:
            break
        got += len(data)
    writer.write(b"k")
    await writer.drain()
    writer.close()


async def _send_bulk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     total: int) -> None:
    chunk = bytes(CHUNK)
    writer.write(struct.pack("!Q", total))
    for _ in range(total // CHUNK):
        writer.write(chunk)
        await writer.drain()
    if await reader.readexactly(1) != b"k":
        raise RuntimeError("no acknowledgement")
    writer.close()


def asyncio_bulk(pki: PKI, sc: Scenario, total: int, impl: str) -> tuple[float, float]:
    async def main() -> tuple[float, float]:
        if impl == "lucidtls":
            cc, scfg = lucid_configs(pki, sc)
            server = await aio.start_server(_sink, HOST, 0, config=scfg)
            port = server.sockets[0].getsockname()[1]
            reader, writer = await aio.open_connection(HOST, port, config=cc,
                                                       server_hostname=HOSTNAME)
        else:
            cctx, sctx = stdlib_contexts(pki, sc)
            server = await asyncio.start_server(_sink, HOST, 0, ssl=sctx)
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection(HOST, port, ssl=cctx,
                                                           server_hostname=HOSTNAME)
        w0, c0 = time.perf_counter(), time.process_time()
        await _send_bulk(reader, writer, total)
        result = time.perf_counter() - w0, time.process_time() - c0
        server.close()
        await server.wait_closed()
        return result
    return asyncio.run(main())


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        data = await reader.readexactly(1024)
        writer.write(data)
        await writer.drain()
    finally:
        writer.close()


def concurrent(pki: PKI, sc: Scenario, n: int, impl: str) -> tuple[float, float]:
    """*n* clients connect at once; each handshakes, sends 1 KiB, reads the echo and closes.
    Returns (wall, CPU) seconds for the whole lot, handshakes included."""
    async def main() -> tuple[float, float]:
        payload = bytes(range(256)) * 4
        if impl == "lucidtls":
            cc, scfg = lucid_configs(pki, sc)
            server = await aio.start_server(_echo, HOST, 0, config=scfg, backlog=n + 16)
        else:
            cctx, sctx = stdlib_contexts(pki, sc)
            server = await asyncio.start_server(_echo, HOST, 0, ssl=sctx, backlog=n + 16)
        port = server.sockets[0].getsockname()[1]

        async def one() -> None:
            if impl == "lucidtls":
                reader, writer = await aio.open_connection(HOST, port, config=cc,
                                                           server_hostname=HOSTNAME)
            else:
                reader, writer = await asyncio.open_connection(HOST, port, ssl=cctx,
                                                               server_hostname=HOSTNAME)
            writer.write(payload)
            await writer.drain()
            if await reader.readexactly(1024) != payload:
                raise RuntimeError("echo mismatch")
            writer.close()

        w0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one() for _ in range(n)))
        result = time.perf_counter() - w0, time.process_time() - c0
        server.close()
        await server.wait_closed()
        return result
    return asyncio.run(main())


def stdlib_ssl_version() -> str:
    return ssl.OPENSSL_VERSION
