"""lucidtls.handshake"""
