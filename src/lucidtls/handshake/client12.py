"""The client's handshake, TLS 1.2 (RFC 5246 §7.3), as one procedure that reads in protocol order.

Entered from the TLS 1.3 client procedure when the ServerHello chose TLS 1.2. Full handshakes
only (we offer no session ticket and never resume); the extended master secret (RFC 7627) is
required unless configured otherwise; renegotiation is refused by the connection.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric import rsa

from lucidtls.crypto import keyschedule as ks
from lucidtls.crypto import signatures
from lucidtls.crypto.groups import TLS12_GROUPS, KeyShare
from lucidtls.crypto.rsa_kx import encrypt_premaster
from lucidtls.crypto.suites import SUITES, Suite
from lucidtls.errors import alert_error
from lucidtls.handshake import negotiate
from lucidtls.handshake.common import (
    CHANGE_CIPHER_SPEC,
    Expect,
    HandshakeResult,
    Message,
    Procedure,
    certificate_message,
    certificate_verify_message,
    check_extensions,
    decode,
    decode_repeated,
    expect,
    parse_certificates,
    require,
    verify_peer_chain,
    view_in,
)
from lucidtls.info import ConnectionInfo
from lucidtls.pki.parsed import public_key
from lucidtls.pki.trust import verify_server_chain
from lucidtls.wire import extensions as X
from lucidtls.wire.enums import (
    AlertDescription,
    CipherSuite,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
    describe,
)
from lucidtls.wire.extensions import EMPTY_RENEGOTIATION_INFO, UNCOMPRESSED_ONLY
from lucidtls.wire.messages import (
    DOWNGRADE_TLS11,
    DOWNGRADE_TLS12,
    Certificate12,
    CertificateRequest12,
    ClientKeyExchangeECDHE,
    ClientKeyExchangeRSA,
    Finished,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchangeECDHE,
)

if TYPE_CHECKING:
    from lucidtls.handshake.client import ClientHandshake
    from lucidtls.pki.credentials import Credential
    from lucidtls.pki.trust import VerifiedChain

# A step of the procedure: waits for messages, returns *T* (the whole procedure: Procedure).
Step = Generator[Expect, Message, None]
A = AlertDescription
E = ExtensionType
HT = HandshakeType
TLS12 = int(ProtocolVersion.TLS1_2)
TLS13 = int(ProtocolVersion.TLS1_3)

# What a TLS 1.2 ServerHello may answer (each also only if we offered it).
_SERVER_HELLO_EXTS: set[int] = {E.server_name, E.ec_point_formats, E.renegotiation_info,
                      E.extended_master_secret, E.application_layer_protocol_negotiation}
# The code points read on every handshake, as plain ints: an IntEnum class attribute read goes
# through EnumType's __getattr__ hook (~100 ns against ~10 ns for a global).
_SERVER_NAME = int(E.server_name)
_RENEGOTIATION_INFO = int(E.renegotiation_info)
_EXTENDED_MASTER_SECRET = int(E.extended_master_secret)
_EC_POINT_FORMATS = int(E.ec_point_formats)
_ALPN = int(E.application_layer_protocol_negotiation)
_CERTIFICATE_REQUEST = int(HT.CERTIFICATE_REQUEST)
_SCSV_RENEGOTIATION = int(CipherSuite.TLS_EMPTY_RENEGOTIATION_INFO_SCSV)
# RFC 5246 §7.4.4 ClientCertificateType: rsa_sign(1); RFC 8422 §5.5: ecdsa_sign(64).
_CERT_TYPE_FOR_AUTH = {"RSA": 1, "ECDSA": 64}
# What each step waits for, built once (an Expect is immutable).
_EXPECT_CERTIFICATE = expect(HT.CERTIFICATE)
_EXPECT_SERVER_KEY_EXCHANGE = expect(HT.SERVER_KEY_EXCHANGE)
_EXPECT_REQUEST_OR_DONE = expect(HT.CERTIFICATE_REQUEST, HT.SERVER_HELLO_DONE)
_EXPECT_SERVER_HELLO_DONE = expect(HT.SERVER_HELLO_DONE)
_EXPECT_CCS = expect(CHANGE_CIPHER_SPEC)
_EXPECT_FINISHED = expect(HT.FINISHED)


def run_client12(hs: ClientHandshake, sh: ServerHello) -> Procedure:
    """The TLS 1.2 client procedure, from the ServerHello on."""
    return Client12(hs, sh).run()  # the generator itself: no wrapper to resume at each step


class Client12:
    """One TLS 1.2 client handshake: the state valid across its steps (the TLS 1.3 procedure's
    object ``hs`` holds the ClientHello, its transcript, the peer's chain)."""

    suite: Suite  # set by process_server_hello, the first step
    # Until a step sets them (class-level defaults: nothing to store per handshake).
    ems = False
    ske: ServerKeyExchangeECDHE | None = None
    cert_request: CertificateRequest12 | None = None
    sent_certificate: tuple[Credential, int] | None = None

    def __init__(self, hs: ClientHandshake, sh: ServerHello) -> None:
        self.hs, self.sh = hs, sh
        self.io, self.config = hs.io, hs.config
        self.server_random = sh.random

    # --- the procedure ------------------------------------------------------------------
    def run(self) -> Procedure:
        # The flight, ServerHello to ServerHelloDone, goes into the transcript in one piece
        # once read: each step returns the bytes of the messages it read.
        flight = [self.process_server_hello()]
        flight.append(self.process_server_certificate((yield _EXPECT_CERTIFICATE)))
        if self.suite.kx == "ECDHE":
            flight.append(self.process_server_key_exchange((yield _EXPECT_SERVER_KEY_EXCHANGE)))
        flight += yield from self.read_certificate_request_and_done()
        self.hs.transcript.add(b"".join(flight))
        if self.cert_request is not None:
            self.send_client_certificate(self.cert_request)
        master = self.send_client_key_exchange()
        if self.sent_certificate is not None:
            self.send_certificate_verify(*self.sent_certificate)
        prf = ks.Prf12(self.suite.hash, master)  # key block and both Finished
        self.send_finished(prf)
        yield from self.read_server_finished(prf)
        return self.result(master)

    # --- ServerHello (RFC 5246 §7.4.1.3) --------------------------------------------------
    def process_server_hello(self) -> bytes:
        hs, sh, cfg = self.hs, self.sh, self.config
        assert hs.client_hello is not None
        # RFC 8446 §4.1.4: a HelloRetryRequest fixed TLS 1.3; the ServerHello must agree.
        if hs.hello_retry:
            raise alert_error(A.illegal_parameter,
                              "ServerHello chose TLS 1.2 after a TLS 1.3 HelloRetryRequest")
        # RFC 8446 §4.1.3: a client that offered TLS 1.3 must refuse a downgrade the server
        # signals.
        if sh.random[-8:] in (DOWNGRADE_TLS12, DOWNGRADE_TLS11):
            sv = hs.client_hello.view(X.SupportedVersionsClient)
            require(sv is None or TLS13 not in sv.versions, A.illegal_parameter,
                    "TLS 1.2 ServerHello carries the TLS 1.3 downgrade sentinel "
                    "(RFC 8446 §4.1.3): an attacker may have removed TLS 1.3 from our hello")
        suite = SUITES.get(sh.cipher_suite)
        if not (suite is not None and sh.cipher_suite in hs.client_hello.cipher_suites
                and suite.version == TLS12):
            raise alert_error(A.illegal_parameter, f"server selected cipher suite "
                              f"0x{sh.cipher_suite:04x}, which we did not offer for TLS 1.2")
        assert suite is not None
        if sh.legacy_compression_method != 0:
            raise alert_error(A.illegal_parameter, "ServerHello selected a compression method")
        exts = dict(sh.extensions)  # decode refused duplicates
        types = exts.keys()
        if not (types <= hs.offered_exts and types <= _SERVER_HELLO_EXTS):
            # One was not offered or is not allowed here: name it. RFC 5746 §3.4: the SCSV
            # counts as offering renegotiation_info.
            offered = hs.offered_exts | ({int(E.renegotiation_info)} if _SCSV_RENEGOTIATION in
                                         hs.client_hello.cipher_suites else set())
            check_extensions(sh.extensions, _SERVER_HELLO_EXTS, "TLS 1.2 ServerHello", offered)
        # A server sends the same extensions on every handshake, in the usual encodings that
        # are compared as bytes below; any other value is parsed (common.view_in, once per
        # distinct value), which refuses a malformed one with decode_error.
        # RFC 5746 §3.4: in an initial handshake the extension must be empty.
        ri = exts.get(_RENEGOTIATION_INFO)
        if ri is not None and ri != EMPTY_RENEGOTIATION_INFO:
            view_in(exts, X.RenegotiationInfo)
            raise alert_error(A.handshake_failure,
                              "ServerHello renegotiation_info is not empty (RFC 5746 §3.4)")
        ems = exts.get(_EXTENDED_MASTER_SECRET)
        if ems:  # its extension_data is empty (RFC 7627 §5.1)
            view_in(exts, X.ExtendedMasterSecret)
        self.ems = ems is not None
        # RFC 7627 §5.3: without it the master secret is not bound to this handshake.
        if ems is None and cfg.require_extended_master_secret:
            raise alert_error(A.handshake_failure,
                              "server does not support the extended master secret (RFC 7627), "
                              "which we require")
        pf = exts.get(_EC_POINT_FORMATS)
        if pf is not None and pf != UNCOMPRESSED_ONLY:
            pf_view = view_in(exts, X.ECPointFormats)
            if pf_view is not None and 0 not in pf_view.formats:
                raise alert_error(A.illegal_parameter,
                                  "server ec_point_formats lacks uncompressed (RFC 8422 §5.2)")
        if exts.get(_SERVER_NAME):  # its extension_data is empty (RFC 6066 §3)
            view_in(exts, X.ServerNameAck)
        if _ALPN in exts:
            alpn = view_in(exts, X.ALPN)
            assert alpn is not None
            hs.alpn = negotiate.accept_alpn(alpn.protocols, cfg.alpn_protocols)
        self.suite = hs.suite = suite
        self.io.set_version(TLS12)
        hs.transcript.start(suite.hash)  # holds our ClientHello already
        return hs._last_server_hello_raw

    # --- server Certificate (RFC 5246 §7.4.2) ---------------------------------------------
    def process_server_certificate(self, msg: Message) -> bytes:
        hs, cfg = self.hs, self.config
        cert: Certificate12 = decode_repeated(Certificate12, msg.body)
        if not cert.certificate_list:
            raise alert_error(A.decode_error, "server sent an empty Certificate message")
        hs.peer_chain = parse_certificates(cert.certificate_list)
        if self.io.tracing:
            self.io.trace("certificate", chain=hs.peer_chain)
        # RFC 5246 §7.4.2: the key must suit the suite's key exchange / authentication.
        leaf_auth = signatures.key_auth(public_key(hs.peer_chain[0]))
        if leaf_auth != self.suite.auth:
            raise alert_error(A.unsupported_certificate, f"server certificate has a {leaf_auth} "
                              f"key, but {self.suite.name} needs {self.suite.auth}")
        name = hs.server_name if cfg.check_hostname else None

        def builtin() -> VerifiedChain:
            return verify_server_chain(cfg.trust_store(), hs.peer_chain, name)

        if cfg.check_hostname and not hs.server_name and not cfg.dangerously_skip_verification:
            raise alert_error(A.internal_error, "no server name to check the certificate against")
        hs.verified, hs.verification = verify_peer_chain(
            hs.peer_chain, verify=builtin, callback=cfg.verify_callback,
            skip=cfg.dangerously_skip_verification, io=self.io)
        return msg.raw

    # --- ServerKeyExchange (RFC 8422 §5.4) ------------------------------------------------
    def process_server_key_exchange(self, msg: Message) -> bytes:
        hs, cfg = self.hs, self.config
        ske: ServerKeyExchangeECDHE = decode(ServerKeyExchangeECDHE, msg.body)
        if not (ske.named_group in TLS12_GROUPS and ske.named_group in cfg.groups):
            raise alert_error(A.illegal_parameter,
                              f"server chose group {describe(NamedGroup, ske.named_group)}, "
                              "which we did not offer for TLS 1.2")
        if ske.algorithm not in cfg.signature_schemes:
            raise alert_error(A.illegal_parameter,
                              f"server signed with {describe(SignatureScheme, ske.algorithm)}, "
                              "which we did not offer")
        # The signed ServerECDHParams are the body's first bytes: curve_type (1), namedcurve
        # (2), the point with its 1-byte length (decode checked that layout).
        signed = hs.client_random + self.server_random + msg.body[:4 + len(ske.public)]
        signatures.verify(ske.algorithm, public_key(hs.peer_chain[0]), signed, ske.signature,
                          version=TLS12)
        hs.signature_scheme, hs.group = ske.algorithm, ske.named_group
        self.ske = ske
        return msg.raw

    # --- CertificateRequest, ServerHelloDone (RFC 5246 §7.4.4, §7.4.5) -------------------
    def read_certificate_request_and_done(self) -> Generator[Expect, Message, list[bytes]]:
        msg: Message = yield _EXPECT_REQUEST_OR_DONE
        read = []
        if msg.msg_type == _CERTIFICATE_REQUEST:
            self.cert_request = decode_repeated(CertificateRequest12, msg.body)
            read.append(msg.raw)
            msg = yield _EXPECT_SERVER_HELLO_DONE
        if msg.body:  # it has no fields: only a non-empty body needs decoding, to refuse it
            decode(ServerHelloDone, msg.body)
        read.append(msg.raw)
        return read

    # --- client Certificate (RFC 5246 §7.4.6) ---------------------------------------------
    def send_client_certificate(self, cr: CertificateRequest12) -> None:
        chosen = choose_client_credential12(self.config.credentials, cr)
        if chosen is None:
            # RFC 5246 §7.4.6: with nothing suitable, an empty certificate_list.
            self.hs.transcript.add(self.io.send_message(Certificate12([])))
            self.io.trace("client_auth", outcome="no suitable certificate; sent empty")
            return
        cred, _ = chosen
        self.hs.transcript.add(self.io.send_message(certificate_message(self.io, cred, tls13=False)))
        self.sent_certificate = chosen

    # --- ClientKeyExchange (RFC 5246 §7.4.7) ----------------------------------------------
    def send_client_key_exchange(self) -> bytes:
        hs, io, suite = self.hs, self.io, self.suite
        if suite.kx == "ECDHE":
            ske = self.ske
            assert ske is not None
            share = KeyShare.generate(ske.named_group,
                                      private_bytes=io.key_share_private(ske.named_group))
            premaster = share.exchange(ske.public)  # IllegalParameter if the point is bad
            cke: object = ClientKeyExchangeECDHE(share.public_bytes())
        else:
            assert hs.client_hello is not None
            rsa_key = public_key(hs.peer_chain[0])
            assert isinstance(rsa_key, rsa.RSAPublicKey)
            # RFC 5246 §7.4.7.1: the version is the one our ClientHello offered.
            premaster, encrypted = encrypt_premaster(rsa_key,
                                                     hs.client_hello.legacy_version, io.random)
            cke = ClientKeyExchangeRSA(encrypted)
        hs.transcript.add(io.send_message(cke))
        if self.ems:
            # RFC 7627 §4: session_hash covers the messages through ClientKeyExchange.
            master = ks.extended_master_secret_12(suite.hash, premaster, hs.transcript.digest())
        else:
            master = ks.master_secret_12(suite.hash, premaster, hs.client_random,
                                         self.server_random)
        io.log_secret("CLIENT_RANDOM", master)
        return master

    # --- CertificateVerify (RFC 5246 §7.4.8) ----------------------------------------------
    def send_certificate_verify(self, cred: Credential, scheme: int) -> None:
        hs = self.hs
        # Signed: all handshake messages so far (not a hash of them).
        signature = self.io.sign(scheme, cred.private_key, hs.transcript.all_bytes())
        hs.transcript.add(self.io.send_message(
            certificate_verify_message(self.io, scheme, signature)))
        hs.client_auth = True
        self.io.trace("client_auth", outcome="sent", scheme=scheme,
                      subject=cred.chain[0].subject.rfc4514_string())

    # --- ChangeCipherSpec and Finished (RFC 5246 §7.1, §7.4.9) ----------------------------
    def send_finished(self, prf: ks.Prf12) -> None:
        hs, io, suite = self.hs, self.io, self.suite
        client_key, self.server_key, client_iv, self.server_iv = prf.key_block(
            suite, hs.client_random, self.server_random)
        io.send_ccs()
        io.install_12("write", suite, client_key, client_iv)
        verify_data = prf.finished(b"client finished", hs.transcript.digest())
        hs.transcript.add(io.send_message(Finished(verify_data)))
        if io.tracing:
            io.trace("finished", sender="client", verify_data=verify_data)

    def read_server_finished(self, prf: ks.Prf12) -> Step:
        hs, io, suite = self.hs, self.io, self.suite
        yield _EXPECT_CCS
        io.install_12("read", suite, self.server_key, self.server_iv)
        msg: Message = yield _EXPECT_FINISHED
        verify_data = msg.body  # the whole body (RFC 5246 §7.4.9): no Finished object
        expected = prf.finished(b"server finished", hs.transcript.final_digest())
        if len(verify_data) != len(expected):
            raise alert_error(A.decode_error, f"server Finished is {len(verify_data)} "
                              f"bytes, not {len(expected)}")
        if not ks.verify_finished(expected, verify_data):
            raise alert_error(A.decrypt_error, "server Finished does not match the transcript")
        # The handshake's last message: nothing hashes the transcript after it (a TLS 1.2
        # connection has no post-handshake messages that do), so it is not added.
        if io.tracing:
            io.trace("finished", sender="server", verify_data=verify_data)
        return None

    def result(self, master: bytes) -> HandshakeResult:
        hs, suite = self.hs, self.suite
        info = ConnectionInfo(
            version=TLS12, cipher_suite=int(suite.id), group=hs.group,
            signature_scheme=hs.signature_scheme, alpn_protocol=hs.alpn,
            server_name=hs.server_name, peer_certificates=tuple(hs.peer_chain),
            verified=hs.verified, verification=hs.verification, client_auth=hs.client_auth,
            kx=suite.kx, extended_master_secret=self.ems)
        return HandshakeResult(info=info, suite=suite, master_secret=master,
                               client_random=hs.client_random,
                               server_random=self.server_random)


def choose_client_credential12(credentials: tuple[Credential, ...],
                               cr: CertificateRequest12) -> tuple[Credential, int] | None:
    """A credential of a certificate type the server accepts whose key can sign with one of
    its supported_signature_algorithms, preferring one issued under an authority the server
    named (RFC 5246 §7.4.4, §7.4.6)."""
    from lucidtls.handshake.client import _issued_under
    ordered = [c for c in credentials
               if _CERT_TYPE_FOR_AUTH.get(signatures.key_auth(c.private_key), 0) in cr.certificate_types]
    if cr.certificate_authorities:
        names = set(cr.certificate_authorities)
        ordered = [c for c in ordered if _issued_under(c, names)]
    for cred in ordered:
        scheme = negotiate.choose_signature_scheme(cr.supported_signature_algorithms, cred,
                                                   TLS12)
        if scheme is not None:
            return cred, scheme
    return None
