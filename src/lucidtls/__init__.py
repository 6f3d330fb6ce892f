"""lucidtls — a lucid TLS 1.3 / TLS 1.2 stack for Python.

The core is sans-I/O (``ClientConnection`` / ``ServerConnection``); ``connect()`` and
``TLSServer`` drive it over blocking sockets.
"""

from lucidtls.config import ClientConfig, ClientHelloInfo, ServerConfig
from lucidtls.connection import ClientConnection, Connection, Hooks, ServerConnection, TraceEvent
from lucidtls.errors import (
    CertificateError,
    ConfigError,
    ConnectionClosedError,
    DecodeError,
    LocalError,
    PeerAlertError,
    ProtocolError,
    StateError,
    TLSError,
)
from lucidtls.events import (
    AlertReceived,
    ApplicationData,
    ConnectionClosed,
    Event,
    HandshakeComplete,
    KeyUpdated,
    SessionTicketReceived,
)
from lucidtls.info import ConnectionInfo
from lucidtls.io.sync import TLSServer, TLSSocket, connect, wrap_client, wrap_server
from lucidtls.pki.credentials import Credential, load_credential
from lucidtls.pki.trust import TrustStore
from lucidtls.wire.enums import AlertDescription, CipherSuite, NamedGroup, ProtocolVersion

__version__ = "0.1.0"

__all__ = [
    "AlertDescription", "AlertReceived", "ApplicationData", "CertificateError", "CipherSuite",
    "ClientConfig", "ClientConnection", "ClientHelloInfo", "ConfigError", "Connection",
    "ConnectionClosed", "ConnectionClosedError", "ConnectionInfo", "Credential", "DecodeError",
    "Event", "HandshakeComplete", "Hooks", "KeyUpdated", "LocalError", "NamedGroup",
    "PeerAlertError", "ProtocolError", "ProtocolVersion", "ServerConfig", "ServerConnection",
    "SessionTicketReceived", "StateError", "TLSError", "TLSServer", "TLSSocket", "TraceEvent",
    "TrustStore", "connect", "load_credential", "wrap_client", "wrap_server",
]
