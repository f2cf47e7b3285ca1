"""Sealed contacts: a reporter's contact details, encrypted at rest with Fernet (``cryptography``).

Fernet is AES-128-CBC with an HMAC-SHA256 over the whole token: a ciphertext that was changed
or made with another key does not decrypt at all. The key comes from ``REPORT_CONTACT_KEY``:
one or more Fernet keys separated by commas, the first encrypting and all of them decrypting
(``MultiFernet``), so a key can be rotated by putting the new one first and re-sealing later.

Production refuses to start without it (:func:`server.config.check_production_safety`). In
development and tests a stable key is derived from ``SECRET_KEY`` with HKDF-SHA256 (its own
``info`` label, so it is not the secret key itself) — convenient, but changing the secret key
would then make every sealed contact unreadable, which is why production must set its own.
Make a key with ``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``.
"""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from server import clock
from server.config import report_contact_keys

_HKDF_INFO = b"zicha/report-contact/v1"


def derived_key(secret_key: str) -> bytes:
    """A Fernet key derived from the app's secret key (development and tests only)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret_key.encode("utf-8"))
    return base64.urlsafe_b64encode(raw)


def keys_from(config) -> list[bytes]:
    """The Fernet keys ``config`` names, the encrypting one first."""
    configured = report_contact_keys(config.get("REPORT_CONTACT_KEY"))
    if configured:
        return [k.encode("ascii") for k in configured]
    return [derived_key(config["SECRET_KEY"])]


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys_from(current_app.config)])


def seal(plaintext: str) -> str:
    """The contact as a Fernet token (ASCII), for the database. The token's timestamp is the
    app's clock, like every other time here (Fernet would read the wall clock by itself)."""
    return _fernet().encrypt_at_time(plaintext.encode("utf-8"), int(clock.now().timestamp())).decode("ascii")


def unseal(token: str) -> str:
    """The contact back from its token; ``ValueError`` if no configured key opens it."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise ValueError("the sealed contact cannot be opened with the configured keys") from None
