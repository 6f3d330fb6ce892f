"""Strict TLS presentation-language codec (RFC 8446 §3).

``Reader`` never returns short data: a read past the end, a vector whose length prefix overruns
its container, or (with ``finish()``) a trailing byte raises ``DecodeError``. ``Writer`` builds
length-prefixed vectors and refuses values that do not fit their prefix; ``vector8/16/24`` and
``u16_vector`` do the same for one vector, as bytes, for encoders that are a single join.
"""

from __future__ import annotations

import struct

from lucidtls.errors import DecodeError

_U8 = struct.Struct(">B")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


class Reader:
    __slots__ = ("_data", "_end", "_pos")

    def __init__(self, data: bytes | bytearray | memoryview, start: int = 0,
                 end: int | None = None) -> None:
        self._data = bytes(data) if not isinstance(data, bytes) else data
        self._pos = start
        self._end = len(self._data) if end is None else end

    # --- position -------------------------------------------------------------------------
    @property
    def remaining(self) -> int:
        return self._end - self._pos

    def at_end(self) -> bool:
        return self._pos >= self._end

    def finish(self, what: str = "message") -> None:
        """Assert that everything was consumed (no trailing bytes)."""
        if self._pos != self._end:
            raise DecodeError(f"{self.remaining} trailing byte(s) after {what}")

    def _take(self, n: int, what: str) -> int:
        pos = self._pos
        if n > self._end - pos:
            raise DecodeError(f"truncated {what}: need {n} byte(s), have {self._end - pos}")
        self._pos = pos + n
        return pos

    # --- scalars --------------------------------------------------------------------------
    # u8/u16/u24 are the decoders' hottest calls: the bounds check is inlined, and _take
    # (which raises) only runs when it fails.
    def u8(self, what: str = "u8") -> int:
        pos = self._pos
        if pos >= self._end:
            self._take(1, what)
        self._pos = pos + 1
        return self._data[pos]

    def u16(self, what: str = "u16") -> int:
        pos = self._pos
        if pos + 2 > self._end:
            self._take(2, what)
        self._pos = pos + 2
        data = self._data
        return (data[pos] << 8) | data[pos + 1]

    def u24(self, what: str = "u24") -> int:
        pos = self._pos
        if pos + 3 > self._end:
            self._take(3, what)
        self._pos = pos + 3
        data = self._data
        return (data[pos] << 16) | (data[pos + 1] << 8) | data[pos + 2]

    def u32(self, what: str = "u32") -> int:
        pos = self._take(4, what)
        return int.from_bytes(self._data[pos:pos + 4], "big")

    def raw(self, n: int, what: str = "bytes") -> bytes:
        pos = self._pos
        if n > self._end - pos:
            self._take(n, what)
        self._pos = pos + n
        return self._data[pos:pos + n]

    def rest(self) -> bytes:
        pos = self._pos
        self._pos = self._end
        return self._data[pos:self._end]

    # --- vectors --------------------------------------------------------------------------
    def vec8(self, what: str = "vector", min_len: int = 0) -> bytes:
        pos = self._pos  # u8 and _vec, inlined: the decoders' most frequent read
        if pos >= self._end:
            self._take(1, what)
        self._pos = pos + 1
        return self._vec(self._data[pos], what, min_len)

    def vec16(self, what: str = "vector", min_len: int = 0) -> bytes:
        pos = self._pos  # u16 and _vec, inlined: the decoders' most frequent read
        if pos + 2 > self._end:
            self._take(2, what)
        data = self._data
        n = (data[pos] << 8) | data[pos + 1]
        if n < min_len:
            raise DecodeError(f"{what} is {n} byte(s), shorter than the minimum {min_len}")
        start = pos + 2
        if n > self._end - start:
            self._pos = start
            self._take(n, what)
        self._pos = start + n
        return data[start:start + n]

    def vec24(self, what: str = "vector", min_len: int = 0) -> bytes:
        return self._vec(self.u24(what), what, min_len)

    def _vec(self, n: int, what: str, min_len: int) -> bytes:
        if n < min_len:
            raise DecodeError(f"{what} is {n} byte(s), shorter than the minimum {min_len}")
        pos = self._pos  # raw(), inlined: vectors are the decoders' most frequent reads
        if n > self._end - pos:
            self._take(n, what)
        self._pos = pos + n
        return self._data[pos:pos + n]

    def sub8(self, what: str = "block", min_len: int = 0) -> Reader:
        return self._sub(self.u8(what), what, min_len)

    def sub16(self, what: str = "block", min_len: int = 0) -> Reader:
        return self._sub(self.u16(what), what, min_len)

    def sub24(self, what: str = "block", min_len: int = 0) -> Reader:
        return self._sub(self.u24(what), what, min_len)

    def _sub(self, n: int, what: str, min_len: int) -> Reader:
        if n < min_len:
            raise DecodeError(f"{what} is {n} byte(s), shorter than the minimum {min_len}")
        pos = self._take(n, what)
        return Reader(self._data, pos, pos + n)

    def u16_list(self, what: str = "list", min_len: int = 0) -> list[int]:
        """A u16-length-prefixed list of u16 values (cipher suites, groups, schemes)."""
        block = self.vec16(what, min_len)
        if len(block) % 2:
            raise DecodeError(f"{what} has an odd length {len(block)}")
        return list(struct.unpack(f">{len(block) // 2}H", block))


class Writer:
    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def getvalue(self) -> bytes:
        return bytes(self._buf)

    def u8(self, v: int) -> Writer:
        self._buf.append(v)
        return self

    def u16(self, v: int) -> Writer:
        self._buf += v.to_bytes(2, "big")
        return self

    def u24(self, v: int) -> Writer:
        self._buf += v.to_bytes(3, "big")
        return self

    def u32(self, v: int) -> Writer:
        self._buf += v.to_bytes(4, "big")
        return self

    def raw(self, b: bytes) -> Writer:
        self._buf += b
        return self

    def vec8(self, b: bytes) -> Writer:
        if len(b) > 0xFF:
            raise ValueError(f"{len(b)} bytes do not fit a 1-byte length prefix")
        buf = self._buf
        buf.append(len(b))
        buf += b
        return self

    def vec16(self, b: bytes) -> Writer:
        n = len(b)
        if n > 0xFFFF:
            raise ValueError(f"{n} bytes do not fit a 2-byte length prefix")
        buf = self._buf
        buf.append(n >> 8)
        buf.append(n & 0xFF)
        buf += b
        return self

    def vec24(self, b: bytes) -> Writer:
        return self._vec(b, 3)

    def _vec(self, b: bytes, width: int) -> Writer:
        if len(b) >= 1 << (8 * width):
            raise ValueError(f"{len(b)} bytes do not fit a {width}-byte length prefix")
        self._buf += len(b).to_bytes(width, "big")
        self._buf += b
        return self

    def u16_list(self, values: list[int] | tuple[int, ...]) -> Writer:
        self._buf += u16_vector(values)
        return self

    def prefixed(self, width: int) -> _Prefixed:
        """``with w.prefixed(2): ...`` writes the enclosed bytes behind a length prefix."""
        return _Prefixed(self, width)


class _Prefixed:
    """The context manager of ``Writer.prefixed``: a plain class, cheaper to enter than a
    generator-based ``contextmanager``. On an exception the prefix is left unpatched."""

    __slots__ = ("_start", "_w", "_width")

    def __init__(self, w: Writer, width: int) -> None:
        self._w = w
        self._width = width
        self._start = len(w._buf)
        w._buf += bytes(width)

    def __enter__(self) -> Writer:
        return self._w

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            return
        buf, start, width = self._w._buf, self._start, self._width
        n = len(buf) - start - width
        if n >= 1 << (8 * width):
            raise ValueError(f"{n} bytes do not fit a {width}-byte length prefix")
        buf[start:start + width] = n.to_bytes(width, "big")


# --- one vector as bytes ---------------------------------------------------------------------------
# For encoders built as one b"".join: a call and a struct pack each, where a Writer costs an
# object, a method call per field and a copy at the end.
def vector8(data: bytes) -> bytes:
    """``opaque data<0..2^8-1>``: *data* behind its 1-byte length."""
    if len(data) > 0xFF:
        raise ValueError(f"{len(data)} bytes do not fit a 1-byte length prefix")
    return _U8.pack(len(data)) + data


def vector16(data: bytes) -> bytes:
    """``opaque data<0..2^16-1>``: *data* behind its 2-byte length."""
    if len(data) > 0xFFFF:
        raise ValueError(f"{len(data)} bytes do not fit a 2-byte length prefix")
    return _U16.pack(len(data)) + data


def vector24(data: bytes) -> bytes:
    """``opaque data<0..2^24-1>``: *data* behind its 3-byte length."""
    if len(data) > 0xFFFFFF:
        raise ValueError(f"{len(data)} bytes do not fit a 3-byte length prefix")
    return _U32.pack(len(data))[1:] + data


def u16_vector(values: list[int] | tuple[int, ...]) -> bytes:
    """``uint16 values<0..2^16-1>`` (cipher suites, groups, schemes) with its 2-byte length."""
    try:
        packed = struct.pack(f">{len(values)}H", *values)
    except struct.error:
        raise ValueError(f"a value of {list(values)} does not fit a u16") from None
    return vector16(packed)
