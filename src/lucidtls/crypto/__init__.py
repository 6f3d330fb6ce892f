"""lucidtls.crypto"""
