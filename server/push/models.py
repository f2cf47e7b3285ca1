"""What the server remembers about each device's record counter (``device_seq``)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db


class DeviceSeq(db.Model):
    """The highest ``device_seq`` seen from a device, and the runs below it never received.

    A device numbers every record it makes, only ever rising, and sends each until it is
    acknowledged. So a number below the highest that never arrives is a record that was lost on
    the device (wiped app, broken phone) or never sent: ``gaps`` keeps each such run as
    ``[first, last, opened_at]`` (ISO time it was first seen missing) until records fill it, and
    managers see the runs that stay open.
    """

    __tablename__ = "device_seqs"

    device_id: Mapped[int] = mapped_column(sa.ForeignKey("devices.id"), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    highest: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    gaps: Mapped[list] = mapped_column(sa.JSON, default=list)
    open_gaps: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime]
