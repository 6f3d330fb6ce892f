"""The server's handshake, TLS 1.2 (RFC 5246 §7.3), as one procedure that reads in protocol order.

Entered from the TLS 1.3 server procedure once the ClientHello negotiated TLS 1.2. Full
handshakes only (no resumption); AEAD suites only; ECDHE (RFC 8422) or, when enabled, RSA key
transport; the extended master secret (RFC 7627); renegotiation is refused (RFC 5746).
"""

from __future__ import annotations

import struct
from collections.abc import Generator
from typing import TYPE_CHECKING

from lucidtls.crypto import keyschedule as ks
from lucidtls.crypto import signatures
from lucidtls.crypto.groups import TLS12_GROUPS, KeyShare
from lucidtls.crypto.rsa_kx import PREMASTER_LEN, decrypt_premaster
from lucidtls.crypto.suites import SUITES, Suite
from lucidtls.errors import alert_error
from lucidtls.handshake import negotiate
from lucidtls.handshake.common import (
    CHANGE_CIPHER_SPEC,
    U16_PAIR,
    Expect,
    HandshakeResult,
    Message,
    Procedure,
    certificate_message,
    decode,
    decode_repeated,
    expect,
    parse_certificates,
    require,
    server_hello_message,
    verify_peer_chain,
)
from lucidtls.info import ConnectionInfo
from lucidtls.pki.parsed import public_key
from lucidtls.wire import extensions as X
from lucidtls.wire.enums import (
    AlertDescription,
    CipherSuite,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
    describe,
    describe_list,
    version_label,
)
from lucidtls.wire.extensions import EMPTY_RENEGOTIATION_INFO, UNCOMPRESSED_ONLY
from lucidtls.wire.messages import (
    DOWNGRADE_TLS12,
    Certificate12,
    CertificateRequest12,
    CertificateVerify,
    ClientHello,
    ClientKeyExchangeECDHE,
    ClientKeyExchangeRSA,
    Encoded,
    Finished,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchangeECDHE,
    frame_handshake,
)

if TYPE_CHECKING:
    from lucidtls.handshake.server import ServerHandshake
    from lucidtls.pki.credentials import Credential
    from lucidtls.pki.trust import VerifiedChain

# A step of the procedure: waits for messages, returns *T* (the whole procedure: Procedure).
Step = Generator[Expect, Message, None]
A = AlertDescription
E = ExtensionType
HT = HandshakeType
TLS12 = int(ProtocolVersion.TLS1_2)
TLS13 = int(ProtocolVersion.TLS1_3)
_SCSV_RENEGOTIATION = int(CipherSuite.TLS_EMPTY_RENEGOTIATION_INFO_SCSV)
_SCSV_FALLBACK = int(CipherSuite.TLS_FALLBACK_SCSV)
# RFC 5246 §7.4.4 ClientCertificateType: rsa_sign(1); RFC 8422 §5.5: ecdsa_sign(64).
_CERT_TYPES = bytes((1, 64))
# Extensions the ServerHello sends unchanged on every handshake: (type, extension_data).
_RENEGOTIATION_INFO_EXT = (int(E.renegotiation_info), EMPTY_RENEGOTIATION_INFO)
_EXTENDED_MASTER_SECRET_EXT = (int(E.extended_master_secret), b"")  # RFC 7627 §5.1
_SERVER_NAME_ACK_EXT = (int(E.server_name), b"")  # RFC 6066 §3
_EC_POINT_FORMATS_EXT = (int(E.ec_point_formats), UNCOMPRESSED_ONLY)  # RFC 8422 §5.2
# The code points read on every handshake, as plain ints: an IntEnum class attribute read goes
# through EnumType's __getattr__ hook (~100 ns against ~10 ns for a global).
_RENEGOTIATION_INFO = int(E.renegotiation_info)
_EXTENDED_MASTER_SECRET = int(E.extended_master_secret)
_EC_POINT_FORMATS = int(E.ec_point_formats)
_ALPN = int(E.application_layer_protocol_negotiation)
_SERVER_KEY_EXCHANGE = int(HT.SERVER_KEY_EXCHANGE)
_NAMED_CURVE = 3  # ECCurveType named_curve (RFC 8422 §5.4)
_ECDH_PARAMS_HEAD = struct.Struct(">BHB")  # curve_type, namedcurve, the point's length
# What each step waits for, built once (an Expect is immutable).
_EXPECT_CERTIFICATE = expect(HT.CERTIFICATE)
_EXPECT_CLIENT_KEY_EXCHANGE = expect(HT.CLIENT_KEY_EXCHANGE)
_EXPECT_CERTIFICATE_VERIFY = expect(HT.CERTIFICATE_VERIFY)
_EXPECT_CCS = expect(CHANGE_CIPHER_SPEC)
_EXPECT_FINISHED = expect(HT.FINISHED)


def run_server12(hs: ServerHandshake, ch: ClientHello, raw: bytes, version: int) -> Procedure:
    """The TLS 1.2 server procedure (the caller has chosen *version* == TLS 1.2)."""
    return Server12(hs, ch, raw, version).run()  # the generator itself: no wrapper to resume


class Server12:
    """One TLS 1.2 server handshake: the state valid across its steps (the TLS 1.3 procedure's
    object ``hs`` holds the transcript, randoms, SNI and the peer's chain)."""

    suite: Suite  # set by choose_parameters, before any step that reads it
    # Until a step sets them (class-level defaults: nothing to store per handshake).
    group: int | None = None
    credential: Credential | None = None
    signature_scheme: int | None = None
    ems = False
    secure_renegotiation = False
    key_share: KeyShare | None = None
    cert_requested = False
    pick: tuple[Credential, int | None]  # set by suite_fits for the suite choose_suite admits

    def __init__(self, hs: ServerHandshake, ch: ClientHello, raw: bytes, version: int) -> None:
        self.hs, self.ch, self.raw = hs, ch, raw
        self.io, self.config = hs.io, hs.config
        if version != TLS12:
            raise alert_error(A.protocol_version, f"version 0x{version:04x} is not implemented")
        # credential_for's work per suite.auth: (credentials of that key type, choose_credential)
        self._credentials_for: dict[str, tuple[list[Credential],
                                               tuple[Credential, int] | None]] = {}

    # --- the procedure ------------------------------------------------------------------
    def run(self) -> Procedure:
        self.check_client_hello()
        self.choose_parameters()
        # The ClientHello and our flight, ServerHello to ServerHelloDone, go into the
        # transcript in one piece: nothing reads it before the ClientKeyExchange.
        flight = [self.raw, self.send_server_hello(), self.send_certificate()]
        if self.suite.kx == "ECDHE":
            flight.append(self.send_server_key_exchange())
        if self.config.verify_client != "none":
            flight.append(self.send_certificate_request())
        flight.append(self.io.send_message(ServerHelloDone()))
        self.hs.transcript.add(b"".join(flight))
        if self.cert_requested:
            yield from self.read_client_certificate()
        master = yield from self.read_client_key_exchange()
        if self.hs.peer_chain:
            yield from self.read_certificate_verify()
        prf = ks.Prf12(self.suite.hash, master)  # key block and both Finished
        yield from self.read_client_finished(prf)
        self.send_finished(prf)
        return self.result(master)

    # --- ClientHello checks (RFC 5246 §7.4.1.2) -------------------------------------------
    def check_client_hello(self) -> None:
        ch, cfg = self.ch, self.config
        # RFC 7507 §3: a fallback retry while we support something higher is an attack.
        if _SCSV_FALLBACK in ch.cipher_suites:
            sv = self.hs.view(X.SupportedVersionsClient)
            client_max = max((v for v in sv.versions if v <= TLS13), default=0) if sv \
                else ch.legacy_version
            ours = max(int(v) for v in cfg.versions)
            if client_max < ours:
                raise alert_error(A.inappropriate_fallback,
                                  f"client signals a fallback (TLS_FALLBACK_SCSV) to "
                                  f"{version_label(client_max)}, but we support "
                                  f"{version_label(ours)}")
        # RFC 5246 §7.4.1.2: the list MUST contain the null method; we select it.
        if 0 not in ch.legacy_compression_methods:
            raise alert_error(A.illegal_parameter,
                              "ClientHello compression methods do not include null (0)")
        # A client sends the same extensions on every connection, these three in the usual
        # encodings that are compared as bytes below; any other value is parsed (hs.view, once
        # per distinct value), which refuses a malformed one with decode_error.
        exts = self.hs.client_exts
        # RFC 5746 §3.6: the signal is the SCSV or an empty renegotiation_info.
        ri = exts.get(_RENEGOTIATION_INFO)
        if ri is not None and ri != EMPTY_RENEGOTIATION_INFO:
            self.hs.view(X.RenegotiationInfo)
            raise alert_error(A.handshake_failure, "initial ClientHello carries a non-empty "
                              "renegotiation_info (RFC 5746 §3.6)")
        self.secure_renegotiation = ri is not None or _SCSV_RENEGOTIATION in ch.cipher_suites
        # RFC 7627 §5.3: without extended_master_secret the handshake is not bound to the
        # session (triple handshake); refused unless configured otherwise.
        ems = exts.get(_EXTENDED_MASTER_SECRET)
        if ems:  # its extension_data is empty (RFC 7627 §5.1)
            self.hs.view(X.ExtendedMasterSecret)
        self.ems = ems is not None
        if ems is None and cfg.require_extended_master_secret:
            raise alert_error(A.handshake_failure,
                              "client does not support the extended master secret (RFC 7627), "
                              "which this server requires")
        # RFC 8422 §5.1.2: the uncompressed point format is mandatory when the list is sent.
        pf = exts.get(_EC_POINT_FORMATS)
        if pf is not None and pf != UNCOMPRESSED_ONLY:
            pf_view = self.hs.view(X.ECPointFormats)
            if pf_view is not None and 0 not in pf_view.formats:
                raise alert_error(A.illegal_parameter,
                                  "ec_point_formats does not include uncompressed (0)")

    # --- suite, group, credential, ALPN ---------------------------------------------------
    def choose_parameters(self) -> None:
        ch, cfg, hs = self.ch, self.config, self.hs
        groups_ext = hs.view(X.SupportedGroups)
        # RFC 8422 §4: without supported_groups any curve may be used; we pick P-256.
        client_groups = groups_ext.groups if groups_ext is not None \
            else [int(NamedGroup.secp256r1)]
        for g in cfg.groups:  # our preference
            if g in TLS12_GROUPS and g in client_groups:
                self.group = int(g)
                break
        sigalgs = hs.view(X.SignatureAlgorithms)
        # RFC 5246 §7.4.1.4.1: without the extension the client accepts only SHA-1
        # signatures, which we do not make.
        self.client_schemes = sigalgs.schemes if sigalgs is not None else []
        credentials = list(cfg.credentials)
        if cfg.select_credential is not None:
            chosen = cfg.select_credential(hs.hello_info(ch))
            if chosen is not None:
                credentials = [chosen]
        self.credentials = credentials

        enabled = negotiate.enabled_suites(cfg.cipher_suites, cfg.allow_rsa_key_exchange)
        suite = negotiate.choose_suite(ch.cipher_suites, enabled, TLS12,
                                       acceptable=self.suite_fits)
        if suite is None:
            raise alert_error(A.handshake_failure, self.no_suite_reason(enabled))
        self.suite = suite
        # choose_suite returns the first suite suite_fits admits, so self.pick is its.
        self.credential, self.signature_scheme = self.pick
        if suite.kx != "ECDHE":
            self.group = None
        alpn = hs.view(X.ALPN)
        hs.alpn = negotiate.choose_alpn(alpn.protocols, cfg.alpn_protocols) if alpn else None

    def suite_fits(self, suite: Suite) -> bool:
        """Whether *suite* can serve this client; if so its credential and scheme are kept in
        ``self.pick``."""
        if suite.kx == "ECDHE" and self.group is None:
            return False
        pick = self.credential_for(suite)
        if pick is None:
            return False
        self.pick = pick
        return True

    def credential_for(self, suite: Suite) -> tuple[Credential, int | None] | None:
        """A credential of the suite's key type; for ECDHE one that can sign with a scheme
        the client accepts (RFC 5246 §7.4.2)."""
        # Depends on the suite only through its auth; choose_suite asks once per suite.
        found = self._credentials_for.get(suite.auth)
        if found is None:
            creds = [c for c in self.credentials if signatures.key_auth(c.private_key) == suite.auth]
            found = self._credentials_for[suite.auth] = (creds, negotiate.choose_credential(
                creds, self.hs.server_name, self.client_schemes, TLS12))
        creds, pick = found
        if suite.kx == "RSA":  # key transport signs nothing; any RSA certificate will do
            return (pick[0] if pick else creds[0], None) if creds else None
        return pick

    def no_suite_reason(self, enabled: tuple[int, ...]) -> str:
        offered = [s for s in self.ch.cipher_suites
                   if s not in (_SCSV_FALLBACK, _SCSV_RENEGOTIATION) and (s & 0x0F0F) != 0x0A0A]
        ours12 = [s for s in offered if s in SUITES and SUITES[s].version == TLS12]
        if not ours12:
            return ("client offers no TLS 1.2 AEAD suite lucidtls accepts; CBC, RC4, 3DES, "
                    f"export and NULL suites are refused (client offers {describe_list(CipherSuite, offered)})")
        if not any(s in enabled for s in ours12):
            return (f"no enabled TLS 1.2 cipher suite in common (client offers "
                    f"{describe_list(CipherSuite, offered)}; RSA key transport needs allow_rsa_key_exchange)")
        if self.group is None and all(SUITES[s].kx == "ECDHE" for s in ours12):
            return "no ECDHE group in common (TLS 1.2 uses x25519, P-256 or P-384)"
        return ("no certificate fits a cipher suite in common (client offers "
                f"{describe_list(CipherSuite, ours12)} and signature schemes "
                f"{[describe_scheme(s) for s in self.client_schemes]})")

    # --- ServerHello (RFC 5246 §7.4.1.3) --------------------------------------------------
    def send_server_hello(self) -> bytes:
        hs, io, suite, cfg = self.hs, self.io, self.suite, self.config
        server_random = io.random(32)
        if TLS13 in cfg.versions:
            # RFC 8446 §4.1.3: a TLS 1.3 server negotiating 1.2 says so in the last 8 bytes.
            server_random = server_random[:24] + DOWNGRADE_TLS12
        hs.server_random = server_random
        exts: list[tuple[int, bytes]] = []
        if self.secure_renegotiation:
            exts.append(_RENEGOTIATION_INFO_EXT)
        if self.ems:
            exts.append(_EXTENDED_MASTER_SECRET_EXT)
        if hs.server_name is not None:
            exts.append(_SERVER_NAME_ACK_EXT)  # RFC 6066 §3
        if suite.kx == "ECDHE" and _EC_POINT_FORMATS in hs.client_exts:
            exts.append(_EC_POINT_FORMATS_EXT)  # RFC 8422 §5.2
        if hs.alpn is not None:
            exts.append((_ALPN,
                         X.ALPN([hs.alpn.encode()]).encode()))
        # No session id: we do not resume (RFC 5246 §7.4.1.3 allows an empty one).
        sh = server_hello_message(io, server_random, b"", int(suite.id), exts)
        hs.suite = suite
        hs.transcript.start(suite.hash)
        raw = io.send_message(sh)
        if io.reshaping:  # a hook may have changed the random: use the one that went out
            hs.server_random = decode(ServerHello, raw[4:]).random
        io.set_version(TLS12)
        return raw

    def send_certificate(self) -> bytes:
        assert self.credential is not None
        return self.io.send_message(certificate_message(self.io, self.credential, tls13=False))

    # --- ServerKeyExchange (RFC 8422 §5.4) ------------------------------------------------
    def send_server_key_exchange(self) -> bytes:
        hs, io, group, scheme = self.hs, self.io, self.group, self.signature_scheme
        assert group is not None and scheme is not None and self.credential is not None
        self.key_share = KeyShare.generate(group, private_bytes=io.key_share_private(group))
        public = self.key_share.public_bytes()
        # ServerECDHParams: named_curve, the group, the point (RFC 8422 §5.4); signed after
        # both randoms.
        params = _ECDH_PARAMS_HEAD.pack(_NAMED_CURVE, group, len(public)) + public
        signature = io.sign(scheme, self.credential.private_key,
                            hs.client_random + hs.server_random + params)
        hs.signature_scheme = scheme
        hs.group = group
        if io.reshaping or len(signature) > 0xFFFF:
            ske: object = ServerKeyExchangeECDHE(group, public, scheme, signature)
        else:  # the bytes ske.to_bytes() makes, framed directly
            ske = Encoded(frame_handshake(_SERVER_KEY_EXCHANGE, b"".join(
                (params, U16_PAIR.pack(scheme, len(signature)), signature))))
        return io.send_message(ske)

    def send_certificate_request(self) -> bytes:
        cfg = self.config
        cas = list(cfg.client_trust.subjects) if cfg.client_trust is not None else []
        cr = CertificateRequest12(_CERT_TYPES, [int(s) for s in cfg.signature_schemes], cas)
        self.cert_requested = True
        return self.io.send_message(cr)

    # --- client Certificate (RFC 5246 §7.4.6) ---------------------------------------------
    def read_client_certificate(self) -> Step:
        hs, cfg = self.hs, self.config
        msg: Message = yield _EXPECT_CERTIFICATE
        cert: Certificate12 = decode_repeated(Certificate12, msg.body)
        hs.transcript.add(msg.raw)
        if not cert.certificate_list:
            # TLS 1.2 has no certificate_required alert; RFC 5246 §7.4.6 names this one.
            require(cfg.verify_client != "required", A.handshake_failure,
                    "the client sent no certificate, and one is required")
            self.io.trace("client_auth", outcome="no certificate")
            return None
        hs.peer_chain = parse_certificates(cert.certificate_list)
        if self.io.tracing:
            self.io.trace("certificate", chain=hs.peer_chain)

        def builtin() -> VerifiedChain:
            from lucidtls.pki.trust import verify_client_chain
            assert cfg.client_trust is not None
            return verify_client_chain(cfg.client_trust, hs.peer_chain)

        hs.verified, hs.verification = verify_peer_chain(
            hs.peer_chain, verify=builtin, callback=cfg.verify_callback, skip=False, io=self.io)
        return None

    # --- ClientKeyExchange (RFC 5246 §7.4.7) ----------------------------------------------
    def read_client_key_exchange(self) -> Generator[Expect, Message, bytes]:
        hs, io, suite = self.hs, self.io, self.suite
        if suite.kx == "RSA":
            # RFC 5246 §7.4.7.1: the fallback premaster exists before we look at the
            # ciphertext, and every failure continues with it (no padding oracle).
            fallback = io.random(PREMASTER_LEN)
        msg: Message = yield _EXPECT_CLIENT_KEY_EXCHANGE
        if suite.kx == "ECDHE":
            cke: ClientKeyExchangeECDHE = decode(ClientKeyExchangeECDHE, msg.body)
            assert self.key_share is not None
            premaster = self.key_share.exchange(cke.public)  # IllegalParameter if invalid
        else:
            rsa_cke: ClientKeyExchangeRSA = decode(ClientKeyExchangeRSA, msg.body)
            assert self.credential is not None
            premaster = decrypt_premaster(self.credential.private_key,  # type: ignore[arg-type]
                                          rsa_cke.encrypted_premaster,
                                          self.ch.legacy_version, fallback)
        hs.transcript.add(msg.raw)
        if self.ems:
            # RFC 7627 §4: session_hash covers the messages through ClientKeyExchange.
            master = ks.extended_master_secret_12(suite.hash, premaster, hs.transcript.digest())
        else:
            master = ks.master_secret_12(suite.hash, premaster, hs.client_random,
                                         hs.server_random)
        io.log_secret("CLIENT_RANDOM", master)
        return master

    # --- client CertificateVerify (RFC 5246 §7.4.8) ---------------------------------------
    def read_certificate_verify(self) -> Step:
        hs, cfg = self.hs, self.config
        msg: Message = yield _EXPECT_CERTIFICATE_VERIFY
        cv: CertificateVerify = decode(CertificateVerify, msg.body)
        # RFC 5246 §7.4.8: the scheme must be one of our CertificateRequest's.
        if cv.algorithm not in cfg.signature_schemes:
            raise alert_error(A.illegal_parameter, f"client signed with "
                              f"{describe_scheme(cv.algorithm)}, which we did not offer")
        # The signature covers handshake_messages so far, not a hash of them.
        signatures.verify(cv.algorithm, public_key(hs.peer_chain[0]),
                          hs.transcript.all_bytes(), cv.signature, version=TLS12)
        hs.transcript.add(msg.raw)
        hs.client_auth = True
        self.io.trace("client_auth", outcome="verified",
                      subject=hs.peer_chain[0].subject.rfc4514_string())
        return None

    # --- ChangeCipherSpec and Finished (RFC 5246 §7.1, §7.4.9) ----------------------------
    def read_client_finished(self, prf: ks.Prf12) -> Step:
        hs, io, suite = self.hs, self.io, self.suite
        client_key, self.server_key, client_iv, self.server_iv = prf.key_block(
            suite, hs.client_random, hs.server_random)
        yield _EXPECT_CCS
        io.install_12("read", suite, client_key, client_iv)
        msg: Message = yield _EXPECT_FINISHED
        verify_data = msg.body  # the whole body (RFC 5246 §7.4.9): no Finished object
        expected = prf.finished(b"client finished", hs.transcript.digest())
        if len(verify_data) != len(expected):
            raise alert_error(A.decode_error, f"client Finished is {len(verify_data)} "
                              f"bytes, not {len(expected)}")
        if not ks.verify_finished(expected, verify_data):
            raise alert_error(A.decrypt_error, "client Finished does not match the transcript")
        hs.transcript.add(msg.raw)
        if io.tracing:
            io.trace("finished", sender="client", verify_data=verify_data)
        return None

    def send_finished(self, prf: ks.Prf12) -> None:
        hs, io, suite = self.hs, self.io, self.suite
        io.send_ccs()
        io.install_12("write", suite, self.server_key, self.server_iv)
        verify_data = prf.finished(b"server finished", hs.transcript.final_digest())
        # The handshake's last message: nothing hashes the transcript after it (a TLS 1.2
        # connection has no post-handshake messages that do), so it is not added.
        io.send_message(Finished(verify_data))
        if io.tracing:
            io.trace("finished", sender="server", verify_data=verify_data)

    def result(self, master: bytes) -> HandshakeResult:
        hs, suite = self.hs, self.suite
        info = ConnectionInfo(
            version=TLS12, cipher_suite=int(suite.id), group=self.group,
            signature_scheme=self.signature_scheme, alpn_protocol=hs.alpn,
            server_name=hs.server_name, peer_certificates=tuple(hs.peer_chain),
            verified=hs.verified, verification=hs.verification, client_auth=hs.client_auth,
            kx=suite.kx, extended_master_secret=self.ems)
        return HandshakeResult(info=info, suite=suite, master_secret=master,
                               client_random=hs.client_random, server_random=hs.server_random)


def describe_scheme(scheme: int) -> str:
    from lucidtls.wire.enums import SignatureScheme
    return describe(SignatureScheme, scheme)
