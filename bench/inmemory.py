"""Handshakes and bulk transfer in memory: both ends in this process, no sockets (tlslite-ng
excepted: it needs a socket object, so it runs over a socketpair with one thread per end)."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

from bench.common import HOSTNAME, PKI, Scenario, lucid_configs, stdlib_contexts
from lucidtls.connection import ClientConnection, Connection, ServerConnection
from lucidtls.events import ApplicationData
from lucidtls.handshake.common import forget_peers
from lucidtls.wire.enums import ProtocolVersion

CHUNK = 1 << 16  # application writes of 64 KiB


# --- lucidtls: sans-I/O pairs pumping bytes ---------------------------------------------------------
class Lucid:
    name = "lucidtls"

    def __init__(self, pki: PKI, sc: Scenario) -> None:
        self.cc, self.sc = lucid_configs(pki, sc)
        self.new_peer = sc.new_peer

    def pair(self) -> tuple[Connection, Connection]:
        client = ClientConnection(self.cc, HOSTNAME)
        server = ServerConnection(self.sc)
        while not (client.handshake_complete and server.handshake_complete):
            moved = False
            if data := client.data_to_send():
                server.receive_data(data)
                moved = True
            if data := server.data_to_send():
                client.receive_data(data)
                moved = True
            if not moved:
                raise RuntimeError("lucidtls handshake stalled")
        client.events()
        server.events()
        return client, server

    def handshake(self) -> None:
        if self.new_peer:
            forget_peers()  # as if each end met the other for the first time
        self.pair()

    def negotiated(self) -> str:
        client, _ = self.pair()
        assert client.info is not None
        return f"{client.info.version_name} {client.info.cipher_name} {client.info.group_name}"

    def bulk(self, total: int) -> Callable[[], int]:
        client, server = self.pair()
        chunk = bytes(CHUNK)

        def run() -> int:
            got = 0
            for _ in range(total // CHUNK):
                client.send(chunk)
                server.receive_data(client.data_to_send())
                for event in server.events():
                    if isinstance(event, ApplicationData):
                        got += len(event.data)
            return got
        return run


# --- stdlib ssl: SSLObject pairs over MemoryBIOs -----------------------------------------------------
class StdlibPair:
    def __init__(self, cctx: ssl.SSLContext, sctx: ssl.SSLContext) -> None:
        self.cin, self.cout, self.sin, self.sout = (ssl.MemoryBIO() for _ in range(4))
        self.client = cctx.wrap_bio(self.cin, self.cout, server_hostname=HOSTNAME)
        self.server = sctx.wrap_bio(self.sin, self.sout, server_side=True)

    def handshake(self) -> None:
        c_done = s_done = False
        for _ in range(20):
            if not c_done:
                try:
                    self.client.do_handshake()
                    c_done = True
                except ssl.SSLWantReadError:
                    pass
            self.sin.write(self.cout.read())
            if not s_done:
                try:
                    self.server.do_handshake()
                    s_done = True
                except ssl.SSLWantReadError:
                    pass
            self.cin.write(self.sout.read())
            if c_done and s_done and not self.cout.pending and not self.sout.pending:
                break
        else:
            raise RuntimeError("stdlib handshake stalled")
        # TLS 1.3 client Finished / TLS 1.2 server Finished may still be in flight.
        self.sin.write(self.cout.read())
        self.cin.write(self.sout.read())


class Stdlib:
    name = "stdlib"

    def __init__(self, pki: PKI, sc: Scenario) -> None:
        self.cctx, self.sctx = stdlib_contexts(pki, sc)

    def pair(self) -> StdlibPair:
        p = StdlibPair(self.cctx, self.sctx)
        p.handshake()
        return p

    def handshake(self) -> None:
        self.pair()

    def negotiated(self) -> str:
        p = self.pair()
        cipher = p.client.cipher()
        return f"{p.client.version()} {cipher[0] if cipher else '?'}"

    def bulk(self, total: int) -> Callable[[], int]:
        p = self.pair()
        chunk = bytes(CHUNK)

        def run() -> int:
            got = 0
            for _ in range(total // CHUNK):
                p.client.write(chunk)
                p.sin.write(p.cout.read())
                while True:
                    try:
                        data = p.server.read(CHUNK)
                    except ssl.SSLWantReadError:
                        break
                    got += len(data)
            return got
        return run


# --- tlslite-ng: TLSConnection over a socketpair, one thread per end -----------------------------
class TlsLite:
    name = "tlslite-ng"

    def __init__(self, pki: PKI, sc: Scenario) -> None:
        from tlslite import HandshakeSettings, X509CertChain
        from tlslite.utils.keyfactory import parsePEMKey

        chain_file, key_file = pki.server_files(sc)
        with open(chain_file) as f:
            self.chain = X509CertChain()
            self.chain.parsePemList(f.read())
        with open(key_file) as f:
            self.key = parsePEMKey(f.read(), private=True)
        self.client_chain: Any = None
        self.client_key: Any = None
        if sc.mutual:
            with open(pki.files["client_chain"]) as f:
                self.client_chain = X509CertChain()
                self.client_chain.parsePemList(f.read())
            with open(pki.files["client_key"]) as f:
                self.client_key = parsePEMKey(f.read(), private=True)
        s = HandshakeSettings()
        v = (3, 4) if sc.version == ProtocolVersion.TLS1_3 else (3, 3)
        s.minVersion = s.maxVersion = v
        s.versions = [v]
        s.cipherNames = ["aes256gcm"]
        s.macNames = ["aead", "sha384"]
        s.eccCurves = ["x25519"] if v == (3, 4) else ["x25519", "secp256r1"]
        s.keyShares = ["x25519"]
        s.keyExchangeNames = ["rsa"] if sc.rsa_kx else ["ecdhe_ecdsa"]
        s.ticket_count = 0
        s.use_heartbeat_extension = False
        self.settings = s
        self.mutual = sc.mutual

    def pair(self) -> tuple[Any, Any]:
        from tlslite import TLSConnection

        a, b = socket.socketpair()
        client, server = TLSConnection(a), TLSConnection(b)
        errors: list[BaseException] = []

        def serve() -> None:
            try:
                server.handshakeServer(certChain=self.chain, privateKey=self.key,
                                       reqCert=self.mutual, settings=self.settings)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        t = threading.Thread(target=serve)
        t.start()
        try:
            # tlslite-ng does not verify X.509 chains itself (no checker): less work than ours.
            client.handshakeClientCert(certChain=self.client_chain, privateKey=self.client_key,
                                       settings=self.settings, serverName=HOSTNAME)
        finally:
            t.join(60)
        if errors:
            raise errors[0]
        return client, server

    def handshake(self) -> None:
        client, server = self.pair()
        client.sock.close()
        server.sock.close()

    def negotiated(self) -> str:
        client, server = self.pair()
        out = f"{client.getVersionName()} {client.getCipherName()}"
        client.sock.close()
        server.sock.close()
        return out

    def bulk(self, total: int) -> Callable[[], int]:
        client, server = self.pair()
        size = min(CHUNK, total)
        chunk = bytes(size)

        def run() -> int:
            got = 0

            def reader() -> None:
                nonlocal got
                while got < total:
                    got += len(server.read(size))

            t = threading.Thread(target=reader)
            t.start()
            for _ in range(total // size):
                client.write(chunk)
            t.join(600)
            return got
        return run


IMPLEMENTATIONS: tuple[type[Lucid | Stdlib | TlsLite], ...] = (Lucid, Stdlib, TlsLite)
