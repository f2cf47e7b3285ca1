"""Photo (照片证据) and Upload (a resumable tus upload in progress)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db


class Photo(db.Model):
    """One photo of one enterprise, named by the SHA-256 of the bytes its device sent.

    Content addressing makes sending idempotent (the device may retry forever) and lets a check
    name its photos before they arrive. The same bytes sent by two enterprises are two rows:
    nothing about a photo is ever visible across tenants, not even that it exists.
    """

    __tablename__ = "photos"
    __table_args__ = (sa.UniqueConstraint("enterprise_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    # What the original really is (sniffed), not what the client said.
    content_type: Mapped[str] = mapped_column(sa.String(32))
    byte_size: Mapped[int] = mapped_column(sa.BigInteger)
    # As a person sees the photo: EXIF orientation applied.
    width: Mapped[int]
    height: Mapped[int]
    # Evidence read from EXIF. captured_at only when the camera wrote its UTC offset;
    # captured_local is its wall time as written ("2026-11-23T09:58:00"), offset or not.
    captured_at: Mapped[datetime | None]
    captured_local: Mapped[str | None] = mapped_column(sa.String(19))
    gps_lat: Mapped[float | None] = mapped_column(sa.Float)
    gps_lon: Mapped[float | None] = mapped_column(sa.Float)
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("devices.id"))
    received_at: Mapped[datetime]
    # Storage keys (server/photos/storage.py): the original as evidence, never served; the
    # re-encoded display copy and thumbnail, which are.
    original_key: Mapped[str] = mapped_column(sa.String(200))
    display_key: Mapped[str] = mapped_column(sa.String(200))
    thumb_key: Mapped[str] = mapped_column(sa.String(200))


class Upload(db.Model):
    """A tus 1.0 upload: its declared length and digest, how far it got, when it expires.

    The bytes are in ``PHOTO_TEMP_DIR``; this row is the truth about the offset (a byte on disk
    past ``upload_offset`` was never acknowledged and is cut off by the next PATCH). An upload belongs
    to one user of one enterprise; anyone else gets 404 for its id.
    """

    __tablename__ = "photo_uploads"
    __table_args__ = (sa.Index("ix_photo_uploads_expires_at", "expires_at"),)

    # Random, unguessable (128 bits as hex): the id is the upload's URL.
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("devices.id"))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    upload_length: Mapped[int] = mapped_column(sa.BigInteger)
    upload_offset: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # Upload-Metadata as sent (decoded), kept for the record: filename, filetype, sha256.
    meta: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    # Set when the last byte arrived and the photo was stored; the row stays until it expires
    # so that a client whose last answer was lost sees, by HEAD, that it is done.
    completed_at: Mapped[datetime | None]
