"""The steps of the story, one function each: the classic claim, this connection's values, and
the correction. ``narrate.narrate`` calls them with the facts it gathered from the trace."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from lucidtls.explain.decode import (
    MessageView,
    group_name,
    scheme_name,
    short_hex,
    suite_name,
    version_name,
)
from lucidtls.pki.credentials import describe_public_key
from lucidtls.pki.trust import describe_certificate
from lucidtls.wire import extensions as X
from lucidtls.wire.enums import ExtensionType, NamedGroup, ProtocolVersion
from lucidtls.wire.messages import DOWNGRADE_TLS12

if TYPE_CHECKING:
    from lucidtls.explain.narrate import _Facts

TLS13 = int(ProtocolVersion.TLS1_3)

# RFC 8446 §7.1 names of the secrets behind the NSS key-log labels.
RFC_NAMES = {
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET": 'client_handshake_traffic_secret ("c hs traffic")',
    "SERVER_HANDSHAKE_TRAFFIC_SECRET": 'server_handshake_traffic_secret ("s hs traffic")',
    "CLIENT_TRAFFIC_SECRET_0": 'client_application_traffic_secret_0 ("c ap traffic")',
    "SERVER_TRAFFIC_SECRET_0": 'server_application_traffic_secret_0 ("s ap traffic")',
    "EXPORTER_SECRET": 'exporter_master_secret ("exp master")',
    "CLIENT_RANDOM": "master_secret (TLS 1.2; the key-log line is keyed by the client random)",
}


@dataclass
class Step:
    number: str  # "1".."8"; "3b", "5b" for the client-authentication steps of mutual TLS
    title: str
    classic: str  # what the simple story says
    happened: list[str]  # what happened in this connection, with values
    wrong: str  # where the simple story is wrong for this connection ("" when it holds)
    messages: list[str] = field(default_factory=list)


def cert_line(cert: x509.Certificate) -> str:
    d = describe_certificate(cert)
    sans = f", SAN {', '.join(d['sans'])}" if d["sans"] else ""
    return (f"subject {d['subject']}, issuer {d['issuer']}, valid {d['not_before'][:19]} to "
            f"{d['not_after'][:19]}, key {d['key_type']}{sans}")


def _shares(view: MessageView | None) -> str:
    if view is None or view.obj is None:
        return "(not seen)"
    ks = view.obj.view(X.KeyShareClientHello)
    if ks is None:
        return "none"
    return ", ".join(f"{group_name(e.group)} ({len(e.key_exchange)} bytes)"
                     for e in ks.entries) or "none (empty list)"


def _ext_list(view: MessageView | None, cls: type, attr: str, fmt: object) -> str:
    if view is None or view.obj is None:
        return "(not seen)"
    ext = view.obj.view(cls)
    if ext is None:
        return "(extension absent)"
    return ", ".join(fmt(v) for v in getattr(ext, attr))  # type: ignore[operator]


# --- 1 ---------------------------------------------------------------------------------------
def step1(f: _Facts) -> Step:
    ch = f.ch1.obj if f.ch1 is not None else None
    h: list[str] = []
    if ch is not None:
        h.append(f"Client random: {ch.random.hex()}")
        h.append("Versions offered: " + _ext_list(f.ch1, X.SupportedVersionsClient, "versions",
                                                   version_name)
                 + f" (supported_versions); legacy_version field says "
                 f"{version_name(ch.legacy_version)}")
        h.append("Cipher suites offered: " + ", ".join(suite_name(s) for s in ch.cipher_suites))
        h.append("Groups: " + _ext_list(f.ch1, X.SupportedGroups, "groups", group_name))
        shares = ch.view(X.KeyShareClientHello)
        if f.tls13 or (shares is not None and shares.entries):
            h.append("Key shares sent with the hello: " + _shares(f.ch1))
        sni = ch.view(X.ServerNameList)
        if sni is not None:
            h.append(f"Server name (SNI, in the clear): {', '.join(sni.host_names)}")
        h.append("Signature algorithms accepted: " + _ext_list(
            f.ch1, X.SignatureAlgorithms, "schemes", scheme_name))
        if f.hrr is not None and f.hrr.obj is not None:
            want = f.hrr.obj.view(X.KeyShareHelloRetryRequest)
            asked = group_name(want.selected_group) if want is not None else "(a cookie)"
            h.append(f"HelloRetryRequest: the server supports none of the offered shares and "
                     f"asks for {asked}; the client sent a second ClientHello (same random) "
                     f"with key share {_shares(f.ch2)}")
    else:
        h.append("No ClientHello in this trace.")
    if f.tls13:
        wrong = ("TLS 1.3's ClientHello already carries the client's half of the key "
                 "exchange (key_share), guessing which groups the server takes, so the key "
                 "exchange of step 4 starts here, before any certificate. The real version "
                 "list is in the supported_versions extension; legacy_version stays "
                 "\"TLS 1.2\" so that old middleboxes let the hello through.")
        if f.hrr is not None:
            wrong += (" Here the guess missed: the server answered with a HelloRetryRequest "
                      "and the hello was sent twice, costing a round trip.")
    else:
        sv = ch.view(X.SupportedVersionsClient) if ch is not None else None
        both = sv is not None and TLS13 in sv.versions
        wrong = ("Nearly as told for TLS 1.2. The hello also lists groups and signature "
                 "algorithms and asks for the extended master secret (RFC 7627). "
                 + ("The client offered TLS 1.3 too, and the server chose the older version "
                    "(which the client accepts only because it allows TLS 1.2)."
                    if both else "This client offered TLS 1.2 only."))
    return Step("1", "ClientHello: the client says hello",
                "The client sends the TLS versions and cipher suites it supports and a random "
                "number (client random).", h, wrong, ["ClientHello"])


# --- 2 ---------------------------------------------------------------------------------------
def step2(f: _Facts) -> Step:
    h: list[str] = []
    sh = f.sh.obj if f.sh is not None else None
    if sh is not None:
        note = " (ends in the TLS 1.2 downgrade sentinel DOWNGRD\\x01, RFC 8446 §4.1.3)" \
            if sh.random[-8:] == DOWNGRADE_TLS12 else ""
        h.append(f"Server random: {sh.random.hex()}{note}")
        h.append(f"Chosen version: {version_name(f.version)}; cipher suite: "
                 f"{suite_name(sh.cipher_suite)}")
        if f.tls13:
            ks = sh.view(X.KeyShareServerHello)
            if ks is not None:
                h.append(f"Group chosen: {group_name(ks.entry.group)}; the server's key share "
                         f"({len(ks.entry.key_exchange)} bytes) is in the ServerHello")
    if f.server_cert is not None:
        for i, cert in enumerate(f.server_cert.certificates):
            h.append(f"Certificate [{i}]: {cert_line(cert)}")
        where = f.server_cert.keys or "in the clear"
        h.append(f"The Certificate message travelled {'under ' if f.server_cert.protected else ''}"
                 f"{where}")
    if f.tls13:
        flight = [m.name for m in f.msgs if m.sender == "server" and m.name not in (
            "HelloRetryRequest", "ChangeCipherSpec") and not m.name.startswith("Alert")
            and m.name not in ("NewSessionTicket", "KeyUpdate")]
        h.append("Server's flight: " + ", ".join(flight) + " — everything after ServerHello "
                 "encrypted")
        wrong = ("The certificate is not sent in the clear: ServerHello's key share already "
                 "completes the key exchange, and everything after it (EncryptedExtensions, "
                 "Certificate, CertificateVerify, Finished) is encrypted with handshake traffic "
                 "keys. An eavesdropper sees the SNI but not the certificate.")
    else:
        extra = [n for n, present in (("ServerKeyExchange", f.kx == "ECDHE"),
                                      ("CertificateRequest", f.cert_request is not None))
                 if present]
        also = f" The server also sends {' and '.join(extra)}, and" if extra else \
            " The server's"
        tail = " its flight" if extra else " flight"
        wrong = (f"Right for TLS 1.2: the Certificate travels in the clear, so anyone on the path "
                 f"sees whose certificate it is.{also}{tail} ends with ServerHelloDone.")
    return Step("2", "ServerHello and the server's certificate",
                "The server picks a version and cipher suite, sends its own random number and "
                "its certificate, which holds its public key.", h, wrong,
                ["ServerHello", "Certificate"])


# --- 3 ---------------------------------------------------------------------------------------
def _verification(f: _Facts, verifier: str, what: str) -> list[str]:
    h: list[str] = []
    ev = f.rec.first("verify", verifier)
    info = f.info(verifier)
    if ev is None and info is None:
        other = "server" if verifier == "client" else "client"
        return [(f"The {verifier}'s decision is not in this trace (only the {other} was "
                 "recorded).")]
    if ev is not None:
        fields = ev.fields
        outcome = fields.get("outcome")
        line = f"The {verifier}'s verdict on the {what}: {outcome}"
        if fields.get("subject"):
            line += f" — {fields['subject']}, anchored at {fields.get('anchor')}"
        if fields.get("reason"):
            line += f" ({fields['reason']}; alert {fields.get('alert')})"
        h.append(line)
    if info is not None and info.verified is not None:
        path = " → ".join(c.subject.rfc4514_string() for c in info.verified.chain)
        h.append(f"Verified path: {path} (the last one is in the {verifier}'s trust store)")
        h.append(f"Valid until {info.verified.not_after.isoformat()[:19]}; names in the "
                 f"certificate: {', '.join(info.verified.sans) or '(none)'}")
        if verifier == "client" and info.server_name:
            h.append(f"Host name checked: {info.server_name!r} matches a subjectAltName")
    elif info is not None:
        h.append(f"Verification: {info.verification}")
    return h


def step3(f: _Facts) -> Step:
    h = _verification(f, "client", "server certificate")
    if f.server_cv is not None and f.server_cv.obj is not None:
        proof = ("the server's CertificateVerify signature (step 5)")
    elif f.kx == "RSA":
        proof = ("implicit: only the key holder can decrypt the premaster secret, so a "
                 "correct server Finished proves it")
    else:
        proof = "the ServerKeyExchange signature (step 5)"
    wrong = ("Checking the chain proves the certificate is genuine and names this host, not "
             "that the peer holds its private key: a certificate is public and anyone can "
             f"replay it. The proof of possession is {proof}.")
    return Step("3", "The client verifies the certificate with the CA",
                "The client checks the certificate's signature against a certificate "
                "authority it trusts.", h, wrong, ["Certificate"])


def step3b(f: _Facts) -> Step:
    h: list[str] = []
    cr = f.cert_request
    if cr is not None:
        h.append("The server asked for a client certificate (CertificateRequest): " + "; ".join(
            f"{k} {v}" for k, v in cr.fields if "signature" in k or "authorit" in k))
    if f.client_cert is not None:
        if f.client_cert.certificates:
            for i, cert in enumerate(f.client_cert.certificates):
                h.append(f"Client certificate [{i}]: {cert_line(cert)}")
        else:
            h.append("The client sent an empty Certificate (no suitable certificate)")
    h += _verification(f, "server", "client certificate")
    where = "encrypted with handshake traffic keys, like the server's" if f.tls13 else \
        "in the clear, before the key exchange"
    wrong = ("The classic story has no client certificate at all; in mutual TLS the server "
             f"verifies the client the same way. The client's certificate travels {where}.")
    return Step("3b", "Mutual TLS: the server verifies the client's certificate",
                "(not in the simple story)", h, wrong, ["CertificateRequest", "Certificate"])


# --- 4 ---------------------------------------------------------------------------------------
def step4(f: _Facts) -> Step:
    h: list[str] = []
    ks = f.key_share
    if f.tls13:
        h.append(f"Client key shares: {_shares(f.ch2 or f.ch1)}")
        if f.group is not None:
            h.append(f"The server chose {group_name(f.group)}")
        if ks is not None:
            h.append(f"Sizes: client share {ks['client_share_len']} bytes, server share "
                     f"{ks['server_share_len']} bytes, shared secret {ks['shared_secret_len']} "
                     "bytes (never sent)")
        if f.group == NamedGroup.X25519MLKEM768:
            h.append("Hybrid post-quantum: the client share is an ML-KEM-768 encapsulation key "
                     "(1184 bytes) followed by an X25519 public key (32); the server encapsulated "
                     "a secret to it (1088-byte ciphertext) and added its X25519 key (32); "
                     "shared secret = ML-KEM secret (32) ‖ X25519 secret (32)")
        wrong = ("Nothing is encrypted to the server's public key; the certificate key takes "
                 "no part in the key exchange. Both sides contribute a fresh one-time share in "
                 "the two hellos and compute the same shared secret, which never crosses the "
                 "wire: forward secrecy, since stealing the server's key later does not "
                 "decrypt a recording.")
        if f.group == NamedGroup.X25519MLKEM768:
            wrong += (" With ML-KEM something is encrypted — but by the server, to the "
                      "client's one-time ML-KEM key, not to the certificate's key.")
        return Step("4", "Key exchange: key shares, not an encrypted premaster",
                    "The client makes a premaster secret, encrypts it with the server's public "
                    "key from the certificate, and sends it.", h, wrong,
                    ["ClientHello", "ServerHello"])
    if f.kx == "RSA":
        n_bits = _rsa_bits(f)
        if f.cke is not None and f.cke.obj is not None:
            h.append(f"ClientKeyExchange: the 48-byte premaster secret (starting with the "
                     f"client's version 03 03, then 46 random bytes) encrypted with "
                     f"RSAES-PKCS1-v1_5 to the server's RSA key of {n_bits} bits: "
                     f"{len(f.cke.obj.encrypted_premaster)} bytes of ciphertext "
                     f"{short_hex(f.cke.obj.encrypted_premaster)}")
        wrong = ("This is the one case where the simple story is right, and why TLS 1.3 "
                 "removed it: no forward secrecy (whoever gets the server's private key later "
                 "decrypts every recorded session) and PKCS#1 v1.5 padding oracles (Bleichenbacher, "
                 "ROBOT) that every server must counter (RFC 5246 §7.4.7.1).")
        return Step("4", "Key exchange: the premaster secret encrypted to the server's key",
                    "The client makes a premaster secret, encrypts it with the server's public "
                    "key from the certificate, and sends it.", h, wrong, ["ClientKeyExchange"])
    if f.ske is not None and f.ske.obj is not None:
        h.append(f"ServerKeyExchange: the server's one-time {group_name(f.ske.obj.named_group)} "
                 f"public key ({len(f.ske.obj.public)} bytes): {short_hex(f.ske.obj.public)}")
    if f.cke is not None and f.cke.obj is not None:
        h.append(f"ClientKeyExchange: the client's one-time public key "
                 f"({len(f.cke.obj.public)} bytes): {short_hex(f.cke.obj.public)}")
    h.append("Both computed the ECDH shared secret, which is the premaster secret; it is never "
             "sent")
    wrong = ("No premaster secret is encrypted to the server: with ECDHE both sides send "
             "one-time public keys and compute the premaster (forward secrecy). The "
             "certificate's key only signs the server's share (step 5).")
    return Step("4", "Key exchange: ECDHE, not an encrypted premaster",
                "The client makes a premaster secret, encrypts it with the server's public key "
                "from the certificate, and sends it.", h, wrong,
                ["ServerKeyExchange", "ClientKeyExchange"])


def _rsa_bits(f: _Facts) -> str:
    if f.server_cert is not None and f.server_cert.certificates:
        key = f.server_cert.certificates[0].public_key()
        if isinstance(key, rsa.RSAPublicKey):
            return str(key.key_size)
    return "?"


# --- 5 ---------------------------------------------------------------------------------------
def step5(f: _Facts) -> Step:
    h: list[str] = []
    classic = "The server decrypts the premaster secret with its private key."
    key = describe_public_key(f.server_cert.certificates[0].public_key()) \
        if f.server_cert is not None and f.server_cert.certificates else "?"
    if f.tls13:
        if f.server_cv is not None and f.server_cv.obj is not None:
            cv = f.server_cv.obj
            h.append(f"CertificateVerify: the server signed the transcript hash (ClientHello "
                     f"through Certificate) with its {key} private key, "
                     f"{scheme_name(cv.algorithm)}, {len(cv.signature)}-byte signature "
                     f"{short_hex(cv.signature)}")
            if f.info("client") is not None:
                h.append("The client checked the signature with the certificate's public key")
        wrong = ("The server's private key decrypts nothing: it signs. The signature covers the "
                 "whole handshake so far (both randoms, both key shares, the certificate), so it "
                 "proves the server holds the key and binds it to this very handshake.")
        return Step("5", "The server uses its private key: it signs", classic, h, wrong,
                    ["CertificateVerify"])
    if f.kx == "RSA":
        h.append(f"The server decrypted the ClientKeyExchange with its RSA private key "
                 f"({_rsa_bits(f)} bits) and got the 48-byte premaster secret")
        h.append("A decryption or version-check failure is not revealed: the server would go on "
                 "with a random premaster, so only the Finished check fails (RFC 5246 §7.4.7.1)")
        wrong = ("As told. The server signs nothing in this mode, so it proves it holds the key "
                 "only implicitly, when its Finished (made from the decrypted premaster) checks "
                 "out.")
        return Step("5", "The server uses its private key: it decrypts", classic, h, wrong,
                    ["ClientKeyExchange"])
    if f.ske is not None and f.ske.obj is not None:
        ske = f.ske.obj
        h.append(f"ServerKeyExchange signature: the server signed client random + server random "
                 f"+ its {group_name(ske.named_group)} share with its {key} private key, "
                 f"{scheme_name(ske.algorithm)}, {len(ske.signature)}-byte signature "
                 f"{short_hex(ske.signature)}")
    wrong = ("The server's key signs, it does not decrypt. The signature covers only the two "
             "randoms and the server's key share, not the whole handshake; the Finished "
             "messages protect the rest.")
    return Step("5", "The server uses its private key: it signs its key share", classic, h,
                wrong, ["ServerKeyExchange"])


def step5b(f: _Facts) -> Step:
    h: list[str] = []
    if f.client_cv is not None and f.client_cv.obj is not None:
        cv = f.client_cv.obj
        key = describe_public_key(f.client_cert.certificates[0].public_key()) \
            if f.client_cert is not None and f.client_cert.certificates else "?"
        h.append(f"CertificateVerify from the client: it signed the handshake transcript with "
                 f"its {key} private key, {scheme_name(cv.algorithm)}, {len(cv.signature)}-byte "
                 f"signature")
        info = f.info("server")
        if info is not None:
            h.append(f"The server accepted it: client_auth={info.client_auth}, subject "
                     f"{info.peer_subject}")
    else:
        h.append("The client sent no CertificateVerify (no certificate)")
    like = "just as the server did" if f.kx != "RSA" else \
        "although the server itself signs nothing with RSA key transport"
    return Step("5b", "Mutual TLS: the client proves it holds its key",
                "(not in the simple story)", h,
                "The classic story authenticates only the server; here the client signs the "
                f"handshake transcript with its own key, {like}.", ["CertificateVerify"])


# --- 6 ---------------------------------------------------------------------------------------
def step6(f: _Facts) -> Step:
    h: list[str] = []
    suite = f.suite
    h.append(f"client random {f.client_random.hex()[:16]}…, server random "
             f"{f.server_random.hex()[:16]}…")
    if f.tls13:
        if suite is not None:
            h.append(f"HKDF-{suite.hash_name.upper()} key schedule (RFC 8446 §7.1): Early Secret "
                     "(no PSK: zeros) → Handshake Secret = HKDF-Extract(shared secret) → Master "
                     "Secret; each traffic secret = Derive-Secret(label, transcript hash)")
        for label in f.secret_labels():
            h.append(f"{label} = {RFC_NAMES.get(label, label)}: {f.secret_value(label)}")
        if suite is not None:
            h.append(f"Each traffic secret expands (HKDF-Expand-Label \"key\"/\"iv\") to a "
                     f"{suite.key_len}-byte {suite.aead} key and a {suite.iv_len}-byte IV")
        wrong = ("Not one set of session keys but a chain of secrets: handshake traffic keys "
                 "(already protecting steps 2–5), then application traffic keys, an exporter "
                 "and a resumption secret. The randoms enter only through the transcript hash, "
                 "and the tool is HKDF, not the TLS 1.2 PRF. There is no premaster secret.")
        return Step("6", "Both sides derive the keys: the TLS 1.3 key schedule",
                    "Both compute session keys from the client random, the server random and "
                    "the premaster secret.", h, wrong, [])
    ems = any(i.extended_master_secret for i in f.infos.values()) or (
        f.sh is not None and f.sh.obj is not None and
        f.sh.obj.has_ext(ExtensionType.extended_master_secret))
    if ems:
        h.append("master_secret = PRF(premaster, \"extended master secret\", hash of the "
                 "handshake up to ClientKeyExchange) — RFC 7627")
    else:
        h.append("master_secret = PRF(premaster, \"master secret\", client random + server "
                 "random)")
    h.append("key_block = PRF(master_secret, \"key expansion\", server random + client random) "
             "→ client and server write keys and IVs"
             + (f" ({suite.key_len}-byte {suite.aead} keys, {suite.iv_len}-byte IVs)"
                if suite is not None else ""))
    for label in f.secret_labels():
        h.append(f"{label} = {RFC_NAMES.get(label, label)}: {f.secret_value(label)}")
    wrong = ("Close to the story. " + ("With the extended master secret (used here) the master "
             "secret depends on the hash of the whole handshake so far, not just the randoms, "
             "which closes the triple-handshake attack. " if ems else "") +
             "The premaster is used once and thrown away; the keys come from the master secret.")
    return Step("6", "Both sides derive the session keys",
                "Both compute session keys from the client random, the server random and the "
                "premaster secret.", h, wrong, [])


# --- 7 ---------------------------------------------------------------------------------------
def step7(f: _Facts) -> Step:
    h: list[str] = []
    fins = [m for m in f.msgs if m.name == "Finished"]
    for m in fins:
        if m.obj is not None:
            h.append(f"{m.sender.capitalize()} Finished: verify_data "
                     f"{m.obj.verify_data.hex()} ({len(m.obj.verify_data)} bytes), under "
                     f"{m.keys or 'no protection'}")
    order = " then ".join(m.sender for m in fins)
    if order:
        h.append(f"Order on the wire: {order}")
    ccs = [m for m in f.msgs if m.name == "ChangeCipherSpec"]
    if ccs:
        h.append("ChangeCipherSpec sent by: " + ", ".join(m.sender for m in ccs))
    if f.tls13:
        wrong = ("The server's Finished comes first, in its first flight, before the client has "
                 "sent anything but its hello; the client's Finished closes the handshake. "
                 "verify_data is an HMAC of the transcript hash under a key derived from each "
                 "side's handshake traffic secret. Any ChangeCipherSpec here is only camouflage "
                 "for middleboxes (RFC 8446 Appendix D.4) and is ignored.")
    else:
        wrong = ("As told, with a detail: each Finished is preceded by a ChangeCipherSpec "
                 "record and is the first message under the new keys. verify_data = "
                 "PRF(master_secret, \"client finished\"/\"server finished\", handshake hash), "
                 "12 bytes.")
    return Step("7", "Both send Finished",
                "Both sides send a Finished message, encrypted with the session keys, to prove "
                "the handshake was not tampered with.", h, wrong, ["Finished"])


# --- 8 ---------------------------------------------------------------------------------------
def step8(f: _Facts) -> Step:
    h: list[str] = []
    for side in ("client", "server"):
        info = f.info(side)
        if info is not None:
            h.append(f"{side.capitalize()}: handshake complete — {info.version_name}, "
                     f"{info.cipher_name}, group {info.group_name or '-'}, verification "
                     f"{info.verification}, ALPN {info.alpn_protocol or '-'}")
    if f.failure:
        h.append(f"Not complete: {f.failure}")
    if f.suite is not None:
        h.append(f"Application data is now protected with {f.suite.aead} (AEAD): each record "
                 "encrypted and authenticated with a nonce made from the sequence number")
    after = [m.name for m in f.msgs if m.name in ("NewSessionTicket", "KeyUpdate")
             or m.name.startswith("Alert")]
    if after:
        h.append("After the handshake: " + ", ".join(after))
    if f.tls13:
        wrong = ("The server could send application data right after its own Finished, before "
                 "the client's (0.5-RTT). Keys can be renewed later (KeyUpdate), and the "
                 "record's real content type is hidden inside the encryption (all records look "
                 "like application data).")
    else:
        wrong = ("As told. TLS 1.2 keeps one key per direction for the whole connection; the "
                 "record's content type stays visible.")
    return Step("8", "The handshake is complete: encrypted application data",
                "The handshake is done and the rest of the conversation is encrypted with the "
                "session keys.", h, wrong, [])
