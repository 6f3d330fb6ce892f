"""``lucidtls.aio.start_tls``: a plain asyncio stream upgraded to TLS after the application
protocol agreed to it (STARTTLS), against our own other end, asyncio's own
``StreamWriter.start_tls`` (stdlib ``ssl``) and ``openssl s_client -starttls smtp``."""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from lucidtls import aio
from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.connection import ClientConnection
from lucidtls.errors import (
    CertificateError,
    ConnectionClosedError,
    PeerAlertError,
    ProtocolError,
    StateError,
)
from lucidtls.events import ApplicationData
from lucidtls.pki.credentials import Credential
from lucidtls.pki.issue import issue_certificate
from lucidtls.wire.enums import AlertDescription
from tests.io.test_aio import HOST, pem_files, port_of, recv_blob, run, send_blob

OPENSSL = shutil.which("openssl")


async def plain_server(handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                                         Awaitable[None]],
                       body: Callable[[int], Awaitable[Any]]) -> Any:
    server = await asyncio.start_server(handler, HOST, 0)
    try:
        return await body(port_of(server))
    finally:
        server.close()
        await server.wait_closed()


async def agree(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The client's half of a toy line protocol: ask for TLS, wait for the go-ahead."""
    writer.write(b"STARTTLS\r\n")
    assert await reader.readline() == b"GO\r\n"


async def upgraded_client(port: int, config: ClientConfig
                          ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect in the clear, agree on TLS, upgrade with our start_tls."""
    reader, writer = await asyncio.open_connection(HOST, port)
    await agree(reader, writer)
    return await aio.start_tls(reader, writer, config=config, server_hostname="localhost")


async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    assert await reader.readline() == b"STARTTLS\r\n"
    writer.write(b"GO\r\n")
    await writer.drain()


def test_both_ends_upgrade(client_config: ClientConfig, server_config: ServerConfig) -> None:
    payload = os.urandom(300_000)
    seen: dict[str, Any] = {}

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accept(reader, writer)
        reader, writer = await aio.start_tls(reader, writer, config=server_config)
        seen["server"] = aio.connection_info(writer)
        await send_blob(writer, (await recv_blob(reader))[::-1])
        writer.close()
        await writer.wait_closed()

    async def body(port: int) -> bytes:
        reader, writer = await asyncio.open_connection(HOST, port)
        await agree(reader, writer)
        tls_reader, tls_writer = await aio.start_tls(reader, writer, config=client_config,
                                                     server_hostname="localhost")
        # Dropping the plain pair must not close the TCP stream under the TLS one (asyncio's
        # StreamWriter closes its transport when it is collected).
        del reader, writer
        gc.collect()
        seen["client"] = aio.connection_info(tls_writer)
        await send_blob(tls_writer, payload)
        back = await recv_blob(tls_reader)
        assert await tls_reader.read() == b""  # the server's close_notify
        tls_writer.close()
        await tls_writer.wait_closed()
        return back

    assert run(plain_server(handler, body)) == payload[::-1]
    assert seen["client"].verification == "verified"
    assert seen["client"].version_name == seen["server"].version_name == "TLSv1.3"


@pytest.mark.interop
def test_our_client_against_asyncio_start_tls(tmp_path: Path, client_config: ClientConfig,
                                             server_cred: Credential,
                                             demo_ca: Credential) -> None:
    chain, key, _ = pem_files(tmp_path, server_cred, demo_ca)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(chain, key)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accept(reader, writer)
        await writer.start_tls(ctx)  # stdlib: the same reader and writer, now over TLS
        await send_blob(writer, (await recv_blob(reader))[::-1])
        writer.close()

    async def body(port: int) -> bytes:
        reader, writer = await upgraded_client(port, client_config)
        await send_blob(writer, b"over stdlib's TLS")
        back = await recv_blob(reader)
        writer.close()
        await writer.wait_closed()
        return back

    assert run(plain_server(handler, body)) == b"over stdlib's TLS"[::-1]


@pytest.mark.interop
def test_asyncio_start_tls_client_against_our_server(tmp_path: Path,
                                                     server_config: ServerConfig,
                                                     server_cred: Credential,
                                                     demo_ca: Credential) -> None:
    _, _, cafile = pem_files(tmp_path, server_cred, demo_ca)
    ctx = ssl.create_default_context(cafile=cafile)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accept(reader, writer)
        reader, writer = await aio.start_tls(reader, writer, config=server_config)
        await send_blob(writer, (await recv_blob(reader))[::-1])
        writer.close()
        await writer.wait_closed()

    async def body(port: int) -> tuple[bytes, str]:
        reader, writer = await asyncio.open_connection(HOST, port)
        await agree(reader, writer)
        await writer.start_tls(ctx, server_hostname="localhost")
        version = writer.get_extra_info("ssl_object").version()
        await send_blob(writer, b"to lucidtls")
        back = await recv_blob(reader)
        writer.close()
        return back, version

    assert run(plain_server(handler, body)) == (b"to lucidtls"[::-1], "TLSv1.3")


@pytest.mark.interop
@pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
def test_openssl_s_client_starttls_smtp(tmp_path: Path, server_config: ServerConfig,
                                        server_cred: Credential, demo_ca: Credential) -> None:
    """OpenSSL's own SMTP STARTTLS dialogue (greeting, EHLO, STARTTLS, 220) against a toy SMTP
    server that upgrades with start_tls and then echoes a line inside TLS."""
    _, _, cafile = pem_files(tmp_path, server_cred, demo_ca)
    assert OPENSSL is not None

    async def smtp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 localhost ESMTP toy\r\n")
        assert (await reader.readline()).upper().startswith(b"EHLO")
        writer.write(b"250-localhost\r\n250 STARTTLS\r\n")
        assert (await reader.readline()).upper() == b"STARTTLS\r\n"
        writer.write(b"220 2.0.0 Ready to start TLS\r\n")
        await writer.drain()
        reader, writer = await aio.start_tls(reader, writer, config=server_config)
        line = await reader.readline()
        writer.write(b"echo: " + line)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def body(port: int) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            OPENSSL, "s_client", "-starttls", "smtp", "-connect", f"{HOST}:{port}",
            "-servername", "localhost", "-CAfile", cafile, "-verify_return_error",
            "-verify_hostname", "localhost", "-ign_eof",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT)
        out, _ = await proc.communicate(b"hello inside TLS\n")
        return proc.returncode or 0, out.decode(errors="replace")

    code, out = run(plain_server(smtp, body), timeout=20)
    assert "Verify return code: 0 (ok)" in out, out
    assert "TLSv1.3" in out, out
    assert "echo: hello inside TLS" in out, out
    assert code == 0, out


# --- refusals -------------------------------------------------------------------------------
def test_injected_plaintext_fails_the_handshake(server_config: ServerConfig) -> None:
    """A command pipelined behind STARTTLS (the injection attack's shape) goes to the TLS
    handshake, not to the application: it is no TLS record, so the upgrade fails with an
    alert, and nothing reaches the application as if it had come over TLS."""
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert await reader.readline() == b"STARTTLS\r\n"
        await asyncio.sleep(0.2)  # the injected line is in the plain reader's buffer by now
        with pytest.raises(ProtocolError) as info:
            await aio.start_tls(reader, writer, config=server_config)
        assert info.value.alert == AlertDescription.unexpected_message
        assert "unknown content type" in info.value.reason

    async def body(port: int) -> bytes:
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(b"STARTTLS\r\nRCPT TO:<injected@example>\r\n")
        data = await reader.read()
        writer.close()
        return data

    # What comes back is our alert in the clear: unexpected_message (10).
    assert run(plain_server(handler, body)) == bytes((21, 3, 3, 0, 2, 2, 10))


def test_a_client_hello_that_came_early_is_used(client_config: ClientConfig,
                                                server_config: ServerConfig) -> None:
    """The server's plain reader already holds the ClientHello when start_tls is called
    (here the client sent it right behind STARTTLS): the handshake uses it."""
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert await reader.readline() == b"STARTTLS\r\n"
        await asyncio.sleep(0.2)  # the ClientHello is in the plain reader's buffer by now
        writer.write(b"GO\r\n")
        reader, writer = await aio.start_tls(reader, writer, config=server_config)
        writer.write((await reader.readexactly(4)).upper())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def body(port: int) -> bytes:
        # A sans-I/O client over the plain stream, so that the ClientHello can go out early.
        reader, writer = await asyncio.open_connection(HOST, port)
        client = ClientConnection(client_config, "localhost")
        writer.write(b"STARTTLS\r\n" + client.data_to_send())
        assert await reader.readline() == b"GO\r\n"
        got = b""
        sent = False
        while not client.closed:
            data = await reader.read(65536)
            client.receive_data(data)
            got += b"".join(e.data for e in client.events() if isinstance(e, ApplicationData))
            if client.handshake_complete and not sent:
                client.send(b"ping")
                sent = True
            writer.write(client.data_to_send())
        writer.close()
        return got

    assert run(plain_server(handler, body)) == b"PING"


def test_a_peer_that_already_ended_its_side_fails_at_once(server_config: ServerConfig) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert await reader.readline() == b"STARTTLS\r\n"
        await asyncio.sleep(0.2)  # the EOF has been seen by now
        with pytest.raises(ConnectionClosedError):  # not a wait for the handshake timeout
            await aio.start_tls(reader, writer, config=server_config, handshake_timeout=5)
        writer.close()

    async def body(port: int) -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(b"STARTTLS\r\n")
        writer.write_eof()
        await reader.read()
        writer.close()

    run(plain_server(handler, body), timeout=4)


def test_wrong_config_and_double_upgrade(client_config: ClientConfig,
                                         server_config: ServerConfig) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accept(reader, writer)
        with pytest.raises(TypeError, match="^start_tls\\(\\) takes a ClientConfig or a "
                                            "ServerConfig, not dict$"):
            await aio.start_tls(reader, writer, config={})  # type: ignore[arg-type]
        reader, writer = await aio.start_tls(reader, writer, config=server_config)
        with pytest.raises(StateError, match="^the stream already speaks TLS$"):
            await aio.start_tls(reader, writer, config=server_config)
        writer.close()
        await writer.wait_closed()

    async def body(port: int) -> None:
        reader, writer = await upgraded_client(port, client_config)
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()

    run(plain_server(handler, body))


def test_a_failed_upgrade_raises_on_both_sides(client_config: ClientConfig,
                                               other_ca: Credential) -> None:
    """The server presents a certificate the client does not trust: the client's start_tls
    raises the CertificateError after sending its alert, the server's the peer's alert."""
    stranger = ServerConfig(credentials=(issue_certificate(other_ca, "localhost",
                                                           dns=["localhost"]),))
    seen: dict[str, BaseException] = {}

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accept(reader, writer)
        with pytest.raises(PeerAlertError) as info:
            await aio.start_tls(reader, writer, config=stranger)
        seen["server"] = info.value

    async def body(port: int) -> None:
        with pytest.raises(CertificateError) as info:
            await upgraded_client(port, client_config)
        seen["client"] = info.value
        await asyncio.sleep(0.2)  # the server reads our alert

    run(plain_server(handler, body))
    assert seen["client"].alert == AlertDescription.unknown_ca  # type: ignore[attr-defined]
    assert seen["server"].alert == AlertDescription.unknown_ca  # type: ignore[attr-defined]


def test_upgrade_handshake_timeout(client_config: ClientConfig) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accept(reader, writer)
        await reader.read()  # agrees, then never speaks TLS

    async def body(port: int) -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        await agree(reader, writer)
        with pytest.raises(aio.HandshakeTimeoutError):
            await aio.start_tls(reader, writer, config=client_config,
                                server_hostname="localhost", handshake_timeout=0.3)

    run(plain_server(handler, body), timeout=10)
