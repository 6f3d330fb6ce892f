"""The handshake messages of a trace, decoded into readable fields.

``messages(recorder)`` returns one ``MessageView`` per message on the wire, in order: taken from
the sender's "sent" events when the sender was recorded, else from the receiver's "received"
events (so one side's trace, as from ``connect --explain``, is enough).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from lucidtls.crypto.suites import SUITES
from lucidtls.explain.trace import Entry, Recorder
from lucidtls.handshake.common import CHANGE_CIPHER_SPEC
from lucidtls.pki.trust import describe_certificate
from lucidtls.wire import extensions as X
from lucidtls.wire import messages as M
from lucidtls.wire.enums import (
    AlertDescription,
    CipherSuite,
    ExtensionType,
    HandshakeType,
    KeyUpdateRequest,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
    describe,
    version_label,
)

HT = HandshakeType
TLS12 = int(ProtocolVersion.TLS1_2)
TLS13 = int(ProtocolVersion.TLS1_3)

_NAMES = {
    HT.CLIENT_HELLO: "ClientHello", HT.SERVER_HELLO: "ServerHello",
    HT.ENCRYPTED_EXTENSIONS: "EncryptedExtensions", HT.CERTIFICATE: "Certificate",
    HT.CERTIFICATE_REQUEST: "CertificateRequest", HT.CERTIFICATE_VERIFY: "CertificateVerify",
    HT.FINISHED: "Finished", HT.NEW_SESSION_TICKET: "NewSessionTicket",
    HT.KEY_UPDATE: "KeyUpdate", HT.SERVER_KEY_EXCHANGE: "ServerKeyExchange",
    HT.SERVER_HELLO_DONE: "ServerHelloDone", HT.CLIENT_KEY_EXCHANGE: "ClientKeyExchange",
    HT.HELLO_REQUEST: "HelloRequest", HT.END_OF_EARLY_DATA: "EndOfEarlyData",
    CHANGE_CIPHER_SPEC: "ChangeCipherSpec",
}

Fields = list[tuple[str, str]]


@dataclass
class MessageView:
    """One message on the wire, decoded."""

    seq: int
    sender: str  # "client" | "server"
    name: str  # "ClientHello", "HelloRetryRequest", "ChangeCipherSpec", "Alert", ...
    msg_type: int
    raw: bytes
    protected: bool
    keys: str = ""  # which keys protected it, in words ("" when in the clear)
    fields: Fields = field(default_factory=list)
    obj: Any = None  # the decoded wire object (None for CCS, alerts, or undecodable bytes)
    certificates: list[x509.Certificate] = field(default_factory=list)
    error: str | None = None

    @property
    def receiver(self) -> str:
        return "server" if self.sender == "client" else "client"


def other(side: str) -> str:
    return "server" if side == "client" else "client"


# The explain modules name versions as the handshake's error messages do.
version_name = version_label


def group_name(g: int) -> str:
    return describe(NamedGroup, g)


def suite_name(s: int) -> str:
    return describe(CipherSuite, s)


def scheme_name(s: int) -> str:
    return describe(SignatureScheme, s)


def short_hex(data: bytes, limit: int = 16) -> str:
    """Hex of *data*, shortened to *limit* bytes with the total length."""
    if len(data) <= limit:
        return data.hex()
    return f"{data[:limit].hex()}… ({len(data)} bytes)"


def messages(rec: Recorder) -> list[MessageView]:
    """Every handshake message, ChangeCipherSpec and alert of the connection, decoded, in
    wire order."""
    recorded = set(rec.sides)
    picked: list[tuple[Entry, str]] = []
    for e in rec.entries:
        if e.kind not in ("message", "alert"):
            continue
        direction = e.fields.get("direction")
        sender = e.side if direction == "sent" else other(e.side)
        if direction == "sent" or sender not in recorded:
            picked.append((e, sender))
    ctx = _Context()
    out = []
    for e, sender in picked:
        if e.kind == "alert":
            desc = describe(AlertDescription, int(e.fields["description"]))
            level = "fatal" if int(e.fields["level"]) == 2 else "warning"
            alert = MessageView(e.seq, sender, f"Alert({desc})", -1,
                                bytes((int(e.fields["level"]), int(e.fields["description"]))),
                                False, fields=[("level", level), ("description", desc)])
            keys = _keys_for(rec, e, alert)
            alert.protected = keys != ""
            alert.keys = keys
            out.append(alert)
            continue
        view = MessageView(e.seq, sender, "", int(e.fields["msg_type"]), bytes(e.fields["raw"]),
                           bool(e.fields.get("protected")))
        ctx.decode(view)
        view.keys = _keys_for(rec, e, view) if view.protected else ""
        out.append(view)
    return out


def _keys_for(rec: Recorder, entry: Entry, view: MessageView) -> str:
    """The keys that protected *view*: the last key installed before it, in the sender's write
    direction (or the receiver's read direction)."""
    direction = "write" if entry.fields.get("direction") == "sent" else "read"
    last: Entry | None = None
    for k in rec.entries:
        if k.seq >= entry.seq:
            break
        if k.kind == "keys" and k.side == entry.side and k.fields.get("direction") == direction:
            last = k
    if last is None:
        return "record protection" if view.protected else ""
    label = str(last.fields.get("label") or "")
    if "label" not in last.fields:
        return f"TLS 1.2 session keys ({last.fields.get('suite', '')})"
    if "HANDSHAKE" in label or label == "":
        return "handshake traffic keys"
    if "updated" in label:
        return "updated application traffic keys"
    return "application traffic keys"


class _Context:
    """What decoding later messages needs from earlier ones: the version, the suite's kx."""

    def __init__(self) -> None:
        self.version = TLS13
        self.kx = "any"

    def decode(self, view: MessageView) -> None:
        t = view.msg_type
        view.name = _NAMES.get(t, describe(HandshakeType, t) if t < 256 else f"0x{t:x}")
        if t == CHANGE_CIPHER_SPEC:
            view.fields = [("payload", view.raw.hex())]
            return
        body = view.raw[4:]
        try:
            decoder = getattr(self, f"_{view.name}", None)
            if decoder is not None:
                decoder(view, body)
            else:
                view.fields = [("body", short_hex(body, 64))]
        except Exception as exc:  # noqa: BLE001 - a trace of a failed handshake may hold malformed bytes
            view.error = f"cannot decode: {exc}"
            view.fields.append(("error", view.error))

    # --- hellos -----------------------------------------------------------------------
    def _ClientHello(self, view: MessageView, body: bytes) -> None:
        ch = M.ClientHello.decode(body)
        view.obj = ch
        f = view.fields
        f.append(("legacy_version", version_name(ch.legacy_version)))
        f.append(("random", ch.random.hex()))
        f.append(("legacy_session_id", short_hex(ch.legacy_session_id) or "(empty)"))
        f.append(("cipher_suites", ", ".join(suite_name(s) for s in ch.cipher_suites)))
        f += _extension_fields(ch, client=True)

    def _ServerHello(self, view: MessageView, body: bytes) -> None:
        sh = M.ServerHello.decode(body)
        view.obj = sh
        f = view.fields
        if sh.is_hello_retry_request:
            view.name = "HelloRetryRequest"
            f.append(("random", "HelloRetryRequest marker (SHA-256 of \"HelloRetryRequest\")"))
        else:
            sv = sh.view(X.SupportedVersionsServer)
            self.version = sv.version if sv is not None else sh.legacy_version
            suite = SUITES.get(sh.cipher_suite)
            self.kx = suite.kx if suite is not None else "any"
            f.append(("random", sh.random.hex()))
        f.append(("legacy_version", version_name(sh.legacy_version)))
        f.append(("legacy_session_id_echo", short_hex(sh.legacy_session_id_echo) or "(empty)"))
        f.append(("cipher_suite", suite_name(sh.cipher_suite)))
        f += _extension_fields(sh, client=False)

    def _EncryptedExtensions(self, view: MessageView, body: bytes) -> None:
        ee = M.EncryptedExtensions.decode(body)
        view.obj = ee
        view.fields = _extension_fields(ee, client=False) or [("extensions", "(none)")]

    # --- certificates -----------------------------------------------------------------
    def _Certificate(self, view: MessageView, body: bytes) -> None:
        if self.version == TLS13:
            c13 = M.Certificate13.decode(body)
            view.obj = c13
            ders = [e.cert_data for e in c13.certificate_list]
            view.fields.append(("certificate_request_context",
                                short_hex(c13.certificate_request_context) or "(empty)"))
        else:
            c12 = M.Certificate12.decode(body)
            view.obj = c12
            ders = list(c12.certificate_list)
        if not ders:
            view.fields.append(("certificates", "(none: empty Certificate)"))
        for i, der in enumerate(ders):
            try:
                cert = x509.load_der_x509_certificate(der)
            except ValueError as exc:
                view.fields.append((f"certificate[{i}]", f"unparseable ({exc})"))
                continue
            view.certificates.append(cert)
            d = describe_certificate(cert)
            summary = (f"subject {d['subject']}; issuer {d['issuer']}; valid "
                       f"{d['not_before']} .. {d['not_after']}; key {d['key_type']}; "
                       f"{len(der)} bytes DER")
            view.fields.append((f"certificate[{i}]", summary))
            if d["sans"]:
                view.fields.append((f"certificate[{i}].subjectAltName", ", ".join(d["sans"])))

    def _CertificateRequest(self, view: MessageView, body: bytes) -> None:
        f = view.fields
        if self.version == TLS13:
            cr = M.CertificateRequest13.decode(body)
            view.obj = cr
            f.append(("certificate_request_context",
                      short_hex(cr.certificate_request_context) or "(empty)"))
            f += _extension_fields(cr, client=False)
        else:
            cr12 = M.CertificateRequest12.decode(body)
            view.obj = cr12
            f.append(("certificate_types", ", ".join(
                {1: "rsa_sign", 64: "ecdsa_sign"}.get(t, str(t)) for t in
                cr12.certificate_types)))
            f.append(("supported_signature_algorithms", ", ".join(
                scheme_name(s) for s in cr12.supported_signature_algorithms)))
            f.append(("certificate_authorities", _names(cr12.certificate_authorities)))

    def _CertificateVerify(self, view: MessageView, body: bytes) -> None:
        cv = M.CertificateVerify.decode(body)
        view.obj = cv
        view.fields += [("algorithm", scheme_name(cv.algorithm)),
                        ("signature", short_hex(cv.signature, 24))]

    # --- TLS 1.2 key exchange ---------------------------------------------------------
    def _ServerKeyExchange(self, view: MessageView, body: bytes) -> None:
        ske = M.ServerKeyExchangeECDHE.decode(body)
        view.obj = ske
        view.fields += [("named_curve", group_name(ske.named_group)),
                        ("public", short_hex(ske.public)),
                        ("signature algorithm", scheme_name(ske.algorithm)),
                        ("signature", short_hex(ske.signature, 24))]

    def _ServerHelloDone(self, view: MessageView, body: bytes) -> None:
        view.obj = M.ServerHelloDone.decode(body)
        view.fields = [("body", "(empty)")]

    def _ClientKeyExchange(self, view: MessageView, body: bytes) -> None:
        if self.kx == "RSA":
            rsa = M.ClientKeyExchangeRSA.decode(body)
            view.obj = rsa
            view.fields += [("encrypted_pre_master_secret", short_hex(rsa.encrypted_premaster))]
        else:
            ecdh = M.ClientKeyExchangeECDHE.decode(body)
            view.obj = ecdh
            view.fields += [("ecdh_Yc (client public key)", short_hex(ecdh.public))]

    # --- the rest ---------------------------------------------------------------------
    def _Finished(self, view: MessageView, body: bytes) -> None:
        fin = M.Finished.decode(body)
        view.obj = fin
        view.fields = [("verify_data", fin.verify_data.hex())]

    def _NewSessionTicket(self, view: MessageView, body: bytes) -> None:
        if self.version == TLS13:
            nst = M.NewSessionTicket13.decode(body)
            view.obj = nst
            view.fields = [("ticket_lifetime", f"{nst.ticket_lifetime} s"),
                           ("ticket", short_hex(nst.ticket))]
        else:
            nst12 = M.NewSessionTicket12.decode(body)
            view.obj = nst12
            view.fields = [("ticket", short_hex(nst12.ticket))]

    def _KeyUpdate(self, view: MessageView, body: bytes) -> None:
        ku = M.KeyUpdate.decode(body)
        view.obj = ku
        view.fields = [("request_update", describe(KeyUpdateRequest, ku.request_update))]


def _names(ders: list[bytes]) -> str:
    # Distinguished names are DER; cryptography has no public parser for a bare Name.
    if not ders:
        return "(none)"
    return f"{len(ders)} distinguished name(s), {sum(len(d) for d in ders)} bytes"


def _extension_fields(msg: X.HasExtensions, client: bool) -> Fields:
    """Readable values of the extensions we know; names of the others."""
    f: Fields = []
    E = ExtensionType
    for ext_type, data in msg.extensions:
        name = describe(E, ext_type)
        try:
            value = _extension_value(ext_type, data, client)
        except Exception as exc:  # noqa: BLE001 - shown, never fatal: this is a report
            value = f"malformed ({exc})"
        f.append((f"ext {name}", value))
    return f


def _extension_value(ext_type: int, data: bytes, client: bool) -> str:
    E = ExtensionType
    if ext_type == E.server_name:
        return ", ".join(X.ServerNameList.decode(data).host_names) if data else "(acknowledged)"
    if ext_type == E.supported_versions:
        if client:
            return ", ".join(version_name(v) for v in X.SupportedVersionsClient.decode(
                data).versions)
        return version_name(X.SupportedVersionsServer.decode(data).version)
    if ext_type == E.supported_groups:
        return ", ".join(group_name(g) for g in X.SupportedGroups.decode(data).groups)
    if ext_type == E.key_share:
        if client:
            entries = X.KeyShareClientHello.decode(data).entries
            return ", ".join(f"{group_name(e.group)} ({len(e.key_exchange)} bytes)"
                             for e in entries) or "(empty: asks for a HelloRetryRequest)"
        if len(data) == 2:
            return "selected_group " + group_name(
                X.KeyShareHelloRetryRequest.decode(data).selected_group)
        e = X.KeyShareServerHello.decode(data).entry
        return f"{group_name(e.group)} ({len(e.key_exchange)} bytes): {short_hex(e.key_exchange)}"
    if ext_type in (E.signature_algorithms, E.signature_algorithms_cert):
        return ", ".join(scheme_name(s) for s in X.SignatureAlgorithms.decode(data).schemes)
    if ext_type == E.application_layer_protocol_negotiation:
        return ", ".join(p.decode("latin-1") for p in X.ALPN.decode(data).protocols)
    if ext_type == E.certificate_authorities:
        return _names(X.CertificateAuthorities.decode(data).authorities)
    if ext_type == E.cookie:
        return short_hex(X.Cookie.decode(data).cookie)
    if not data:
        return "(empty)"
    return short_hex(data)
