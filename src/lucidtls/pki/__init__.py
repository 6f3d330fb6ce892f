"""lucidtls.pki"""
