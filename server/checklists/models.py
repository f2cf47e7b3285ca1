"""Checklist and ChecklistVersion.

A version's items are stored as one JSON document in the shape of :mod:`sync.records`
(``ItemSchema``): it is exactly what a device downloads and validates against offline. A
published version never changes — a guard in :mod:`server.checklists.services` refuses any
update — and item ids stay the same from version to version when the item is the same.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db


class Checklist(db.Model):
    __tablename__ = "checklists"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    # The version devices should use now (the newest published one); None until first publish.
    current_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("checklist_versions.id", use_alter=True, name="fk_checklists_current_version_id_checklist_versions")
    )
    created_at: Mapped[datetime]

    current_version: Mapped[ChecklistVersion | None] = relationship(foreign_keys=[current_version_id], post_update=True)
    versions: Mapped[list[ChecklistVersion]] = relationship(
        back_populates="checklist", foreign_keys="ChecklistVersion.checklist_id", order_by="ChecklistVersion.number"
    )


class ChecklistVersion(db.Model):
    __tablename__ = "checklist_versions"
    __table_args__ = (sa.UniqueConstraint("checklist_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    checklist_id: Mapped[int] = mapped_column(sa.ForeignKey("checklists.id"), index=True)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    items: Mapped[list] = mapped_column(sa.JSON)
    published_at: Mapped[datetime]
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Set when a newer version replaces this one; checks made with it offline are still accepted.
    retired_at: Mapped[datetime | None]

    checklist: Mapped[Checklist] = relationship(back_populates="versions", foreign_keys=[checklist_id])
