"""What became of every schedule's periods, and the numbers the overview shows.

**Period outcomes.** For each active schedule of an active post, every period of its frequency
that overlaps a window (and has begun) is exactly one of:

- ``done`` — a check is stored for the schedule and period key (any status: a check whose
  photos are still uploading was done);
- ``done_late`` — the sweep recorded a miss and a check arrived afterwards
  (:class:`~server.misses.models.MissedCheck` with status ``done_late``);
- ``missed`` — the sweep recorded a miss and nothing has arrived since;
- ``paused`` — no check and no miss, and a pause of the schedule or of its post overlaps the
  period by at least one instant (the sweep's own rule, :func:`server.misses.services._paused`);
- ``pending`` — the period has closed with no check, no miss and no pause, and the sweep has
  not passed it yet (it is within the sweep's grace): not yet judged;
- ``open`` — the current period, not done yet.

A recorded miss wins over a check (the check that corrects it is what made it ``done_late``),
a check over a pause, a pause over the clock. A period that ended before its schedule existed
is no one's duty and is left out, and so is one the sweep has passed without recording a miss
where nothing else explains it (the period began before the schedule existed, or the schedule
or its post was switched off when the sweep came): the sweep decided it was not due.

It takes five queries whatever the size — the schedules, the checks of the period keys, the
misses of the keys, the pauses of the window, the sweep's watermark — and the periods are a few
:mod:`sync.periods` calls per frequency (not per schedule). :func:`period_outcomes` is the one
place the rule lives: the daily digest (:func:`server.alerts.digest.outcomes`) is the same
call over the periods that closed on one day.

**Who sees what.** Safety managers and admins see the enterprise; a supervisor the posts of
:func:`server.posts.grants.supervised_post_ids` (the posts they supervise and those of sites
granted to them), the same rule as checks and misses. Hazards follow the hazard ledger's rule
(:func:`server.hazards.services.ledger_clauses`) and open alerts the inbox's
(:func:`server.alerts.services.list_alerts`), so every number here is the count of a list the
same person can open.
"""
from __future__ import annotations

import gc
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from server import clock
from server.accounts.auth import Principal
from server.accounts.models import MANAGERS, Role
from server.alerts.models import AlertStatus
from server.alerts.services import list_alerts
from server.checklists.models import Checklist
from server.checks.models import Check
from server.enterprises.calendar import enterprise_period
from server.enterprises.models import Site
from server.errors import ZichaError
from server.extensions import db
from server.hazards.models import Hazard, HazardStatus
from server.hazards.services import ledger_clauses
from server.misses.models import MissedCheck, MissStatus, Pause, SweepState
from server.misses.services import SWEEP_NAME, closed_periods
from server.posts.grants import supervised_post_ids
from server.posts.models import Post, RiskLevel
from server.schedules.models import Schedule
from sync.periods import Frequency, Period

DONE, DONE_LATE, MISSED, PAUSED, PENDING, OPEN = "done", "done_late", "missed", "paused", "pending", "open"
OUTCOMES = (DONE, DONE_LATE, MISSED, PAUSED, PENDING, OPEN)

RISK_ORDER = {RiskLevel.RED: 0, RiskLevel.ORANGE: 1, RiskLevel.YELLOW: 2, RiskLevel.BLUE: 3}

# The overview's spans: the enterprise's local day, ISO week (Monday first) and month.
SPANS = {"day": Frequency.DAILY, "week": Frequency.WEEKLY, "month": Frequency.MONTHLY}
CHART_DAYS = 30
# Hazards still in the loop (not closed, not rejected), and how many the overview lists.
UNFINISHED = (HazardStatus.REPORTED, HazardStatus.CONFIRMED, HazardStatus.ASSIGNED, HazardStatus.RECTIFIED)
HAZARD_ROWS = 15
# How many periods the calendar shows for a schedule that is not daily or per shift.
CALENDAR_ROW = {Frequency.WEEKLY: None, Frequency.MONTHLY: 6, Frequency.QUARTERLY: 4, Frequency.YEARLY: 3}
GRID = (Frequency.DAILY, Frequency.SHIFT)


# --------------------------------------------------------------------------- period outcomes


@dataclass(frozen=True)
class ScheduleFacts:
    """One schedule, with what a page or a digest says about its post."""

    id: int
    frequency: Frequency
    created_at: datetime
    checklist_name: str
    post_id: int
    post_name: str
    risk_level: RiskLevel
    site_id: int
    site_name: str


class PeriodOutcome(NamedTuple):
    """What became of one schedule's period. ``check_id``: the check that did it — for
    ``done_late`` the late one, for ``done`` the first one performed (looked up only when asked
    for, see :func:`period_outcomes`); ``failed``: a check of the period found failed items.
    (A named tuple: an enterprise's month is tens of thousands of them.)"""

    schedule_id: int
    post_id: int
    period: Period
    outcome: str
    check_id: uuid.UUID | None = None
    failed: bool = False


@dataclass
class History:
    """The schedules looked at and the outcome of each of their periods (by schedule, then time)."""

    schedules: dict[int, ScheduleFacts]
    periods: list[PeriodOutcome]
    zone: str
    now: datetime


def _posts_filter(column, posts) -> list:
    """``posts``: None for every post, else an id, a collection of ids or a SELECT of ids."""
    if posts is None:
        return []
    if isinstance(posts, int):
        return [column == posts]
    return [column.in_(posts if isinstance(posts, sa.Select) else list(posts))]


def overlapping_periods(zone: str, shifts: tuple[str, ...], frequency: Frequency, start: datetime, end: datetime, now: datetime) -> Iterator[Period]:
    """The periods of ``frequency`` that overlap ``[start, end)`` and have begun by ``now``, oldest first."""
    period = enterprise_period(zone, shifts, frequency, start)  # the one containing start
    while period.start < end and period.start <= now:
        yield period
        period = enterprise_period(zone, shifts, frequency, period.end)


def _covers(pause, period: Period) -> bool:
    """The sweep's rule (``_paused`` in :mod:`server.misses.services`, there in SQL): a pause
    overlaps the period by at least one instant; one called off before it began covers nothing."""
    return pause.starts_at < period.end and (pause.ends_at is None or (pause.ends_at > period.start and pause.ends_at > pause.starts_at))


@contextmanager
def _no_collection():
    """Pause the cyclic garbage collector while tens of thousands of rows and outcomes are made.

    None of them forms a cycle, but their sheer number sets off full collections that rescan the
    whole process heap: measured with bench/bench_overview.py, they took three quarters of the
    time. Reference counting still frees everything; the collector resumes as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def period_outcomes(
    enterprise_id: int,
    zone: str,
    shifts: tuple[str, ...],
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    *,
    posts: int | Collection[int] | sa.Select | None = None,
    closed_only: bool = False,
    check_ids: bool = False,
) -> History:
    """The outcome of every period of every active schedule of the enterprise's active posts
    (only of ``posts`` when given) that overlaps ``[start, end)`` and has begun by ``now``
    (default: the app clock) — or, with ``closed_only``, every period that *closed* in
    ``(start, end]`` (what the daily digest reports; these are taken as closed, never
    ``open``, whatever the clock says). See the module's docstring for the rule.
    ``check_ids``: name the check of every ``done`` period too (a page that links to them).

    Five queries whatever the number of posts, schedules or periods.
    """
    with _no_collection():
        return _period_outcomes(enterprise_id, zone, shifts, start, end, clock.now() if now is None else now, posts, closed_only, check_ids)


def _period_outcomes(enterprise_id, zone, shifts, start, end, now, posts, closed_only, check_ids) -> History:
    rows = db.session.execute(
        sa.select(
            Schedule.id, Schedule.frequency, Schedule.created_at, Checklist.name,
            Post.id, Post.name, Post.risk_level, Site.id, Site.name,
        )
        .join(Post, Post.id == Schedule.post_id)
        .join(Site, Site.id == Post.site_id)
        .join(Checklist, Checklist.id == Schedule.checklist_id)
        .where(Schedule.enterprise_id == enterprise_id, Schedule.active.is_(True), Post.active.is_(True), *_posts_filter(Post.id, posts))
        .order_by(Schedule.id)
    ).all()
    schedules = {row[0]: ScheduleFacts(row[0], Frequency(row[1]), *row[2:6], RiskLevel(row[6]), row[7], row[8]) for row in rows}
    history = History(schedules, [], zone, now)
    periods: dict[Frequency, list[Period]] = {}
    for frequency in sorted({s.frequency for s in schedules.values()}, key=list(Frequency).index):
        if closed_only:
            periods[frequency] = list(closed_periods(zone, shifts, frequency, start, end))
        else:
            periods[frequency] = list(overlapping_periods(zone, shifts, frequency, start, end, now))
    every = [p for found in periods.values() for p in found]
    if not every:
        return history
    keys = sorted({p.key for p in every})
    first, last = min(p.start for p in every), max(p.end for p in every)
    # Core on the session's connection: these are the many rows, and ORM row handling adds nothing.
    connection = db.session.connection()

    # (schedule, key) -> (the first check performed, or None when not asked for; any failed)
    checks: dict[tuple[int, str], tuple[uuid.UUID | None, bool]] = {}
    where = [Check.enterprise_id == enterprise_id, Check.period_key.in_(keys), *_posts_filter(Check.post_id, posts)]
    if check_ids:
        for schedule_id, key, check_id, ok in connection.execute(
            sa.select(Check.schedule_id, Check.period_key, Check.id, Check.ok).where(*where).order_by(Check.performed_at, Check.id)
        ).all():
            known = checks.get((schedule_id, key))
            checks[(schedule_id, key)] = (known[0], known[1] or not ok) if known else (check_id, not ok)
    else:
        all_ok = sa.func.min(sa.case((Check.ok, 1), else_=0))
        for schedule_id, key, ok in connection.execute(
            sa.select(Check.schedule_id, Check.period_key, all_ok).where(*where).group_by(Check.schedule_id, Check.period_key)
        ).all():
            checks[(schedule_id, key)] = (None, not ok)
    misses = {
        (schedule_id, key): (status, late_check_id)
        for schedule_id, key, status, late_check_id in connection.execute(
            sa.select(MissedCheck.schedule_id, MissedCheck.period_key, MissedCheck.status, MissedCheck.late_check_id).where(
                MissedCheck.enterprise_id == enterprise_id, MissedCheck.period_key.in_(keys), *_posts_filter(MissedCheck.post_id, posts)
            )
        ).all()
    }
    pauses = connection.execute(
        sa.select(Pause.post_id, Pause.schedule_id, Pause.starts_at, Pause.ends_at).where(
            Pause.enterprise_id == enterprise_id,
            Pause.starts_at < last,
            sa.or_(Pause.ends_at.is_(None), sa.and_(Pause.ends_at > first, Pause.ends_at > Pause.starts_at)),
        )
    ).all()
    # Every period that closed by the watermark has been judged by the sweep.
    swept = db.session.scalar(sa.select(SweepState.watermark).where(SweepState.name == SWEEP_NAME))
    by_post: dict[int, list] = {}
    by_schedule: dict[int, list] = {}
    for pause in pauses:
        if pause.post_id is not None:
            by_post.setdefault(pause.post_id, []).append(pause)
        else:
            by_schedule.setdefault(pause.schedule_id, []).append(pause)

    append = history.periods.append
    for s in schedules.values():
        schedule_id, post_id, created_at = s.id, s.post_id, s.created_at
        own_pauses = by_schedule.get(schedule_id, []) + by_post.get(post_id, [])
        for period in periods[s.frequency]:
            if created_at >= period.end:
                continue  # the schedule did not exist yet
            key = (schedule_id, period.key)
            miss = misses.get(key)
            check = checks.get(key)
            if miss is not None:
                if miss[0] is MissStatus.DONE_LATE:
                    append(PeriodOutcome(schedule_id, post_id, period, DONE_LATE, miss[1], check is not None and check[1]))
                else:
                    append(PeriodOutcome(schedule_id, post_id, period, MISSED))
            elif check is not None:
                append(PeriodOutcome(schedule_id, post_id, period, DONE, check[0], check[1]))
            elif own_pauses and any(_covers(pause, period) for pause in own_pauses):
                append(PeriodOutcome(schedule_id, post_id, period, PAUSED))
            elif not closed_only and period.end > now:
                append(PeriodOutcome(schedule_id, post_id, period, OPEN))
            elif swept is None or period.end > swept:
                append(PeriodOutcome(schedule_id, post_id, period, PENDING))
            # else: passed by the sweep, which found it was not due
    return history


def visible_posts(principal: Principal) -> sa.Select | None:
    """The posts this person's overview covers: None (all) for managers, a SELECT for supervisors."""
    if principal.role in MANAGERS:
        return None
    if principal.role is Role.SUPERVISOR:
        return supervised_post_ids(principal.enterprise_id, principal.user_id)
    raise ZichaError("forbidden")


# --------------------------------------------------------------------------- the numbers


@dataclass
class Tally:
    """Periods counted by outcome. *Due*: every period that closed, and every one done already
    (a current period is not due until it closes, unless it is done); paused ones are not due.
    *Completion*: done (on time or late) out of due; None when nothing is due."""

    done: int = 0
    done_late: int = 0
    missed: int = 0
    paused: int = 0
    pending: int = 0
    open: int = 0
    failed: int = 0

    def add(self, outcome: PeriodOutcome) -> None:
        setattr(self, outcome.outcome, getattr(self, outcome.outcome) + 1)
        self.failed += outcome.failed

    @property
    def due(self) -> int:
        return self.done + self.done_late + self.missed + self.pending

    @property
    def completion(self) -> float | None:
        return (self.done + self.done_late) / self.due if self.due else None

    @property
    def percent(self) -> int | None:
        """Completion in whole percent, rounded down (99.6 % is not 100 %)."""
        return None if self.completion is None else int(self.completion * 100 + 1e-9)


@dataclass
class PostRow:
    post_id: int
    name: str
    risk_level: RiskLevel
    site_id: int
    site_name: str
    tally: Tally = field(default_factory=Tally)


@dataclass
class SiteRow:
    site_id: int
    name: str
    tally: Tally = field(default_factory=Tally)
    posts: list[PostRow] = field(default_factory=list)


@dataclass
class MissedRow:
    """A recorded miss of the span: the post, the schedule, the period, done late or not."""

    post_id: int
    post_name: str
    risk_level: RiskLevel
    site_name: str
    schedule_id: int
    checklist_name: str
    frequency: Frequency
    period: Period
    outcome: str
    check_id: uuid.UUID | None


@dataclass
class ChartDay:
    day: date
    tally: Tally


@dataclass
class HazardRow:
    id: int
    number: str
    description: str
    status: HazardStatus
    grade: str | None
    deadline: datetime | None
    post_name: str | None
    overdue: bool


@dataclass
class HazardSummary:
    by_status: dict[str, int]  # by status value, every status present
    unfinished: int
    overdue: int
    rows: list[HazardRow]


@dataclass
class Overview:
    span: str
    window: Period
    first_day: date
    last_day: date
    total: Tally
    sites: list[SiteRow]
    posts: list[PostRow]
    missed: list[MissedRow]
    chart: list[ChartDay]
    open_alerts: int
    hazards: HazardSummary


def _overlaps(period: Period, start: datetime, end: datetime) -> bool:
    return period.start < end and period.end > start


def _priority(row: PostRow) -> tuple:
    """Red and orange posts first, then the least complete (nothing due counts as complete)."""
    completion = row.tally.completion
    return (row.risk_level not in (RiskLevel.RED, RiskLevel.ORANGE), 1.0 if completion is None else completion, RISK_ORDER[row.risk_level], row.name, row.post_id)


def completion_by_post(history: History, outcomes: list[PeriodOutcome]) -> tuple[Tally, list[SiteRow], list[PostRow]]:
    """The outcomes counted in all, by site and by post; posts by :func:`_priority`, sites by
    completion (least first), each site's posts in the same order as the posts."""
    total = Tally()
    posts: dict[int, PostRow] = {}
    for s in history.schedules.values():
        posts.setdefault(s.post_id, PostRow(s.post_id, s.post_name, s.risk_level, s.site_id, s.site_name))
    for outcome in outcomes:
        total.add(outcome)
        posts[outcome.post_id].tally.add(outcome)
    ordered = sorted(posts.values(), key=_priority)
    sites: dict[int, SiteRow] = {}
    for row in ordered:
        site = sites.setdefault(row.site_id, SiteRow(row.site_id, row.site_name))
        site.posts.append(row)
        for name in OUTCOMES + ("failed",):
            setattr(site.tally, name, getattr(site.tally, name) + getattr(row.tally, name))
    by_site = sorted(sites.values(), key=lambda s: (1.0 if s.tally.completion is None else s.tally.completion, s.name, s.site_id))
    return total, by_site, ordered


def missed_rows(history: History, outcomes: list[PeriodOutcome], status: str | None = None) -> list[MissedRow]:
    """The recorded misses among ``outcomes`` (``missed`` and ``done_late``, or only ``status``),
    the latest period first, red posts first within a period."""
    wanted = {status} if status else {MISSED, DONE_LATE}
    rows = []
    for o in outcomes:
        if o.outcome in wanted:
            s = history.schedules[o.schedule_id]
            rows.append(MissedRow(s.post_id, s.post_name, s.risk_level, s.site_name, s.id, s.checklist_name, s.frequency, o.period, o.outcome, o.check_id))
    rows.sort(key=lambda r: (-r.period.end.timestamp(), RISK_ORDER[r.risk_level], r.post_name, r.schedule_id))
    return rows


def local_days_before(zone: str, shifts: tuple[str, ...], now: datetime, count: int) -> list[Period]:
    """The ``count`` whole local days before the one ``now`` falls in, oldest first."""
    day = enterprise_period(zone, shifts, Frequency.DAILY, now)
    days = []
    for _ in range(count):
        day = enterprise_period(zone, shifts, Frequency.DAILY, day.start - timedelta(microseconds=1))
        days.append(day)
    return days[::-1]


def daily_chart(history: History, days: list[Period]) -> list[ChartDay]:
    """Per local day, the periods that closed on it (as in the digest) counted by outcome."""
    zone = ZoneInfo(history.zone)
    chart = {date.fromisoformat(d.key): ChartDay(date.fromisoformat(d.key), Tally()) for d in days}
    for o in history.periods:
        if o.period.end > history.now:
            continue
        closed_on = (o.period.end - timedelta(microseconds=1)).astimezone(zone).date()
        if closed_on in chart:
            chart[closed_on].tally.add(o)
    return list(chart.values())


def hazard_summary(principal: Principal, now: datetime) -> HazardSummary:
    """Hazards the person may see in the ledger: counted by status, and the unfinished ones
    listed with the overdue first (nearest deadline first), then the rest by deadline. Three
    queries: the counts, the overdue (with their total), the others."""
    by_status = {HazardStatus(status): n for status, n in db.session.execute(
        sa.select(Hazard.status, sa.func.count()).where(*ledger_clauses(principal, {})).group_by(Hazard.status)
    )}

    def listed(filters: dict, extra: list, limit: int, overdue: bool) -> tuple[list[HazardRow], int]:
        if limit <= 0:
            return [], 0
        query = (
            sa.select(Hazard.id, Hazard.number, Hazard.description, Hazard.status, Hazard.grade, Hazard.deadline, Post.name, sa.func.count().over())
            .outerjoin(Post, Post.id == Hazard.post_id)
            .where(*ledger_clauses(principal, filters), *extra)
            .order_by(Hazard.deadline.is_(None), Hazard.deadline, Hazard.found_at.desc(), Hazard.id.desc())
            .limit(limit)
        )
        rows, total = [], 0
        for hid, number, description, status, grade, deadline, post_name, total in db.session.execute(query):
            rows.append(HazardRow(hid, number, description, HazardStatus(status), getattr(grade, "value", grade), deadline, post_name, overdue))
        return rows, total

    late, overdue = listed({"overdue": True}, [], HAZARD_ROWS, True)
    others, _ = listed({"overdue": False}, [Hazard.status.in_(UNFINISHED)], HAZARD_ROWS - len(late), False)
    return HazardSummary(
        by_status={status.value: by_status.get(status, 0) for status in HazardStatus},
        unfinished=sum(by_status.get(status, 0) for status in UNFINISHED),
        overdue=overdue,
        rows=late + others,
    )


def open_alert_count(principal: Principal) -> int:
    """Open (unacknowledged) alerts: in the person's inbox, or the enterprise's for managers."""
    _, total = list_alerts(principal, {"status": AlertStatus.OPEN, "all": principal.role in MANAGERS}, 1, 1)
    return total


def span_period(principal: Principal, span: str, now: datetime) -> Period:
    """Today, this ISO week or this month in the enterprise's calendar."""
    if span not in SPANS:
        raise ZichaError("validation_failed", {"span": [f"one of {', '.join(SPANS)}"]})
    return enterprise_period(principal.timezone, principal.shifts, SPANS[span], now)


def _last_day(window: Period, zone: str) -> date:
    return (window.end - timedelta(microseconds=1)).astimezone(ZoneInfo(zone)).date()


def overview(principal: Principal, span: str = "day", now: datetime | None = None) -> Overview:
    """Everything the overview page shows for today, this week or this month: completion in
    all, by site and by post, the span's recorded misses, the last 30 days by day, open alerts
    and hazards — each number the count of rows the same person can list.

    One :func:`period_outcomes` call covers both the span and the chart's 30 days.
    """
    now = clock.now() if now is None else now
    with _no_collection():
        return _overview(principal, span, now)


def _overview(principal: Principal, span: str, now: datetime) -> Overview:
    window = span_period(principal, span, now)
    days = local_days_before(principal.timezone, principal.shifts, now, CHART_DAYS)
    history = period_outcomes(
        principal.enterprise_id, principal.timezone, principal.shifts, min(window.start, days[0].start), window.end, now,
        posts=visible_posts(principal),
    )
    in_span = [o for o in history.periods if _overlaps(o.period, window.start, window.end)]
    total, sites, posts = completion_by_post(history, in_span)
    zone = ZoneInfo(principal.timezone)
    return Overview(
        span=span, window=window,
        first_day=window.start.astimezone(zone).date(), last_day=_last_day(window, principal.timezone),
        total=total, sites=sites, posts=posts,
        missed=missed_rows(history, in_span),
        chart=daily_chart(history, days),
        open_alerts=open_alert_count(principal),
        hazards=hazard_summary(principal, now),
    )


@dataclass
class SpanMisses:
    span: str
    window: Period
    first_day: date
    last_day: date
    missed: list[MissedRow]


def span_misses(
    principal: Principal, span: str = "day", status: str | None = None, post_id: int | None = None, site_id: int | None = None,
    now: datetime | None = None,
) -> SpanMisses:
    """The recorded misses (``missed`` and ``done_late``, or only ``status``) of the span's
    periods, of one post or one site when asked (what the overview's miss counts link to)."""
    if status not in (None, MISSED, DONE_LATE):
        raise ZichaError("validation_failed", {"status": [f"one of {MISSED}, {DONE_LATE}"]})
    now = clock.now() if now is None else now
    window = span_period(principal, span, now)
    history = period_outcomes(principal.enterprise_id, principal.timezone, principal.shifts, window.start, window.end, now, posts=visible_posts(principal))
    rows = [
        row for row in missed_rows(history, history.periods, status)
        if (post_id is None or row.post_id == post_id) and (site_id is None or history.schedules[row.schedule_id].site_id == site_id)
    ]
    zone = ZoneInfo(principal.timezone)
    return SpanMisses(span, window, window.start.astimezone(zone).date(), _last_day(window, principal.timezone), rows)


# --------------------------------------------------------------------------- one post's calendar


@dataclass
class CalendarCell:
    """One local day of a grid: its periods (one for daily, one per shift), or none (outside
    the schedule's life or still to come)."""

    day: date
    periods: list[PeriodOutcome]
    today: bool = False


@dataclass
class ScheduleCalendar:
    schedule: ScheduleFacts
    tally: Tally
    weeks: list[list[CalendarCell]] = field(default_factory=list)  # daily and per-shift schedules
    row: list[PeriodOutcome] = field(default_factory=list)  # weekly, monthly, quarterly, yearly


@dataclass
class PostCalendar:
    post: Post
    site_name: str
    first_day: date
    last_day: date
    schedules: list[ScheduleCalendar]


def visible_post(principal: Principal, post_id: int) -> Post:
    """A post of the person's overview, or ``not_found`` (another enterprise's, or for a
    supervisor one they do not see — never ``forbidden``)."""
    clauses = [Post.id == post_id, Post.enterprise_id == principal.enterprise_id, *_posts_filter(Post.id, visible_posts(principal))]
    post = db.session.scalar(sa.select(Post).where(*clauses))
    if post is None:
        raise ZichaError("not_found")
    return post


def post_calendar(principal: Principal, post_id: int, weeks: int = 5, now: datetime | None = None) -> PostCalendar:
    """One post's periods: for a daily or per-shift schedule a Monday-first grid of the last
    ``weeks`` weeks (this one included), for the others a row of their latest periods (the
    weeks of the grid; 6 months; 4 quarters; 3 years)."""
    if not 1 <= weeks <= 26:
        raise ZichaError("validation_failed", {"weeks": ["between 1 and 26"]})
    now = clock.now() if now is None else now
    post = visible_post(principal, post_id)
    zone, shifts = principal.timezone, principal.shifts
    this_week = enterprise_period(zone, shifts, Frequency.WEEKLY, now)
    grid_start = this_week.start
    for _ in range(weeks - 1):
        grid_start = enterprise_period(zone, shifts, Frequency.WEEKLY, grid_start - timedelta(microseconds=1)).start
    row_starts = {Frequency.WEEKLY: grid_start}
    for frequency, count in CALENDAR_ROW.items():
        if count:
            period = enterprise_period(zone, shifts, frequency, now)
            for _ in range(count - 1):
                period = enterprise_period(zone, shifts, frequency, period.start - timedelta(microseconds=1))
            row_starts[frequency] = period.start
    history = period_outcomes(
        principal.enterprise_id, zone, shifts, min(grid_start, *row_starts.values()), this_week.end, now, posts=post.id, check_ids=True,
    )
    local = ZoneInfo(zone)
    first_day = grid_start.astimezone(local).date()
    today = now.astimezone(local).date()
    calendars = []
    for schedule in sorted(history.schedules.values(), key=lambda s: (list(Frequency).index(s.frequency), s.checklist_name, s.id)):
        own = [o for o in history.periods if o.schedule_id == schedule.id]
        calendar = ScheduleCalendar(schedule, Tally())
        if schedule.frequency in GRID:
            own = [o for o in own if o.period.end > grid_start]
            by_day: dict[date, list[PeriodOutcome]] = {}
            for o in own:
                by_day.setdefault(o.period.start.astimezone(local).date(), []).append(o)
            days = [first_day + timedelta(days=i) for i in range(7 * weeks)]
            cells = [CalendarCell(d, by_day.get(d, []), d == today) for d in days]
            calendar.weeks = [cells[i : i + 7] for i in range(0, len(cells), 7)]
        else:
            own = [o for o in own if o.period.end > row_starts[schedule.frequency]]
            calendar.row = own
        for o in own:
            calendar.tally.add(o)
        calendars.append(calendar)
    site_name = db.session.scalar(sa.select(Site.name).where(Site.id == post.site_id))
    return PostCalendar(post, site_name, first_day, _last_day(this_week, zone), calendars)
