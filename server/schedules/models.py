"""Schedule: "this checklist at this post, daily/weekly/…, due within this window"."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.accounts.models import User
from server.checklists.models import Checklist
from server.extensions import db
from server.posts.models import Post
from sync.periods import Frequency


class Schedule(db.Model):
    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id"), index=True)
    checklist_id: Mapped[int] = mapped_column(sa.ForeignKey("checklists.id"), index=True)
    frequency: Mapped[Frequency] = mapped_column(sa.Enum(Frequency, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]))
    # The due window, in minutes from the start of each period: a daily check due 08:00–10:00
    # is (480, 600); None for the end means "by the end of the period".
    due_start_minutes: Mapped[int] = mapped_column(default=0)
    due_end_minutes: Mapped[int | None]
    # Who answers for it; None means the post's supervisor.
    responsible_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    post: Mapped[Post] = relationship()
    checklist: Mapped[Checklist] = relationship()
    responsible: Mapped[User | None] = relationship()
