"""Photo slots: a check is ``complete`` once every photo it names has arrived.

Records and photos travel separately and in either order. When a check is stored its slots are
written and its status set from the photos already present; when a photo arrives,
:func:`photo_arrived` completes every check that was waiting only for it. Both run inside the
caller's transaction, so a status never disagrees with the rows it is derived from.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable

import sqlalchemy as sa

from server.checks.models import Check, CheckPhoto
from server.extensions import db

COMPLETE = "complete"
AWAITING_PHOTOS = "awaiting_photos"


def present(enterprise_id: int, digests: Iterable[str]) -> set[str]:
    """Which of ``digests`` have arrived as photos of this enterprise."""
    digests = set(digests)
    if not digests:
        return set()
    return set(db.session.connection().execute(_present_statement(), {"enterprise_id": enterprise_id, "digests": list(digests)}).scalars())


@functools.cache
def _present_statement() -> sa.Select:
    """Built once (on first use: photos' models import this module), it keeps its cache key."""
    from server.photos.models import Photo

    return sa.select(Photo.sha256).where(
        Photo.enterprise_id == sa.bindparam("enterprise_id"), Photo.sha256.in_(sa.bindparam("digests", expanding=True))
    )


def photo_arrived(enterprise_id: int, sha256: str) -> int:
    """Complete every check of this enterprise whose last missing photo is ``sha256``.

    Call it in the transaction that stores the photo's row. Returns how many checks completed.
    """
    from server.photos.models import Photo

    waiting_for_it = sa.select(CheckPhoto.check_id).where(CheckPhoto.enterprise_id == enterprise_id, CheckPhoto.sha256 == sha256)
    slot = sa.orm.aliased(CheckPhoto)
    still_missing = (
        sa.select(slot.check_id)
        .where(slot.check_id == Check.id)
        .where(
            ~sa.exists().where(Photo.enterprise_id == enterprise_id, Photo.sha256 == slot.sha256)
        )
    )
    result = db.session.execute(
        sa.update(Check)
        .where(Check.enterprise_id == enterprise_id, Check.status == AWAITING_PHOTOS, Check.id.in_(waiting_for_it), ~sa.exists(still_missing))
        .values(status=COMPLETE)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
