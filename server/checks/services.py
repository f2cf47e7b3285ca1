"""Check rules: store a check sent online, and who may see which checks.

Storing goes through :func:`server.checks.ingest.ingest_checks`, the path the sync push takes
too, so a check is judged by one set of rules however it arrives. Services only flush.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from server.accounts.auth import Principal
from server.accounts.models import MANAGERS, Role
from server.checks.ingest import Outcome, ingest_checks
from server.checks.models import Check
from server.database import page_of
from server.errors import ZichaError
from server.extensions import db
from server.posts.models import Post


@dataclass
class SubmitResult:
    outcome: Outcome
    check: Check | None


def submit_check(principal: Principal, record: dict) -> SubmitResult:
    """Store one check sent online, by the same rules as the sync push (see :mod:`server.checks.ingest`).

    A rejected record raises its error; ``accepted`` and ``duplicate`` come with the stored check.
    """
    result = ingest_checks(principal, [record])[0]
    if result.outcome is Outcome.REJECTED:
        raise result.error
    check = None if result.stored is None else db.session.get(Check, result.stored.id)
    return SubmitResult(result.outcome, check)


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
    return page_of(Check, sa.select(Check).order_by(Check.received_at.desc(), Check.id), clauses, page, page_size)


