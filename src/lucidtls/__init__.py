"""lucidtls — a lucid TLS 1.3 / TLS 1.2 stack for Python."""

__version__ = "0.1.0"
