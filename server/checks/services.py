"""Check rules: validate a record against its checklist version, date it, store it once.

The record shape is :class:`sync.records.CheckRecordSchema`; the same function will serve the
offline sync push, record by record. It only flushes — the caller commits.
"""
from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from server import clock
from server.accounts.auth import Principal
from server.accounts.models import MANAGERS, Role
from server.checklists.models import ChecklistVersion
from server.checks.models import Check, CheckConflict
from server.database import get_owned
from server.enterprises.calendar import enterprise_period
from server.errors import ZichaError
from server.extensions import db
from server.posts.models import Post
from server.schedules.models import Schedule
from sync.records import CheckRecordSchema, content_hash, evaluate_answers
from sync.timing import estimate_performed_at


class Outcome(str, enum.Enum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


@dataclass
class SubmitResult:
    outcome: Outcome
    check: Check | None


_RECORD = CheckRecordSchema()


def submit_check(principal: Principal, record: dict) -> SubmitResult:
    """Store one check, exactly once.

    * Same id, same content (a retry): ``duplicate``, with the check first stored.
    * Same id, other content: ``conflict``; the newcomer is kept aside in ``check_conflicts``
      for review and the first check stays as it was.
    * Otherwise the record is validated — schedule and version of this enterprise, version of
      the schedule's checklist, every answer against the version's items — dated (the device's
      time clamped to what is possible), given its period in the enterprise's zone, and stored.
      A version retired while the device was offline is accepted and flagged.
    """
    digest = content_hash(record)
    existing = db.session.get(Check, record["id"])
    if existing is not None:
        return _repeat(principal, record, digest, existing)

    enterprise_id = principal.enterprise_id
    schedule = get_owned(Schedule, record["schedule_id"], enterprise_id)
    version = db.session.get(ChecklistVersion, record["checklist_version_id"])
    if version is None or version.enterprise_id != enterprise_id:
        raise ZichaError("validation_failed", {"checklist_version_id": ["unknown checklist version"]})
    if version.checklist_id != schedule.checklist_id:
        raise ZichaError("version_mismatch", {"checklist_version_id": ["belongs to another checklist"]})
    evaluation = evaluate_answers(version.items, record["answers"])
    if evaluation.errors:
        raise ZichaError("answers_invalid", evaluation.errors)

    received_at = clock.now()
    tolerance = timedelta(seconds=current_app.config["CLOCK_SKEW_TOLERANCE_SECONDS"])
    estimate = estimate_performed_at(record["performed_at"], received_at, version.published_at, tolerance)
    flags = list(estimate.flags)
    if version.retired_at is not None:
        flags.append("version_retired")
    if not schedule.active:
        flags.append("schedule_inactive")
    period = enterprise_period(principal.timezone, principal.shifts, schedule.frequency, estimate.at)
    check = Check(
        id=record["id"],
        enterprise_id=enterprise_id,
        schedule_id=schedule.id,
        post_id=schedule.post_id,
        checklist_version_id=version.id,
        user_id=principal.user_id,
        device_id=principal.device_id,
        frequency=schedule.frequency,
        period_key=period.key,
        performed_at=estimate.at,
        device_time=record["performed_at"],
        received_at=received_at,
        time_quality=estimate.quality,
        flags=flags,
        ok=evaluation.ok,
        failed_count=evaluation.failed_count,
        answers=evaluation.answers,
        note=record.get("note", ""),
        content_hash=digest,
        status="complete",
    )
    try:
        # A savepoint: if another request stored this id a moment ago, only this insert is
        # undone and the record is answered as a repeat of that one.
        with db.session.begin_nested():
            db.session.add(check)
    except IntegrityError:
        existing = db.session.get(Check, record["id"], populate_existing=True)
        if existing is None:
            raise
        return _repeat(principal, record, digest, existing)
    return SubmitResult(Outcome.ACCEPTED, check)


def _repeat(principal: Principal, record: dict, digest: str, existing: Check) -> SubmitResult:
    if existing.enterprise_id == principal.enterprise_id and existing.content_hash == digest:
        return SubmitResult(Outcome.DUPLICATE, existing)
    if existing.enterprise_id == principal.enterprise_id:
        # Kept for a person to look at; another tenant's id is refused without a trace of it.
        db.session.add(
            CheckConflict(
                enterprise_id=principal.enterprise_id,
                check_id=existing.id,
                user_id=principal.user_id,
                device_id=principal.device_id,
                content_hash=digest,
                payload=_RECORD.dump(record),
                received_at=clock.now(),
            )
        )
        db.session.flush()
    return SubmitResult(Outcome.CONFLICT, None)


def _visible(principal: Principal):
    """A filter on checks: managers see the enterprise, supervisors their posts, workers their own."""
    clauses = [Check.enterprise_id == principal.enterprise_id]
    if principal.role is Role.SUPERVISOR:
        clauses.append(
            sa.or_(Check.user_id == principal.user_id, Check.post_id.in_(sa.select(Post.id).where(Post.supervisor_id == principal.user_id)))
        )
    elif principal.role not in MANAGERS:
        clauses.append(Check.user_id == principal.user_id)
    return clauses


def get_check(principal: Principal, check_id: uuid.UUID) -> Check:
    check = db.session.scalar(sa.select(Check).where(Check.id == check_id, *_visible(principal)))
    if check is None:
        raise ZichaError("not_found")
    return check


def list_checks(principal: Principal, filters: dict, page: int, page_size: int) -> tuple[list[Check], int]:
    """Checks the caller may see, newest first, filtered by post, site, period, frequency, result."""
    clauses = _visible(principal)
    if filters.get("mine"):
        clauses.append(Check.user_id == principal.user_id)
    if "post_id" in filters:
        clauses.append(Check.post_id == filters["post_id"])
    if "site_id" in filters:
        clauses.append(Check.post_id.in_(sa.select(Post.id).where(Post.site_id == filters["site_id"])))
    if "schedule_id" in filters:
        clauses.append(Check.schedule_id == filters["schedule_id"])
    if "period_key" in filters:
        clauses.append(Check.period_key == filters["period_key"])
    if "frequency" in filters:
        clauses.append(Check.frequency == filters["frequency"])
    if "ok" in filters:
        clauses.append(Check.ok.is_(filters["ok"]))
    if "since" in filters:
        clauses.append(Check.performed_at >= filters["since"])
    if "until" in filters:
        clauses.append(Check.performed_at < filters["until"])
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Check).where(*clauses))
    rows = db.session.scalars(
        sa.select(Check).where(*clauses).order_by(Check.received_at.desc(), Check.id).limit(page_size).offset((page - 1) * page_size)
    )
    return list(rows), total


