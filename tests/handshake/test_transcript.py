"""The transcript hashes lazily (each message once, when a digest is asked for): every digest
must still be the hash of exactly the messages added so far (RFC 8446 §4.4.1)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes

from lucidtls.handshake.transcript import Transcript


def _hash(algorithm: hashes.HashAlgorithm, *messages: bytes) -> bytes:
    h = hashes.Hash(algorithm)
    h.update(b"".join(messages))
    return h.finalize()


def test_digest_after_every_step() -> None:
    messages = [bytes([i]) * (i * 37 + 1) for i in range(9)]
    t = Transcript()
    t.add(messages[0])
    t.add(messages[1])
    t.start(hashes.SHA384())
    assert t.digest() == _hash(hashes.SHA384(), *messages[:2])
    added = 2
    for batch in (1, 1, 3, 0, 2):
        for m in messages[added:added + batch]:
            t.add(m)
        added += batch
        assert t.digest() == t.digest() == _hash(hashes.SHA384(), *messages[:added])
    assert t.messages == messages[:added]
    assert t.all_bytes() == b"".join(messages[:added])


def test_fork_is_independent() -> None:
    t = Transcript()
    t.start(hashes.SHA256())
    t.add(b"client hello")
    t.add(b"server hello")
    before = t.digest()
    t.add(b"finished")  # not yet hashed when forked
    other = t.fork()
    other.add(b"certificate request")
    assert other.digest() == _hash(hashes.SHA256(), b"client hello", b"server hello",
                                   b"finished", b"certificate request")
    assert t.digest() == _hash(hashes.SHA256(), b"client hello", b"server hello", b"finished")
    assert t.messages == [b"client hello", b"server hello", b"finished"]
    assert before != t.digest()


def test_message_hash_after_hello_retry() -> None:
    t = Transcript()
    t.add(b"client hello 1")
    t.start(hashes.SHA256())
    t.digest()
    t.replace_with_message_hash()
    t.add(b"hello retry request")
    synthetic = b"\xfe\x00\x00\x20" + _hash(hashes.SHA256(), b"client hello 1")
    assert t.messages == [synthetic, b"hello retry request"]
    assert t.digest() == _hash(hashes.SHA256(), synthetic, b"hello retry request")


def test_final_digest_is_digest_once() -> None:
    for hashed_before in (False, True):
        t = Transcript()
        t.add(b"client hello")
        t.start(hashes.SHA256())
        t.add(b"server hello")
        if hashed_before:
            assert t.digest() == _hash(hashes.SHA256(), b"client hello", b"server hello")
        t.add(b"finished")
        assert t.final_digest() == _hash(hashes.SHA256(), b"client hello", b"server hello",
                                         b"finished")
        with pytest.raises(AssertionError):  # the running hash is spent
            t.digest()
