"""lucidtls.aio against real peers over loopback TCP: our own client and server, and asyncio's
stdlib ``ssl`` streams (OpenSSL). Every test runs its own event loop under a global timeout."""

from __future__ import annotations

import asyncio
import os
import ssl
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography.hazmat.primitives import serialization

from lucidtls import aio
from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.connection import ServerConnection
from lucidtls.crypto.suites import TLS13_DEFAULT_SUITES
from lucidtls.errors import CertificateError, PeerAlertError, TLSError
from lucidtls.info import ConnectionInfo
from lucidtls.pki.credentials import Credential
from lucidtls.pki.trust import TrustStore
from lucidtls.wire.enums import AlertDescription

T = TypeVar("T")
MIB = 1 << 20
HOST = "127.0.0.1"


def run(coro: Awaitable[T], timeout: float = 30.0) -> T:
    """Run *coro* in a fresh loop; a hang fails the test instead of the suite."""
    async def main() -> T:
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(main())


def port_of(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


# --- helpers: a length-prefixed echo protocol that needs no half-close ------------------------
async def send_blob(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(struct.pack("!Q", len(data)))
    writer.write(data)
    await writer.drain()


async def recv_blob(reader: asyncio.StreamReader) -> bytes:
    (n,) = struct.unpack("!Q", await reader.readexactly(8))
    return await reader.readexactly(n)


async def echo_blob_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        data = await recv_blob(reader)
        await send_blob(writer, data[::-1])
    finally:
        writer.close()


def pem_files(tmp_path: Path, cred: Credential, ca: Credential) -> tuple[str, str, str]:
    chain = tmp_path / "chain.pem"
    key = tmp_path / "key.pem"
    cafile = tmp_path / "ca.pem"
    chain.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in cred.chain))
    key.write_bytes(cred.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    cafile.write_bytes(ca.chain[0].public_bytes(serialization.Encoding.PEM))
    return str(chain), str(key), str(cafile)


async def with_server(handler: Callable[..., Any], server_config: ServerConfig,
                      body: Callable[[int], Awaitable[T]], **kw: Any) -> T:
    server = await aio.start_server(handler, HOST, 0, config=server_config, **kw)
    try:
        return await body(port_of(server))
    finally:
        server.close()
        await server.wait_closed()


# --- our client <-> our server ------------------------------------------------------------------
def test_aio_client_and_server_one_mib_both_ways(client_config, server_config):
    payload = os.urandom(MIB)
    seen: dict[str, Any] = {}

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen["server_info"] = writer.get_extra_info("lucidtls")
        data = await reader.read()  # until the client's close_notify: a clean b""
        writer.write(data[::-1])
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def body(port: int) -> bytes:
        reader, writer = await aio.open_connection(HOST, port, config=client_config,
                                                   server_hostname="localhost")
        seen["client_info"] = writer.get_extra_info("lucidtls")
        seen["peercert"] = writer.get_extra_info("peercert")
        seen["peername"] = writer.get_extra_info("peername")
        writer.write(payload)
        await writer.drain()
        assert writer.can_write_eof()
        writer.write_eof()  # close_notify; we keep reading (RFC 8446 §6.1 half-close)
        data = await reader.read()
        assert reader.at_eof()
        writer.close()
        await writer.wait_closed()
        return data

    got = run(with_server(handler, server_config, body))
    assert got == payload[::-1]
    info = seen["client_info"]
    assert isinstance(info, ConnectionInfo) and info.version_name == "TLSv1.3"
    assert info.verification == "verified"
    assert isinstance(seen["server_info"], ConnectionInfo)
    assert seen["peercert"] == server_config.credentials[0].leaf
    assert seen["peername"][0] == HOST


def test_readline_readexactly_and_many_small_writes(client_config, server_config):
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        rest = await reader.readexactly(5)
        writer.writelines([line.upper(), rest.upper()])
        await writer.drain()
        writer.close()

    async def body(port: int) -> tuple[bytes, bytes, bytes]:
        reader, writer = await aio.open_connection(HOST, port, config=client_config,
                                                   server_hostname="localhost")
        for ch in b"hello world\nabcde":  # one record per byte
            writer.write(bytes([ch]))
        await writer.drain()
        line = await reader.readline()
        rest = await reader.read()
        eof = await reader.read()
        writer.close()
        await writer.wait_closed()
        return line, rest, eof

    line, rest, eof = run(with_server(handler, server_config, body))
    assert (line, rest, eof) == (b"HELLO WORLD\n", b"ABCDE", b"")


# --- stdlib asyncio + ssl as the peer -------------------------------------------------------------
@pytest.mark.interop
def test_aio_client_against_stdlib_ssl_server(tmp_path, client_config, server_cred, demo_ca):
    chain, key, _ = pem_files(tmp_path, server_cred, demo_ca)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(chain, key)
    payload = os.urandom(MIB)

    async def main() -> tuple[bytes, str]:
        server = await asyncio.start_server(echo_blob_handler, HOST, 0, ssl=ctx)
        try:
            reader, writer = await aio.open_connection(HOST, port_of(server),
                                                       config=client_config,
                                                       server_hostname="localhost")
            await send_blob(writer, payload)
            back = await recv_blob(reader)
            eof = await reader.read()  # stdlib sends close_notify on close
            assert eof == b""
            writer.close()
            await writer.wait_closed()
            return back, aio.connection_info(writer).version_name
        finally:
            server.close()
            await server.wait_closed()

    back, version = run(main())
    assert back == payload[::-1]
    assert version == "TLSv1.3"


@pytest.mark.interop
def test_stdlib_ssl_client_against_aio_server(tmp_path, server_config, server_cred, demo_ca):
    _, _, cafile = pem_files(tmp_path, server_cred, demo_ca)
    ctx = ssl.create_default_context(cafile=cafile)
    payload = os.urandom(MIB)

    async def body(port: int) -> tuple[bytes, str | None]:
        reader, writer = await asyncio.open_connection(HOST, port, ssl=ctx,
                                                       server_hostname="localhost")
        version = writer.get_extra_info("ssl_object").version()
        await send_blob(writer, payload)
        back = await recv_blob(reader)
        writer.close()
        await writer.wait_closed()
        return back, version

    back, version = run(with_server(echo_blob_handler, server_config, body))
    assert back == payload[::-1]
    assert version == "TLSv1.3"


@pytest.mark.interop
def test_truncation_by_stdlib_server_is_an_error(tmp_path, client_config, server_cred, demo_ca):
    chain, key, _ = pem_files(tmp_path, server_cred, demo_ca)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(chain, key)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"partial")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.transport.abort()  # TCP goes away, no close_notify

    async def main() -> bytes:
        server = await asyncio.start_server(handler, HOST, 0, ssl=ctx)
        try:
            reader, writer = await aio.open_connection(HOST, port_of(server),
                                                       config=client_config,
                                                       server_hostname="localhost")
            first = await reader.readexactly(7)  # data before the truncation is delivered
            with pytest.raises(aio.TruncationError):
                await reader.read(100)
            writer.close()
            return first
        finally:
            server.close()
            await server.wait_closed()

    assert run(main()) == b"partial"


# --- truncation, close_notify ----------------------------------------------------------------------
@pytest.mark.parametrize("graceful", [True, False], ids=["close_notify", "abort"])
def test_clean_close_versus_truncation(client_config, server_config, graceful):
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"bye")
        await writer.drain()
        await asyncio.sleep(0.05)
        if graceful:
            writer.close()
        else:
            writer.transport.abort()

    async def body(port: int) -> list[Any]:
        reader, writer = await aio.open_connection(HOST, port, config=client_config,
                                                   server_hostname="localhost")
        results: list[Any] = [await reader.readexactly(3)]
        try:
            results.append(await reader.read())
        except TLSError as exc:
            results.append(exc)
        writer.close()
        return results

    first, second = run(with_server(handler, server_config, body))
    assert first == b"bye"
    if graceful:
        assert second == b""
    else:
        assert isinstance(second, aio.TruncationError)


def test_client_abort_is_truncation_on_server(client_config, server_config):
    outcome: asyncio.Future[Any]

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            outcome.set_result(await reader.readexactly(100))
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcome.set_result(exc)

    async def body(port: int) -> Any:
        nonlocal outcome
        outcome = asyncio.get_running_loop().create_future()
        _, writer = await aio.open_connection(HOST, port, config=client_config,
                                              server_hostname="localhost")
        writer.write(b"x" * 10)
        await writer.drain()
        writer.transport.abort()
        return await outcome

    result = run(with_server(handler, server_config, body))
    # readexactly saw 10 bytes and then the truncation, not a clean IncompleteReadError.
    assert isinstance(result, aio.TruncationError)


# --- back-pressure -------------------------------------------------------------------------------
def test_drain_blocks_when_the_server_does_not_read(client_config, server_config):
    chunk = os.urandom(MIB)
    release = asyncio.Event
    state: dict[str, Any] = {}

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state["reader"] = reader
        await state["release"].wait()
        total = 0
        while data := await reader.read(MIB):
            total += len(data)
        state["total"] = total
        writer.close()

    async def body(port: int) -> tuple[bool, int, int]:
        state["release"] = release()
        reader, writer = await aio.open_connection(HOST, port, config=client_config,
                                                   server_hostname="localhost")
        sent = 0
        blocked = False
        for _ in range(256):  # far more than any socket buffers hold
            writer.write(chunk)
            sent += len(chunk)
            try:
                await asyncio.wait_for(asyncio.shield(writer.drain()), 1.0)
            except TimeoutError:
                blocked = True
                break
        # While the server is not reading, its stream buffer stays bounded (reading paused).
        buffered = len(state["reader"]._buffer)
        state["release"].set()
        await writer.drain()  # completes once the server reads
        writer.write_eof()
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()
        return blocked, buffered, sent

    blocked, buffered, sent = run(with_server(handler, server_config, body), timeout=60)
    assert blocked, "drain() never blocked although the peer read nothing"
    assert sent < 256 * MIB
    assert buffered <= 2 * 2 ** 16 + 2 * 2 ** 14 + 65536, buffered
    assert state["total"] == sent


# --- handshake failures and timeouts ----------------------------------------------------------------
def test_handshake_timeout_against_a_silent_server(client_config):
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accepts, never answers

    async def main() -> None:
        server = await asyncio.start_server(silent, HOST, 0)
        try:
            with pytest.raises(aio.HandshakeTimeoutError) as info:
                await aio.open_connection(HOST, port_of(server), config=client_config,
                                          server_hostname="localhost", handshake_timeout=0.3)
            assert isinstance(info.value, TimeoutError)
        finally:
            server.close()
            await server.wait_closed()

    run(main(), timeout=10)


def test_asyncio_keywords_port_unchanged(client_config):
    """A call written for asyncio keeps ssl=True and ssl_handshake_timeout: the timeout is ours."""
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    async def main() -> None:
        server = await asyncio.start_server(silent, HOST, 0)
        try:
            with pytest.raises(aio.HandshakeTimeoutError):
                await aio.open_connection(HOST, port_of(server), ssl=True, config=client_config,
                                          server_hostname="localhost", ssl_handshake_timeout=0.3,
                                          ssl_shutdown_timeout=1.0)
        finally:
            server.close()
            await server.wait_closed()

    run(main(), timeout=10)


_REFUSED = "lucidtls.aio.open_connection() always speaks TLS and takes config=ClientConfig(...), "


@pytest.mark.parametrize(("kw", "message"), [
    ({"ssl": ssl.create_default_context()}, _REFUSED + "not ssl=<SSLContext>"),
    ({"ssl": None}, _REFUSED + "not ssl=None"),
    ({"ssl_handshake_timeout": 5, "handshake_timeout": 3},
     "lucidtls.aio.open_connection() got both ssl_handshake_timeout and handshake_timeout"),
], ids=["SSLContext", "None", "both timeouts"])
def test_asyncio_keywords_that_cannot_mean_anything_here(kw, message):
    async def main() -> None:
        with pytest.raises(TypeError) as info:
            await aio.open_connection(HOST, 9, **kw)  # refused before any connection attempt
        assert str(info.value) == message

    run(main(), timeout=10)


def test_server_refuses_an_ssl_context(server_config):
    async def main() -> None:
        with pytest.raises(TypeError, match=r"start_server\(\) always speaks TLS and takes "
                                            r"config=ServerConfig\(\.\.\.\), not ssl=<SSLContext>"):
            await aio.start_server(echo_blob_handler, HOST, 0, config=server_config,
                                   ssl=ssl.create_default_context(ssl.Purpose.CLIENT_AUTH))

    run(main(), timeout=10)


@pytest.mark.parametrize("keyword", ["handshake_timeout", "ssl_handshake_timeout"])
def test_server_handshake_timeout_closes_silent_client(server_config, keyword):
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise AssertionError("no handshake happened")

    async def body(port: int) -> bytes:
        reader, writer = await asyncio.open_connection(HOST, port)  # plain TCP, says nothing
        data = await reader.read()  # the server gives up and closes
        writer.close()
        return data

    assert run(with_server(handler, server_config, body, **{keyword: 0.3}),
               timeout=10) == b""


def test_untrusted_server_raises_certificate_error_after_sending_alert(server_config, other_ca):
    """Our client rejects the chain; the peer (a sans-I/O server behind plain asyncio TCP)
    receives the unknown_ca alert before the connection closes."""
    peer_errors: list[BaseException] = []

    async def raw_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = ServerConnection(server_config)
        try:
            while data := await reader.read(65536):
                try:
                    conn.receive_data(data)
                except TLSError as exc:
                    peer_errors.append(exc)
                    break
                writer.write(conn.data_to_send())
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(raw_server, HOST, 0)
        try:
            cc = ClientConfig(trust=TrustStore.from_certificates([other_ca.chain[0]]))
            with pytest.raises(CertificateError) as info:
                await aio.open_connection(HOST, port_of(server), config=cc,
                                          server_hostname="localhost")
            assert info.value.alert == AlertDescription.unknown_ca
            for _ in range(100):
                if peer_errors:
                    break
                await asyncio.sleep(0.01)
        finally:
            server.close()
            await server.wait_closed()

    run(main())
    assert len(peer_errors) == 1
    assert isinstance(peer_errors[0], PeerAlertError)
    assert peer_errors[0].alert == AlertDescription.unknown_ca


def test_peer_alert_during_handshake_is_peer_alert_error(client_config, server_config):
    aes128, chacha = TLS13_DEFAULT_SUITES[0], TLS13_DEFAULT_SUITES[-1]
    assert aes128.id != chacha.id
    cc = ClientConfig(trust=client_config.trust, cipher_suites=(aes128.id,))
    sc = ServerConfig(credentials=server_config.credentials, cipher_suites=(chacha.id,))

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise AssertionError("the handshake should have failed")

    async def body(port: int) -> None:
        with pytest.raises(PeerAlertError) as info:
            await aio.open_connection(HOST, port, config=cc, server_hostname="localhost")
        assert info.value.alert == AlertDescription.handshake_failure

    run(with_server(handler, sc, body))


# --- many clients ------------------------------------------------------------------------------
def test_fifty_concurrent_clients(client_config, server_config):
    async def one(port: int, i: int) -> bool:
        reader, writer = await aio.open_connection(HOST, port, config=client_config,
                                                   server_hostname="localhost")
        payload = os.urandom(1000 + i)
        await send_blob(writer, payload)
        back = await recv_blob(reader)
        writer.close()
        await writer.wait_closed()
        return back == payload[::-1]

    async def body(port: int) -> list[bool]:
        return await asyncio.gather(*(one(port, i) for i in range(50)))

    assert run(with_server(echo_blob_handler, server_config, body), timeout=60) == [True] * 50


def test_start_server_refuses_a_client_config(client_config):
    async def main() -> None:
        with pytest.raises(TypeError, match="^start_server\\(\\) needs a ServerConfig, not "
                                            "ClientConfig$"):
            await aio.start_server(echo_blob_handler, HOST, 0, config=client_config)

    run(main(), timeout=10)
