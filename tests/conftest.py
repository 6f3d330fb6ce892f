"""Shared fixtures: a throwaway PKI and in-memory client/server pairs."""

from __future__ import annotations

import pytest

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.pki.credentials import Credential
from lucidtls.pki.issue import issue_certificate, make_ca
from lucidtls.pki.trust import TrustStore


@pytest.fixture(scope="session")
def demo_ca() -> Credential:
    return make_ca("lucidtls test CA")


@pytest.fixture(scope="session")
def other_ca() -> Credential:
    return make_ca("some other CA")


@pytest.fixture(scope="session")
def server_cred(demo_ca: Credential) -> Credential:
    return issue_certificate(demo_ca, "localhost", dns=["localhost"], ips=["127.0.0.1", "::1"])


@pytest.fixture(scope="session")
def rsa_server_cred(demo_ca: Credential) -> Credential:
    return issue_certificate(demo_ca, "localhost", dns=["localhost"], ips=["127.0.0.1"],
                             key_type="rsa2048")


@pytest.fixture(scope="session")
def client_cred(demo_ca: Credential) -> Credential:
    return issue_certificate(demo_ca, "alice", client=True)


@pytest.fixture(scope="session")
def trust(demo_ca: Credential) -> TrustStore:
    return TrustStore.from_certificates([demo_ca.chain[0]])


@pytest.fixture
def client_config(trust: TrustStore) -> ClientConfig:
    return ClientConfig(trust=trust)


@pytest.fixture
def server_config(server_cred: Credential) -> ServerConfig:
    return ServerConfig(credentials=(server_cred,))
