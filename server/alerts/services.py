"""Alert rules: raising alerts, escalating them, acknowledging and resolving, the inbox, settings.

Who hears of an alert is a chain of three levels — the post's supervisor (0), the enterprise's
safety managers (1), the enterprise head (2; the admins stand in when no head is named). An alert
starts at the lowest level that has anyone on it and, until someone acknowledges it, climbs one
level each time its colour's interval passes (defaults: red 60 min, orange 4 h, yellow 24 h, blue
never — blue goes into the daily digest instead and is never pushed to robots or e-mail).

Everything here only flushes; the caller (a view, a CLI command, the periodic runner) commits, so
an alert, its history and the notifications telling of it are stored together or not at all.
Raising is set-based (a day's rollover may close thousands of periods at once); escalation takes
each due alert with a conditional UPDATE, so two runs at once escalate each alert once.
"""
from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from server import clock
from server.accounts.auth import Principal
from server.accounts.models import MANAGERS, Role, User
from server.alerts import texts
from server.alerts.models import Alert, AlertEvent, AlertKind, AlertRecipient, AlertSettings, AlertStatus, EventKind, Level
from server.checklists.models import ChecklistVersion
from server.checks.models import Check
from server.database import chunks, get_owned, insert_returning_ids, page_of
from server.enterprises.models import Enterprise
from server.errors import ZichaError
from server.extensions import db
from server.misses.models import MissedCheck
from server.notifications import services as notifications
from server.notifications.message import Message
from server.posts.models import Post, RiskLevel

DEFAULT_MINUTES: dict[RiskLevel, int | None] = {
    RiskLevel.RED: 60,
    RiskLevel.ORANGE: 240,
    RiskLevel.YELLOW: 1440,
    RiskLevel.BLUE: None,
}
DEFAULT_DIGEST_HOUR = 7
# Colours whose failed items raise an alert (较大 and 重大 risk).
FAILED_ITEM_COLOURS = frozenset({RiskLevel.RED, RiskLevel.ORANGE})
# Colours told in the app only: no robot, webhook or e-mail push; the daily digest carries them.
IN_APP_ONLY = frozenset({RiskLevel.BLUE})
# --------------------------------------------------------------------------- the chain


@dataclass(frozen=True)
class Chain:
    """One enterprise's escalation chain above the supervisor, and its timetable."""

    enterprise_id: int
    timezone: str
    shifts: tuple[str, ...]
    managers: tuple[int, ...]
    head: tuple[int, ...]
    head_user_id: int | None
    minutes: dict[RiskLevel, int | None]
    digest_hour: int

    def interval(self, risk: RiskLevel) -> timedelta | None:
        minutes = self.minutes.get(risk)
        return None if minutes is None else timedelta(minutes=minutes)

    def at(self, level: int, supervisor_id: int | None) -> tuple[int, ...]:
        """Who stands at ``level`` for an alert whose post has ``supervisor_id`` (active or None)."""
        if level == Level.SUPERVISOR:
            return () if supervisor_id is None else (supervisor_id,)
        return self.managers if level == Level.SAFETY_MANAGER else self.head

    def climb(self, level: int, supervisor_id: int | None = None) -> tuple[int, tuple[int, ...]]:
        """From ``level``, the first level at or above it with anyone on it, and who.

        A level with nobody (no supervisor on the post, no safety manager) is stepped over, so
        an alert never waits an interval at a level where no one can see it. When nobody stands
        anywhere above, the answer is the head's level with no one.
        """
        for candidate in range(level, Level.HEAD + 1):
            people = self.at(candidate, supervisor_id)
            if people:
                return candidate, people
        return int(Level.HEAD), ()


def chains_of(enterprise_ids: Iterable[int]) -> dict[int, Chain]:
    """The chain of each enterprise: 3 queries, however many enterprises."""
    ids = sorted(set(enterprise_ids))
    if not ids:
        return {}
    calendars = {r.id: r for r in db.session.execute(sa.select(Enterprise.id, Enterprise.timezone, Enterprise.shifts).where(Enterprise.id.in_(ids)))}
    settings = {s.enterprise_id: s for s in db.session.scalars(sa.select(AlertSettings).where(AlertSettings.enterprise_id.in_(ids)))}
    heads = {s.head_user_id for s in settings.values() if s.head_user_id is not None}
    people = db.session.execute(
        sa.select(User.id, User.enterprise_id, User.role)
        .where(User.enterprise_id.in_(ids), User.active.is_(True), sa.or_(User.role.in_(list(MANAGERS)), User.id.in_(heads or [0])))
        .order_by(User.id)
    ).all()
    chains = {}
    for eid in ids:
        if eid not in calendars:
            continue
        mine = [p for p in people if p.enterprise_id == eid]
        s = settings.get(eid)
        head_id = s.head_user_id if s else None
        head = (head_id,) if any(p.id == head_id for p in mine) else tuple(p.id for p in mine if Role(p.role) is Role.ADMIN)
        chains[eid] = Chain(
            enterprise_id=eid,
            timezone=calendars[eid].timezone,
            shifts=tuple(calendars[eid].shifts),
            managers=tuple(p.id for p in mine if Role(p.role) is Role.SAFETY_MANAGER),
            head=head,
            head_user_id=head_id,
            minutes=_minutes(s),
            digest_hour=s.digest_hour if s else DEFAULT_DIGEST_HOUR,
        )
    return chains


def _minutes(settings: AlertSettings | None) -> dict[RiskLevel, int | None]:
    if settings is None:
        return dict(DEFAULT_MINUTES)
    return {risk: getattr(settings, f"{risk.value}_minutes") for risk in RiskLevel}


def _active_users(pairs: Iterable[tuple[int, int | None]]) -> set[tuple[int, int]]:
    """Of (enterprise_id, user_id) pairs, those naming an active user of that enterprise."""
    wanted = sorted({uid for _eid, uid in pairs if uid is not None})
    found: set[tuple[int, int]] = set()
    for chunk in chunks(wanted):
        found.update(
            (r.enterprise_id, r.id)
            for r in db.session.execute(sa.select(User.id, User.enterprise_id).where(User.id.in_(chunk), User.active.is_(True)))
        )
    return found


def alert_link(alert_id: int) -> str:
    """Where a person opens the alert: its page in the dashboard (sign-in first if needed)."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/manage/alerts/{alert_id}"


def notify(enterprise_id: int, message: Message, recipient_ids: Sequence[int], alert_id: int | None, push: bool) -> None:
    """Hand a message to the notifications outbox (never delivered from here); ``push=False``
    keeps it in the recipients' in-app inbox only (blue alerts: no robot, webhook or e-mail)."""
    if recipient_ids:
        notifications.enqueue(enterprise_id, message, recipient_ids, alert_id=alert_id, push=push)


# --------------------------------------------------------------------------- raising


def _raise(rows: list[dict], supervisors: list[int | None], chains: dict[int, Chain], now: datetime) -> list[int]:
    """Insert alerts (with their first recipients and ``created`` events) and notify; set-based.

    ``rows`` are Alert column values without level or escalate_at; ``supervisors`` the post's
    active supervisor of each (None: none), in the same order.
    """
    if not rows:
        return []
    starts = []
    for row, supervisor_id in zip(rows, supervisors):
        chain = chains[row["enterprise_id"]]
        level, people = chain.climb(Level.SUPERVISOR, supervisor_id)
        interval = chain.interval(row["risk_level"])
        row.update(
            status=AlertStatus.OPEN,
            level=level,
            escalate_at=now + interval if interval is not None and level < Level.HEAD else None,
            created_at=now,
        )
        starts.append(people)
    ids = insert_returning_ids(Alert.__table__, rows)
    recipients = [
        {"alert_id": alert_id, "user_id": uid, "level": row["level"], "added_at": now}
        for alert_id, row, people in zip(ids, rows, starts)
        for uid in people
    ]
    if recipients:
        db.session.execute(sa.insert(AlertRecipient.__table__), recipients)
    db.session.execute(
        sa.insert(AlertEvent.__table__),
        [{"alert_id": alert_id, "kind": EventKind.CREATED.value, "at": now, "actor_id": None, "level": row["level"], "note": ""} for alert_id, row in zip(ids, rows)],
    )
    outgoing: dict[int, list] = {}
    for alert_id, row, people in zip(ids, rows, starts):
        if not people:
            continue
        alert = SimpleNamespace(id=alert_id, **row)  # what the message builders read of an alert
        message = texts.alert_message(alert, alert_link(alert_id))
        outgoing.setdefault(row["enterprise_id"], []).append(
            notifications.Outgoing(message, people, alert_id, push=row["risk_level"] not in IN_APP_ONLY)
        )
    for enterprise_id, items in outgoing.items():
        notifications.enqueue_many(enterprise_id, items)
    return ids


def _existing(column, values: Sequence) -> set:
    found: set = set()
    for chunk in chunks(sorted(set(values), key=str)):
        found.update(db.session.scalars(sa.select(column).where(column.in_(chunk))))
    return found


def raise_for_misses(new_misses: Sequence[Mapping | Any]) -> list[int]:
    """One alert per new missed check, for the post's supervisor; returns the new alerts' ids.

    Each miss is a mapping — or the sweep's ``NewMiss`` as it comes — with ``id`` (the MissedCheck's
    id; ``missed_check_id`` is accepted too), ``enterprise_id``, ``schedule_id``, ``post_id``, ``post_name``, ``risk_level``,
    ``supervisor_id``, ``responsible_id``, ``frequency``, ``period_key`` and ``closed_at`` — what
    the sweep already has in hand, so raising costs no query per miss. A post without an active
    supervisor starts at the safety managers. A miss that already has its alert is skipped, so a
    repeated call changes nothing. Only flushes.
    """
    misses = list({_miss_id(m): m for m in map(_as_mapping, new_misses)}.values())
    if not misses:
        return []
    known = _existing(Alert.missed_check_id, [_miss_id(m) for m in misses])
    misses = [m for m in misses if _miss_id(m) not in known]
    chains = chains_of(m["enterprise_id"] for m in misses)
    active = _active_users((m["enterprise_id"], m.get("supervisor_id")) for m in misses)
    rows, supervisors = [], []
    for m in misses:
        chain = chains[m["enterprise_id"]]
        risk = RiskLevel(m["risk_level"])
        wording = texts.missed_check_wording(m["post_name"], risk, m["frequency"], m["period_key"], m["closed_at"], chain.timezone)
        rows.append(
            {
                "enterprise_id": m["enterprise_id"],
                "kind": AlertKind.MISSED_CHECK.value,
                "post_id": m["post_id"],
                "risk_level": risk,
                "missed_check_id": _miss_id(m),
                "check_id": None,
                "schedule_id": m["schedule_id"],
                "period_key": m["period_key"],
                **vars(wording),
            }
        )
        supervisor = m.get("supervisor_id")
        supervisors.append(supervisor if (m["enterprise_id"], supervisor) in active else None)
    return _raise(rows, supervisors, chains, clock.now())


def _as_mapping(value: Any) -> Mapping:
    """Mappings as they are; the sweep's ``NewMiss`` (a named tuple) or a dataclass as its fields."""
    if isinstance(value, Mapping):
        return value
    if hasattr(value, "_asdict"):
        return value._asdict()
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    return vars(value)


def _miss_id(miss: Mapping) -> int:
    return miss["missed_check_id"] if "missed_check_id" in miss else miss["id"]


def raise_for_failed_checks(checks: Sequence[Mapping]) -> list[int]:
    """An alert for each check with failed items on a red or orange post; returns the new ids.

    Each check is a mapping with ``id`` (the check's UUID; ``check_id`` is accepted too),
    ``enterprise_id``, ``post_id``, ``risk_level``, ``supervisor_id`` and ``failed_items`` (labels:
    strings, or ``{"label", "label_en"}``); ``post_name`` and ``schedule_id`` / ``period_key``
    are used when given (the post's name is looked up otherwise). Checks on yellow or blue posts,
    checks with no failed item, and checks that already have an alert are skipped. Only flushes.
    """
    wanted = {}
    for c in map(_as_mapping, checks):
        if RiskLevel(c["risk_level"]) in FAILED_ITEM_COLOURS and c.get("failed_items"):
            wanted[_check_id(c)] = c
    if not wanted:
        return []
    known = _existing(Alert.check_id, list(wanted))
    todo = [c for cid, c in wanted.items() if cid not in known]
    missing_names = sorted({c["post_id"] for c in todo if not c.get("post_name")})
    names = {}
    for chunk in chunks(missing_names):
        names.update(db.session.execute(sa.select(Post.id, Post.name).where(Post.id.in_(chunk))).all())
    chains = chains_of(c["enterprise_id"] for c in todo)
    active = _active_users((c["enterprise_id"], c.get("supervisor_id")) for c in todo)
    rows, supervisors = [], []
    for c in todo:
        risk = RiskLevel(c["risk_level"])
        wording = texts.failed_item_wording(c.get("post_name") or names.get(c["post_id"], ""), risk, c["failed_items"])
        rows.append(
            {
                "enterprise_id": c["enterprise_id"],
                "kind": AlertKind.FAILED_ITEM.value,
                "post_id": c["post_id"],
                "risk_level": risk,
                "missed_check_id": None,
                "check_id": _check_id(c),
                "schedule_id": c.get("schedule_id"),
                "period_key": c.get("period_key"),
                **vars(wording),
            }
        )
        supervisor = c.get("supervisor_id")
        supervisors.append(supervisor if (c["enterprise_id"], supervisor) in active else None)
    return _raise(rows, supervisors, chains, clock.now())


# How an overdue hazard escalates: a 重大 (major) hazard on the red timetable, a 一般 (general) one
# on the orange — an overdue hazard is at least as urgent as a failed item on an orange post.
OVERDUE_HAZARD_RISK = {"major": RiskLevel.RED, "general": RiskLevel.ORANGE}


def raise_for_overdue_hazards(hazards: Sequence[Mapping]) -> list[int]:
    """One ``overdue_hazard`` alert per hazard past its deadline; the new ids, in the given order.

    Each hazard is a mapping with ``enterprise_id``, ``number``, ``grade`` (``major``/``general``),
    ``description``, ``deadline``, ``post_id`` (may be None), ``post_name``, ``responsible_id`` and
    ``supervisor_id`` (the post's). Level 0 is the responsible person (who must act), or the
    post's supervisor when the responsible person is not an active user; then the safety managers
    and the head, on the red timetable for 重大 and the orange one for 一般. The caller
    (:func:`server.hazards.services.overdue`) keeps which hazard has its alert, so this raises
    unconditionally. Only flushes.
    """
    hazards = [_as_mapping(h) for h in hazards]
    if not hazards:
        return []
    chains = chains_of(h["enterprise_id"] for h in hazards)
    active = _active_users([(h["enterprise_id"], h.get("responsible_id")) for h in hazards] + [(h["enterprise_id"], h.get("supervisor_id")) for h in hazards])
    rows, first = [], []
    for h in hazards:
        grade = getattr(h["grade"], "value", h["grade"])
        risk = OVERDUE_HAZARD_RISK[grade]
        wording = texts.overdue_hazard_wording(h["number"], grade, h["description"], h.get("post_name") or "", h["deadline"], chains[h["enterprise_id"]].timezone)
        rows.append(
            {
                "enterprise_id": h["enterprise_id"], "kind": AlertKind.OVERDUE_HAZARD.value, "post_id": h.get("post_id"),
                "risk_level": risk, "missed_check_id": None, "check_id": None, "schedule_id": None, "period_key": None, **vars(wording),
            }
        )
        person = next((uid for uid in (h.get("responsible_id"), h.get("supervisor_id")) if (h["enterprise_id"], uid) in active), None)
        first.append(person)
    return _raise(rows, first, chains, clock.now())


def raise_for_report(enterprise_id: int, report_id: int) -> int:
    """The alert for a new family report; its id. It goes straight to the safety managers (the
    head or the admins when there are none) and never to a supervisor, who may be the one the
    report is about. Blue: in the app only — no robot, webhook or e-mail, which reach group chats
    — and it climbs only as blue alerts do (by default never), and then only to the head. The
    triage resolves it (:func:`resolve_by_system`). Only flushes."""
    row = {
        "enterprise_id": enterprise_id, "kind": AlertKind.REPORT.value, "post_id": None, "risk_level": RiskLevel.BLUE,
        "missed_check_id": None, "check_id": None, "schedule_id": None, "period_key": None, **vars(texts.report_wording(report_id)),
    }
    return _raise([row], [None], chains_of([enterprise_id]), clock.now())[0]


def resolve_by_system(alert_id: int, actor_id: int, note: str) -> bool:
    """Resolve an alert because what it asked for was done elsewhere (a report triaged): a
    ``resolved`` event by ``actor_id``; False when it was resolved already. Only flushes."""
    alert = db.session.get(Alert, alert_id)
    if alert is None or not _take(alert, [Alert.status != AlertStatus.RESOLVED], status=AlertStatus.RESOLVED, escalate_at=None):
        return False
    _event(alert, EventKind.RESOLVED, clock.now(), actor_id, note)
    return True


def describe_failed_checks(check_ids: Sequence[uuid.UUID]) -> list[dict]:
    """What :func:`raise_for_failed_checks` needs of stored checks: those with failed items on
    red or orange posts, each with its failed items' labels (zh and en) from its own version.

    For :mod:`server.checks.follow_up`, which knows only the ids of the checks it claimed: two
    queries, whatever the number.
    """
    rows = []
    for chunk in chunks(sorted(set(check_ids), key=str)):
        rows += db.session.execute(
            sa.select(
                Check.id, Check.enterprise_id, Check.post_id, Check.schedule_id, Check.period_key, Check.checklist_version_id,
                Check.answers, Post.name, Post.risk_level, Post.supervisor_id,
            )
            .join(Post, Post.id == Check.post_id)
            .where(Check.id.in_(chunk), Check.failed_count > 0, Post.risk_level.in_(list(FAILED_ITEM_COLOURS)))
        ).all()
    versions = dict(
        db.session.execute(sa.select(ChecklistVersion.id, ChecklistVersion.items).where(ChecklistVersion.id.in_({r.checklist_version_id for r in rows} or {0}))).all()
    )
    described = []
    for r in rows:
        items = {item["id"]: item for item in versions.get(r.checklist_version_id, [])}
        failed = [
            {"item_id": a["item_id"], "label": items.get(a["item_id"], {}).get("label", a["item_id"]), "label_en": items.get(a["item_id"], {}).get("label_en")}
            for a in r.answers
            if a.get("ok") is False
        ]
        described.append(
            {
                "id": r.id, "enterprise_id": r.enterprise_id, "post_id": r.post_id, "post_name": r.name, "risk_level": r.risk_level,
                "supervisor_id": r.supervisor_id, "schedule_id": r.schedule_id, "period_key": r.period_key, "failed_items": failed,
            }
        )
    return described


def _check_id(check: Mapping) -> uuid.UUID:
    value = check["check_id"] if "check_id" in check else check["id"]
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def misses_done_late(miss_ids: Sequence[int]) -> None:
    """The misses' checks arrived late: each one's alert gets a ``corrected`` event, stops
    escalating, and everyone it reached is told (the supervisor first among them).

    The alert stays — in its status, with its history — because a miss that was made good late
    is still a fact a manager wants to see. Alerts already corrected are left alone, so a
    repeated call changes nothing. Only flushes.
    """
    ids = sorted(set(miss_ids))
    if not ids:
        return
    now = clock.now()
    alerts: list[Alert] = []
    for chunk in chunks(ids):
        alerts += db.session.scalars(
            sa.select(Alert).where(Alert.missed_check_id.in_(chunk), Alert.corrected_at.is_(None)).order_by(Alert.id)
        ).all()
    if not alerts:
        return
    misses = {}
    for chunk in chunks([a.missed_check_id for a in alerts]):
        misses.update((m.id, m) for m in db.session.scalars(sa.select(MissedCheck).where(MissedCheck.id.in_(chunk))))
    recipients = _recipients_of([a.id for a in alerts])
    chains = chains_of(a.enterprise_id for a in alerts)
    for alert in alerts:
        if not _take(alert, [Alert.corrected_at.is_(None)], corrected_at=now, escalate_at=None):
            continue  # another run corrected it first
        miss = misses.get(alert.missed_check_id)
        performed = getattr(miss, "late_performed_at", None)
        received = getattr(miss, "late_received_at", None)
        note = "逾期补录（按时完成、事后同步） / done late, synced late"
        _event(alert, EventKind.CORRECTED, now, None, note)
        message = texts.correction_message(alert, alert_link(alert.id), performed, received, chains[alert.enterprise_id].timezone)
        notify(alert.enterprise_id, message, recipients.get(alert.id, []), alert.id, push=alert.risk_level not in IN_APP_ONLY)


def _take(alert: Alert, still: list, **values: Any) -> bool:
    """Change ``alert`` only if it is still as the caller read it (``still``); False if not.

    Every change of an alert's state goes through this conditional UPDATE, so two runners (or a
    runner and a person acknowledging) never both act on the same state: under PostgreSQL the
    second waits for the first's row lock and then finds its condition false; SQLite writes one
    at a time.
    """
    result = db.session.execute(
        sa.update(Alert).where(Alert.id == alert.id, *still).values(**values).execution_options(synchronize_session="fetch")
    )
    return result.rowcount == 1


def _recipients_of(alert_ids: Sequence[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for chunk in chunks(sorted(set(alert_ids))):
        for alert_id, user_id in db.session.execute(
            sa.select(AlertRecipient.alert_id, AlertRecipient.user_id)
            .where(AlertRecipient.alert_id.in_(chunk))
            .order_by(AlertRecipient.level, AlertRecipient.user_id)
        ):
            found.setdefault(alert_id, []).append(user_id)
    return found


def _event(alert: Alert, kind: EventKind, at: datetime, actor_id: int | None, note: str = "") -> None:
    db.session.add(AlertEvent(alert_id=alert.id, kind=kind.value, at=at, actor_id=actor_id, level=alert.level, note=note))
    db.session.flush()


# --------------------------------------------------------------------------- escalation


def escalate(now: datetime) -> int:
    """Move every open alert whose ``escalate_at`` has come one level up; returns how many moved.

    The new level's people become recipients and are notified, an ``escalated`` event is
    recorded, and the next ``escalate_at`` is the old one plus the colour's interval (so a late
    run does not shift the timetable), or none once the head has it. Each alert is taken with
    ``UPDATE … WHERE level = <old> AND escalate_at = <old>``: a second run at the same moment, or a
    repeated one, finds nothing left to take. Acknowledged, resolved and corrected alerts have no
    ``escalate_at`` and never move. Only flushes.
    """
    due = db.session.scalars(
        sa.select(Alert)
        .where(Alert.status == AlertStatus.OPEN, Alert.escalate_at.is_not(None), Alert.escalate_at <= now)
        .order_by(Alert.escalate_at, Alert.id)
    ).all()
    if not due:
        return 0
    chains = chains_of(a.enterprise_id for a in due)
    existing = _recipients_of([a.id for a in due])
    moved = 0
    for alert in due:
        chain = chains[alert.enterprise_id]
        old_level, old_at = alert.level, alert.escalate_at
        level, people = chain.climb(old_level + 1)
        interval = chain.interval(alert.risk_level)
        next_at = old_at + interval if interval is not None and level < Level.HEAD else None
        if not _take(alert, [Alert.status == AlertStatus.OPEN, Alert.level == old_level, Alert.escalate_at == old_at], level=level, escalate_at=next_at):
            continue  # another run took it first
        moved += 1
        new = [uid for uid in people if uid not in existing.get(alert.id, [])]
        if new:
            db.session.execute(sa.insert(AlertRecipient), [{"alert_id": alert.id, "user_id": uid, "level": level, "added_at": now} for uid in new])
        _event(alert, EventKind.ESCALATED, now, None)
        minutes = chain.minutes.get(alert.risk_level)
        message = texts.escalation_message(alert, alert_link(alert.id), minutes)
        notify(alert.enterprise_id, message, new, alert.id, push=alert.risk_level not in IN_APP_ONLY)
    return moved


# --------------------------------------------------------------------------- the inbox


def _visible(principal: Principal, everyone: bool = False) -> list:
    """A filter on alerts: the caller's inbox, or (managers, ``everyone``) the enterprise's."""
    clauses = [Alert.enterprise_id == principal.enterprise_id]
    if not (everyone and principal.role in MANAGERS):
        clauses.append(Alert.id.in_(sa.select(AlertRecipient.alert_id).where(AlertRecipient.user_id == principal.user_id)))
    return clauses


def _listing_clauses(principal: Principal, filters: Mapping) -> list:
    """The WHERE of a listing: the caller's inbox (or, managers asking ``all``, the enterprise's)
    under ``status``, ``kind``, ``level``, ``post_id`` and ``since`` (created at or after)."""
    everyone = bool(filters.get("all"))
    if everyone and principal.role not in MANAGERS:
        raise ZichaError("forbidden", {"all": ["only safety managers and admins may list every alert"]})
    clauses = _visible(principal, everyone)
    if "status" in filters:
        clauses.append(Alert.status == filters["status"])
    if "kind" in filters:
        clauses.append(Alert.kind == filters["kind"])
    if "level" in filters:
        clauses.append(Alert.level == filters["level"])
    if "post_id" in filters:
        clauses.append(Alert.post_id == filters["post_id"])
    if "since" in filters:
        clauses.append(Alert.created_at >= filters["since"])
    return clauses


def list_alerts(principal: Principal, filters: Mapping, page: int, page_size: int) -> tuple[list[Alert], int]:
    """The caller's inbox (alerts it reached them), newest first; managers may ask for all.

    Filters: ``status``, ``kind``, ``level``, ``post_id``, ``since`` (created at or after).
    A supervisor or worker asking for ``all`` is refused (403): the enterprise's alerts are the
    managers' view.
    """
    clauses = _listing_clauses(principal, filters)
    query = sa.select(Alert).options(selectinload(Alert.post)).order_by(Alert.created_at.desc(), Alert.id.desc())
    return page_of(Alert, query, clauses, page, page_size)


# The work queue's order: open before acknowledged, red before blue, further up the chain (it
# waited longest unheeded) before less far, then the oldest first.
_STATUS_ORDER = sa.case({AlertStatus.OPEN.value: 0, AlertStatus.ACKNOWLEDGED.value: 1}, value=sa.cast(Alert.status, sa.String), else_=2)
_RISK_ORDER = sa.case({risk.value: n for n, risk in enumerate(RiskLevel)}, value=sa.cast(Alert.risk_level, sa.String), else_=9)


def alert_queue(principal: Principal, filters: Mapping, resolved: bool, page: int, page_size: int) -> tuple[list[Alert], int]:
    """The alerts still to act on (``resolved`` False: open first, then acknowledged — by risk
    colour, level reached and age) or those already resolved (newest first), under the
    filters and the visibility of :func:`list_alerts`, with who each reached. The dashboard's
    queue; a ``status`` filter narrows it further."""
    clauses = _listing_clauses(principal, filters)
    if resolved:
        clauses.append(Alert.status == AlertStatus.RESOLVED)
        order = (Alert.created_at.desc(), Alert.id.desc())
    else:
        clauses.append(Alert.status != AlertStatus.RESOLVED)
        order = (_STATUS_ORDER, _RISK_ORDER, Alert.level.desc(), Alert.created_at, Alert.id)
    query = (
        sa.select(Alert)
        .options(selectinload(Alert.post), selectinload(Alert.recipients).selectinload(AlertRecipient.user))
        .order_by(*order)
    )
    return page_of(Alert, query, clauses, page, page_size)


def get_alert(principal: Principal, alert_id: int) -> Alert:
    """One alert with its recipients and history: for its recipients and the managers.

    Anyone else — another enterprise, or a colleague it never reached — gets ``not_found``:
    an alert outside one's inbox is not theirs to know of.
    """
    alert = db.session.scalar(
        sa.select(Alert)
        .where(Alert.id == alert_id, *_visible(principal, everyone=True))
        .options(selectinload(Alert.post), selectinload(Alert.recipients).selectinload(AlertRecipient.user), selectinload(Alert.events))
    )
    if alert is None:
        raise ZichaError("not_found")
    return alert


# Which statuses each step starts from (the pages offer a step only from these).
ACKNOWLEDGE_FROM = (AlertStatus.OPEN,)
RESOLVE_FROM = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


def acknowledge(principal: Principal, alert_id: int, note: str = "") -> Alert:
    """"I have it": the alert stops escalating. Only an open alert can be acknowledged."""
    return _close(principal, alert_id, note, AlertStatus.ACKNOWLEDGED, ACKNOWLEDGE_FROM, EventKind.ACKNOWLEDGED)


def resolve(principal: Principal, alert_id: int, note: str) -> Alert:
    """"Dealt with", with a note saying how; from open or acknowledged."""
    return _close(principal, alert_id, note, AlertStatus.RESOLVED, RESOLVE_FROM, EventKind.RESOLVED)


def _close(principal: Principal, alert_id: int, note: str, status: AlertStatus, allowed: tuple, kind: EventKind) -> Alert:
    alert = get_alert(principal, alert_id)
    if not _take(alert, [Alert.status.in_(allowed)], status=status, escalate_at=None):
        db.session.refresh(alert)
        code = "alert_already_resolved" if alert.status is AlertStatus.RESOLVED else "alert_already_acknowledged"
        raise ZichaError(code, {"status": alert.status.value})
    _event(alert, kind, clock.now(), principal.user_id, note)
    db.session.expire(alert, ["events"])
    return alert


# --------------------------------------------------------------------------- settings


def get_settings(enterprise_id: int) -> dict:
    """The enterprise's alert settings (the defaults when it never changed them), with who
    stands as head now (the named head, or the admins)."""
    chain = chains_of([enterprise_id])[enterprise_id]
    return {
        "head_user_id": chain.head_user_id,
        "effective_head_ids": list(chain.head),
        **{f"{risk.value}_minutes": chain.minutes[risk] for risk in RiskLevel},
        "digest_hour": chain.digest_hour,
    }


def update_settings(enterprise_id: int, values: Mapping, actor_id: int) -> dict:
    """Replace the enterprise's alert settings (PUT: what is not given goes back to its default).

    The head must be an active user of the enterprise. New intervals apply to each alert's next
    step; an alert already waiting keeps the time it was given.
    """
    head_id = values.get("head_user_id")
    if head_id is not None:
        head = get_owned(User, head_id, enterprise_id)
        if not head.active:
            raise ZichaError("validation_failed", {"head_user_id": ["this user is not active"]})
    settings = db.session.get(AlertSettings, enterprise_id) or AlertSettings(enterprise_id=enterprise_id)
    settings.head_user_id = head_id
    for risk in RiskLevel:
        setattr(settings, f"{risk.value}_minutes", values.get(f"{risk.value}_minutes", DEFAULT_MINUTES[risk]))
    settings.digest_hour = values.get("digest_hour", DEFAULT_DIGEST_HOUR)
    settings.updated_at = clock.now()
    settings.updated_by_id = actor_id
    db.session.add(settings)
    db.session.flush()
    return get_settings(enterprise_id)
