"""lucidtls.io"""
