"""Collecting trace events from one or both ends of a connection.

A ``Recorder`` is an observer: pass ``recorder.client`` as ``observer=`` to a
``ClientConnection`` and ``recorder.server`` to a ``ServerConnection`` (or ``recorder.observer(
"client")`` for any side). Events of both sides share one sequence counter (under a lock, so a
loopback pair in two threads records a causal order: a message is always sent before the peer
receives it).

The trace events a connection emits (``connection.TraceEvent(kind, fields)``):

``message``
    ``direction`` ("sent" | "received"), ``msg_type`` (HandshakeType, or the pseudo type
    ``connection.CHANGE_CIPHER_SPEC`` for a ChangeCipherSpec record), ``raw`` (the whole
    handshake message, header included; ``b"\\x01"`` for CCS), ``protected`` (whether record
    protection was on in that direction).
``keys``
    ``direction`` ("read" | "write"), ``label`` (NSS key-log label of the TLS 1.3 traffic secret;
    empty when the secret was logged earlier; absent in TLS 1.2), ``suite``.
``secret``
    ``label``, ``length``: a secret was derived (its value only goes to the key log).
``key_share``
    ``group``, ``client_share_len``, ``server_share_len``, ``shared_secret_len``.
``certificate``
    ``chain``: the peer's certificates (``x509.Certificate``), leaf first.
``verify``
    ``outcome`` ("verified", "rejected", "skipped", "accepted by callback", ...), ``subject``,
    ``anchor``, ``alert``, ``reason``.
``finished``
    ``sender`` ("client" | "server"), ``verify_data``.
``hello_retry``
    ``group`` (server side: the group the HelloRetryRequest asks for).
``version``
    ``offered``, ``chosen`` (server side).
``client_auth``
    ``outcome`` and, when a certificate was sent or verified, ``subject`` (and ``scheme``).
``alert``
    ``direction``, ``level``, ``description``.
``error``
    ``alert``, ``reason``: this side failed the connection.
``ccs_ignored``
    a TLS 1.3 compatibility ChangeCipherSpec was dropped.
``handshake_complete``
    ``info``: the ``ConnectionInfo``.

The key log (NSS format, ``ClientConfig/ServerConfig(keylog_file=...)``) holds the secret values;
``read_keylog`` reads it back for ``show_secrets``.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lucidtls.connection import TraceEvent

SIDES = ("client", "server")


@dataclass(frozen=True, slots=True)
class Entry:
    """One trace event with the side that emitted it and its place in the shared order."""

    seq: int
    side: str  # "client" | "server"
    event: TraceEvent

    @property
    def kind(self) -> str:
        return self.event.kind

    @property
    def fields(self) -> dict[str, Any]:
        return self.event.fields


class Recorder:
    """Collects trace events of one or both sides of a connection, in one order."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self._lock = threading.Lock()
        self._counter = itertools.count()

    def observer(self, side: str) -> Callable[[TraceEvent], None]:
        """An ``observer=`` callback that records events as coming from *side*."""
        if side not in SIDES:
            raise ValueError(f"side must be 'client' or 'server', not {side!r}")

        def observe(event: TraceEvent) -> None:
            with self._lock:
                self.entries.append(Entry(next(self._counter), side, event))

        return observe

    @property
    def client(self) -> Callable[[TraceEvent], None]:
        return self.observer("client")

    @property
    def server(self) -> Callable[[TraceEvent], None]:
        return self.observer("server")

    def add(self, side: str, events: Iterable[TraceEvent]) -> None:
        """Add events recorded elsewhere (e.g. a connection's ``trace_log`` list)."""
        obs = self.observer(side)
        for event in events:
            obs(event)

    @property
    def sides(self) -> tuple[str, ...]:
        """The sides that recorded anything, client first."""
        seen = {e.side for e in self.entries}
        return tuple(s for s in SIDES if s in seen)

    def of_kind(self, kind: str, side: str | None = None) -> list[Entry]:
        return [e for e in self.entries if e.kind == kind and (side is None or e.side == side)]

    def first(self, kind: str, side: str | None = None, **match: Any) -> Entry | None:
        for e in self.of_kind(kind, side):
            if all(e.fields.get(k) == v for k, v in match.items()):
                return e
        return None


def read_keylog(path: str | Path, client_random: bytes | None = None) -> dict[str, bytes]:
    """The secrets of an NSS key log file as ``{label: value}``, for the connection with
    *client_random* (all lines when None; a later line wins)."""
    out: dict[str, bytes] = {}
    try:
        text = Path(path).read_text(encoding="ascii", errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 3 or line.startswith("#"):
            continue
        label, cr_hex, secret_hex = parts
        try:
            cr, secret = bytes.fromhex(cr_hex), bytes.fromhex(secret_hex)
        except ValueError:
            continue
        if client_random is None or cr == client_random:
            out[label] = secret
    return out
