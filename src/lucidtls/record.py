"""The record layer (RFC 8446 §5, RFC 5246 §6.2).

Splits the incoming byte stream into records, checks their sizes, removes protection, and
hands out ``(content_type, payload)`` pairs; on the way out it fragments and protects. It also
reassembles handshake messages that span records (``HandshakeReader``). It does not know the
handshake: what is allowed when is the connection's business.
"""

from __future__ import annotations

import struct
from collections import deque
from typing import NoReturn, Protocol

from lucidtls.errors import DecodeError, RecordError, UnexpectedMessage
from lucidtls.wire.enums import AlertDescription, ContentType, ProtocolVersion

MAX_PLAINTEXT = 1 << 14
# RFC 8446 §5.2: TLSCiphertext.length MUST NOT exceed 2^14 + 256.
MAX_CIPHERTEXT_13 = MAX_PLAINTEXT + 256
# RFC 5246 §6.2.3: TLSCiphertext.length MUST NOT exceed 2^14 + 2048.
MAX_CIPHERTEXT_12 = MAX_PLAINTEXT + 2048
# Handshake messages larger than this are refused (a certificate chain is the largest we expect).
MAX_HANDSHAKE_MESSAGE = 1 << 17

_KNOWN_TYPES = frozenset(int(t) for t in ContentType if t != ContentType.HEARTBEAT)
_HANDSHAKE = int(ContentType.HANDSHAKE)
_APPDATA = int(ContentType.APPLICATION_DATA)
_CCS = int(ContentType.CHANGE_CIPHER_SPEC)
_ALERT = int(ContentType.ALERT)
_TLS12 = int(ProtocolVersion.TLS1_2)
_U32_AT = struct.Struct(">I").unpack_from
_HEADER = struct.Struct(">BHH")  # type, legacy_record_version, length
_HEADER_AT, _PACK_HEADER = _HEADER.unpack_from, _HEADER.pack
_TYPE_MAJOR_LENGTH_AT = struct.Struct(">HxH").unpack_from  # type and major version, length
_KNOWN_TYPES_MAJOR_3 = frozenset(t << 8 | 3 for t in _KNOWN_TYPES)  # a known type, TLS 3.x
_PROTECTED_TYPES = _KNOWN_TYPES - {_CCS}  # what a TLS 1.3 record may hold (RFC 8446 §5)
# The ChangeCipherSpec record as it is always sent: unprotected, version 0x0303, the byte 1.
_CCS_RECORD = _PACK_HEADER(_CCS, _TLS12, 1) + b"\x01"
_TYPE_BYTE = [bytes((t,)) for t in range(256)]
# How a plain HTTP request or response starts: named in the error, which is otherwise cryptic.
_HTTP_STARTS = (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"CONNECT ",
                b"PATCH ", b"HTTP/")


class Protection13(Protocol):
    seq: int

    def seal(self, inner_plaintext: bytes) -> bytes: ...
    def seal_parts(self, inner_plaintext: bytes) -> tuple[bytes, bytes]: ...
    def seal_application_data(self, data: bytes | bytearray | memoryview,
                              fragment_size: int) -> list[bytes]: ...
    def open(self, header: bytes, ciphertext: bytes | memoryview) -> bytes: ...
    def open_application_data(self, buf: bytes, pos: int, contents: list[bytes]
                              ) -> tuple[int, bytes | None]: ...


class Protection12(Protocol):
    seq: int

    def seal(self, content_type: int, plaintext: bytes | bytearray | memoryview) -> bytes: ...
    def open(self, content_type: int, ciphertext: bytes | memoryview) -> bytes: ...


class RecordLayer:
    """Framing and protection for both directions of one connection."""

    # Read a few times per connection at most: defaults kept by the class, not set per object.
    version: int | None = None  # negotiated version; None until the hellos agree
    # The version field we write in plaintext records (RFC 8446 §5.1: 0x0301 for the first
    # ClientHello is allowed for compatibility; 0x0303 everywhere else).
    plaintext_version = _TLS12

    def __init__(self) -> None:
        # Incoming bytes; records before _in_pos are consumed (dropped at the next feed). When a
        # feed completes a partial record, _in holds just that record and the rest of the fed
        # bytes wait in _next (read from _next_pos on), so only the straddling record is copied.
        self._in: bytes = b""
        self._in_pos = 0
        self._next: bytes | None = None
        self._next_pos = 0
        # Outgoing records (or header and body of each), joined once by take_output.
        self._out: list[bytes] = []
        # Handshake messages waiting to go out together: written as one record (fragmented at
        # the limit) before any other record, before the write keys change, and when the output
        # is taken, so a flight makes one record per key epoch, as OpenSSL's does.
        self.handshake_out = bytearray()
        self._read13: Protection13 | None = None
        self._write13: Protection13 | None = None
        self._read12: Protection12 | None = None
        # The longest record body accepted under the read protection (set with it).
        self._read_limit = MAX_PLAINTEXT
        self._write12: Protection12 | None = None
        self.pad_to = 0  # TLS 1.3 padding policy: pad inner plaintexts to a multiple (0 = none)
        # A peer that failed before installing its own write keys (e.g. a client rejecting our
        # certificate, with middlebox compatibility) sends its alert in the clear: accept
        # plaintext alerts until the first protected record arrives.
        self._plain_alerts_ok = False
        self.max_fragment = MAX_PLAINTEXT

    # --- protection state -----------------------------------------------------------------
    def set_read_13(self, protection: Protection13) -> None:
        self._plain_alerts_ok = self._read13 is None and self._read12 is None
        self._read13, self._read12 = protection, None
        self._read_limit = MAX_CIPHERTEXT_13

    def set_write_13(self, protection: Protection13) -> None:
        if self.handshake_out:
            self.flush_handshake()
        self._write13, self._write12 = protection, None

    def set_read_12(self, protection: Protection12) -> None:
        self._read12, self._read13 = protection, None
        self._read_limit = MAX_CIPHERTEXT_12

    def set_write_12(self, protection: Protection12) -> None:
        if self.handshake_out:
            self.flush_handshake()
        self._write12, self._write13 = protection, None

    @property
    def read_protected(self) -> bool:
        return self._read13 is not None or self._read12 is not None

    @property
    def write_protected(self) -> bool:
        return self._write13 is not None or self._write12 is not None

    @property
    def write_seq(self) -> int:
        p = self._write13 or self._write12
        return p.seq if p is not None else 0

    # --- incoming -------------------------------------------------------------------------
    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if type(data) is not bytes:
            data = bytes(data)  # the caller could still change it
        buf = self._in
        if not buf:
            # Everything fed so far was read, and let go (_in_pos is 0 and _next None when _in
            # is empty): read the records straight out of *data*.
            self._in = data
            return
        pos = self._in_pos
        rest = len(buf) - pos
        if not rest and self._next is None:
            # Everything fed so far was consumed: read the records straight out of *data*.
            self._in, self._in_pos = data, 0
            return
        nxt = self._next
        if nxt is not None:  # records left unread (e.g. after close_notify): keep them all
            self._in = b"".join((memoryview(buf)[pos:], memoryview(nxt)[self._next_pos:], data))
            self._in_pos, self._next = 0, None
            return
        # A partial record is left: copy it together with only the bytes of *data* that complete
        # it (a receive of 64 KiB ends inside a record nearly every time).
        if rest >= 5:
            need = 5 + ((buf[pos + 3] << 8) | buf[pos + 4]) - rest
        elif rest + len(data) >= 5:
            head = bytes(buf[pos:]) + data[:5 - rest]
            need = 5 + ((head[3] << 8) | head[4]) - rest
        else:
            need = 0
        if 0 < need < len(data):
            self._in = b"".join((memoryview(buf)[pos:], memoryview(data)[:need]))
            self._next, self._next_pos = data, need
        else:
            self._in = b"".join((memoryview(buf)[pos:], data))
        self._in_pos = 0

    @property
    def buffered(self) -> int:
        nxt = self._next
        return len(self._in) - self._in_pos + (len(nxt) - self._next_pos if nxt else 0)

    def next_record(self) -> tuple[int, bytes] | None:
        """The next complete record, unprotected, or None if more bytes are needed."""
        buf = self._in
        pos = self._in_pos
        n = len(buf)
        if n - pos < 5:
            nxt = self._next
            if nxt is None:
                if pos == n:
                    self._in, self._in_pos = b"", 0  # all read: let the fed bytes go
                return None
            # The straddling record was read (feed made _in exactly that record): go on with
            # the rest of the fed bytes.
            assert pos == n
            buf, pos = self._in, self._in_pos = nxt, self._next_pos
            self._next = None
            n = len(buf)
            if n - pos < 5:
                return None
        type_and_major, length = _TYPE_MAJOR_LENGTH_AT(buf, pos)
        if type_and_major not in _KNOWN_TYPES_MAJOR_3:
            self._refuse_header(buf, pos)
        content_type = type_and_major >> 8
        read13 = self._read13
        if length > self._read_limit:
            raise RecordError(f"record of {length} bytes exceeds the limit of "
                              f"{self._read_limit}", AlertDescription.record_overflow)
        start = pos + 5
        end = start + length
        if n < end:
            return None
        self._in_pos = end

        # (buf is bytes: its slices are the payloads, and a view of it needs no release.)
        if read13 is not None:
            if content_type == _APPDATA:
                inner = read13.open(buf[pos:start], memoryview(buf)[start:end])
                self._plain_alerts_ok = False
                return _inner_plaintext(inner)
            payload = buf[start:end]
            if content_type == _CCS:
                # RFC 8446 §5: CCS stays unprotected; the connection decides whether to allow it.
                return content_type, payload
            if content_type == _ALERT and self._plain_alerts_ok:
                return content_type, payload
            raise UnexpectedMessage(
                f"unprotected {ContentType(content_type).name} record after keys changed")
        if self._read12 is not None:
            payload = self._read12.open(content_type, memoryview(buf)[start:end])
            if len(payload) > MAX_PLAINTEXT:
                raise RecordError(f"decrypted record of {len(payload)} bytes exceeds 2^14",
                                  AlertDescription.record_overflow)
        else:
            payload = buf[start:end]
        if not payload and content_type != _APPDATA:
            # RFC 8446 §5.1: zero-length fragments only for application data.
            raise UnexpectedMessage(f"empty {ContentType(content_type).name} record")
        return content_type, payload

    @staticmethod
    def _refuse_header(buf: bytes, pos: int) -> NoReturn:
        """Name what is wrong with a record header of an unknown type or a non-TLS version."""
        content_type, version, _ = _HEADER_AT(buf, pos)
        if content_type not in _KNOWN_TYPES:
            http = " (the peer speaks plain HTTP, not TLS)" if \
                bytes(buf[pos:pos + 8]).startswith(_HTTP_STARTS) else ""
            raise UnexpectedMessage(f"record of unknown content type {content_type}{http}")
        # Not TLS at all (e.g. plain HTTP or SSLv2 on a TLS port).
        raise DecodeError(f"record version 0x{version:04x} is not TLS")

    def read_application_data_13(self, contents: list[bytes]) -> tuple[int, bytes] | None:
        """``next_record`` for an established stream, with the TLS 1.3 fast path in front: the
        read protection decrypts the complete, unpadded application-data records at the head of
        the input and appends their contents to *contents*, in order. The first record it does
        not cover goes to next_record, which makes every check and raises; a record that holds
        something else once decrypted is returned as next_record would return it. (If this
        raises, *contents* still holds what came before the bad record.)"""
        read13 = self._read13
        if read13 is None:
            return self.next_record()
        buf, pos = self._in, self._in_pos
        if pos == len(buf) and self._next is None:
            # Nothing left (each end's first look after its handshake completes, for one).
            if pos:
                self._in, self._in_pos = b"", 0  # all read: let the fed bytes go
            return None
        while True:
            end, other = read13.open_application_data(buf, pos, contents)
            if end != pos:
                self._in_pos = pos = end
                self._plain_alerts_ok = False
            if other is not None:
                return _inner_plaintext(other)
            if pos != len(buf) or self._next is None:
                break
            # The straddling record is read: go on with the rest of the fed bytes, as
            # next_record does.
            buf, pos = self._in, self._in_pos = self._next, self._next_pos
            self._next = None
        if pos == len(buf) and self._next is None:
            self._in, self._in_pos = b"", 0  # all read: let the fed bytes go
            return None
        return self.next_record()

    # --- outgoing -------------------------------------------------------------------------
    def write(self, content_type: int, data: bytes | bytearray | memoryview) -> None:
        """Fragment and protect *data* as records of *content_type*."""
        if self.handshake_out:
            self.flush_handshake()
        size = self.max_fragment
        w13 = self._write13
        if w13 is not None and content_type == _APPDATA and data and not self.pad_to:
            self._out += w13.seal_application_data(data, size)  # the bulk of a TLS 1.3 stream
            return
        if len(data) <= size:
            self._write_one(content_type, data)
            return
        view = memoryview(data)  # fragments are views: the record is the first copy
        for i in range(0, len(data), size):
            self._write_one(content_type, view[i:i + size])

    def _write_one(self, content_type: int, fragment: bytes | bytearray | memoryview) -> None:
        w13 = self._write13
        if w13 is not None and content_type != _CCS:
            # TLSInnerPlaintext: content || type (|| zeros) (RFC 8446 §5.2)
            inner = b"".join((fragment, _TYPE_BYTE[content_type]))
            if self.pad_to:
                pad = -len(inner) % self.pad_to
                if pad and len(inner) + pad <= MAX_PLAINTEXT + 1:
                    inner += bytes(pad)
            self._out += w13.seal_parts(inner)
        elif self._write12 is not None:
            self._out.append(self._write12.seal(content_type, fragment))
        else:
            version = 0x0300 | (self.plaintext_version & 0xFF)
            self._out.append(_PACK_HEADER(content_type, version, len(fragment)) + fragment)

    def write_ccs(self) -> None:
        """Queue a ChangeCipherSpec record (the byte 1), after the queued handshake messages."""
        if self.handshake_out:
            self.flush_handshake()
        if self._write12 is None and self.plaintext_version == _TLS12:
            # Unprotected: before the TLS 1.2 write keys, or TLS 1.3's, where CCS never is.
            self._out.append(_CCS_RECORD)
        else:
            self._write_one(_CCS, b"\x01")

    def flush_handshake(self) -> None:
        """Write the queued handshake messages now (as one record, fragmented at the limit)."""
        queued = self.handshake_out
        if len(queued) <= self.max_fragment:
            # The usual flight: one record (_write_one copies the bytes it is given).
            self._write_one(_HANDSHAKE, queued)
            queued.clear()
        else:
            data = bytes(queued)
            queued.clear()
            self.write(_HANDSHAKE, data)

    def take_output(self) -> bytes:
        if self.handshake_out:
            self.flush_handshake()
        out = b"".join(self._out)
        self._out.clear()
        return out


def _inner_plaintext(inner: bytes) -> tuple[int, bytes]:
    """(content type, content) of a decrypted TLSInnerPlaintext (RFC 8446 §5.2, §5.4)."""
    # RFC 8446 §5.4: strip zero padding; the last non-zero byte is the real type.
    i = len(inner) - 1
    if i < 0 or not inner[i]:
        i = len(inner.rstrip(b"\0")) - 1
        if i < 0:
            raise UnexpectedMessage("protected record has no content type (all padding)")
    content_type = inner[i]
    if i > MAX_PLAINTEXT:
        raise RecordError(f"decrypted record of {i} bytes exceeds 2^14",
                          AlertDescription.record_overflow)
    if content_type not in _PROTECTED_TYPES:
        raise UnexpectedMessage(f"protected record of inner type {content_type}")
    payload = inner[:i]
    if not payload and content_type != _APPDATA:
        # RFC 8446 §5.1: zero-length fragments only for application data.
        raise UnexpectedMessage(f"empty {ContentType(content_type).name} record")
    return content_type, payload


class HandshakeReader:
    """Reassembles handshake messages from handshake-record payloads (RFC 8446 §5.1)."""

    def __init__(self, max_message: int = MAX_HANDSHAKE_MESSAGE) -> None:
        self._buf = bytearray()
        # Complete messages as (msg_type, body, raw), oldest first; the connection takes them
        # from here one at a time.
        self.ready: deque[tuple[int, bytes, bytes]] = deque()
        self.max_message = max_message

    def feed(self, fragment: bytes) -> None:
        # Messages are cut straight out of the record's payload; only a message split across
        # records goes through the buffer. A record holding exactly one message is not copied
        # (a bytes object sliced whole is itself).
        buf = self._buf
        if buf:
            buf += fragment
            data = bytes(buf)
            buf.clear()
        elif type(fragment) is bytes:
            data = fragment
        else:
            data = bytes(fragment)
        n = len(data)
        limit = self.max_message
        if n >= 4:
            (header,) = _U32_AT(data, 0)  # msg_type(1) length(3)
            if n - 4 == (header & 0xFFFFFF) and n - 4 <= limit:
                # The usual record: exactly one whole message (the loop below gives the same).
                self.ready.append((header >> 24, data[4:], data))
                return
        pos = 0
        append = self.ready.append
        while n - pos >= 4:
            (header,) = _U32_AT(data, pos)  # msg_type(1) length(3)
            length = header & 0xFFFFFF
            if length > limit:
                raise DecodeError(f"handshake message of {length} bytes exceeds the limit {limit}")
            end = pos + 4 + length
            if end > n:
                break
            raw = data[pos:end]
            append((header >> 24, raw[4:], raw))
            pos = end
        if pos < n:
            buf += memoryview(data)[pos:]

    def pop(self) -> tuple[int, bytes, bytes] | None:
        """The next complete ``(msg_type, body, raw)`` or None."""
        return self.ready.popleft() if self.ready else None

    def push_front(self, item: tuple[int, bytes, bytes]) -> None:
        self.ready.appendleft(item)

    @property
    def empty(self) -> bool:
        """No partial or complete message is waiting (checked at every key change)."""
        return not self._buf and not self.ready

    @property
    def partial(self) -> bool:
        return bool(self._buf)
