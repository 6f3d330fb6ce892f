"""Typed errors, and the one table that maps each kind of failure to its TLS alert.

Two families, as in h11 and rustls:

* ``LocalError`` — we (the API user) misused the library: bad configuration, sending before the
  handshake, using a closed connection. No alert is owed to the peer for these.
* ``ProtocolError`` — the handshake or the channel failed because of what the peer sent, or
  because the peer is not acceptable (certificate, version, parameters). Each carries the
  ``AlertDescription`` that we sent (or would send) and a human ``reason``.

``PeerAlertError`` is raised when the *peer* closed the connection with a fatal alert.
"""

from __future__ import annotations

from lucidtls.wire.enums import AlertDescription


class TLSError(Exception):
    """Base class for every error lucidtls raises."""


# --- local misuse ------------------------------------------------------------------------------
class LocalError(TLSError):
    """The API was used wrongly; nothing the peer did."""


class ConfigError(LocalError, ValueError):
    """A configuration value is invalid or inconsistent."""


class StateError(LocalError):
    """The operation is not valid in the connection's current state."""


# --- protocol failures -------------------------------------------------------------------------
class ProtocolError(TLSError):
    """The connection failed; ``alert`` is the alert sent to the peer."""

    default_alert: AlertDescription = AlertDescription.internal_error

    def __init__(self, reason: str, alert: AlertDescription | None = None) -> None:
        self.alert = AlertDescription(alert if alert is not None else self.default_alert)
        self.reason = reason
        super().__init__(f"{self.alert.name}: {reason}")


class DecodeError(ProtocolError):
    """A message or record is malformed (truncated, trailing bytes, bad length)."""

    default_alert = AlertDescription.decode_error


class UnexpectedMessage(ProtocolError):
    default_alert = AlertDescription.unexpected_message


class IllegalParameter(ProtocolError):
    default_alert = AlertDescription.illegal_parameter


class HandshakeFailure(ProtocolError):
    """No acceptable set of parameters (suite, group, signature scheme) could be agreed."""

    default_alert = AlertDescription.handshake_failure


class VersionError(ProtocolError):
    default_alert = AlertDescription.protocol_version


class RecordError(ProtocolError):
    """Record-layer failure: authentication (bad_record_mac) or size (record_overflow)."""

    default_alert = AlertDescription.bad_record_mac


class CryptoError(ProtocolError):
    """A signature or a Finished did not verify."""

    default_alert = AlertDescription.decrypt_error


class CertificateError(ProtocolError):
    """The peer's certificate chain was rejected."""

    default_alert = AlertDescription.bad_certificate


class MissingExtension(ProtocolError):
    default_alert = AlertDescription.missing_extension


class PeerAlertError(TLSError):
    """The peer sent a fatal alert (or a close we did not expect)."""

    def __init__(self, alert: int, reason: str = "") -> None:
        try:
            self.alert: AlertDescription | int = AlertDescription(alert)
            name = self.alert.name
        except ValueError:
            self.alert = alert
            name = f"alert({alert})"
        self.reason = reason or f"the peer sent a fatal {name} alert"
        super().__init__(f"{name}: {self.reason}")


class ConnectionClosedError(TLSError):
    """The transport ended: cleanly (close_notify) or by truncation."""


# The one place that decides which class a given alert belongs to, so that code raising by
# alert name (``alert_error(AlertDescription.X, ...)``) still yields a catchable category.
_CLASS_FOR_ALERT: dict[AlertDescription, type[ProtocolError]] = {
    AlertDescription.decode_error: DecodeError,
    AlertDescription.unexpected_message: UnexpectedMessage,
    AlertDescription.illegal_parameter: IllegalParameter,
    AlertDescription.handshake_failure: HandshakeFailure,
    AlertDescription.insufficient_security: HandshakeFailure,
    AlertDescription.inappropriate_fallback: VersionError,
    AlertDescription.protocol_version: VersionError,
    AlertDescription.bad_record_mac: RecordError,
    AlertDescription.record_overflow: RecordError,
    AlertDescription.decrypt_error: CryptoError,
    AlertDescription.bad_certificate: CertificateError,
    AlertDescription.unsupported_certificate: CertificateError,
    AlertDescription.certificate_revoked: CertificateError,
    AlertDescription.certificate_expired: CertificateError,
    AlertDescription.certificate_unknown: CertificateError,
    AlertDescription.unknown_ca: CertificateError,
    AlertDescription.certificate_required: CertificateError,
    AlertDescription.access_denied: CertificateError,
    AlertDescription.missing_extension: MissingExtension,
}


def alert_error(alert: AlertDescription, reason: str) -> ProtocolError:
    """Build the typed error for *alert* (``raise alert_error(AlertDescription.x, "why")``)."""
    cls = _CLASS_FOR_ALERT.get(alert, ProtocolError)
    return cls(reason, alert)
