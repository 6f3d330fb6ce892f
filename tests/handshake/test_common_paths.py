"""The handshake's shared shortcuts give what the general paths give: the pre-framed
CertificateVerify is the message's encoding, a chain parsed in one pass fails as the
certificate-by-certificate parse does."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from lucidtls.errors import ProtocolError
from lucidtls.handshake.common import certificate_verify_message, parse_certificates
from lucidtls.pki.credentials import Credential
from lucidtls.wire.enums import AlertDescription
from lucidtls.wire.messages import CertificateVerify, Encoded


@pytest.mark.parametrize("n", [0, 1, 64, 255, 256, 0xFFFF])
def test_certificate_verify_message_is_what_the_message_encodes(n: int) -> None:
    signature = bytes(range(256)) * (n // 256) + bytes(n % 256)
    msg = certificate_verify_message(SimpleNamespace(reshaping=False), 0x0804, signature)
    assert isinstance(msg, Encoded)
    assert msg.to_bytes() == CertificateVerify(0x0804, signature).to_bytes()


def test_certificate_verify_message_object_when_reshaping_or_too_long() -> None:
    assert certificate_verify_message(SimpleNamespace(reshaping=True), 0x0403, b"sig") == \
        CertificateVerify(0x0403, b"sig")
    too_long = bytes(0x10000)
    assert certificate_verify_message(SimpleNamespace(reshaping=False), 0x0403, too_long) == \
        CertificateVerify(0x0403, too_long)


def test_parse_certificates_names_the_first_bad_certificate(server_cred: Credential) -> None:
    good = server_cred.chain_der[0]
    assert [c.public_bytes(Encoding.DER) for c in parse_certificates([good, good])] == \
        [good, good]
    for chain, index in (([b"\x30\x00"], 0), ([good, b"\x30\x03\x02\x01\x00", b"x"], 1)):
        with pytest.raises(ProtocolError) as info:
            parse_certificates(chain)
        assert info.value.alert == AlertDescription.bad_certificate
        assert f"certificate {index} in the chain cannot be parsed" in str(info.value)
