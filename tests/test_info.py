"""ConnectionInfo: a frozen dataclass whose __init__ is written out (it runs once per
connection and the generated one costs an object.__setattr__ per field)."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from lucidtls.info import ConnectionInfo


def test_init_takes_every_field_in_order_with_its_default() -> None:
    params = list(inspect.signature(ConnectionInfo.__init__).parameters.values())[1:]
    expected = []
    for f in dataclasses.fields(ConnectionInfo):
        if f.default_factory is not dataclasses.MISSING:
            default = None  # built fresh per instance, as the factory would
        elif f.default is dataclasses.MISSING:
            default = inspect.Parameter.empty
        else:
            default = f.default
        expected.append((f.name, default))
    assert [(p.name, p.default) for p in params] == expected


def _info(**changes: object) -> ConnectionInfo:
    base: dict[str, object] = {
        "version": 0x0304, "cipher_suite": 0x1301, "group": 29, "signature_scheme": 0x0403,
        "alpn_protocol": None, "server_name": "example.com", "peer_certificates": (),
        "verified": None, "verification": "none"}
    return ConnectionInfo(**{**base, **changes})  # type: ignore[arg-type]


def test_behaves_like_the_generated_dataclass() -> None:
    info = _info()
    assert info == _info()
    assert info.extras == {} and info.extras is not _info().extras
    assert info.kx == "ECDHE" and not info.hello_retry
    assert dataclasses.replace(info, kx="RSA") == _info(kx="RSA")
    assert repr(info).startswith("ConnectionInfo(version=772, cipher_suite=4865, group=29,")
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.version = 0x0303  # type: ignore[misc]
