"""Receipt codes (回执码): what a reporter keeps to follow a report, and what the server keeps of it.

Pure functions, no database and no app. A code is 80 random bits from :mod:`secrets`, written in
Crockford's base32 (digits and capitals without I, L, O, U) in four groups of four, e.g.
``JB7K-3QXM-9T2C-W4PD``: short enough to copy from a phone screen onto paper, long enough that
guessing one is hopeless (2^80 codes; at a million tries a second, 38 billion years for one).

The server stores only :func:`digest` of a code. Reading one back is forgiving the way Crockford
meant: case, dashes and spaces do not matter, and ``I``/``L`` read as ``1``, ``O`` as ``0``.
"""
from __future__ import annotations

import hashlib
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
BITS = 80
LENGTH = BITS // 5  # 16 symbols
GROUP = 4
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})
_SEPARATORS = str.maketrans("", "", "- \t\u00a0_")


def new_code() -> str:
    """A fresh receipt code, grouped for reading (``XXXX-XXXX-XXXX-XXXX``)."""
    value = secrets.randbits(BITS)
    symbols = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(LENGTH)))
    return "-".join(symbols[i:i + GROUP] for i in range(0, LENGTH, GROUP))


def normalise(code: str | None) -> str | None:
    """The code's 16 symbols as stored and compared, or None if ``code`` cannot be a receipt."""
    if not code or len(code) > 64:
        return None
    symbols = code.translate(_SEPARATORS).upper().translate(_READ_AS)
    if len(symbols) != LENGTH or any(ch not in ALPHABET for ch in symbols):
        return None
    return symbols


def digest(code: str) -> str | None:
    """What the server keeps of a receipt code: the SHA-256 of its normalised symbols (hex), or
    None when ``code`` is malformed (the caller answers exactly as for an unknown code)."""
    symbols = normalise(code)
    return None if symbols is None else hashlib.sha256(symbols.encode("ascii")).hexdigest()
