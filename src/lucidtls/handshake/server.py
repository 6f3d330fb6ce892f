"""The server's handshake, TLS 1.3 (RFC 8446 §4), as one procedure that reads in protocol order."""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from cryptography import x509

from lucidtls.crypto import keyschedule as ks
from lucidtls.crypto import signatures
from lucidtls.crypto.groups import server_key_share
from lucidtls.crypto.suites import Suite
from lucidtls.errors import alert_error
from lucidtls.handshake import negotiate
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
    decode,
    decode_repeated,
    expect,
    parse_certificates,
    parse_view,
    preencoded,
    require,
    server_hello_message,
    verify_peer_chain,
)
from lucidtls.handshake.server12 import run_server12
from lucidtls.handshake.transcript import Transcript
from lucidtls.info import ConnectionInfo
from lucidtls.pki.parsed import public_key
from lucidtls.pki.trust import verify_client_chain
from lucidtls.wire import extensions as X
from lucidtls.wire.enums import (
    AlertDescription,
    CipherSuite,
    ExtensionType,
    HandshakeType,
    ProtocolVersion,
    describe_list,
    version_label,
)
from lucidtls.wire.messages import (
    HRR_RANDOM,
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
    from lucidtls.config import ClientHelloInfo, ServerConfig
    from lucidtls.pki.credentials import Credential
    from lucidtls.pki.trust import VerifiedChain
    from lucidtls.wire.extensions import V

A = AlertDescription
E = ExtensionType
HT = HandshakeType
TLS13 = int(ProtocolVersion.TLS1_3)
TLS12 = int(ProtocolVersion.TLS1_2)
# What each step waits for (one shared Expect each).
_EXPECT_CLIENT_HELLO = expect(HT.CLIENT_HELLO)
_EXPECT_CERTIFICATE = expect(HT.CERTIFICATE)
_EXPECT_CERTIFICATE_VERIFY = expect(HT.CERTIFICATE_VERIFY)
_EXPECT_FINISHED = expect(HT.FINISHED)
_SELECTED_TLS13 = X.SupportedVersionsServer(TLS13).encode()  # RFC 8446 §4.2.1


# A TLS 1.3 ServerHello's extension block (RFC 8446 §4.1.3): its length, then key_share's type,
# length, group and key_exchange length (KeyShareServerHello, §4.2.8), ..., then
# supported_versions selecting TLS 1.3 (§4.2.1).
_SERVER_HELLO_13_EXTENSIONS = struct.Struct(">HHHHH")
# Read on every handshake: module globals, not enum class attributes (each of those reads
# costs about as much as ten global reads).
_SERVER_HELLO, _KEY_SHARE = int(HT.SERVER_HELLO), int(E.key_share)
_SUPPORTED_VERSIONS_13 = U16_PAIR.pack(E.supported_versions, 2) + _SELECTED_TLS13


def _server_hello_13(random: bytes, session_id: bytes, cipher_suite: int, group: int,
                     key_exchange: bytes) -> bytes:
    """The framed ServerHello that ``server_hello_message`` makes with the key_share and
    supported_versions extensions, in that order."""
    n = len(key_exchange)
    return frame_handshake(_SERVER_HELLO, b"".join((
        b"\x03\x03", random, U8[len(session_id)], session_id, U16.pack(cipher_suite), b"\x00",
        _SERVER_HELLO_13_EXTENSIONS.pack(n + 14, _KEY_SHARE, n + 4, group, n), key_exchange,
        _SUPPORTED_VERSIONS_13)))


class ServerHandshake:
    """One server handshake: the state that is valid across its steps."""

    def __init__(self, io: HandshakeIO, config: ServerConfig) -> None:
        self.io = io
        self.config = config
        self.transcript = Transcript()
        self.client_hello: ClientHello | None = None
        self.server_name: str | None = None
        self.suite: Suite | None = None
        self.group: int | None = None
        # The client's key shares by group, parsed once (from the second ClientHello after a
        # retry).
        self.client_shares: dict[int, bytes] | None = None
        self.alpn: str | None = None
        self.hello_retry = False
        self.credential: Credential | None = None
        self.signature_scheme: int | None = None
        self.peer_chain: list[x509.Certificate] = []
        self.verified: VerifiedChain | None = None
        self.verification = "none"
        self.client_auth = False
        self.client_random = b""
        self.server_random = b""
        self.client_exts: dict[int, bytes] = {}  # the ClientHello's, by type
        self.needs_retry = False
        self.sent_ccs = False

    # --- the procedure ------------------------------------------------------------------
    def run(self) -> Procedure:
        ch, raw = yield from self.read_client_hello()
        version = self.choose_version(ch)
        if version != TLS13:
            return (yield from run_server12(self, ch, raw, version))
        self.transcript.add(raw)
        self.choose_parameters(ch)
        if self.needs_retry:
            ch = yield from self.send_hello_retry_request(ch)
        hs = self.send_server_hello(ch)
        self.send_encrypted_extensions(ch)
        if self.config.verify_client != "none":
            self.send_certificate_request()
        self.send_certificate_and_verify()
        server_app, client_app, exporter = self.send_finished(hs)
        if self.config.verify_client != "none":
            yield from self.read_client_certificate()
        yield from self.read_client_finished()
        return self.finish(server_app, client_app, exporter)

    @property
    def suite_(self) -> Suite:
        assert self.suite is not None
        return self.suite

    # --- ClientHello (RFC 8446 §4.1.2) ----------------------------------------------------
    def read_client_hello(self) -> Step[tuple[ClientHello, bytes]]:
        msg: Message = yield _EXPECT_CLIENT_HELLO
        ch: ClientHello = decode(ClientHello, msg.body)
        self.client_hello = ch
        self.client_exts = dict(ch.extensions)  # decode refused duplicates
        self.client_random = ch.random
        sni = self.view(X.ServerNameList)
        self.server_name = sni.host_names[0] if sni is not None and sni.host_names else None
        return ch, msg.raw

    def view(self, view_cls: type[V]) -> V | None:
        """The ClientHello's extension parsed with *view_cls* (strict), or ``None`` when absent:
        ``ch.view``, but looked up in a dict (half a dozen of a dozen are read), and parsed
        once per distinct extension_data (common.parse_view): a client sends the same
        server_name, versions, groups, schemes and ALPN list on every connection. Its key
        shares are new each time, so choose_parameters parses those directly."""
        data = self.client_exts.get(view_cls.ext_type)  # common.view_in, without its frame
        return None if data is None else parse_view(view_cls, data)

    def choose_version(self, ch: ClientHello) -> int:
        enabled = self.config.versions
        sv = self.view(X.SupportedVersionsClient)
        if sv is not None:
            offered = list(sv.versions)
        else:
            # RFC 8446 §4.2.1: without supported_versions the client speaks at most
            # legacy_version, which must then be TLS 1.2 for us.
            offered = [TLS12] if ch.legacy_version >= TLS12 else []
        version = negotiate.choose_version(offered, enabled)
        if version is None:
            names = ", ".join(version_label(v) for v in offered) or \
                version_label(ch.legacy_version)
            raise alert_error(A.protocol_version,
                              f"client offers {names}; we support "
                              f"{', '.join(version_label(v) for v in enabled)}")
        if self.io.tracing:
            self.io.trace("version", offered=offered, chosen=version)
        return version

    def choose_parameters(self, ch: ClientHello) -> None:
        cfg = self.config
        # RFC 8446 §4.1.2: exactly the null compression method in TLS 1.3.
        if ch.legacy_compression_methods != b"\x00":
            raise alert_error(A.illegal_parameter,
                              "TLS 1.3 ClientHello must offer only the null compression method")
        if ch.legacy_version != TLS12:
            raise alert_error(A.protocol_version,
                              "ClientHello.legacy_version must be 0x0303 when offering TLS 1.3")
        suite = negotiate.choose_suite(ch.cipher_suites, cfg.cipher_suites, TLS13)
        if suite is None:
            raise alert_error(A.handshake_failure, "no TLS 1.3 cipher suite in common (client "
                              f"offers {describe_list(CipherSuite, ch.cipher_suites)})")
        self.suite = suite

        groups = self.view(X.SupportedGroups)
        shares_data = self.client_exts.get(_KEY_SHARE)
        shares = None if shares_data is None else X.key_shares_by_group(shares_data)
        if groups is None:
            raise alert_error(A.missing_extension, "ClientHello has no supported_groups")
        if shares is None:
            raise alert_error(A.missing_extension, "ClientHello has no key_share")
        self.client_shares = shares
        share_groups = list(shares)
        # RFC 8446 §4.2.8: each share must be for a group listed in supported_groups.
        for g in share_groups:
            if g not in groups.groups:
                raise alert_error(A.illegal_parameter, f"key share for group 0x{g:04x} that "
                                  "supported_groups does not list")
        group, retry = negotiate.choose_group(groups.groups, share_groups, cfg.groups)
        if group is None:
            raise alert_error(A.handshake_failure, "no key-exchange group in common")
        self.group, self.needs_retry = group, retry

        sigalgs = self.view(X.SignatureAlgorithms)
        if sigalgs is None:
            raise alert_error(A.missing_extension,
                              "ClientHello has no signature_algorithms (RFC 8446 §4.2.3)")
        self.credential, self.signature_scheme = self.select_credential(ch, sigalgs.schemes)
        alpn = self.view(X.ALPN)
        self.alpn = negotiate.choose_alpn(alpn.protocols if alpn else [], cfg.alpn_protocols)

    def select_credential(self, ch: ClientHello, schemes: list[int]) -> tuple[Credential, int]:
        cfg = self.config
        credentials: Sequence[Credential] = cfg.credentials
        if cfg.select_credential is not None:
            chosen = cfg.select_credential(self.hello_info(ch))
            if chosen is not None:
                credentials = [chosen]
        pick = negotiate.choose_credential(credentials, self.server_name, schemes, TLS13)
        if pick is None:
            raise alert_error(A.handshake_failure,
                              "no certificate whose key can sign with a scheme the client accepts")
        return pick

    def hello_info(self, ch: ClientHello) -> ClientHelloInfo:
        from lucidtls.config import ClientHelloInfo
        groups = self.view(X.SupportedGroups)
        sig = self.view(X.SignatureAlgorithms)
        alpn = self.view(X.ALPN)
        sv = self.view(X.SupportedVersionsClient)
        return ClientHelloInfo(
            server_name=self.server_name, cipher_suites=tuple(ch.cipher_suites),
            groups=tuple(groups.groups) if groups else (),
            signature_schemes=tuple(sig.schemes) if sig else (),
            alpn_protocols=tuple(p.decode("latin-1") for p in alpn.protocols) if alpn else (),
            versions=tuple(sv.versions) if sv else (ch.legacy_version,))

    # --- HelloRetryRequest (RFC 8446 §4.1.4) ----------------------------------------------
    def send_hello_retry_request(self, ch1: ClientHello) -> Step[ClientHello]:
        suite, group = self.suite_, self.group
        assert group is not None
        hrr = ServerHello(random=HRR_RANDOM, legacy_session_id_echo=ch1.legacy_session_id,
                          cipher_suite=int(suite.id), extensions=[
                              (E.supported_versions, _SELECTED_TLS13),
                              (E.key_share, X.KeyShareHelloRetryRequest(group).encode())])
        self.transcript.start(suite.hash)
        self.transcript.replace_with_message_hash()
        self.transcript.add(self.io.send_message(hrr))
        self.hello_retry = True
        if ch1.legacy_session_id:
            self.io.send_ccs()  # RFC 8446 Appendix D.4
            self.sent_ccs = True
        self.io.trace("hello_retry", group=group)

        msg: Message = yield _EXPECT_CLIENT_HELLO
        ch2: ClientHello = decode(ClientHello, msg.body)
        # RFC 8446 §4.1.2: the second hello repeats the first, with the new key share.
        require(ch2.random == ch1.random and ch2.legacy_session_id == ch1.legacy_session_id
                and ch2.cipher_suites == ch1.cipher_suites, A.illegal_parameter,
                "second ClientHello differs from the first beyond what the retry allows")
        sv = ch2.view(X.SupportedVersionsClient)
        require(sv is not None and TLS13 in sv.versions, A.illegal_parameter,
                "second ClientHello no longer offers TLS 1.3")
        shares = ch2.view(X.KeyShareClientHello)
        if shares is None or len(shares.entries) != 1 or shares.entries[0].group != group:
            raise alert_error(A.illegal_parameter, "second ClientHello must carry exactly one "
                              "key share, for the requested group")
        self.client_shares = {group: shares.entries[0].key_exchange}
        self.client_hello = ch2
        self.client_exts = dict(ch2.extensions)
        self.transcript.add(msg.raw)
        return ch2

    # --- ServerHello (RFC 8446 §4.1.3) ----------------------------------------------------
    def send_server_hello(self, ch: ClientHello) -> ks.HandshakeSecret:
        suite, group, io = self.suite, self.group, self.io
        assert suite is not None and group is not None
        shares = self.client_shares
        assert shares is not None
        client_share = shares[group]
        server_share, shared_secret = server_key_share(
            group, client_share, private_bytes=io.key_share_private(group))
        self.server_random = io.random(32)
        if io.reshaping:
            sh = server_hello_message(io, self.server_random, ch.legacy_session_id,
                                      int(suite.id), [
                # KeyShareServerHello (RFC 8446 §4.2.8): group, key_exchange<1..2^16-1>
                (E.key_share, U16_PAIR.pack(group, len(server_share)) + server_share),
                (E.supported_versions, _SELECTED_TLS13)])
        else:  # the same bytes, encoded directly
            sh = Encoded(_server_hello_13(self.server_random, ch.legacy_session_id,
                                          suite.id, group, server_share))
        if not self.hello_retry:
            self.transcript.start(suite.hash)
        self.transcript.add(io.send_message(sh))
        io.set_version(TLS13)
        if ch.legacy_session_id and not self.hello_retry:
            io.send_ccs()  # RFC 8446 Appendix D.4
        if io.tracing:
            io.trace("key_share", group=group, client_share_len=len(client_share),
                     server_share_len=len(server_share), shared_secret_len=len(shared_secret))

        hs = ks.EarlySecret(suite.hash).handshake(shared_secret)
        th = self.transcript.digest()
        self.client_hs_secret, self.server_hs_secret = hs.traffic_secrets(th)
        io.install_13("write", suite, self.server_hs_secret, "SERVER_HANDSHAKE_TRAFFIC_SECRET")
        io.install_13("read", suite, self.client_hs_secret, "CLIENT_HANDSHAKE_TRAFFIC_SECRET")
        return hs

    # --- EncryptedExtensions (RFC 8446 §4.3.1) --------------------------------------------
    def send_encrypted_extensions(self, ch: ClientHello) -> None:
        # It depends on whether the client sent SNI and on the protocol chosen among our own:
        # a handful of messages per configuration, each encoded once.
        acknowledge_sni, alpn = self.server_name is not None, self.alpn

        def build() -> EncryptedExtensions:
            exts: list[tuple[int, bytes]] = []
            if acknowledge_sni:
                exts.append((E.server_name, b""))  # RFC 6066 §3: an empty acknowledgement
            if alpn is not None:
                exts.append((E.application_layer_protocol_negotiation,
                             X.ALPN([alpn.encode()]).encode()))
            return EncryptedExtensions(exts)

        self.transcript.add(self.io.send_message(preencoded(
            self.io, self.config, ("encrypted_extensions", acknowledge_sni, alpn), build)))

    def certificate_request_extensions(self) -> list[tuple[int, bytes]]:
        """RFC 8446 §4.3.2: the schemes we verify, and the CAs we trust for clients. They
        depend on the (frozen) configuration alone, so they are encoded once and kept on it."""
        cfg = self.config
        cached: list[tuple[int, bytes]] | None = cfg.__dict__.get("_certificate_request_exts")
        if cached is None:
            cached = self._build_certificate_request_extensions()
            object.__setattr__(cfg, "_certificate_request_exts", cached)
        return list(cached)

    def _build_certificate_request_extensions(self) -> list[tuple[int, bytes]]:
        cfg = self.config
        exts: list[tuple[int, bytes]] = [(E.signature_algorithms, X.SignatureAlgorithms(
            [int(s) for s in cfg.signature_schemes]).encode())]
        if cfg.client_trust is not None and cfg.client_trust.subjects:
            exts.append((E.certificate_authorities,
                         X.CertificateAuthorities(list(cfg.client_trust.subjects)).encode()))
        return exts

    def send_certificate_request(self) -> None:
        self.transcript.add(self.io.send_message(preencoded(
            self.io, self.config, "certificate_request",
            lambda: CertificateRequest13(b"", self.certificate_request_extensions()))))

    def send_certificate_and_verify(self) -> None:
        cred, scheme = self.credential, self.signature_scheme
        assert cred is not None and scheme is not None
        self.transcript.add(self.io.send_message(certificate_message(self.io, cred, tls13=True)))
        content = signatures.certificate_verify_input(self.transcript.digest(), server=True)
        signature = self.io.sign(scheme, cred.private_key, content)
        self.transcript.add(self.io.send_message(
            certificate_verify_message(self.io, scheme, signature)))

    def send_finished(self, hs: ks.HandshakeSecret) -> tuple[bytes, bytes, bytes]:
        suite, io = self.suite, self.io
        assert suite is not None
        verify_data = ks.finished_verify_data(suite.hash, self.server_hs_secret,
                                              self.transcript.digest())
        self.transcript.add(io.send_message(Finished(verify_data)))
        if io.tracing:
            io.trace("finished", sender="server", verify_data=verify_data)
        master = hs.master()
        th = self.transcript.digest()  # ClientHello..server Finished
        client_app, server_app, exporter = master.application_secrets(th)
        io.install_13("write", suite, server_app, "SERVER_TRAFFIC_SECRET_0")
        io.log_secret("EXPORTER_SECRET", exporter)
        self.master = master
        return server_app, client_app, exporter

    # --- client authentication (RFC 8446 §4.4.2) ------------------------------------------
    def read_client_certificate(self, context: bytes = b"", required: bool | None = None
                                ) -> Step[None]:
        msg: Message = yield _EXPECT_CERTIFICATE
        cert: Certificate13 = decode_repeated(Certificate13, msg.body)
        if cert.certificate_request_context != context:
            raise alert_error(A.illegal_parameter,
                              "client Certificate does not echo our certificate_request_context")
        self.transcript.add(msg.raw)
        if required is None:
            required = self.config.verify_client == "required"
        if not cert.certificate_list:
            require(not required, A.certificate_required,
                    "the client sent no certificate, and one is required")
            self.io.trace("client_auth", outcome="no certificate")
            return None
        self.peer_chain = parse_certificates([e.cert_data for e in cert.certificate_list])
        if self.io.tracing:
            self.io.trace("certificate", chain=self.peer_chain)
        yield from self.verify_client_chain_and_signature()
        return None

    def verify_client_chain_and_signature(self) -> Step[None]:
        cfg = self.config

        def builtin() -> VerifiedChain:
            assert cfg.client_trust is not None
            return verify_client_chain(cfg.client_trust, self.peer_chain)

        self.verified, self.verification = verify_peer_chain(
            self.peer_chain, verify=builtin, callback=cfg.verify_callback, skip=False,
            io=self.io)
        msg: Message = yield _EXPECT_CERTIFICATE_VERIFY
        cv: CertificateVerify = decode(CertificateVerify, msg.body)
        if cv.algorithm not in cfg.signature_schemes or \
                cv.algorithm in signatures.TLS13_CERTIFICATE_VERIFY_FORBIDDEN:
            raise alert_error(A.illegal_parameter, f"client signed with scheme "
                              f"0x{cv.algorithm:04x}, which we did not offer")
        signatures.verify(cv.algorithm, public_key(self.peer_chain[0]),
                          signatures.certificate_verify_input(self.transcript.digest(),
                                                              server=False), cv.signature)
        self.transcript.add(msg.raw)
        self.client_auth = True
        if self.io.tracing:
            self.io.trace("client_auth", outcome="verified",
                          subject=self.peer_chain[0].subject.rfc4514_string())
        return None

    # --- post-handshake authentication (RFC 8446 §4.6.2) -----------------------------------
    def post_handshake_auth(self, client_app_secret: Callable[[], bytes],
                            required: bool) -> Procedure:
        """Request a client certificate after the handshake and check the answer; returns
        the updated ConnectionInfo fields as a dict."""
        handshake_transcript = self.transcript
        self.transcript = handshake_transcript.fork()
        try:
            context = self.io.random(16)
            self.transcript.add(self.io.send_message(
                CertificateRequest13(context, self.certificate_request_extensions())))
            self.client_auth = False
            yield from self.read_client_certificate(context, required)
            msg: Message = yield _EXPECT_FINISHED
            fin: Finished = decode(Finished, msg.body)
            expected = ks.finished_verify_data(self.suite_.hash, client_app_secret(),
                                               self.transcript.digest())
            require(ks.verify_finished(expected, fin.verify_data), A.decrypt_error,
                    "client Finished (post-handshake auth) does not match the transcript")
        finally:
            self.transcript = handshake_transcript
        return HandshakeResult(info=None, suite=self.suite_,  # type: ignore[arg-type]
                               extras={"peer_chain": self.peer_chain,
                                       "verified": self.verified,
                                       "verification": self.verification,
                                       "client_auth": self.client_auth})

    def read_client_finished(self) -> Step[None]:
        msg: Message = yield _EXPECT_FINISHED
        fin: Finished = decode(Finished, msg.body)
        suite = self.suite
        assert suite is not None
        expected = ks.finished_verify_data(suite.hash, self.client_hs_secret,
                                           self.transcript.digest())
        # RFC 8446 §4.4.4: verify_data is Hash.length bytes; any other length is malformed.
        if len(fin.verify_data) != len(expected):
            raise alert_error(A.decode_error, f"client Finished is {len(fin.verify_data)} "
                              f"bytes, not {len(expected)}")
        if not ks.verify_finished(expected, fin.verify_data):
            raise alert_error(A.decrypt_error, "client Finished does not match the transcript")
        self.transcript.add(msg.raw)
        if self.io.tracing:
            self.io.trace("finished", sender="client", verify_data=fin.verify_data)
        self._resumption = (self.master, self.transcript)  # complete: only forks grow
        return None

    @property
    def resumption_master_secret(self) -> bytes:
        """RFC 8446 §7.1 "res master" over ClientHello..client Finished. Only session tickets
        need it, so it is derived when read, from the handshake's transcript (which nothing
        extends after the Finished: post-handshake authentication works on forks of it)."""
        master, transcript = self._resumption
        return master.resumption_master_secret(transcript.digest())

    def finish(self, server_app: bytes, client_app: bytes, exporter: bytes) -> HandshakeResult:
        """Read with the client's application traffic keys; what was negotiated."""
        suite = self.suite
        assert suite is not None
        self.io.install_13("read", suite, client_app, "CLIENT_TRAFFIC_SECRET_0")
        info = ConnectionInfo(
            version=TLS13, cipher_suite=int(suite.id), group=self.group,
            signature_scheme=self.signature_scheme, alpn_protocol=self.alpn,
            server_name=self.server_name, peer_certificates=tuple(self.peer_chain),
            verified=self.verified, verification=self.verification,
            hello_retry=self.hello_retry, client_auth=self.client_auth, kx="ECDHE")
        return HandshakeResult(info=info, suite=suite, read_secret=client_app,
                               write_secret=server_app, exporter_master_secret=exporter,
                               client_random=self.client_random,
                               server_random=self.server_random)
