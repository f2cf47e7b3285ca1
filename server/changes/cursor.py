"""Pull cursors: opaque to the device, three facts to the server.

A cursor says which scope it was made for (a fingerprint of what decides what the user may see),
how far the device has got in the change log, and — while a snapshot is being paged — where in
the snapshot it stands. It is plain text in URL-safe base64, so a device stores and returns it
without ever looking inside::

    1.<scope>.<seq>                        the device has applied every change up to seq
    1.<scope>.<seq>.<type index>.<id>      a snapshot begun when the log stood at seq, sent up
                                           to entity type ``EntityType.ALL[type index]``, id ``id``

Nothing in it needs to be secret or signed: a forged position only pages the caller's own
enterprise, and a scope that is not the caller's own gets a new snapshot.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

from sync.protocol import EntityType

VERSION = "1"
# Raise when the rules of what a user may see change: every device then starts over.
SCOPE_RULES = 1
MAX_LENGTH = 256

_SCOPE = re.compile(r"[0-9a-f]{16}")
_NUMBER = re.compile(r"(0|[1-9][0-9]{0,17})")  # fits a signed 64-bit column


class InvalidCursor(ValueError):
    """The text is not a cursor this server could have made."""


@dataclass(frozen=True)
class Cursor:
    scope: str
    seq: int
    # (index into EntityType.ALL, last id sent) while a snapshot is paging; None afterwards.
    snapshot: tuple[int, int] | None = None


def scope_of(secret: str, enterprise_id: int, role: str) -> str:
    """The fingerprint of what decides a user's offline data: the enterprise, the role, the rules.

    Keyed with the server's secret so that a cursor of another installation (same enterprise id,
    another database) is a different scope, not a position in the wrong log.
    """
    message = f"{SCOPE_RULES}:{enterprise_id}:{role}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:16]


def encode(cursor: Cursor) -> str:
    parts = [VERSION, cursor.scope, str(cursor.seq)]
    if cursor.snapshot is not None:
        parts += [str(cursor.snapshot[0]), str(cursor.snapshot[1])]
    return _text(".".join(parts))


def decode(text: str) -> Cursor:
    """Parse a cursor, or raise :class:`InvalidCursor` for anything this module did not make."""
    if not text or len(text) > MAX_LENGTH:
        raise InvalidCursor("length")
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4)).decode("ascii")
    except (UnicodeError, binascii.Error, ValueError) as exc:
        raise InvalidCursor("not base64 text") from exc
    if _text(raw) != text:
        raise InvalidCursor("not canonical")  # e.g. characters outside the URL-safe alphabet
    parts = raw.split(".")
    if len(parts) not in (3, 5) or parts[0] != VERSION or not _SCOPE.fullmatch(parts[1]):
        raise InvalidCursor("shape")
    if not all(_NUMBER.fullmatch(p) for p in parts[2:]):
        raise InvalidCursor("numbers")
    snapshot = None
    if len(parts) == 5:
        snapshot = (int(parts[3]), int(parts[4]))
        if snapshot[0] >= len(EntityType.ALL):
            raise InvalidCursor("entity type")
    return Cursor(parts[1], int(parts[2]), snapshot)


def _text(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()
