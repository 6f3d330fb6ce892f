"""The handshake told as the classic eight steps, with what really happened in this connection.

``narrate(recorder)`` returns a ``Narration``: the facts of the connection (version, suite,
group, randoms, certificates, secrets derived) and a list of ``Step``s. Each step has the classic
story's claim, the concrete values of *this* connection, and where the simple story is wrong.
Secret values appear only when ``secrets`` (from the key log) is given.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

from lucidtls.crypto.suites import SUITES, Suite
from lucidtls.explain import story
from lucidtls.explain.decode import (
    MessageView,
    group_name,
    messages,
    suite_name,
    version_name,
)
from lucidtls.explain.story import RFC_NAMES, Step
from lucidtls.explain.trace import Recorder
from lucidtls.info import ConnectionInfo
from lucidtls.wire import extensions as X
from lucidtls.wire.enums import ProtocolVersion

TLS13 = int(ProtocolVersion.TLS1_3)

@dataclass
class Narration:
    """The facts of one connection and its story in steps."""

    version: str  # "TLS 1.3"
    suite: str  # "TLS_AES_128_GCM_SHA256"
    kx: str  # "ECDHE" | "RSA" (TLS 1.2 key transport) | "ECDHE" (TLS 1.3, any group)
    group: str | None  # "X25519MLKEM768", None for RSA key transport
    hello_retry: bool
    mutual: bool
    client_random: bytes
    server_random: bytes
    server_subject: str | None  # the server certificate's subject (RFC 4514)
    client_subject: str | None  # the client certificate's subject, mutual TLS
    secret_labels: list[str]
    steps: list[Step]
    messages: list[MessageView]
    failure: str | None = None
    infos: dict[str, ConnectionInfo] = field(default_factory=dict)

    def text(self, width: int = 100) -> str:
        """The narration as plain text for a terminal."""
        return format_steps(self, width)


def _find(msgs: list[MessageView], name: str, sender: str | None = None) -> MessageView | None:
    for m in msgs:
        if m.name == name and (sender is None or m.sender == sender):
            return m
    return None


def _all(msgs: list[MessageView], name: str) -> list[MessageView]:
    return [m for m in msgs if m.name == name]


class _Facts:
    """Everything the steps talk about, gathered once from the trace."""

    def __init__(self, rec: Recorder, secrets: dict[str, bytes] | None) -> None:
        self.rec = rec
        self.secrets = secrets
        self.msgs = messages(rec)
        m = self.msgs
        hellos = _all(m, "ClientHello")
        self.ch1 = hellos[0] if hellos else None
        self.ch2 = hellos[1] if len(hellos) > 1 else None
        self.hrr = _find(m, "HelloRetryRequest")
        self.sh = _find(m, "ServerHello")
        self.infos: dict[str, ConnectionInfo] = {
            e.side: e.fields["info"] for e in rec.of_kind("handshake_complete")}
        sh = self.sh.obj if self.sh is not None else None
        self.version = TLS13
        if sh is not None:
            sv = sh.view(X.SupportedVersionsServer)
            self.version = sv.version if sv is not None else sh.legacy_version
        self.tls13 = self.version == TLS13
        self.suite: Suite | None = SUITES.get(sh.cipher_suite) if sh is not None else None
        self.kx = self.suite.kx if self.suite is not None and not self.tls13 else "ECDHE"
        self.server_cert = _find(m, "Certificate", "server")
        self.client_cert = _find(m, "Certificate", "client")
        self.cert_request = _find(m, "CertificateRequest", "server")
        self.server_cv = _find(m, "CertificateVerify", "server")
        self.client_cv = _find(m, "CertificateVerify", "client")
        self.ske = _find(m, "ServerKeyExchange")
        self.cke = _find(m, "ClientKeyExchange")
        self.group = self._group()
        ks = rec.first("key_share")
        self.key_share = ks.fields if ks is not None else None
        self.mutual = self.client_cert is not None and bool(self.client_cert.certificates)
        self.failure = self._failure()

    def _group(self) -> int | None:
        for info in self.infos.values():
            if info.group is not None:
                return int(info.group)
        if self.sh is not None and self.tls13:
            ks = self.sh.obj.view(X.KeyShareServerHello)
            return int(ks.entry.group) if ks is not None else None
        if self.ske is not None and self.ske.obj is not None:
            return int(self.ske.obj.named_group)
        return None

    def _failure(self) -> str | None:
        for e in self.rec.of_kind("error"):
            return f"the {e.side} failed the handshake: {e.fields.get('reason')} " \
                   f"(alert {e.fields.get('alert')})"
        for v in self.msgs:
            if v.name.startswith("Alert(") and ("fatal",) == tuple(
                    val for k, val in v.fields if k == "level"):
                return f"the {v.sender} sent a fatal {v.name}"
        return None

    # --- small helpers the steps share ------------------------------------------------
    def info(self, side: str) -> ConnectionInfo | None:
        return self.infos.get(side)

    def secret_labels(self) -> list[str]:
        labels: list[str] = []
        for e in self.rec.of_kind("secret"):
            label = str(e.fields.get("label"))
            if label not in labels:
                labels.append(label)
        return labels

    def secret_value(self, label: str) -> str:
        if self.secrets is None:
            return "value redacted (--show-secrets reveals it)"
        value = self.secrets.get(label)
        return value.hex() if value is not None else "value not in the key log"

    @property
    def client_random(self) -> bytes:
        return self.ch1.obj.random if self.ch1 is not None and self.ch1.obj else b""

    @property
    def server_random(self) -> bytes:
        return self.sh.obj.random if self.sh is not None and self.sh.obj else b""


def narrate(rec: Recorder, secrets: dict[str, bytes] | None = None) -> Narration:
    """Tell the handshake recorded in *rec* as the classic eight steps (plus the client
    authentication steps of mutual TLS). *secrets*: ``{key-log label: value}`` to show values."""
    f = _Facts(rec, secrets)
    steps = [story.step1(f), story.step2(f), story.step3(f)]
    if f.cert_request is not None:
        steps.append(story.step3b(f))
    steps += [story.step4(f), story.step5(f)]
    if f.cert_request is not None:
        steps.append(story.step5b(f))
    steps += [story.step6(f), story.step7(f), story.step8(f)]
    server_subject = f.server_cert.certificates[0].subject.rfc4514_string() \
        if f.server_cert is not None and f.server_cert.certificates else None
    client_subject = f.client_cert.certificates[0].subject.rfc4514_string() \
        if f.mutual and f.client_cert is not None else None
    return Narration(
        version=version_name(f.version), suite=suite_name(f.suite.id) if f.suite else "?",
        kx=f.kx, group=group_name(f.group) if f.group is not None else None,
        hello_retry=f.hrr is not None, mutual=f.mutual, client_random=f.client_random,
        server_random=f.server_random, server_subject=server_subject,
        client_subject=client_subject, secret_labels=f.secret_labels(), steps=steps,
        messages=f.msgs, failure=f.failure, infos=dict(f.infos))


def format_steps(n: Narration, width: int = 100) -> str:
    """Plain text: a header, then each step with its three parts."""
    head = f"{n.version}, {n.suite}"
    if n.group:
        head += f", key exchange {n.group}"
    if n.kx == "RSA":
        head += ", RSA key transport"
    if n.hello_retry:
        head += ", after a HelloRetryRequest"
    head += ", mutual TLS" if n.mutual else ", server authenticated only"
    lines = [head, "=" * min(len(head), width)]
    if n.failure:
        lines.append(f"!! {n.failure}")
    wrap = textwrap.TextWrapper(width=width, subsequent_indent="      ")
    for s in n.steps:
        lines.append("")
        lines.append(f"Step {s.number}. {s.title}")
        lines.extend(wrap.fill(t) for t in (f"  The simple story: {s.classic}",))
        for h in s.happened:
            lines.append(wrap.fill(f"  • {h}"))
        if s.wrong:
            lines.append(wrap.fill(f"  ⚠ Where the simple story is wrong: {s.wrong}"))
    return "\n".join(lines) + "\n"


__all__ = ["RFC_NAMES", "Narration", "Step", "format_steps", "narrate"]
