"""Bytes <-> typed messages. Strict, stateless, no crypto."""
