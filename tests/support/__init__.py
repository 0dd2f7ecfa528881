"""Reusable, pytest-free helpers for the test suites (test PKI, SoftHSM2 tokens)."""
