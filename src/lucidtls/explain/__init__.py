"""lucidtls.explain"""
