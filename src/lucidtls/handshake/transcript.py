"""The handshake transcript (RFC 8446 §4.4.1).

Messages are kept as sent/received (their raw bytes, header included). Until the cipher suite is
known the hash function is unknown, so bytes are buffered; once ``start(hash)`` is called every
further message is hashed incrementally and ``digest()`` is cheap.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes

from lucidtls.wire.enums import HandshakeType


class Transcript:
    __slots__ = ("_algorithm", "_digest", "_hash", "messages")

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self._hash: hashes.Hash | None = None
        self._algorithm: hashes.HashAlgorithm | None = None
        self._digest: bytes | None = None  # digest() of the messages so far, once asked

    def add(self, raw: bytes) -> None:
        self.messages.append(raw)
        self._digest = None
        if self._hash is not None:
            self._hash.update(raw)

    def start(self, algorithm: hashes.HashAlgorithm) -> None:
        """Fix the hash (the suite's) and hash everything seen so far."""
        self._algorithm = algorithm
        self._digest = None
        self._hash = hashes.Hash(algorithm)
        for raw in self.messages:
            self._hash.update(raw)

    @property
    def algorithm(self) -> hashes.HashAlgorithm:
        assert self._algorithm is not None, "transcript hash not started"
        return self._algorithm

    def digest(self) -> bytes:
        """Transcript-Hash of all messages so far; computed once per transcript state (several
        secrets and Finished values are derived from the same one)."""
        digest = self._digest
        if digest is None:
            assert self._hash is not None, "transcript hash not started"
            digest = self._digest = self._hash.copy().finalize()
        return digest

    def fork(self) -> Transcript:
        """An independent copy (post-handshake authentication extends the handshake's
        transcript once per request, RFC 8446 §4.4)."""
        other = Transcript()
        other.messages = list(self.messages)
        other._algorithm = self._algorithm
        other._hash = self._hash.copy() if self._hash is not None else None
        return other

    def all_bytes(self) -> bytes:
        """The concatenated messages (TLS 1.2 CertificateVerify signs these, not a hash)."""
        return b"".join(self.messages)

    def replace_with_message_hash(self) -> None:
        """RFC 8446 §4.4.1: after a HelloRetryRequest, ClientHello1 is replaced by
        ``message_hash || 00 00 Hash.length || Hash(ClientHello1)``."""
        assert self._algorithm is not None and len(self.messages) == 1
        h = hashes.Hash(self._algorithm)
        h.update(self.messages[0])
        digest = h.finalize()
        synthetic = bytes((HandshakeType.MESSAGE_HASH, 0, 0, len(digest))) + digest
        self.messages = []
        self._hash = hashes.Hash(self._algorithm)
        self.add(synthetic)  # resets the kept digest
