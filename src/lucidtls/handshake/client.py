"""The client's handshake, TLS 1.3 (RFC 8446 §4), as one procedure that reads in protocol order.

``ClientHandshake.run()`` is a generator: it yields ``Expect`` when it needs the server's next
message and calls the ``HandshakeIO`` for everything that does not wait (send, install keys).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography import x509

from lucidtls.crypto import keyschedule as ks
from lucidtls.crypto import signatures
from lucidtls.crypto.groups import KeyShare
from lucidtls.crypto.suites import SUITES, Suite
from lucidtls.errors import alert_error
from lucidtls.handshake import negotiate
from lucidtls.handshake.client12 import run_client12
from lucidtls.handshake.common import (
    U8,
    U16,
    U16_PAIR,
    HandshakeIO,
    HandshakeResult,
    Message,
    Procedure,
    Step,
    certificate_message,
    certificate_verify_message,
    check_extensions,
    decode,
    decode_repeated,
    expect,
    is_ip_address,
    parse_certificates,
    require,
    verify_peer_chain,
    view_repeated,
)
from lucidtls.handshake.transcript import Transcript
from lucidtls.info import ConnectionInfo
from lucidtls.pki.parsed import public_key
from lucidtls.pki.trust import verify_server_chain
from lucidtls.wire import extensions as X
from lucidtls.wire.enums import (
    AlertDescription,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
    describe,
    version_label,
)
from lucidtls.wire.messages import (
    Certificate13,
    CertificateRequest13,
    CertificateVerify,
    ClientHello,
    Encoded,
    EncryptedExtensions,
    Finished,
    ServerHello,
    frame_handshake,
)

if TYPE_CHECKING:
    from lucidtls.config import ClientConfig
    from lucidtls.pki.credentials import Credential
    from lucidtls.pki.trust import VerifiedChain

A = AlertDescription
E = ExtensionType
HT = HandshakeType
TLS13 = int(ProtocolVersion.TLS1_3)
TLS12 = int(ProtocolVersion.TLS1_2)
# Read on every handshake: module globals, not enum class attributes (each of those reads
# costs about as much as ten global reads).
_SERVER_NAME, _KEY_SHARE = int(E.server_name), int(E.key_share)
_SUPPORTED_GROUPS = int(E.supported_groups)
_SIGNATURE_ALGORITHMS = int(E.signature_algorithms)
_CLIENT_HELLO, _CERTIFICATE_REQUEST = int(HT.CLIENT_HELLO), int(HT.CERTIFICATE_REQUEST)
# What each step waits for (one shared Expect each).
_EXPECT_SERVER_HELLO = expect(HT.SERVER_HELLO)
_EXPECT_ENCRYPTED_EXTENSIONS = expect(HT.ENCRYPTED_EXTENSIONS)
_EXPECT_REQUEST_OR_CERTIFICATE = expect(HT.CERTIFICATE_REQUEST, HT.CERTIFICATE)
_EXPECT_CERTIFICATE = expect(HT.CERTIFICATE)
_EXPECT_CERTIFICATE_VERIFY = expect(HT.CERTIFICATE_VERIFY)
_EXPECT_FINISHED = expect(HT.FINISHED)

# RFC 8446 §4.2 table: where each extension may appear.
_SERVER_HELLO_EXTS = {E.key_share, E.supported_versions, E.pre_shared_key}
_HRR_EXTS = {E.key_share, E.cookie, E.supported_versions}
_ENCRYPTED_EXTS = {E.server_name, E.max_fragment_length, E.supported_groups, E.use_srtp,
                   E.heartbeat, E.application_layer_protocol_negotiation,
                   E.client_certificate_type, E.server_certificate_type, E.early_data,
                   E.record_size_limit}
_CERT_REQUEST_EXTS = {E.status_request, E.signature_algorithms, E.signed_certificate_timestamp,
                      E.certificate_authorities, E.oid_filters, E.signature_algorithms_cert}


class ClientHandshake:
    """One client handshake: the state that is valid across its steps."""

    def __init__(self, io: HandshakeIO, config: ClientConfig, server_name: str | None) -> None:
        self.io = io
        self.config = config
        self.server_name = server_name
        self.transcript = Transcript()
        self.key_shares: dict[int, KeyShare] = {}
        self.client_hello: ClientHello | None = None
        self.client_random = b""
        self.session_id = b""
        self.offered_exts: AbstractSet[int] = frozenset()
        self.sent_ccs = False
        self.hello_retry = False
        self.suite: Suite | None = None
        self.group: int | None = None
        self.alpn: str | None = None
        self.peer_chain: list[x509.Certificate] = []
        self.verified: VerifiedChain | None = None
        self.verification = "none"
        self.signature_scheme: int | None = None
        self.cert_request: CertificateRequest13 | None = None
        self.client_auth = False
        self.client_credential: Credential | None = None  # the one we last presented

    # --- the procedure ------------------------------------------------------------------
    def run(self) -> Procedure:
        self.send_client_hello()
        sh = yield from self.read_server_hello()
        if sh.is_hello_retry_request:
            self.process_hello_retry_request(sh)
            sh = yield from self.read_server_hello()
            require(not sh.is_hello_retry_request, A.unexpected_message,
                    "a second HelloRetryRequest (RFC 8446 §4.1.4)")
        version = self.negotiated_version(sh)
        if version != TLS13:
            return (yield from run_client12(self, sh))
        handshake_secret = self.process_server_hello(sh)
        yield from self.read_encrypted_extensions()
        yield from self.read_server_certificate()
        yield from self.read_server_finished(handshake_secret)
        return self.finish(handshake_secret)

    # --- ClientHello (RFC 8446 §4.1.2) ----------------------------------------------------
    def send_client_hello(self) -> None:
        cfg, io = self.config, self.io
        template = hello_template(cfg)
        self.client_random = io.random(32)
        # Appendix D.4: a non-empty session id makes the handshake look like a TLS 1.2 resume.
        self.session_id = io.random(32) if cfg.middlebox_compat else b""
        offers_tls13 = TLS13 in template.versions
        if offers_tls13:  # key_share is a TLS 1.3 extension (RFC 8446 §4.2.8)
            for group in cfg.key_share_groups:
                self.key_shares[int(group)] = KeyShare.generate(
                    group, private_bytes=io.key_share_private(int(group)))

        exts: list[tuple[int, bytes]] = []
        sni = None
        if self.server_name and cfg.send_sni and not is_ip_address(self.server_name):
            # RFC 6066 §3: literal IP addresses are not sent in SNI.
            sni = _server_name_extension(self.server_name)
            exts.append((_SERVER_NAME, sni))
        exts += template.config_extensions
        key_share = None
        if offers_tls13:  # (an empty list too: it asks for a HelloRetryRequest)
            key_share = _key_share_extension(self.key_shares)
            exts.append((_KEY_SHARE, key_share))

        # random, legacy_session_id, cipher_suites, extensions
        ch = ClientHello(self.client_random, self.session_id, list(template.suites), exts)
        self.client_hello = ch
        if io.reshaping:
            raw = io.send_message(ch)
            # A test may have reshaped the hello: remember what really went out.
            self.client_hello = decode(ClientHello, raw[4:])
            self.client_random = self.client_hello.random
            self.session_id = self.client_hello.legacy_session_id
            self.offered_exts = set(self.client_hello.ext_types())
        else:  # as the message would encode itself, the config-only parts encoded once
            raw = io.send_message(Encoded(_encode_hello(
                template, self.client_random, self.session_id, sni, key_share)))
            self.offered_exts = template.offered_with_sni if sni is not None else \
                template.offered
        self.transcript.add(raw)

    def read_server_hello(self) -> Step[ServerHello]:
        msg: Message = yield _EXPECT_SERVER_HELLO
        sh: ServerHello = decode(ServerHello, msg.body)
        self._last_server_hello_raw = msg.raw
        return sh

    def negotiated_version(self, sh: ServerHello) -> int:
        """RFC 8446 §4.2.1: supported_versions decides; without it the server speaks ≤ 1.2."""
        # What we really offered (a version without a usable suite is left out of the hello)
        # and our configuration allows (a hook may have reshaped the hello).
        assert self.client_hello is not None
        offered: Sequence[int]
        if self.io.reshaping:
            ours = self.client_hello.view(X.SupportedVersionsClient)
            sent = ours.versions if ours is not None else [self.client_hello.legacy_version]
            offered = [v for v in sent if v in self.config.versions]
        else:  # the hello went out as built from the template, from configured versions
            offered = hello_template(self.config).versions
        sv = view_repeated(sh, X.SupportedVersionsServer)
        if sv is not None:
            if not (sv.version in offered and sv.version == TLS13):
                raise alert_error(A.illegal_parameter, f"server selected version "
                                  f"0x{sv.version:04x}, which we did not offer")
            if sh.legacy_version != TLS12:
                raise alert_error(A.illegal_parameter,
                                  "TLS 1.3 ServerHello.legacy_version must be 0x0303")
            return TLS13
        if sh.legacy_version not in offered:
            raise alert_error(A.protocol_version,
                              f"server chose version 0x{sh.legacy_version:04x}, but only "
                              f"{', '.join(version_label(v) for v in offered)} enabled")
        return int(sh.legacy_version)

    # --- HelloRetryRequest (RFC 8446 §4.1.4) ----------------------------------------------
    def process_hello_retry_request(self, hrr: ServerHello) -> None:
        self.negotiated_version(hrr)
        self.check_common_hello_fields(hrr)
        # RFC 8446 §4.1.4: the cookie is the one extension an HRR may carry unoffered.
        check_extensions(hrr.extensions, _HRR_EXTS, "HelloRetryRequest",
                         self.offered_exts | {E.cookie})
        suite = SUITES[hrr.cipher_suite]
        self.suite = suite
        self.hello_retry = True
        ks_hrr = hrr.view(X.KeyShareHelloRetryRequest)
        cookie = hrr.view(X.Cookie)
        require(ks_hrr is not None or cookie is not None, A.illegal_parameter,
                "HelloRetryRequest would not change the ClientHello")
        assert self.client_hello is not None
        exts = [(t, d) for t, d in self.client_hello.extensions
                if t not in (E.key_share, E.early_data, E.cookie, E.pre_shared_key)]
        new_shares = self.key_shares
        if ks_hrr is not None:
            group = ks_hrr.selected_group
            if group not in [int(g) for g in self.config.groups]:
                raise alert_error(A.illegal_parameter, f"HelloRetryRequest selected group "
                                  f"{describe(NamedGroup, group)}, not offered")
            if group in self.key_shares:
                raise alert_error(A.illegal_parameter, f"HelloRetryRequest asked for "
                                  f"{describe(NamedGroup, group)}, for which a key share was "
                                  "already sent")
            share = KeyShare.generate(group, private_bytes=self.io.key_share_private(group))
            new_shares = {group: share}
        self.key_shares = new_shares
        idx = [t for t, _ in exts].index(E.supported_versions) + 1 if \
            E.supported_versions in [t for t, _ in exts] else len(exts)
        exts.insert(idx, (E.key_share, X.KeyShareClientHello(
            [X.KeyShareEntry(g, k.public_bytes()) for g, k in new_shares.items()]).encode()))
        if cookie is not None:
            exts.append((E.cookie, cookie.encode()))

        # RFC 8446 §4.4.1: ClientHello1 collapses into message_hash, then HRR, then ClientHello2.
        self.transcript.start(suite.hash)
        self.transcript.replace_with_message_hash()
        self.transcript.add(self._last_server_hello_raw)
        if self.config.middlebox_compat and not self.sent_ccs:
            self.io.send_ccs()
            self.sent_ccs = True
        ch2 = ClientHello(random=self.client_random, legacy_session_id=self.session_id,
                          cipher_suites=list(self.client_hello.cipher_suites), extensions=exts)
        raw = self.io.send_message(ch2)
        self.client_hello = decode(ClientHello, raw[4:])
        self.offered_exts = set(self.client_hello.ext_types())
        self.transcript.add(raw)

    def check_common_hello_fields(self, sh: ServerHello) -> None:
        if sh.legacy_session_id_echo != self.session_id:
            raise alert_error(A.illegal_parameter,
                              "ServerHello.legacy_session_id_echo differs from our session id")
        suite = SUITES.get(sh.cipher_suite)
        assert self.client_hello is not None
        if not (suite is not None and sh.cipher_suite in self.client_hello.cipher_suites
                and suite.version == TLS13):
            raise alert_error(A.illegal_parameter, f"server selected cipher suite "
                              f"0x{sh.cipher_suite:04x}, which we did not offer")
        if sh.legacy_compression_method != 0:
            raise alert_error(A.illegal_parameter, "ServerHello selected a compression method")
        if self.suite is not None and sh.cipher_suite != self.suite.id:
            raise alert_error(A.illegal_parameter,
                              "ServerHello cipher suite differs from the HelloRetryRequest's")

    # --- ServerHello (RFC 8446 §4.1.3) ----------------------------------------------------
    def process_server_hello(self, sh: ServerHello) -> ks.HandshakeSecret:
        self.check_common_hello_fields(sh)
        check_extensions(sh.extensions, _SERVER_HELLO_EXTS, "ServerHello", self.offered_exts)
        if sh.random[-8:] in (b"DOWNGRD\x01", b"DOWNGRD\x00"):
            raise alert_error(A.illegal_parameter,
                              "TLS 1.3 ServerHello carries a downgrade sentinel")
        suite = SUITES[sh.cipher_suite]
        key_share = sh.ext(_KEY_SHARE)  # KeyShareServerHello (RFC 8446 §4.2.8)
        if key_share is None:
            raise alert_error(A.missing_extension, "ServerHello has no key_share")
        group, key_exchange = X.key_share_server_hello(key_share)
        if group not in self.key_shares:
            raise alert_error(A.illegal_parameter, f"ServerHello key_share uses "
                              f"{describe(NamedGroup, group)}, for which we sent no share")
        shared_secret = self.key_shares[group].exchange(key_exchange)
        self.suite, self.group = suite, group
        self.io.set_version(TLS13)

        if not self.hello_retry:
            self.transcript.start(suite.hash)
        self.transcript.add(self._last_server_hello_raw)
        hs = ks.EarlySecret(suite.hash).handshake(shared_secret)
        th = self.transcript.digest()
        self.client_hs_secret, self.server_hs_secret = hs.traffic_secrets(th)
        self.io.install_13("read", suite, self.server_hs_secret, "SERVER_HANDSHAKE_TRAFFIC_SECRET")
        self.io.log_secret("CLIENT_HANDSHAKE_TRAFFIC_SECRET", self.client_hs_secret)
        if self.io.tracing:
            self.io.trace("key_share", group=group,
                          client_share_len=len(self.key_shares[group].public_bytes()),
                          server_share_len=len(key_exchange),
                          shared_secret_len=len(shared_secret))
        return hs

    # --- EncryptedExtensions (RFC 8446 §4.3.1) --------------------------------------------
    def read_encrypted_extensions(self) -> Step[None]:
        msg: Message = yield _EXPECT_ENCRYPTED_EXTENSIONS
        ee: EncryptedExtensions = decode_repeated(EncryptedExtensions, msg.body)
        check_extensions(ee.extensions, _ENCRYPTED_EXTS, "EncryptedExtensions",
                         self.offered_exts | {_SUPPORTED_GROUPS})
        view_repeated(ee, X.ServerNameAck)  # must be empty when present
        alpn = view_repeated(ee, X.ALPN)
        if alpn is not None:
            self.alpn = negotiate.accept_alpn(alpn.protocols, self.config.alpn_protocols)
        self.transcript.add(msg.raw)
        return None

    # --- Certificate and CertificateVerify (RFC 8446 §4.4.2, §4.4.3) ----------------------
    def read_server_certificate(self) -> Step[None]:
        msg: Message = yield _EXPECT_REQUEST_OR_CERTIFICATE
        if msg.msg_type == _CERTIFICATE_REQUEST:
            cr: CertificateRequest13 = decode_repeated(CertificateRequest13, msg.body)
            check_extensions(cr.extensions, _CERT_REQUEST_EXTS | _unknown(cr.extensions),
                             "CertificateRequest")
            if cr.certificate_request_context != b"":
                raise alert_error(A.illegal_parameter, "CertificateRequest during the "
                                  "handshake must have an empty context")
            if not cr.has_ext(_SIGNATURE_ALGORITHMS):
                raise alert_error(A.missing_extension,
                                  "CertificateRequest has no signature_algorithms")
            self.cert_request = cr
            self.transcript.add(msg.raw)
            msg = yield _EXPECT_CERTIFICATE
        cert: Certificate13 = decode_repeated(Certificate13, msg.body)
        if cert.certificate_request_context != b"":
            raise alert_error(A.illegal_parameter,
                              "server Certificate must have an empty certificate_request_context")
        # RFC 8446 §4.4.2.4: an empty server Certificate is a decode_error.
        if not cert.certificate_list:
            raise alert_error(A.decode_error, "server sent an empty Certificate message")
        self.peer_chain = parse_certificates([e.cert_data for e in cert.certificate_list])
        if self.io.tracing:
            self.io.trace("certificate", chain=self.peer_chain)
        cfg = self.config
        name = self.server_name if cfg.check_hostname else None

        def builtin() -> VerifiedChain:
            return verify_server_chain(cfg.trust_store(), self.peer_chain, name)

        self.verified, self.verification = verify_peer_chain(
            self.peer_chain, verify=builtin, callback=cfg.verify_callback,
            skip=cfg.dangerously_skip_verification, io=self.io)
        self.transcript.add(msg.raw)

        msg = yield _EXPECT_CERTIFICATE_VERIFY
        cv: CertificateVerify = decode(CertificateVerify, msg.body)
        if cv.algorithm not in cfg.signature_schemes or \
                cv.algorithm in signatures.TLS13_CERTIFICATE_VERIFY_FORBIDDEN:
            raise alert_error(A.illegal_parameter, f"server signed with "
                              f"{describe(SignatureScheme, cv.algorithm)}, which we did not offer")
        signatures.verify(cv.algorithm, public_key(self.peer_chain[0]),
                          signatures.certificate_verify_input(self.transcript.digest(),
                                                              server=True), cv.signature)
        self.signature_scheme = cv.algorithm
        self.transcript.add(msg.raw)
        return None

    # --- Finished (RFC 8446 §4.4.4) -------------------------------------------------------
    def read_server_finished(self, hs: ks.HandshakeSecret) -> Step[None]:
        assert self.suite is not None
        msg: Message = yield _EXPECT_FINISHED
        fin: Finished = decode(Finished, msg.body)
        expected = ks.finished_verify_data(self.suite.hash, self.server_hs_secret,
                                           self.transcript.digest())
        # RFC 8446 §4.4.4: verify_data is Hash.length bytes; any other length is malformed.
        if len(fin.verify_data) != len(expected):
            raise alert_error(A.decode_error, f"server Finished is {len(fin.verify_data)} "
                              f"bytes, not {len(expected)}")
        if not ks.verify_finished(expected, fin.verify_data):
            raise alert_error(A.decrypt_error, "server Finished does not match the transcript")
        self.transcript.add(msg.raw)
        if self.io.tracing:
            self.io.trace("finished", sender="server", verify_data=fin.verify_data)
        return None

    def finish(self, hs: ks.HandshakeSecret) -> HandshakeResult:
        suite, io = self.suite, self.io
        assert suite is not None
        master = hs.master()
        th = self.transcript.digest()  # ClientHello..server Finished
        client_app, server_app, exporter = master.application_secrets(th)
        io.install_13("read", suite, server_app, "SERVER_TRAFFIC_SECRET_0")

        if self.config.middlebox_compat and not self.sent_ccs:
            io.send_ccs()
            self.sent_ccs = True
        io.install_13("write", suite, self.client_hs_secret, "")
        if self.cert_request is not None:
            self.send_client_certificate(self.cert_request, self.transcript)
        verify_data = ks.finished_verify_data(suite.hash, self.client_hs_secret,
                                              self.transcript.digest())
        self.transcript.add(io.send_message(Finished(verify_data)))
        if io.tracing:
            io.trace("finished", sender="client", verify_data=verify_data)
        io.install_13("write", suite, client_app, "CLIENT_TRAFFIC_SECRET_0")
        io.log_secret("EXPORTER_SECRET", exporter)
        self._resumption = (master, self.transcript)  # complete: only forks grow

        info = ConnectionInfo(
            version=TLS13, cipher_suite=int(suite.id), group=self.group,
            signature_scheme=self.signature_scheme, alpn_protocol=self.alpn,
            server_name=self.server_name, peer_certificates=tuple(self.peer_chain),
            verified=self.verified, verification=self.verification,
            hello_retry=self.hello_retry, client_auth=self.client_auth, kx="ECDHE")
        return HandshakeResult(info=info, suite=suite, read_secret=server_app,
                               write_secret=client_app, exporter_master_secret=exporter,
                               client_random=self.client_random)

    @property
    def resumption_master_secret(self) -> bytes:
        """RFC 8446 §7.1 "res master" over ClientHello..client Finished. Only session tickets
        need it, so it is derived when read, from the handshake's transcript (which nothing
        extends after the Finished: post-handshake authentication works on forks of it)."""
        master, transcript = self._resumption
        return master.resumption_master_secret(transcript.digest())

    # --- post-handshake authentication (RFC 8446 §4.6.2) -----------------------------------
    def answer_post_handshake_auth(self, msg: Message, client_app_secret: bytes) -> bool:
        """Answer a post-handshake CertificateRequest: Certificate, CertificateVerify and
        Finished over the handshake transcript plus this request. Returns whether a
        certificate was sent."""
        require(self.config.post_handshake_auth and bool(self.config.credentials),
                A.unexpected_message, "post-handshake CertificateRequest, but we did not "
                "offer post_handshake_auth")
        cr: CertificateRequest13 = decode(CertificateRequest13, msg.body)
        require(cr.certificate_request_context != b"", A.illegal_parameter,
                "post-handshake CertificateRequest needs a non-empty context")
        require(cr.has_ext(E.signature_algorithms), A.missing_extension,
                "CertificateRequest has no signature_algorithms")
        assert self.suite is not None
        transcript = self.transcript.fork()
        transcript.add(msg.raw)
        self.client_auth = False
        self.send_client_certificate(cr, transcript)
        # RFC 8446 §4.4: the Finished key comes from client_application_traffic_secret_N.
        verify_data = ks.finished_verify_data(self.suite.hash, client_app_secret,
                                              transcript.digest())
        self.io.send_message(Finished(verify_data))
        return self.client_auth

    # --- client authentication (RFC 8446 §4.4.2, §4.4.3) ----------------------------------
    def send_client_certificate(self, cr: CertificateRequest13, transcript: Transcript) -> None:
        """Send our Certificate (empty if nothing fits) and, with a certificate, its
        CertificateVerify. Used in the handshake and for post-handshake authentication."""
        chosen = choose_client_credential(self.config.credentials, cr)
        self.client_credential = chosen[0] if chosen is not None else None
        if chosen is None:
            transcript.add(self.io.send_message(
                Certificate13(cr.certificate_request_context, [])))
            self.io.trace("client_auth", outcome="no suitable certificate; sent empty")
            return
        cred, scheme = chosen
        transcript.add(self.io.send_message(certificate_message(
            self.io, cred, tls13=True, context=cr.certificate_request_context)))
        signature = self.io.sign(scheme, cred.private_key,
                                 signatures.certificate_verify_input(
                                     transcript.digest(), server=False))
        transcript.add(self.io.send_message(certificate_verify_message(self.io, scheme, signature)))
        self.client_auth = True
        if self.io.tracing:
            self.io.trace("client_auth", outcome="sent", scheme=scheme,
                          subject=cred.chain[0].subject.rfc4514_string())


@dataclass(frozen=True, slots=True)
class HelloTemplate:
    """What the ClientHello takes from the configuration alone (RFC 8446 §4.1.2)."""

    versions: tuple[int, ...]  # offered, highest first
    suites: tuple[int, ...]
    # Every extension between server_name and key_share, encoded.
    config_extensions: tuple[tuple[int, bytes], ...]
    # The same, as wire bytes: cipher_suites<2..2^16-2> with its length, and the
    # config_extensions each with its type and length (the middle of the extension block).
    suites_block: bytes = b""
    config_block: bytes = b""
    # The extension types offered: config_extensions' and key_share (if TLS 1.3 is offered),
    # with server_name or without it.
    offered: frozenset[int] = frozenset()
    offered_with_sni: frozenset[int] = frozenset()


_U16, _EXT_HEADER = U16, U16_PAIR  # extension_type, extension_data length (RFC 8446 §4.2)


def _key_share_extension(shares: dict[int, KeyShare]) -> bytes:
    """KeyShareClientHello (RFC 8446 §4.2.8): client_shares<0..2^16-1>, each a group and its
    key_exchange<1..2^16-1>; the same bytes as ``X.KeyShareClientHello(...).encode()``."""
    entries = b"".join([_EXT_HEADER.pack(group, len(share.public_bytes())) + share.public_bytes()
                        for group, share in shares.items()])
    return _U16.pack(len(entries)) + entries


def _encode_hello(template: HelloTemplate, random: bytes, session_id: bytes,
                  server_name: bytes | None, key_share: bytes | None) -> bytes:
    """The framed ClientHello (RFC 8446 §4.1.2) that ``ClientHello.to_bytes()`` makes for
    these fields and extensions (server_name, the template's, key_share): only the random,
    the session id and the two per-connection extensions are encoded per handshake."""
    block = template.config_block
    if server_name is not None:
        block = _EXT_HEADER.pack(_SERVER_NAME, len(server_name)) + server_name + block
    if key_share is not None:
        block += _EXT_HEADER.pack(_KEY_SHARE, len(key_share)) + key_share
    if len(block) > 0xFFFF:  # as the Writer refuses it
        raise ValueError(f"{len(block)} bytes do not fit a 2-byte length prefix")
    body = b"".join((b"\x03\x03", random, U8[len(session_id)], session_id,
                     template.suites_block, b"\x01\x00", _U16.pack(len(block)), block))
    return frame_handshake(_CLIENT_HELLO, body)



def hello_template(cfg: ClientConfig) -> HelloTemplate:
    """Computed once per configuration: configs are frozen, so it is stored on the config."""
    cached: HelloTemplate | None = cfg.__dict__.get("_hello_template")
    if cached is None:
        cached = _build_hello_template(cfg)
        object.__setattr__(cfg, "_hello_template", cached)
    return cached


def _build_hello_template(cfg: ClientConfig) -> HelloTemplate:
    from lucidtls.handshake.negotiate import enabled_suites
    versions = [int(v) for v in sorted(cfg.versions, reverse=True)]
    suites = [s for s in enabled_suites(cfg.cipher_suites, cfg.allow_rsa_key_exchange)
              if SUITES[s].version in versions]
    # Offer only the versions we have a cipher suite for (a TLS 1.3 server would otherwise
    # pick 1.3 and find no suite in common).
    versions = [v for v in versions if any(SUITES[s].version == v for s in suites)]
    exts: list[tuple[int, bytes]] = []
    if TLS12 in versions:
        exts.append((E.extended_master_secret, b""))
        exts.append((E.renegotiation_info, X.RenegotiationInfo(b"").encode()))
        exts.append((E.ec_point_formats, X.ECPointFormats([0]).encode()))
    exts.append((E.supported_groups, X.SupportedGroups([int(g) for g in cfg.groups]).encode()))
    exts.append((E.signature_algorithms,
                 X.SignatureAlgorithms([int(s) for s in cfg.signature_schemes]).encode()))
    if cfg.alpn_protocols:
        exts.append((E.application_layer_protocol_negotiation,
                     X.ALPN([p.encode() for p in cfg.alpn_protocols]).encode()))
    if cfg.post_handshake_auth and cfg.credentials:
        exts.append((E.post_handshake_auth, b""))
    exts.append((E.supported_versions, X.SupportedVersionsClient(versions).encode()))
    config_extensions = tuple((int(t), data) for t, data in exts)
    offered = frozenset(t for t, _ in config_extensions) | \
        ({int(E.key_share)} if TLS13 in versions else set())
    return HelloTemplate(
        tuple(versions), tuple(suites), config_extensions,
        suites_block=_U16.pack(2 * len(suites)) + b"".join(_U16.pack(s) for s in suites),
        config_block=b"".join(_EXT_HEADER.pack(t, len(data)) + data
                              for t, data in config_extensions),
        offered=offered, offered_with_sni=offered | {int(E.server_name)})


@functools.lru_cache(maxsize=64)
def _server_name_extension(host_name: str) -> bytes:
    """server_name's extension_data naming *host_name* (RFC 6066 §3): the same on every
    connection to that host, so encoded once per name."""
    return X.ServerNameList([host_name]).encode()


def choose_client_credential(credentials: tuple[Credential, ...],
                             cr: CertificateRequest13) -> tuple[Credential, int] | None:
    """A credential whose key can sign with a scheme the server accepts, preferring one issued
    under an authority the server named (RFC 8446 §4.2.4)."""
    sa = view_repeated(cr, X.SignatureAlgorithms)
    schemes = sa.schemes if sa is not None else []
    cas = view_repeated(cr, X.CertificateAuthorities)
    names = set(cas.authorities) if cas is not None else set()
    ordered = list(credentials)
    if names:
        ordered = [c for c in ordered if _issued_under(c, names)]
    for cred in ordered:
        scheme = negotiate.choose_signature_scheme(schemes, cred, TLS13)
        if scheme is not None:
            return cred, scheme
    return None


def _issued_under(cred: Credential, names: set[bytes]) -> bool:
    return not cred.chain_names.isdisjoint(names)


_KNOWN_EXTENSIONS = frozenset(int(e) for e in ExtensionType)


def _unknown(extensions: list[tuple[int, bytes]]) -> set[int]:
    """Extensions we do not recognise are ignored (RFC 8446 §4.2)."""
    return {t for t, _ in extensions if t not in _KNOWN_EXTENSIONS}




__all__ = ["ClientHandshake", "alert_error", "choose_client_credential"]
