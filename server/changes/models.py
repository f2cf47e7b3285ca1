"""ChangeCounter (one row per enterprise) and Change (one row per entity touched per transaction)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db


class ChangeCounter(db.Model):
    """The enterprise's change sequence and tombstone horizon.

    ``value`` is the highest sequence number handed out. A writing transaction raises it with an
    UPDATE, which locks the row until that transaction ends: a second writer of the same
    enterprise waits there, so sequence numbers are taken in commit order and a reader never sees
    seq n+1 committed while n is still in flight (a bare autoincrement gives no such promise).

    ``horizon`` is the highest sequence number pruned away: the log holds exactly the changes
    ``(horizon, value]``, without gaps, and a cursor below ``horizon`` cannot be served.
    """

    __tablename__ = "change_counters"

    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    horizon: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class Change(db.Model):
    """Entity ``entity``/``entity_id`` was created, changed or removed by the transaction that took ``seq``.

    What happened is not stored: a pull sends the entity's state at the time of the pull (or a
    tombstone when it is gone or hidden), which is what the device needs whatever happened.
    """

    __tablename__ = "changes"

    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    entity: Mapped[str] = mapped_column(sa.String(32))
    entity_id: Mapped[int]
    at: Mapped[datetime]
