"""Record protection: one object per direction and key, each with its own sequence number.

TLS 1.3 (RFC 8446 §5.2, §5.3): nonce = iv XOR left-padded 64-bit sequence number; the AAD is
the 5-byte record header; the output is a whole TLSCiphertext record.

TLS 1.2 AEAD (RFC 5246 §6.2.3.3): AAD = seq_num(8) || type(1) || version(2) || length(2), where
length is the *plaintext* length. AES-GCM (RFC 5288 §3) carries an 8-byte explicit nonce in the
record (we send the sequence number, which can never repeat under one key); ChaCha20-Poly1305
(RFC 7905 §2) uses iv XOR seq like TLS 1.3 and carries no explicit nonce.

The AEAD object is built once per key; per record we only build the nonce, AAD and output.
"""

from __future__ import annotations

import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from lucidtls.crypto.suites import Suite
from lucidtls.errors import ConfigError, RecordError, alert_error
from lucidtls.wire.enums import AlertDescription, ContentType

# Sizes the record layer needs to enforce limits (RFC 8446 §5.2, RFC 5246 §6.2.3).
AEAD_TAG_LEN = 16
TLS12_GCM_EXPLICIT_NONCE_LEN = 8
TLS13_RECORD_OVERHEAD = AEAD_TAG_LEN  # plus the 1-byte inner content type, counted by the caller
TLS13_MAX_CIPHERTEXT = 2**14 + 256  # TLSCiphertext.length limit (RFC 8446 §5.2)
TLS12_MAX_CIPHERTEXT = 2**14 + 2048  # TLSCiphertext.length limit (RFC 5246 §6.2.3)
RECORD_HEADER_LEN = 5

_SEQ_LIMIT = 2**64  # RFC 8446 §5.3 / RFC 5246 §6.1: the sequence number must not wrap
_HEADER = struct.Struct(">BHH")  # type, legacy_record_version, length
_AAD12 = struct.Struct(">QBHH")  # seq_num, type, version, length
_TLS12 = 0x0303
_APPLICATION_DATA = int(ContentType.APPLICATION_DATA)
_APPDATA_TYPE = bytes((_APPLICATION_DATA,))
# For open_application_data: a record header's type and major version, and its length.
_TYPE_MAJOR_LENGTH_AT = struct.Struct(">HxH").unpack_from
_APPDATA_3 = _APPLICATION_DATA << 8 | 3  # application_data, major version 3 (any 3.x)
_MIN_BODY = AEAD_TAG_LEN + 1  # the inner content type and the tag
_MIN_RECORD = RECORD_HEADER_LEN + _MIN_BODY
# The longest body that cannot hold padding: content (2^14) || type, and the tag.
_MAX_UNPADDED = 2**14 + 1 + AEAD_TAG_LEN
_FULL_HEADER = _HEADER.pack(_APPLICATION_DATA, _TLS12, _MAX_UNPADDED)
_FULL_RECORD = RECORD_HEADER_LEN + _MAX_UNPADDED

_Aead = AESGCM | ChaCha20Poly1305
_GCM12_OVERHEAD = AEAD_TAG_LEN + TLS12_GCM_EXPLICIT_NONCE_LEN  # a TLS 1.2 AES-GCM record's
_CHACHA = "CHACHA20_POLY1305"


def _bad_key(suite: Suite, key: bytes) -> ConfigError:
    return ConfigError(f"{suite.name} needs a {suite.key_len}-byte key, got {len(key)}")


def confidentiality_limit(suite: Suite) -> int:
    """Records that may be protected under one key before it must be updated (RFC 8446 §5.5).

    AES-GCM: 2^24.5 full-size records. ChaCha20-Poly1305: no practical limit; we return the
    sequence-number space.
    """
    if suite.aead == "CHACHA20_POLY1305":
        return _SEQ_LIMIT - 1
    return 23_726_566  # floor(2 ** 24.5)


def _bad_record_mac(reason: str) -> RecordError:
    err = alert_error(AlertDescription.bad_record_mac, reason)
    assert isinstance(err, RecordError)
    return err


def _exhausted() -> RecordError:
    # Cannot happen in practice (key updates come far earlier), but a wrapped nonce must never
    # be produced.
    return RecordError("record sequence number exhausted", AlertDescription.internal_error)


class Tls13Protection:
    """TLS 1.3 record protection for one direction under one traffic key."""

    __slots__ = ("_aead", "_iv", "seq", "suite")

    overhead: int = AEAD_TAG_LEN

    def __init__(self, suite: Suite, key: bytes, iv: bytes) -> None:
        if len(iv) != 12:
            raise ConfigError(f"TLS 1.3 record protection needs a 12-byte IV, got {len(iv)}")
        if len(key) != suite.key_len:
            raise _bad_key(suite, key)
        self.suite = suite
        self.seq = 0
        # (The AEAD object is made here, not by a helper: eight keys per handshake pair.)
        self._aead = ChaCha20Poly1305(key) if suite.aead == _CHACHA else AESGCM(key)
        self._iv = int.from_bytes(iv, "big")

    def seal(self, inner_plaintext: bytes) -> bytes:
        """Encrypt a TLSInnerPlaintext (content || type || zeros); return the whole record."""
        return b"".join(self.seal_parts(inner_plaintext))

    def seal_parts(self, inner_plaintext: bytes) -> tuple[bytes, bytes]:
        """``seal`` as (header, ciphertext): a caller collecting records for one write joins
        them once, instead of copying each ciphertext behind its header."""
        seq = self.seq
        if seq >= _SEQ_LIMIT:
            raise _exhausted()
        header = _HEADER.pack(_APPLICATION_DATA, _TLS12, len(inner_plaintext) + AEAD_TAG_LEN)
        nonce = (self._iv ^ seq).to_bytes(12, "big")
        sealed = self._aead.encrypt(nonce, inner_plaintext, header)
        self.seq = seq + 1
        return header, sealed

    def seal_application_data(self, data: bytes | bytearray | memoryview,
                              fragment_size: int) -> list[bytes]:
        """*data* as unpadded application-data records of at most *fragment_size* bytes, as
        (header, ciphertext) parts: ``seal_parts`` in one loop, for bulk sends."""
        seq = self.seq
        if seq + -(-len(data) // fragment_size) > _SEQ_LIMIT:
            raise _exhausted()
        encrypt, iv, pack = self._aead.encrypt, self._iv, _HEADER.pack
        view = memoryview(data)
        out: list[bytes] = []
        for i in range(0, len(data), fragment_size):
            inner = b"".join((view[i:i + fragment_size], _APPDATA_TYPE))  # RFC 8446 §5.2
            header = pack(_APPLICATION_DATA, _TLS12, len(inner) + AEAD_TAG_LEN)
            out += (header, encrypt((iv ^ seq).to_bytes(12, "big"), inner, header))
            seq += 1
        self.seq = seq
        return out

    def open_application_data(self, buf: bytes, pos: int, contents: list[bytes]
                              ) -> tuple[int, bytes | None]:
        """The receiving twin of ``seal_application_data``: decrypt the whole, unpadded
        application-data records of *buf* from *pos* on, appending each one's content to
        *contents*. Stops at the first record it does not cover (not application data, too
        short to hold a tag and a type, long enough to hold padding, or incomplete), which the
        record layer then reads record by record, with every check. Returns the position after
        the last record decrypted, and that record's TLSInnerPlaintext if it turned out not to
        be plain application data (padded, or another type), else None."""
        seq = self.seq
        n = len(buf)
        if seq + n // _MIN_RECORD >= _SEQ_LIMIT:
            return pos, None  # near the end of the sequence space: record by record
        decrypt, iv, append = self._aead.decrypt, self._iv, contents.append
        view = memoryview(buf)  # bytes: the view never blocks anything, so it is not released
        try:
            while True:
                header = buf[pos:pos + 5]
                if header == _FULL_HEADER:  # the usual record of a bulk stream: 2^14 of content
                    end = pos + _FULL_RECORD
                    if end > n:
                        break
                else:
                    if len(header) < 5:
                        break
                    type_and_major, length = _TYPE_MAJOR_LENGTH_AT(header)
                    end = pos + 5 + length
                    if type_and_major != _APPDATA_3 or not _MIN_BODY <= length <= _MAX_UNPADDED \
                            or end > n:
                        break
                inner = decrypt((iv ^ seq).to_bytes(12, "big"), view[pos + 5:end], header)
                seq += 1
                pos = end
                if inner[-1] != _APPLICATION_DATA:
                    return pos, inner
                append(inner[:-1])
        except InvalidTag:
            raise _bad_record_mac("record failed AEAD authentication") from None
        finally:
            self.seq = seq
        return pos, None

    def open(self, header: bytes, ciphertext: bytes | memoryview) -> bytes:
        """Decrypt one record body (AAD = its 5-byte header); return the TLSInnerPlaintext."""
        seq = self.seq
        if len(ciphertext) < AEAD_TAG_LEN:
            raise _bad_record_mac("record shorter than the AEAD tag")
        if seq >= _SEQ_LIMIT:
            raise _exhausted()
        nonce = (self._iv ^ seq).to_bytes(12, "big")
        try:
            plaintext = self._aead.decrypt(nonce, ciphertext, header)
        except InvalidTag:
            raise _bad_record_mac("record failed AEAD authentication") from None
        self.seq = seq + 1
        return plaintext


class Tls12Protection:
    """TLS 1.2 AEAD record protection (AES-GCM or ChaCha20-Poly1305) for one direction."""

    __slots__ = ("_aead", "_fixed_iv", "_gcm", "_iv", "overhead", "seq", "suite")
    _aead: _Aead

    def __init__(self, suite: Suite, key: bytes, fixed_iv: bytes) -> None:
        if len(fixed_iv) != suite.iv_len:
            raise ConfigError(
                f"{suite.name} needs a {suite.iv_len}-byte fixed IV, got {len(fixed_iv)}"
            )
        if len(key) != suite.key_len:
            raise _bad_key(suite, key)
        self.suite = suite
        self.seq = 0
        # Each AEAD uses one form of the IV: AES-GCM the 4-byte salt, ChaCha20 an integer to XOR.
        if suite.aead != _CHACHA:
            self._aead = AESGCM(key)
            self._gcm = True
            self._fixed_iv = bytes(fixed_iv)
            self._iv = 0
            self.overhead = _GCM12_OVERHEAD
        else:
            self._aead = ChaCha20Poly1305(key)
            self._gcm = False
            self._fixed_iv = b""
            self._iv = int.from_bytes(fixed_iv, "big")
            self.overhead = AEAD_TAG_LEN

    def seal(self, content_type: int, plaintext: bytes | bytearray | memoryview) -> bytes:
        """Encrypt one fragment; return the whole TLSCiphertext record (header included)."""
        seq = self.seq
        if seq >= _SEQ_LIMIT:
            raise _exhausted()
        aad = _AAD12.pack(seq, content_type, _TLS12, len(plaintext))
        if self._gcm:
            explicit = seq.to_bytes(8, "big")  # RFC 5288 §3: unique per key; seq suffices
            sealed = self._aead.encrypt(self._fixed_iv + explicit, plaintext, aad)
            body_len = TLS12_GCM_EXPLICIT_NONCE_LEN + len(sealed)
            record = _HEADER.pack(content_type, _TLS12, body_len) + explicit + sealed
        else:
            sealed = self._aead.encrypt((self._iv ^ seq).to_bytes(12, "big"), plaintext, aad)
            record = _HEADER.pack(content_type, _TLS12, len(sealed)) + sealed
        self.seq = seq + 1
        return record

    def open(self, content_type: int, ciphertext: bytes | memoryview) -> bytes:
        """Decrypt one record body (the bytes after the 5-byte header); return the plaintext."""
        seq = self.seq
        plaintext_len = len(ciphertext) - self.overhead
        if plaintext_len < 0:
            raise _bad_record_mac("record shorter than the AEAD overhead")
        if seq >= _SEQ_LIMIT:
            raise _exhausted()
        aad = _AAD12.pack(seq, content_type, _TLS12, plaintext_len)
        if self._gcm:
            nonce = self._fixed_iv + ciphertext[:TLS12_GCM_EXPLICIT_NONCE_LEN]
            body = ciphertext[TLS12_GCM_EXPLICIT_NONCE_LEN:]
        else:
            nonce = (self._iv ^ seq).to_bytes(12, "big")
            body = ciphertext
        try:
            plaintext = self._aead.decrypt(nonce, body, aad)
        except InvalidTag:
            raise _bad_record_mac("record failed AEAD authentication") from None
        self.seq = seq + 1
        return plaintext
