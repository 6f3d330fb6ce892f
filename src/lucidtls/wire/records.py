"""Record header framing and the Alert message (RFC 8446 §5.1, §6; RFC 5246 §6.2, §7.2).

Only the bytes: limits, version policy and protection belong to ``lucidtls.record``.
"""

from __future__ import annotations

from dataclasses import dataclass

from lucidtls.errors import DecodeError

# ContentType (1) + legacy_record_version (2) + length (2)
RECORD_HEADER_LEN = 5


def encode_record_header(content_type: int, version: int, length: int) -> bytes:
    """The 5-byte TLSPlaintext / TLSCiphertext header."""
    if not 0 <= length <= 0xFFFF:
        raise ValueError(f"record length {length} does not fit in 16 bits")
    return bytes((content_type, version >> 8, version & 0xFF, length >> 8, length & 0xFF))


def parse_record_header(data: bytes | bytearray | memoryview) -> tuple[int, int, int]:
    """``(content_type, legacy_version, length)`` from the first 5 bytes of *data*.

    Extra bytes after the header are ignored (they are the fragment); fewer than 5 raise.
    """
    if len(data) < RECORD_HEADER_LEN:
        raise DecodeError(f"truncated record header: need 5 byte(s), have {len(data)}")
    return data[0], (data[1] << 8) | data[2], (data[3] << 8) | data[4]


@dataclass(frozen=True, slots=True)
class Alert:
    """struct { AlertLevel level; AlertDescription description; } (RFC 8446 §6)."""

    level: int
    description: int

    def encode(self) -> bytes:
        return bytes((self.level, self.description))

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Alert:
        if len(data) != 2:
            raise DecodeError(f"alert must be exactly 2 bytes, got {len(data)}")
        return cls(data[0], data[1])
