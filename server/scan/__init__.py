"""Scan: what is due at a post now, for the worker holding its QR code."""
