"""The rules of missed checks: the sweep, late arrivals, and pauses. Services only flush.

**The sweep.** A schedule's period is *missed* when it has closed, the grace for late sync
(``MISS_GRACE_MINUTES``) has passed, and no check of any status is stored for that schedule and
period key (a check whose photos are still uploading was done). Not missed: a period that began
before the schedule existed, or that overlaps by any instant a pause of the schedule or of its
post, or whose schedule or post is switched off.

It works set-based: schedules are grouped by what decides their periods — (time zone, shifts,
frequency) — and for each group Python computes the few periods that closed since the watermark
(a handful of :mod:`sync.periods` calls, however many schedules there are); each (group, period)
is then one ``INSERT … SELECT … WHERE NOT EXISTS (check) AND NOT EXISTS (pause) ON CONFLICT DO
NOTHING RETURNING id``. The database does the anti-join; nothing loops over schedules in Python.

**Once, and never skipped.** The watermark row is written first — it is the lock that queues a
second sweep behind the first (a row lock on PostgreSQL, the write lock on SQLite) — and moved
at the end, in the same transaction as the records it covers. A sweep that dies before its
commit leaves the watermark where it was, so the next does the same work; the unique
(schedule_id, period_key) with ``ON CONFLICT DO NOTHING`` makes a record once even if two
sweeps overlap some other way. The first sweep ever looks back ``MISS_LOOKBACK_DAYS``, not to
the beginning of time.

**Late arrivals.** A check that arrives for a period already recorded as missed turns the miss
into ``done_late`` with the check's performed and received times; the miss is corrected, never
erased (see :func:`checks_arrived`, called by check ingest in its own transaction).
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from operator import attrgetter
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from server import clock
from server.accounts.auth import Principal
from server.accounts.models import Role
from server.checks.models import Check
from server.database import chunks, dialect_insert, get_owned, page_of
from server.enterprises.calendar import enterprise_period
from server.enterprises.models import Enterprise
from server.errors import ZichaError
from server.extensions import UTCDateTime, db
from server.posts.grants import supervised_post_ids
from server.misses.models import MissedCheck, MissStatus, Pause, SweepState
from server.posts.models import Post, RiskLevel
from server.schedules.models import Schedule
from sync.periods import Frequency, Period

SWEEP_NAME = "misses"
# Ids per IN list: far below SQLite's bound-parameter limit, large enough to be few statements.
_CHUNK = 5000


class NewMiss(NamedTuple):
    """A miss the sweep has just recorded, with what an alert needs to reach the right person.

    ``responsible_id`` is the schedule's own; None means the post's supervisor answers for it.
    (A named tuple: a sweep may return tens of thousands, and these are ~4x cheaper to make
    than frozen dataclasses.)
    """

    id: int
    enterprise_id: int
    schedule_id: int
    post_id: int
    post_name: str
    risk_level: RiskLevel
    supervisor_id: int | None
    responsible_id: int | None
    frequency: Frequency
    period_key: str
    period_start: datetime
    period_end: datetime
    closed_at: datetime


class Arrival(NamedTuple):
    """A check just stored: which schedule and period it is for, and its two times."""

    schedule_id: int
    period_key: str
    check_id: uuid.UUID
    performed_at: datetime
    received_at: datetime


# --------------------------------------------------------------------------- the sweep


def sweep(now: datetime | None = None) -> list[NewMiss]:
    """Record every miss whose period closed at or before ``now − MISS_GRACE_MINUTES`` and after
    the watermark; move the watermark there. Returns the misses recorded by this call (none of
    them recorded before), ordered by id.

    Flushes only: the caller commits (the watermark and the records go in together) or rolls
    back (both stay as they were). ``now`` defaults to the app clock; a ``now`` at or before the
    watermark does nothing (the watermark never moves back).
    """
    now = clock.now() if now is None else now
    if now.tzinfo is None:
        raise ValueError("sweep needs an aware datetime")
    config = current_app.config
    horizon = now - timedelta(minutes=config["MISS_GRACE_MINUTES"])
    watermark = _lock_watermark(horizon - timedelta(days=config["MISS_LOOKBACK_DAYS"]), now)
    if horizon <= watermark:
        return []
    recorded: list[NewMiss] = []
    for (zone, _, frequency), (shifts, enterprise_ids) in _calendar_groups().items():
        for period in closed_periods(zone, shifts, frequency, watermark, horizon):
            for chunk in chunks(enterprise_ids, _CHUNK):
                recorded += _record_misses(chunk, frequency, period, now)
    db.session.execute(sa.update(SweepState).where(SweepState.name == SWEEP_NAME).values(watermark=horizon, updated_at=now))
    return sorted(recorded, key=attrgetter("id"))


def closed_periods(zone: str, shifts: Sequence[str], frequency: Frequency, after: datetime, upto: datetime) -> Iterator[Period]:
    """The periods of ``frequency`` in this calendar that end in ``(after, upto]``, oldest first."""
    period = enterprise_period(zone, shifts, frequency, after)  # ends after ``after``
    while period.end <= upto:
        yield period
        period = enterprise_period(zone, shifts, frequency, period.end)


def _lock_watermark(initial: datetime, now: datetime) -> datetime:
    """The watermark, locked until the transaction ends; created at ``initial`` by the first sweep.

    The insert comes first because on SQLite a write is what takes the database's write lock: a
    second sweep waits here until the first commits, then reads the watermark it moved.
    """
    db.session.execute(
        dialect_insert(SweepState.__table__)
        .values(name=SWEEP_NAME, watermark=initial, updated_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return db.session.scalar(sa.select(SweepState.watermark).where(SweepState.name == SWEEP_NAME).with_for_update())


def _calendar_groups() -> dict[tuple[str, tuple[str, ...], Frequency], tuple[tuple[str, ...], list[int]]]:
    """Enterprises with active schedules, grouped by what decides their periods' bounds: each
    group's shifts (any member's, for a frequency that ignores them) and enterprise ids.

    Shifts matter only to per-shift schedules, so every other frequency groups by zone alone.
    """
    pairs = sa.select(Schedule.enterprise_id, Schedule.frequency).where(Schedule.active.is_(True)).distinct().subquery()
    rows = db.session.execute(
        sa.select(pairs.c.enterprise_id, pairs.c.frequency, Enterprise.timezone, Enterprise.shifts)
        .join(Enterprise, Enterprise.id == pairs.c.enterprise_id)
        .order_by(pairs.c.enterprise_id)
    )
    groups: dict[tuple[str, tuple[str, ...], Frequency], tuple[tuple[str, ...], list[int]]] = {}
    for enterprise_id, frequency, zone, shifts in rows:
        key = (zone, tuple(shifts) if frequency is Frequency.SHIFT else (), frequency)
        groups.setdefault(key, (tuple(shifts), []))[1].append(enterprise_id)
    return groups


def _paused(column, target, period: Period):
    """A pause of this target that overlaps the period by at least one instant (a pause called
    off before it began has ``ends_at == starts_at`` and covers nothing)."""
    return sa.exists().where(
        column == target,
        Pause.starts_at < period.end,
        sa.or_(Pause.ends_at.is_(None), sa.and_(Pause.ends_at > period.start, Pause.ends_at > Pause.starts_at)),
    )


_MISS_COLUMNS = ("enterprise_id", "schedule_id", "post_id", "frequency", "period_key", "period_start", "period_end", "closed_at", "detected_at", "status")


def _record_misses(enterprise_ids: Sequence[int], frequency: Frequency, period: Period, now: datetime) -> list[NewMiss]:
    """One statement: a miss for every schedule of these enterprises with this period and no check.

    What alerts need of the post and schedule comes back in the same statement (subqueries in
    ``RETURNING``, by primary key), rather than by a second query over the new ids.
    """
    table = MissedCheck.__table__

    def of(column, key_column, row_column: str):
        # The row's column spelled out: SQLAlchemy renders RETURNING columns unqualified on SQLite.
        return sa.select(column).where(key_column == sa.literal_column(f"{table.name}.{row_column}")).scalar_subquery()

    def value(column: str, literal):
        return sa.literal(literal, table.c[column].type)

    candidates = (
        sa.select(
            Schedule.enterprise_id, Schedule.id, Schedule.post_id, Schedule.frequency,
            value("period_key", period.key), value("period_start", period.start), value("period_end", period.end),
            value("closed_at", period.end), value("detected_at", now), value("status", MissStatus.MISSED),
        )
        .join(Post, Post.id == Schedule.post_id)
        .where(
            Schedule.enterprise_id.in_(enterprise_ids),
            Schedule.frequency == frequency,
            Schedule.active.is_(True),
            Post.active.is_(True),
            Schedule.created_at <= period.start,
            ~sa.exists().where(Check.schedule_id == Schedule.id, Check.period_key == period.key),
            ~_paused(Pause.schedule_id, Schedule.id, period),
            ~_paused(Pause.post_id, Schedule.post_id, period),
        )
    )
    statement = (
        dialect_insert(table)
        .from_select(_MISS_COLUMNS, candidates)
        .on_conflict_do_nothing(index_elements=["schedule_id", "period_key"])
        .returning(
            table.c.id, table.c.enterprise_id, table.c.schedule_id, table.c.post_id,
            of(Post.name, Post.id, "post_id"), of(Post.risk_level, Post.id, "post_id"),
            of(Post.supervisor_id, Post.id, "post_id"), of(Schedule.responsible_id, Schedule.id, "schedule_id"),
        )
    )
    key, start, end = period.key, period.start, period.end
    return [
        NewMiss(miss_id, enterprise_id, schedule_id, post_id, name, risk, supervisor_id, responsible_id, frequency, key, start, end, end)
        for miss_id, enterprise_id, schedule_id, post_id, name, risk, supervisor_id, responsible_id in db.session.execute(statement)
    ]


# --------------------------------------------------------------------------- late arrivals


_RECORDED_MISSES = sa.select(MissedCheck.schedule_id, MissedCheck.period_key).where(
    MissedCheck.enterprise_id == sa.bindparam("enterprise_id"),
    MissedCheck.status == MissStatus.MISSED,
    MissedCheck.schedule_id.in_(sa.bindparam("schedule_ids", expanding=True)),
    MissedCheck.period_key.in_(sa.bindparam("period_keys", expanding=True)),
)


def checks_arrived(enterprise_id: int, arrivals: Iterable[Arrival]) -> list[int]:
    """Mark as ``done_late`` the recorded misses these newly stored checks are for; their ids.

    One ``UPDATE … FROM (VALUES …)``: only rows still ``missed`` change, so the first late check
    of a period is the one recorded and a later one changes nothing. Of several checks for one
    period in the same call, the one performed first counts. Flushes only; call it in the
    transaction that stores the checks.
    """
    first: dict[tuple[int, str], Arrival] = {}
    for arrival in map(Arrival._make, arrivals):
        key = (arrival.schedule_id, arrival.period_key)
        if key not in first or arrival.performed_at < first[key].performed_at:
            first[key] = arrival
    if not first:
        return []
    table = MissedCheck.__table__
    # Almost always nothing was missed: one cheap, cacheable look-up spares the UPDATE (whose
    # VALUES list is compiled afresh each time) on every push.
    recorded = db.session.connection().execute(
        _RECORDED_MISSES,
        {"enterprise_id": enterprise_id, "schedule_ids": list({key[0] for key in first}), "period_keys": list({key[1] for key in first})},
    )
    first = {key: first[key] for key in map(tuple, recorded) if key in first}
    if not first:
        return []
    arrived = (
        sa.values(
            sa.column("schedule_id", sa.Integer), sa.column("period_key", sa.String), sa.column("check_id", sa.Uuid),
            sa.column("performed_at", UTCDateTime()), sa.column("received_at", UTCDateTime()),
            name="arrived",
        )
        .data(list(first.values()))
        .cte("arrived")  # SQLite reads VALUES with named columns only as a CTE
    )
    statement = (
        sa.update(table)
        .where(
            table.c.enterprise_id == enterprise_id,
            table.c.status == MissStatus.MISSED,
            table.c.schedule_id == arrived.c.schedule_id,
            table.c.period_key == arrived.c.period_key,
        )
        .values(
            status=MissStatus.DONE_LATE,
            late_check_id=arrived.c.check_id,
            late_performed_at=arrived.c.performed_at,
            late_received_at=arrived.c.received_at,
            corrected_at=clock.now(),
        )
        .returning(table.c.id)
    )
    return sorted(db.session.scalars(statement))


# --------------------------------------------------------------------------- reading misses


def _visible_misses(principal: Principal) -> list:
    """Managers see the enterprise's misses, supervisors those of the posts they see
    (:func:`server.posts.grants.supervised_post_ids`)."""
    clauses = [MissedCheck.enterprise_id == principal.enterprise_id]
    if principal.role is Role.SUPERVISOR:
        clauses.append(MissedCheck.post_id.in_(supervised_post_ids(principal.enterprise_id, principal.user_id)))
    return clauses


_MISS_FILTERS = {
    "status": lambda value: MissedCheck.status == value,
    "post_id": lambda value: MissedCheck.post_id == value,
    "schedule_id": lambda value: MissedCheck.schedule_id == value,
    "site_id": lambda value: MissedCheck.post_id.in_(sa.select(Post.id).where(Post.site_id == value)),
    "frequency": lambda value: MissedCheck.frequency == value,
    "since": lambda value: MissedCheck.closed_at >= value,
    "until": lambda value: MissedCheck.closed_at < value,
}


def list_misses(principal: Principal, filters: dict, page: int, page_size: int) -> tuple[list[MissedCheck], int]:
    """Misses the caller may see, the most recently closed first, by status, post, site,
    frequency and when the period closed (``since`` inclusive, ``until`` exclusive)."""
    clauses = _visible_misses(principal) + [_MISS_FILTERS[name](value) for name, value in filters.items()]
    query = sa.select(MissedCheck).options(joinedload(MissedCheck.post)).order_by(MissedCheck.closed_at.desc(), MissedCheck.id.desc())
    return page_of(MissedCheck, query, clauses, page, page_size)


def get_miss(principal: Principal, miss_id: int) -> MissedCheck:
    """One miss the caller may see; any other id (another tenant's, another supervisor's) is 404."""
    return _visible_one(MissedCheck, miss_id, _visible_misses(principal))



def _visible_one(model, ident: int, clauses: list):
    """The row with this id if the caller may see it, else ``not_found`` (never ``forbidden``:
    what one may not see, one may not learn exists)."""
    row = db.session.scalar(sa.select(model).where(model.id == ident, *clauses))
    if row is None:
        raise ZichaError("not_found")
    return row


# --------------------------------------------------------------------------- pauses


def _visible_pauses(principal: Principal) -> list:
    clauses = [Pause.enterprise_id == principal.enterprise_id]
    if principal.role is Role.SUPERVISOR:
        posts = supervised_post_ids(principal.enterprise_id, principal.user_id)
        clauses.append(
            sa.or_(Pause.post_id.in_(posts), Pause.schedule_id.in_(sa.select(Schedule.id).where(Schedule.post_id.in_(posts))))
        )
    return clauses


def create_pause(principal: Principal, data: dict) -> Pause:
    """Pause a post or one schedule from ``starts_at`` (default now) until ``ends_at`` (default:
    until lifted).

    A start in the past is allowed — a stoppage is often entered the morning after — but it only
    excuses periods the sweep has not judged yet: misses already recorded stay recorded.
    """
    now = clock.now()
    post_id, schedule_id = data.get("post_id"), data.get("schedule_id")
    if (post_id is None) == (schedule_id is None):
        raise ZichaError("validation_failed", {"post_id": ["give exactly one of post_id and schedule_id"]})
    if post_id is not None:
        get_owned(Post, post_id, principal.enterprise_id)
    else:
        get_owned(Schedule, schedule_id, principal.enterprise_id)
    starts_at = (data.get("starts_at") or now).astimezone(timezone.utc)
    ends_at = data.get("ends_at") and data["ends_at"].astimezone(timezone.utc)
    if ends_at is not None and ends_at <= starts_at:
        raise ZichaError("validation_failed", {"ends_at": ["must be after starts_at"]})
    pause = Pause(
        enterprise_id=principal.enterprise_id, post_id=post_id, schedule_id=schedule_id, reason=data["reason"],
        starts_at=starts_at, ends_at=ends_at, created_by_id=principal.user_id, created_at=now,
    )
    db.session.add(pause)
    db.session.flush()
    return pause


def end_pause(principal: Principal, pause_id: int, ends_at: datetime | None = None) -> Pause:
    """Lift a pause at ``ends_at`` (default now; never in the past, which would un-excuse periods
    already judged). A pause that has already ended is a ``pause_ended`` conflict; a pause that
    has not started yet ends before it begins and so covers nothing."""
    pause = get_owned(Pause, pause_id, principal.enterprise_id)
    now = clock.now()
    if pause.ends_at is not None and pause.ends_at <= now:
        raise ZichaError("pause_ended", {"ends_at": pause.ends_at.isoformat()})
    ends_at = now if ends_at is None else ends_at.astimezone(timezone.utc)
    if ends_at < now:
        raise ZichaError("validation_failed", {"ends_at": ["must not be in the past"]})
    if pause.ends_at is not None and ends_at > pause.ends_at:
        raise ZichaError("validation_failed", {"ends_at": ["a pause can be shortened here, not lengthened"]})
    if ends_at <= pause.starts_at:
        ends_at = pause.starts_at  # called off before it began: kept on record, covering nothing
    pause.ends_at, pause.ended_by_id, pause.ended_at = ends_at, principal.user_id, now
    db.session.flush()
    return pause


def _in_force(wanted: bool):
    now = clock.now()
    in_force = sa.and_(Pause.starts_at <= now, sa.or_(Pause.ends_at.is_(None), Pause.ends_at > now))
    return in_force if wanted else ~in_force


_PAUSE_FILTERS = {
    "post_id": lambda value: Pause.post_id == value,
    "schedule_id": lambda value: Pause.schedule_id == value,
    "active": _in_force,
}


def paused_now(enterprise_id: int) -> tuple[set[int], set[int]]:
    """The ids of the posts and of the schedules of an enterprise that a pause in force now
    covers (a schedule is also paused when its post is: check both)."""
    rows = db.session.execute(sa.select(Pause.post_id, Pause.schedule_id).where(Pause.enterprise_id == enterprise_id, _in_force(True))).all()
    return {post for post, _ in rows if post is not None}, {schedule for _, schedule in rows if schedule is not None}


def list_pauses(principal: Principal, filters: dict, page: int, page_size: int) -> tuple[list[Pause], int]:
    """Pauses the caller may see, newest first; ``active`` keeps those in force now (or not)."""
    clauses = _visible_pauses(principal) + [_PAUSE_FILTERS[name](value) for name, value in filters.items()]
    return page_of(Pause, sa.select(Pause).order_by(Pause.starts_at.desc(), Pause.id.desc()), clauses, page, page_size)


def get_pause(principal: Principal, pause_id: int) -> Pause:
    """One pause the caller may see (managers: the enterprise's; supervisors: their posts')."""
    return _visible_one(Pause, pause_id, _visible_pauses(principal))
