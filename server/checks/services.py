"""Check rules: store a check sent online, who may see which checks, and the managers' review.

Storing goes through :func:`server.checks.ingest.ingest_checks`, the path the sync push takes
too, so a check is judged by one set of rules however it arrives. Reviewing (已审阅 / 存疑) is
append-only: :func:`review_check` adds a row, the newest row is the check's verdict, and the
history of who said what stays. Services only flush.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from server import clock
from server.accounts.auth import Principal
from server.accounts.models import MANAGERS, Device, Role
from server.alerts import services as alerts
from server.alerts.models import Alert
from server.checklists.models import ChecklistVersion
from server.checks.ingest import Outcome, ingest_checks
from server.checks.models import Check, CheckPhoto, CheckReview, ReviewVerdict
from server.database import page_of
from server.errors import ZichaError
from server.extensions import db
from server.posts.grants import supervised_post_ids
from server.hazards import services as hazards
from server.hazards.models import Hazard
from server.photos import services as photos
from server.photos.models import Photo
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
            sa.or_(Check.user_id == principal.user_id, Check.post_id.in_(supervised_post_ids(principal.enterprise_id, principal.user_id)))
        )
    elif principal.role not in MANAGERS:
        clauses.append(Check.user_id == principal.user_id)
    return clauses


def get_check(principal: Principal, check_id: uuid.UUID) -> Check:
    check = db.session.scalar(sa.select(Check).where(Check.id == check_id, *_visible(principal)))
    if check is None:
        raise ZichaError("not_found")
    return check


# How sure the server is of when a check was made (``Check.time_quality``, see
# :mod:`sync.timing`): measured by the device's uptime — which nobody can set by hand — or not.
TRUSTED_TIME = ("monotonic", "anchored")

# ``verdict`` filter values: the newest review's verdict, or no review yet.
UNREVIEWED = "unreviewed"
VERDICT_FILTERS = (UNREVIEWED, *(v.value for v in ReviewVerdict))

_ORDER = {
    "received": (Check.received_at.desc(), Check.id),
    "performed": (Check.performed_at.desc(), Check.id),
}


def flagged_clause() -> sa.ColumnElement[bool]:
    """Checks whose timing deserves a second look: the time was not measured from the device's
    uptime (``time_quality`` not in :data:`TRUSTED_TIME`), or the check carries any flag (a
    wrong device clock, a retired checklist version, a paused schedule …). The checks page's
    ``flagged=1`` and any count of "flagged checks" use this one clause."""
    return sa.or_(Check.time_quality.not_in(TRUSTED_TIME), sa.func.coalesce(sa.func.json_array_length(Check.flags), 0) > 0)


def _newest_verdict() -> sa.ScalarSelect:
    """The verdict of a check's newest review (correlated to ``Check``), NULL when unreviewed."""
    return (
        sa.select(CheckReview.verdict)
        .where(CheckReview.check_id == Check.id)
        .order_by(CheckReview.at.desc(), CheckReview.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def verdict_clause(verdict: str) -> sa.ColumnElement[bool]:
    """``unreviewed``: no review yet; ``reviewed`` / ``questionable``: the newest review says so."""
    if verdict == UNREVIEWED:
        return ~sa.exists().where(CheckReview.check_id == Check.id)
    return _newest_verdict() == ReviewVerdict(verdict)


def local_day_start(day: date, zone: str) -> datetime:
    """The first instant (UTC) of ``day`` on the enterprise's calendar."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)


def list_checks(principal: Principal, filters: Mapping, page: int, page_size: int, order: str = "received") -> tuple[list[Check], int]:
    """Checks the caller may see, newest first, and how many match in all.

    Filters: ``post_id``, ``site_id``, ``schedule_id``, ``period_key``, ``frequency``, ``ok``,
    ``mine`` (the caller's own), ``since`` / ``until`` (performed at, UTC; until exclusive),
    ``date_from`` / ``date_to`` (performed on these days of the enterprise's calendar, both
    inclusive), ``verdict`` (``unreviewed``, ``reviewed``, ``questionable``: the newest review)
    and ``flagged`` (see :func:`flagged_clause`). ``order``: newest ``received`` (the API's
    listings) or newest ``performed`` (the dashboard's).
    """
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
    if "date_from" in filters:
        clauses.append(Check.performed_at >= local_day_start(filters["date_from"], principal.timezone))
    if "date_to" in filters:
        clauses.append(Check.performed_at < local_day_start(filters["date_to"] + timedelta(days=1), principal.timezone))
    if "verdict" in filters:
        clauses.append(verdict_clause(filters["verdict"]))
    if "flagged" in filters:
        clauses.append(flagged_clause() if filters["flagged"] else sa.not_(flagged_clause()))
    query = sa.select(Check).order_by(*_ORDER[order]).options(selectinload(Check.post).selectinload(Post.site), selectinload(Check.user))
    return page_of(Check, query, clauses, page, page_size)


# --------------------------------------------------------------------------- review


def review_check(principal: Principal, check_id: uuid.UUID, verdict: ReviewVerdict, note: str = "") -> CheckReview:
    """A safety manager's or admin's verdict on a check's evidence, with a note: appended, never
    changed (the newest review is the check's verdict; the earlier ones stay as history).

    Supervisors and workers may not review (``forbidden``); a check outside the caller's
    enterprise is ``not_found``; ``questionable`` needs a note saying what looks wrong
    (``review_note_required``). The time is the server's clock.
    """
    if principal.role not in MANAGERS:
        raise ZichaError("forbidden", {"role": ["only safety managers and admins review checks"]})
    check = get_check(principal, check_id)
    note = (note or "").strip()
    if verdict is ReviewVerdict.QUESTIONABLE and not note:
        raise ZichaError("review_note_required", {"note": ["say what looks wrong"]})
    review = CheckReview(
        enterprise_id=principal.enterprise_id, check_id=check.id, verdict=verdict, note=note,
        reviewer_id=principal.user_id, at=clock.now(),
    )
    db.session.add(review)
    db.session.flush()
    return review


def list_reviews(principal: Principal, check_id: uuid.UUID) -> list[CheckReview]:
    """A check's reviews, newest first (the first is its verdict), for whoever may see the check."""
    check = get_check(principal, check_id)
    return list(db.session.scalars(
        sa.select(CheckReview).where(CheckReview.check_id == check.id)
        .options(selectinload(CheckReview.reviewer))
        .order_by(CheckReview.at.desc(), CheckReview.id.desc())
    ))


def newest_reviews(check_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, CheckReview]:
    """The newest review of each of these (already visible) checks; unreviewed ones are absent."""
    ids = list(check_ids)
    if not ids:
        return {}
    newest: dict[uuid.UUID, CheckReview] = {}
    rows = db.session.scalars(
        sa.select(CheckReview).where(CheckReview.check_id.in_(ids)).order_by(CheckReview.at, CheckReview.id)
    )
    for review in rows:
        newest[review.check_id] = review
    return newest


# --------------------------------------------------------------------------- evidence


@dataclass
class CheckRow:
    """A check as the checks page lists it."""

    check: Check
    version: ChecklistVersion
    review: CheckReview | None


def check_rows(principal: Principal, filters: Mapping, page: int, page_size: int) -> tuple[list[CheckRow], int]:
    """One page of :func:`list_checks` (newest performed first) with each check's checklist
    version and newest review, read in one query each."""
    checks, total = list_checks(principal, filters, page, page_size, order="performed")
    versions = _versions({c.checklist_version_id for c in checks})
    reviews = newest_reviews(c.id for c in checks)
    return [CheckRow(c, versions[c.checklist_version_id], reviews.get(c.id)) for c in checks], total


def _versions(ids: set[int]) -> dict[int, ChecklistVersion]:
    if not ids:
        return {}
    return {v.id: v for v in db.session.scalars(sa.select(ChecklistVersion).where(ChecklistVersion.id.in_(ids)))}


@dataclass
class AnsweredItem:
    """One item of the check's checklist version and what was answered (None: left out)."""

    item: dict
    answer: dict | None

    @property
    def failed(self) -> bool:
        return self.answer is not None and self.answer.get("ok") is False


@dataclass
class Evidence:
    """Everything a reviewer reads about one check."""

    check: Check
    version: ChecklistVersion
    items: list[AnsweredItem]
    photos: dict[str, Photo]  # by SHA-256: the photos that have arrived (the others are awaited)
    device: Device | None
    hazards: list[Hazard] = field(default_factory=list)
    alert: Alert | None = None
    reviews: list[CheckReview] = field(default_factory=list)


def check_evidence(principal: Principal, check_id: uuid.UUID) -> Evidence:
    """A check the caller may see, with its answers laid against its checklist version's items,
    its photos (those arrived), the device it came from, the hazards and the alert it raised
    (those the caller may see, by the hazards' and alerts' own rules) and its reviews."""
    check = get_check(principal, check_id)
    version = db.session.get(ChecklistVersion, check.checklist_version_id)
    answers = {a["item_id"]: a for a in check.answers}
    items = [AnsweredItem(item, answers.get(item["id"])) for item in version.items]
    digests = [d for a in check.answers for d in a.get("photos", ())]
    device = db.session.get(Device, check.device_id) if check.device_id is not None else None
    found, _total = hazards.list_hazards(principal, {"check_id": check.id}, 1, 100)
    alert = None
    alert_id = db.session.scalar(sa.select(Alert.id).where(Alert.check_id == check.id, Alert.enterprise_id == principal.enterprise_id))
    if alert_id is not None:
        try:
            alert = alerts.get_alert(principal, alert_id)
        except ZichaError:
            alert = None  # an alert that never reached this supervisor is not theirs to see
    return Evidence(
        check=check, version=version, items=items, photos=photos.photos_of(principal.enterprise_id, digests),
        device=device, hazards=found, alert=alert, reviews=list_reviews(principal, check.id),
    )


PHOTO_VARIANTS = ("thumb", "display")


def check_photo(principal: Principal, check_id: uuid.UUID, sha256: str, variant: str) -> tuple[str, bytes]:
    """A served copy (``thumb`` or ``display``) of a photo that this check names, for a caller who
    may see the check: its digest and bytes. A photo the check does not name — even one of the
    same enterprise — or one not yet arrived is ``not_found``, like a check the caller may not see."""
    check = get_check(principal, check_id)
    digest = photos.normalise_digest(sha256)
    if variant not in PHOTO_VARIANTS or digest is None:
        raise ZichaError("not_found")
    named = db.session.scalar(sa.select(CheckPhoto.sha256).where(CheckPhoto.check_id == check.id, CheckPhoto.sha256 == digest))
    if named is None:
        raise ZichaError("not_found")
    photo = photos.get_photo(principal.enterprise_id, digest)
    return photo.sha256, photos.served_copy(photo, variant)
