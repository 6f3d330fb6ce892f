"""Pure choice functions: what the two hellos agree on. No state, no I/O; each testable alone."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from lucidtls.crypto.signatures import (
    TLS13_CERTIFICATE_VERIFY_FORBIDDEN,
    schemes_for_key,
)
from lucidtls.crypto.suites import SUITES, Suite
from lucidtls.errors import alert_error
from lucidtls.handshake.common import is_ip_address
from lucidtls.wire.enums import AlertDescription, ProtocolVersion

if TYPE_CHECKING:
    from lucidtls.pki.credentials import Credential


def choose_version(offered: Sequence[int], enabled: Sequence[int]) -> int | None:
    """The highest version both sides support (RFC 8446 §4.2.1)."""
    for v in sorted(enabled, reverse=True):
        if v in offered:
            return int(v)
    return None


def enabled_suites(configured: Sequence[int], allow_rsa_key_exchange: bool) -> tuple[int, ...]:
    """The suites a side may use: *configured* in order, then, when *allow_rsa_key_exchange*,
    the TLS 1.2 RSA key-transport suites it does not list yet. RSA key transport has no forward
    secrecy, so the rule is: usable iff named in ``cipher_suites`` (the defaults never name it)
    or allowed by the flag."""
    return _enabled_suites(tuple(configured), allow_rsa_key_exchange)


@functools.lru_cache(maxsize=64)
def _enabled_suites(configured: tuple[int, ...], allow_rsa_key_exchange: bool) -> tuple[int, ...]:
    # A pure function of two configuration fields: worked out once per configuration, not
    # per handshake (the answer is a tuple: shared).
    from lucidtls.crypto.suites import TLS12_RSA_KX_SUITES
    out = [int(s) for s in configured]
    if allow_rsa_key_exchange:
        out += [int(s.id) for s in TLS12_RSA_KX_SUITES if int(s.id) not in out]
    return tuple(out)


def choose_suite(offered: Sequence[int], enabled: Sequence[int], version: int,
                 acceptable: Callable[[Suite], bool] | None = None) -> Suite | None:
    """The server's most preferred suite that the client offered, for *version* (and, when
    given, that *acceptable* admits: TLS 1.2 key exchange and certificate type)."""
    offered_set = set(offered)
    for sid in enabled:
        suite = SUITES.get(sid)
        if suite is None or suite.version != version or sid not in offered_set:
            continue
        if acceptable is not None and not acceptable(suite):
            continue
        return suite
    return None


def choose_group(client_groups: Sequence[int], client_shares: Sequence[int],
                 enabled: Sequence[int]) -> tuple[int | None, bool]:
    """``(group, needs_retry)``: a group the client sent a share for if any mutually supported
    one has a share (saves a round trip); otherwise our most preferred mutual group, which
    needs a HelloRetryRequest (RFC 8446 §4.1.4). ``(None, False)`` when nothing is shared."""
    first_mutual = None
    for g in enabled:
        if g in client_groups:
            if g in client_shares:
                return int(g), False
            if first_mutual is None:
                first_mutual = int(g)
    return (None, False) if first_mutual is None else (first_mutual, True)


def choose_signature_scheme(peer_schemes: Sequence[int], credential: Credential,
                            version: int) -> int | None:
    """Our preferred scheme for *credential*'s key that the peer accepts."""
    # What a key can sign with depends on the key and the version alone: worked out once per
    # credential and version (it costs cryptography's ABC checks), not per handshake.
    ours = credential.signing_schemes.get(version)
    if ours is None:
        ours = credential.signing_schemes[version] = tuple(
            int(s) for s in schemes_for_key(credential.private_key, ProtocolVersion(version))
            if not (version == ProtocolVersion.TLS1_3 and s in TLS13_CERTIFICATE_VERIFY_FORBIDDEN))
    for scheme in ours:
        if scheme in peer_schemes:
            return scheme
    return None


def choose_alpn(offered: Sequence[bytes], enabled: Sequence[str]) -> str | None:
    """Server side (RFC 7301 §3.2): our preference among the client's protocols; no overlap
    when both sides use ALPN is fatal (no_application_protocol)."""
    if not offered or not enabled:
        return None
    names = {p.decode("latin-1") for p in offered}
    for p in enabled:
        if p in names:
            return p
    raise alert_error(AlertDescription.no_application_protocol,
                      f"no common application protocol (client offered "
                      f"{sorted(names)}, server supports {list(enabled)})")


def accept_alpn(selected: Sequence[bytes], offered: Sequence[str]) -> str:
    """Client side (RFC 7301 §3.1): the server's answer names exactly one protocol, and one
    we offered; anything else is illegal_parameter."""
    if len(selected) != 1:
        raise alert_error(AlertDescription.illegal_parameter,
                          "server ALPN response must name exactly one protocol (RFC 7301 §3.1)")
    chosen = selected[0].decode("latin-1")
    if chosen not in offered:
        raise alert_error(AlertDescription.illegal_parameter,
                          f"server selected ALPN protocol {chosen!r}, which we did not offer")
    return chosen


def _name_matches(credential: Credential, server_name: str) -> bool:
    dns_names, ip_names = credential.leaf_names
    if not dns_names and not ip_names:
        return False
    if is_ip_address(server_name):
        return str(ipaddress.ip_address(server_name)) in ip_names
    name = server_name.lower().rstrip(".")
    if name in dns_names:
        return True
    if "." in name:
        wildcard = "*." + name.split(".", 1)[1]
        return wildcard in dns_names
    return False


def choose_credential(credentials: Sequence[Credential], server_name: str | None,
                      peer_schemes: Sequence[int],
                      version: int) -> tuple[Credential, int] | None:
    """First credential whose key the peer can verify, preferring one whose names match SNI."""
    candidates = credentials
    # With one candidate the name match could only reorder it: skip the SAN lookup.
    if server_name and len(candidates) > 1:
        matching = [c for c in candidates if _name_matches(c, server_name)]
        candidates = matching + [c for c in candidates if c not in matching]
    for cred in candidates:
        scheme = choose_signature_scheme(peer_schemes, cred, version)
        if scheme is not None:
            return cred, scheme
    return None
