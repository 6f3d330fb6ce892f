"""``lucidtls.aio``: asyncio streams over TLS (see ``lucidtls.io.aio``)."""

from __future__ import annotations

from lucidtls.io.aio import (
    HandshakeTimeoutError,
    PeerAlertError,
    TLSStreamReader,
    TLSTransport,
    TruncationError,
    connection_info,
    open_connection,
    start_server,
    start_tls,
)

__all__ = [
    "HandshakeTimeoutError", "PeerAlertError", "TLSStreamReader", "TLSTransport",
    "TruncationError", "connection_info", "open_connection", "start_server", "start_tls",
]
