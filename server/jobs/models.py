"""JobLease: one row per periodic job, the claim that keeps it from running twice at once."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db


class JobLease(db.Model):
    """Who runs a job now (``holder`` until ``lease_until``) and when it is next due.

    Every gunicorn worker (and any ``zicha jobs run`` from a timer) tries to claim a due job
    with one conditional UPDATE; the database lets exactly one win. A holder that dies keeps
    the job only until its lease runs out, then another takes it over.
    """

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(sa.String(128))
    lease_until: Mapped[datetime | None]
    next_run_at: Mapped[datetime]
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_result: Mapped[str] = mapped_column(sa.String(500), default="")
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    runs: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)
