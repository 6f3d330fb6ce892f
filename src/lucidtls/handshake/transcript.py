"""The handshake transcript (RFC 8446 §4.4.1).

Messages are kept as sent/received (their raw bytes, header included). Until the cipher suite is
known the hash function is unknown, so ``start(hash)`` fixes it later. ``add`` only appends (it is
the list's own ``append``: a handshake adds a dozen messages and asks for a hash at eight points);
``digest()`` hashes the messages added since it last ran, so each is hashed exactly once.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives import hashes

from lucidtls.wire.enums import HandshakeType


class Transcript:
    __slots__ = ("_algorithm", "_digest", "_hash", "_hashed", "add", "messages")

    # Add one message (its raw bytes, header included) to the transcript.
    add: Callable[[bytes], None]

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.add = self.messages.append
        self._hash: hashes.Hash | None = None
        self._algorithm: hashes.HashAlgorithm | None = None
        self._hashed = 0  # how many of the messages _hash has seen
        self._digest = b""  # the digest of those, once asked for

    def start(self, algorithm: hashes.HashAlgorithm) -> None:
        """Fix the hash (the suite's); the messages so far are hashed with the next ones."""
        self._algorithm = algorithm
        self._hash = hashes.Hash(algorithm)
        self._hashed = 0
        self._digest = b""

    @property
    def algorithm(self) -> hashes.HashAlgorithm:
        assert self._algorithm is not None, "transcript hash not started"
        return self._algorithm

    def digest(self) -> bytes:
        """Transcript-Hash of all messages so far; computed once per transcript state (several
        secrets and Finished values are derived from the same one)."""
        messages = self.messages
        n = len(messages)
        if n == self._hashed and self._digest:
            return self._digest
        h = self._hash
        assert h is not None, "transcript hash not started"
        h.update(b"".join(messages[self._hashed:]))
        self._hashed = n
        digest = self._digest = h.copy().finalize()
        return digest

    def final_digest(self) -> bytes:
        """``digest()`` for the last hash a handshake asks for (a TLS 1.2 side's second
        Finished): the running hash is finalized itself, not a copy of it, and the transcript
        cannot be hashed again."""
        h = self._hash
        assert h is not None, "transcript hash not started"
        self._hash = None
        h.update(b"".join(self.messages[self._hashed:]))
        return h.finalize()

    def fork(self) -> Transcript:
        """An independent copy (post-handshake authentication extends the handshake's
        transcript once per request, RFC 8446 §4.4)."""
        other = Transcript()
        other.messages.extend(self.messages)
        other._algorithm = self._algorithm
        other._hash = self._hash.copy() if self._hash is not None else None
        other._hashed, other._digest = self._hashed, self._digest
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
        self.messages.clear()  # the same list: add is its append
        self.start(self._algorithm)
        self.add(synthetic)
