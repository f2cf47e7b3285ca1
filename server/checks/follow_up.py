"""Following up failed checks: the alert and the hazard drafts a failed item sets off.

A check with a failed item on a red or orange post must reach its supervisor and open a hazard
draft per failed item (see :func:`server.alerts.services.raise_for_failed_checks` and
:func:`server.hazards.services.drafts_for_failed_checks`). That is done here, not in the push
that stores the check, as a transactional outbox:

* the push stores the check with ``follow_up`` true, in the same row and the same statement —
  so a check on record always either has its consequences or is marked as owing them, and a
  crash at any instant loses neither;
* the ``checks.follow_up`` job (every tick of the jobs runner, before notifications are
  delivered) claims the marked checks, oldest first, and raises their alerts and drafts in one
  transaction with clearing the mark. Many pushes' checks are followed up in a handful of
  statements, where each push did the same work for its own few checks before; the alert's
  notification goes out in the same tick as it did when the push raised it, because delivery
  is a job of that runner either way.

Claiming is one conditional ``UPDATE … WHERE follow_up RETURNING id``: a check is followed up
by exactly one transaction even when the job and a device's hazard report (which needs the
draft of the item it names, :func:`follow_up` with ids) reach it at once — PostgreSQL makes the
second wait for the first's row lock and then finds the mark cleared; SQLite writes one at a
time. Both consequences skip what exists already, so even a replay changes nothing.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from server.alerts.services import describe_failed_checks, raise_for_failed_checks
from server.checks.models import Check
from server.database import chunks
from server.extensions import db
from server.hazards.services import drafts_for_failed_checks

BATCH = 500  # checks claimed per transaction by the job


@dataclass
class FollowedUp:
    checks: int = 0
    alerts: int = 0
    drafts: int = 0

    def __add__(self, other: "FollowedUp") -> "FollowedUp":
        return FollowedUp(self.checks + other.checks, self.alerts + other.alerts, self.drafts + other.drafts)

    def __str__(self) -> str:
        return f"{self.checks} failed check(s) followed up: {self.alerts} alert(s), {self.drafts} hazard draft(s)"


def follow_up(check_ids: Iterable[uuid.UUID] | None = None, *, limit: int = BATCH) -> FollowedUp:
    """Raise the alerts and drafts still owed by ``check_ids`` (those of them still marked), or
    by the ``limit`` oldest marked checks of every enterprise when no ids are given. Only
    flushes: the caller commits, and the marks are cleared in the same transaction."""
    table = Check.__table__
    if check_ids is None:
        # Written as the partial index's own condition, so that SQLite reads the index (it does
        # not see that ``follow_up = 1`` implies ``follow_up``) instead of scanning every check.
        oldest = sa.select(table.c.id).where(sa.text("checks.follow_up")).order_by(table.c.received_at).limit(limit)
        claimed = _claim(table.c.id.in_(oldest.scalar_subquery()))
    else:
        claimed = [cid for chunk in chunks(sorted(set(check_ids), key=str)) for cid in _claim(table.c.id.in_(chunk))]
    if not claimed:
        return FollowedUp()
    described = describe_failed_checks(claimed)
    return FollowedUp(len(claimed), len(raise_for_failed_checks(described)), len(drafts_for_failed_checks(described)))


def follow_up_all() -> FollowedUp:
    """Every marked check, :data:`BATCH` at a time, each batch committed (the job's task)."""
    total = FollowedUp()
    while True:
        done = follow_up(limit=BATCH)
        db.session.commit()
        total += done
        if done.checks < BATCH:
            return total


def _claim(which) -> list[uuid.UUID]:
    table = Check.__table__
    return list(db.session.scalars(sa.update(table).where(which, table.c.follow_up).values(follow_up=False).returning(table.c.id)))
