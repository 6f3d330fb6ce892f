"""Events returned by ``Connection.next_event()``: frozen dataclasses, h11-style."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lucidtls.info import ConnectionInfo


@dataclass(frozen=True, slots=True)
class Event:
    pass


@dataclass(frozen=True, slots=True)
class HandshakeComplete(Event):
    info: ConnectionInfo


@dataclass(frozen=True, slots=True)
class ApplicationData(Event):
    data: bytes


@dataclass(frozen=True, slots=True)
class AlertReceived(Event):
    """A warning-level alert other than close_notify (fatal alerts raise ``PeerAlertError``)."""

    level: int
    description: int


@dataclass(frozen=True, slots=True)
class ConnectionClosed(Event):
    """The peer ended the connection. ``clean`` is True after its close_notify, False when the
    transport ended without one (a truncation an attacker could have caused)."""

    clean: bool


@dataclass(frozen=True, slots=True)
class KeyUpdated(Event):
    """Traffic keys changed (``direction`` is "read" or "write")."""

    direction: str
    requested_by_peer: bool


@dataclass(frozen=True, slots=True)
class SessionTicketReceived(Event):
    lifetime: int
    ticket: bytes


@dataclass(frozen=True, slots=True)
class PostHandshakeAuth(Event):
    """Post-handshake client authentication finished (RFC 8446 §4.6.2). On the server,
    ``info`` is the updated ConnectionInfo; ``client_auth`` says whether a certificate was
    presented and accepted (the client side reports whether it sent one)."""

    client_auth: bool
    subject: str | None
