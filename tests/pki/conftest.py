"""Session-wide CAs and credentials: key generation (RSA above all) is the slow part."""

from __future__ import annotations

import pytest

from lucidtls.pki.credentials import Credential
from lucidtls.pki.issue import KEY_TYPES, issue_certificate, make_ca


class Pki:
    """One CA per key type, each with a server and a client credential, made on first use."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[Credential, Credential, Credential]] = {}

    def get(self, key_type: str) -> tuple[Credential, Credential, Credential]:
        if key_type not in self._cache:
            ca = make_ca(f"test CA {key_type}", key_type=key_type)
            server = issue_certificate(
                ca, "localhost", dns=["localhost"], ips=["127.0.0.1", "::1"], key_type=key_type
            )
            client = issue_certificate(ca, "alice.example", client=True, key_type=key_type)
            self._cache[key_type] = (ca, server, client)
        return self._cache[key_type]


@pytest.fixture(scope="session")
def pki() -> Pki:
    return Pki()


@pytest.fixture(scope="session", params=KEY_TYPES)
def key_type(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def ca(pki: Pki) -> Credential:
    return pki.get("ecdsa-p256")[0]


@pytest.fixture(scope="session")
def server_cred(pki: Pki) -> Credential:
    return pki.get("ecdsa-p256")[1]


@pytest.fixture(scope="session")
def client_cred(pki: Pki) -> Credential:
    return pki.get("ecdsa-p256")[2]


@pytest.fixture(scope="session")
def other_ca() -> Credential:
    return make_ca("some other CA")
