"""RFC 8448 traces as whole records: §3 (simple 1-RTT) and §5 (HelloRetryRequest).

§3 reuses the careful transcription in ``tests.crypto.rfc8448`` and adds what the connection
tests need beyond it (the server's RSA key, the post-handshake records). §5 is transcribed here.

Every value below is checked by recomputation in ``test_rfc8448_client.py`` / ``..._server.py``:
plaintext hellos through the transcript hashes and secrets the RFC prints, protected records
through their AEAD tags (a single wrong nibble makes decryption fail).
"""

from __future__ import annotations

from tests.crypto import rfc8448 as s3
from tests.crypto.rfc8448 import h

# --- §2: the server's RSA key (1024-bit), used in both traces --------------------------------------
RSA_MODULUS = int.from_bytes(h("""
b4 bb 49 8f 82 79 30 3d 98 08 36 39 9b 36 c6 98 8c 0c 68 de 55 e1 bd b8 26 d3 90 1a 24 61 ea fd
2d e4 9a 91 d0 15 ab bc 9a 95 13 7a ce 6c 1a f1 9e aa 6a f9 8c 7c ed 43 12 09 98 e1 87 a8 0e e0
cc b0 52 4b 1b 01 8c 3e 0b 63 26 4d 44 9a 6d 38 e2 2a 5f da 43 08 46 74 80 30 53 0e f0 46 1c 8c
a9 d9 ef bf ae 8e a6 d1 d0 3e 2b d1 93 ef f0 ab 9a 80 02 c4 74 28 a6 d3 5a 8d 88 d7 9f 7f 1e 3f
"""), "big")
RSA_PUBLIC_EXPONENT = 0x010001
RSA_PRIVATE_EXPONENT = int.from_bytes(h("""
04 de a7 05 d4 3a 6e a7 20 9d d8 07 21 11 a8 3c 81 e3 22 a5 92 78 b3 34 80 64 1e af 7c 0a 69 85
b8 e3 1c 44 f6 de 62 e1 b4 c2 30 9f 61 26 e7 7b 7c 41 e9 23 31 4b bf a3 88 13 05 dc 12 17 f1 6c
81 9c e5 38 e9 22 f3 69 82 8d 0e 57 19 5d 8c 84 88 46 02 07 b2 fa a7 26 bc f7 08 bb d7 db 7f 67
9f 89 34 92 fc 2a 62 2e 08 97 0a ac 44 1c e4 e0 c3 08 8d f2 5a e6 79 23 3d f8 a3 bd a2 ff 99 41
"""), "big")


def _certificate_der() -> bytes:
    # The single CertificateEntry of the §3 Certificate message (the same certificate in §5).
    flight = s3.SERVER_FLIGHT_BEFORE_FINISHED
    ee_len = int.from_bytes(flight[1:4], "big")
    cert_msg = flight[4 + ee_len:]
    assert cert_msg[0] == 0x0B
    # type, length(3), empty request context(1), list length(3), certificate length(3)
    der_len = int.from_bytes(cert_msg[8:11], "big")
    return cert_msg[11:11 + der_len]


CERTIFICATE_DER = _certificate_der()
SERVER_NAME = "server"
PAYLOAD = bytes(range(50))  # §3 application data: 00 01 .. 31


def record(content_type: int, payload: bytes, version: int = 0x0303) -> bytes:
    return bytes((content_type, version >> 8, version & 0xFF)) + len(payload).to_bytes(2, "big") \
        + payload


# --- §3: simple 1-RTT handshake ----------------------------------------------------------------
class S3:
    CLIENT_PRIVATE = s3.CLIENT_PRIVATE
    SERVER_PRIVATE = s3.SERVER_PRIVATE
    CLIENT_HELLO = s3.CLIENT_HELLO
    SERVER_HELLO = s3.SERVER_HELLO
    CLIENT_RANDOM = s3.CLIENT_HELLO[6:38]
    SERVER_RANDOM = s3.SERVER_HELLO[6:38]
    # RFC 8446 §5.1: the first ClientHello goes in a record with legacy version 0x0301.
    CLIENT_HELLO_RECORD = record(0x16, s3.CLIENT_HELLO, 0x0301)
    SERVER_HELLO_RECORD = record(0x16, s3.SERVER_HELLO)
    SERVER_FLIGHT_RECORD = s3.SERVER_FLIGHT_RECORD
    CLIENT_FINISHED_RECORD = s3.CLIENT_FINISHED_RECORD
    # EE, Certificate, CertificateVerify and Finished in the clear.
    SERVER_FLIGHT = s3.SERVER_FLIGHT_BEFORE_FINISHED + s3.SERVER_FINISHED

    # {server} NewSessionTicket, under the server application key, sequence 0.
    NEW_SESSION_TICKET_RECORD = h("""
17 03 03 00 de 3a 6b 8f 90 41 4a 97 d6 95 9c 34 87 68 0d e5 13 4a 2b 24 0e 6c ff ac 11 6e 95 d4
1d 6a f8 f6 b5 80 dc f3 d1 1d 63 c7 58 db 28 9a 01 59 40 25 2f 55 71 3e 06 1d c1 3e 07 88 91 a3
8e fb cf 57 53 ad 8e f1 70 ad 3c 73 53 d1 6d 9d a7 73 b9 ca 7f 2b 9f a1 b6 c0 d4 a3 d0 3f 75 e0
9c 30 ba 1e 62 97 2a c4 6f 75 f7 b9 81 be 63 43 9b 29 99 ce 13 06 46 15 13 98 91 d5 e4 c5 b4 06
f1 6e 3f c1 81 a7 7c a4 75 84 00 25 db 2f 0a 77 f8 1b 5a b0 5b 94 c0 13 46 75 5f 69 23 2c 86 51
9d 86 cb ee ac 87 aa c3 47 d1 43 f9 60 5d 64 f6 50 db 4d 02 3e 70 e9 52 ca 49 fe 51 37 12 1c 74
bc 26 97 68 7e 24 87 46 d6 df 35 30 05 f3 bc e1 86 96 12 9c 81 53 55 6b 3b 6c 67 79 b3 7b f1 59
85 68 4f
""")
    # {client} application data (PAYLOAD), client application key, sequence 0.
    CLIENT_APPDATA_RECORD = h("""
17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea 42 f9 14 aa 66 bc ab 3f
2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea e6
3a ee bb 21 69 49 15 e4
""")
    # {server} application data (PAYLOAD), server application key, sequence 1.
    SERVER_APPDATA_RECORD = h("""
17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc 32 25 d0 5f 82 aa 1b 36
e3 0e fa f9 7d 90 e6 df fc 60 2d cb 50 1a 59 a8 fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2 ab f3 32 54
0d d0 32 e1 67 c2 95 5d
""")
    # close_notify alerts: client at sequence 1, server at sequence 2.
    CLIENT_CLOSE_RECORD = h("17 03 03 00 13 c9 87 27 60 65 56 66 b7 4d 7f f1 15 3e fd 6d b6 d0 b0 e3")
    SERVER_CLOSE_RECORD = h("17 03 03 00 13 b5 8f d6 71 66 eb f5 99 d2 47 20 cf be 7e fa 7a 88 64 a9")

    CLIENT_HS_TRAFFIC = s3.CLIENT_HS_TRAFFIC
    SERVER_HS_TRAFFIC = s3.SERVER_HS_TRAFFIC
    CLIENT_AP_TRAFFIC = s3.CLIENT_AP_TRAFFIC
    SERVER_AP_TRAFFIC = s3.SERVER_AP_TRAFFIC
    EXPORTER_MASTER = s3.EXPORTER_MASTER
    RESUMPTION_MASTER = s3.RESUMPTION_MASTER
    HASH_CH_SH = s3.HASH_CH_SH
    HASH_CH_SF = s3.HASH_CH_SF
    CLIENT_HS_KEY, CLIENT_HS_IV = s3.CLIENT_HS_KEY, s3.CLIENT_HS_IV
    SERVER_AP_KEY, SERVER_AP_IV = s3.SERVER_AP_KEY, s3.SERVER_AP_IV
    CLIENT_AP_KEY, CLIENT_AP_IV = s3.CLIENT_AP_KEY, s3.CLIENT_AP_IV


# --- §5: HelloRetryRequest ---------------------------------------------------------------------
class S5:
    CLIENT_PRIVATE_X25519 = h("""
0e d0 2f 8e 81 17 ef c7 5c a7 ac 32 aa 7e 34 ed a6 4c dc 0d da d1 54 a5 e8 52 89 f9 59 f6 32 04
""")
    CLIENT_PUBLIC_X25519 = h("""
e8 e8 e3 f3 b9 3a 25 ed 97 a1 4a 7d ca cb 8a 27 2c 62 88 e5 85 c6 48 4d 05 26 2f ca d0 62 ad 1f
""")
    CLIENT_PRIVATE_P256 = h("""
ab 54 73 46 7e 19 34 6c eb 0a 04 14 e4 1d a2 1d 4d 24 45 bc 30 25 af e9 7c 4e 8d c8 d5 13 da 39
""")
    CLIENT_PUBLIC_P256 = h("""
04 a6 da 73 92 ec 59 1e 17 ab fd 53 59 64 b9 98 94 d1 3b ef b2 21 b3 de f2 eb e3 83 0e ac 8f 01
51 81 26 77 c4 d6 d2 23 7e 85 cf 01 d6 91 0c fb 83 95 4e 76 ba 73 52 83 05 34 15 98 97 e8 06 57
80
""")
    SERVER_PRIVATE_P256 = h("""
8c 51 06 01 f9 76 5b fb 8e d6 93 44 9a 48 98 98 59 b5 cf a8 79 cb 9f 54 43 c4 1c 5f f1 06 34 ed
""")
    SERVER_PUBLIC_P256 = h("""
04 58 3e 05 4b 7a 66 67 2a e0 20 ad 9d 26 86 fc c8 5b 5a d4 1a 13 4a 0f 03 ee 72 b8 93 05 2b d8
5b 4c 8d e6 77 6f 5b 04 ac 07 d8 35 40 ea b3 e3 d9 c5 47 bc 65 28 c4 31 7d 29 46 86 09 3a 6c ad
7d
""")

    CLIENT_HELLO_1_RECORD = h("""
16 03 01 00 b4 01 00 00 b0 03 03 b0 b1 c5 a5 aa 37 c5 91 9f 2e d1 d5 c6 ff f7 fc b7 84 97 16 94
5a 2b 8c ee 92 58 a3 46 67 7b 6f 00 00 06 13 01 13 03 13 02 01 00 00 81 00 00 00 0b 00 09 00 00
06 73 65 72 76 65 72 ff 01 00 01 00 00 0a 00 08 00 06 00 1d 00 17 00 18 00 33 00 26 00 24 00 1d
00 20 e8 e8 e3 f3 b9 3a 25 ed 97 a1 4a 7d ca cb 8a 27 2c 62 88 e5 85 c6 48 4d 05 26 2f ca d0 62
ad 1f 00 2b 00 03 02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06 04 01 05
01 06 01 02 01 04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c 00 02 40 01
""")
    HELLO_RETRY_REQUEST_RECORD = h("""
16 03 03 00 b0 02 00 00 ac 03 03 cf 21 ad 74 e5 9a 61 11 be 1d 8c 02 1e 65 b8 91 c2 a2 11 16 7a
bb 8c 5e 07 9e 09 e2 c8 a8 33 9c 00 13 01 00 00 84 00 33 00 02 00 17 00 2c 00 74 00 72 71 dc d0
4b b8 8b c3 18 91 19 39 8a 00 00 00 00 ee fa fc 76 c1 46 b8 23 b0 96 f8 aa ca d3 65 dd 00 30 95
3f 4e df 62 56 36 e5 f2 1b b2 e2 3f cc 65 4b 1b 5b 40 31 8d 10 d1 37 ab cb b8 75 74 e3 6e 8a 1f
02 5f 7d fa 5d 6e 50 78 1b 5e da 4a a1 5b 0c 8b e7 78 25 7d 16 aa 30 30 e9 e7 84 1d d9 e4 c0 34
22 67 e8 ca 0c af 57 1f b2 b7 cf f0 f9 34 b0 00 2b 00 02 03 04
""")
    # The second ClientHello: P-256 share, the cookie, and padding to 512 octets.
    CLIENT_HELLO_2_RECORD = h("""
16 03 03 02 00 01 00 01 fc 03 03 b0 b1 c5 a5 aa 37 c5 91 9f 2e d1 d5 c6 ff f7 fc b7 84 97 16 94
5a 2b 8c ee 92 58 a3 46 67 7b 6f 00 00 06 13 01 13 03 13 02 01 00 01 cd 00 00 00 0b 00 09 00 00
06 73 65 72 76 65 72 ff 01 00 01 00 00 0a 00 08 00 06 00 1d 00 17 00 18 00 33 00 47 00 45 00 17
00 41 04 a6 da 73 92 ec 59 1e 17 ab fd 53 59 64 b9 98 94 d1 3b ef b2 21 b3 de f2 eb e3 83 0e ac
8f 01 51 81 26 77 c4 d6 d2 23 7e 85 cf 01 d6 91 0c fb 83 95 4e 76 ba 73 52 83 05 34 15 98 97 e8
06 57 80 00 2b 00 03 02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06 04 01
05 01 06 01 02 01 04 02 05 02 06 02 02 02 00 2c 00 74 00 72 71 dc d0 4b b8 8b c3 18 91 19 39 8a
00 00 00 00 ee fa fc 76 c1 46 b8 23 b0 96 f8 aa ca d3 65 dd 00 30 95 3f 4e df 62 56 36 e5 f2 1b
b2 e2 3f cc 65 4b 1b 5b 40 31 8d 10 d1 37 ab cb b8 75 74 e3 6e 8a 1f 02 5f 7d fa 5d 6e 50 78 1b
5e da 4a a1 5b 0c 8b e7 78 25 7d 16 aa 30 30 e9 e7 84 1d d9 e4 c0 34 22 67 e8 ca 0c af 57 1f b2
b7 cf f0 f9 34 b0 00 2d 00 02 01 01 00 1c 00 02 40 01 00 15 00 af
""") + bytes(0xAF)
    SERVER_HELLO_RECORD = h("""
16 03 03 00 7b 02 00 00 77 03 03 bb 34 1d 84 7f d7 89 c4 7c 38 71 72 dc 0c 9b f1 47 fc ca cb 50
43 d8 6c a4 c5 98 d3 ff 57 1b 98 00 13 01 00 00 4f 00 33 00 45 00 17 00 41 04 58 3e 05 4b 7a 66
67 2a e0 20 ad 9d 26 86 fc c8 5b 5a d4 1a 13 4a 0f 03 ee 72 b8 93 05 2b d8 5b 4c 8d e6 77 6f 5b
04 ac 07 d8 35 40 ea b3 e3 d9 c5 47 bc 65 28 c4 31 7d 29 46 86 09 3a 6c ad 7d 00 2b 00 02 03 04
""")
    # EE, Certificate, CertificateVerify, Finished: one record, server handshake key, seq 0.
    SERVER_FLIGHT_RECORD = h("""
17 03 03 02 96 99 be e2 0b af 5b 7f c7 27 bf ab 62 23 92 8a 38 1e 6d 0c f9 c4 da 65 3f 9d 2a 7b
23 f7 de 11 cc e8 42 d5 cf 75 63 17 63 45 0f fb 8b 0c c1 d2 38 e6 58 af 7a 12 ad c8 62 43 11 4a
b1 4a 1d a2 fa e4 26 21 ce 48 3f b6 24 2e ab fa ad 52 56 6b 02 b3 1d 2e dd ed ef eb 80 e6 6a 99
00 d5 f9 73 b4 0c 4f df 74 71 9e cf 1b 68 d7 f9 c3 b6 ce b9 03 ca 13 dd 1b b8 f8 18 7a e3 34 17
e1 d1 52 52 2c 58 22 a1 a0 3a d5 2c 83 8c 55 95 3d 61 02 22 87 4c ce 8e 17 90 b2 29 a2 aa 0b 53
c8 d3 77 ee 72 01 82 95 1d c6 18 1d c5 d9 0b d1 f0 10 5e d1 e8 4a a5 f7 59 57 c6 66 18 97 07 9e
5e a5 00 74 49 e3 19 7b dc 7c 9b ee ed dd ea fd d8 44 af a5 c3 15 ec fe 65 e5 76 af e9 09 81 28
80 62 0e c7 04 8b 42 d7 f5 c7 8d 76 f2 99 d6 d8 25 34 bd d8 f5 12 fe bc 0e d3 81 4a ca 47 0c d8
00 0d 3e 1c b9 96 2b 05 2f bb 95 0d f6 83 a5 2c 2b a7 7e d3 71 3b 12 29 37 a6 e5 17 09 64 e2 ab
79 69 dc d9 80 b3 db 9b 45 8d a7 60 31 24 d6 dc 00 5e 4d 6e 04 b4 d0 c4 ba f3 27 5d b8 27 db ba
0a 6d b0 96 72 17 1f c0 57 b3 85 1d 7e 02 68 41 e2 97 8f bd 23 46 bb ef dd 03 76 bb 11 08 fe 9a
cc 92 18 9f 56 50 aa 5e 85 d8 e8 c7 b6 7a c5 10 db a0 03 d3 d7 e1 63 50 bb 66 d4 50 13 ef d4 4c
9b 60 7c 0d 31 8c 4c 7d 1a 1f 5c bc 57 e2 06 11 80 4e 37 87 d7 b4 a4 b5 f0 8e d8 fd 70 bd ae ad
e0 22 60 b1 2a b8 42 ef 69 0b 4a 3e e7 91 1e 84 1b 37 4e cd 5e bb bc 2a 54 d0 47 b6 00 33 6d d7
d0 c8 8b 4b c1 0e 58 ee 6c b6 56 de 72 47 fa 20 d8 e9 1d eb 84 62 86 08 cf 80 61 5b 62 e9 6c 14
91 c7 ac 37 55 eb 69 01 40 5d 34 74 fe 1a c7 9d 10 6a 0c ee 56 c2 57 7f c8 84 80 f9 6c b6 b8 c6
81 b7 b6 8b 53 c1 46 09 39 08 f3 50 88 81 75 bd fb 0b 1e 31 ad 61 e3 0b a0 ad fe 6d 22 3a a0 3c
07 83 b5 00 1a 57 58 7c 32 8a 9a fc fc fb 97 8d 1c d4 32 8f 7d 9d 60 53 0e 63 0b ef d9 6c 0c 81
6e e2 0b 01 00 76 8a e2 a6 df 51 fc 68 f1 72 74 0a 79 af 11 39 8e e3 be 12 52 49 1f a9 c6 93 47
9e 87 7f 94 ab 7c 5f 8c ad 48 02 03 e6 ab 7b 87 dd 71 e8 a0 72 91 13 df 17 f5 ee e8 6c e1 08 d1
d7 20 07 ec 1c d1 3c 85 a6 c1 49 62 1e 77 b7 d7 8d 80 5a 30 f0 be 03 0c 31 5e 54
""")
    CLIENT_FINISHED_RECORD = h("""
17 03 03 00 35 d7 4f 19 23 c6 62 fd 34 13 7c 6f 50 2f 3d d2 b9 3d 95 1d 1b 3b c9 7e 42 af e2 3c
31 ab ea 92 fe 91 b4 74 99 9e 85 e3 b7 91 ce 25 2f e8 c3 e9 f9 39 a4 12 0c b2
""")
    CLIENT_CLOSE_RECORD = h("17 03 03 00 13 2e a6 cd f7 49 19 60 23 e2 b3 a4 94 91 69 55 36 42 60 47")
    SERVER_CLOSE_RECORD = h("17 03 03 00 13 51 9f c5 07 5c b0 88 43 49 75 9f f9 ef 6f 01 1b b4 c6 f2")

    CLIENT_HELLO_1 = CLIENT_HELLO_1_RECORD[5:]
    HELLO_RETRY_REQUEST = HELLO_RETRY_REQUEST_RECORD[5:]
    CLIENT_HELLO_2 = CLIENT_HELLO_2_RECORD[5:]
    SERVER_HELLO = SERVER_HELLO_RECORD[5:]
    CLIENT_RANDOM = CLIENT_HELLO_1[6:38]
    SERVER_RANDOM = SERVER_HELLO[6:38]
    COOKIE = HELLO_RETRY_REQUEST[56:56 + 0x72]  # inside the cookie extension

    # Transcript-Hash(message_hash(CH1), HRR, CH2, SH) and the secrets the RFC prints.
    HASH_CH_SH = h("8aa8e828ec2f8a884fec95a3139de01c15a3daa7ff5bfc3f4bfcc21b438d7bf8")
    HANDSHAKE_SECRET = h("ce022e5e6e81e50736d773f2d3adfce8220d049bf510f0dbfac927ef4243b148")
    CLIENT_HS_TRAFFIC = h("158aa7ab8855073582b41d674b4055cabcc534728f659314861b4e08e2011566")
    SERVER_HS_TRAFFIC = h("3403e781e2af7b6508da28574f6e95a1abf162de83a97927c37672a4a0cef8a1")
    MASTER_SECRET = h("1131545d0baf79ddce9b87f06945781a57dd18ef378dcd2060f8f9a569027ed8")
    CLIENT_AP_TRAFFIC = h("75ecf4b972525aa0dcd057c9944d4cd5d82671d8843141d7dc2a4ff15a21dc51")
    SERVER_AP_TRAFFIC = h("5c74f87df04225db0f8209c9de6429e49435fdefa7cad61864874d12f31cfc8d")
    EXPORTER_MASTER = h("7c06d3ae106a3a374ace4837b3985cac67780a6e2c5c04b58319d584df09d223")
    RESUMPTION_MASTER = h("09170c6d472721566f9cf99b08699daff561ec8fb22d5a32c3f94ce009b69975")
    SERVER_HS_KEY = h("4646bfac1712c426cd78d8a24a8a6f6b")
    SERVER_HS_IV = h("c7d395c08d62f297d13768ea")
    CLIENT_HS_KEY = h("2f1f918663d590e7421149a29d94b0b6")
    CLIENT_HS_IV = h("414d5485235e1a688793bd74")
    SERVER_AP_KEY = h("f27a5d97bd25550c4823b0f3e5d29388")
    SERVER_AP_IV = h("0dd631f7b71cbbc797c35fe7")
    CLIENT_AP_KEY = h("a7eb2a0525eb4331d58fcbf9f7ca2e9c")
    CLIENT_AP_IV = h("86e8be227c1bd2b3e39cb444")
