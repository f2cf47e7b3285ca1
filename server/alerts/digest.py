"""The daily digest (每日排查日报): yesterday's completion, misses and open alerts, per person.

Supervisors get their own posts; safety managers and admins the whole enterprise. "Yesterday" is
the enterprise's local day before ``now``; a digest goes out once the local clock has passed the
enterprise's ``digest_hour`` (so late syncs and the sweep's grace have had their chance) and
only once per person and day — the ``alert_digests`` row is inserted with ON CONFLICT DO
NOTHING, so two runs at once send one digest. Only flushes; the caller commits.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from server.accounts.models import MANAGERS, Role, User
from server.alerts import texts
from server.alerts.models import Alert, AlertRecipient, AlertStatus, DigestSent
from server.alerts.services import chains_of, notify
from server.enterprises.calendar import enterprise_period
from server.enterprises.models import Enterprise
from server.database import dialect_insert
from server.extensions import db
from server.overview.services import period_outcomes
from server.posts.models import Post, SiteGrant
from sync.periods import Frequency, Period


def send_digests(now: datetime) -> int:
    """Enqueue yesterday's digest for every supervisor, safety manager and admin who has not had
    it yet; returns how many were enqueued. Safe to run as often as one likes."""
    sent = 0
    enterprises = db.session.execute(sa.select(Enterprise.id, Enterprise.name).order_by(Enterprise.id)).all()
    chains = chains_of(e.id for e in enterprises)
    for enterprise in enterprises:
        chain = chains[enterprise.id]
        if now.astimezone(ZoneInfo(chain.timezone)).hour < chain.digest_hour:
            continue
        sent += _send_for_enterprise(enterprise.id, enterprise.name, chain.timezone, chain.shifts, now)
    return sent


def yesterday(zone: str, shifts: tuple[str, ...], now: datetime) -> Period:
    """The enterprise's local day before the one ``now`` falls in."""
    today = enterprise_period(zone, shifts, Frequency.DAILY, now)
    return enterprise_period(zone, shifts, Frequency.DAILY, today.start - timedelta(microseconds=1))


def _recipients(enterprise_id: int) -> list[tuple[int, str, Role, set[int] | None]]:
    """Who gets a digest: (user id, locale, role, the posts they see — None for all).

    Supervisors with no active post get none: there is nothing of theirs to report.
    """
    users = db.session.execute(
        sa.select(User.id, User.locale, User.role)
        .where(User.enterprise_id == enterprise_id, User.active.is_(True), User.role.in_([Role.SUPERVISOR, *MANAGERS]))
        .order_by(User.id)
    ).all()
    posts: dict[int, set[int]] = {}
    for post_id, supervisor_id in db.session.execute(
        sa.select(Post.id, Post.supervisor_id).where(Post.enterprise_id == enterprise_id, Post.active.is_(True), Post.supervisor_id.is_not(None))
    ):
        posts.setdefault(supervisor_id, set()).add(post_id)
    for post_id, user_id in db.session.execute(  # and every active post of a site granted to them
        sa.select(Post.id, SiteGrant.user_id).join(SiteGrant, SiteGrant.site_id == Post.site_id)
        .where(SiteGrant.enterprise_id == enterprise_id, Post.active.is_(True))
    ):
        posts.setdefault(user_id, set()).add(post_id)
    result = []
    for user_id, locale, role in users:
        role = Role(role)
        if role in MANAGERS:
            result.append((user_id, locale, role, None))
        elif user_id in posts:
            result.append((user_id, locale, role, posts[user_id]))
    return result


def outcomes(enterprise_id: int, zone: str, shifts: tuple[str, ...], day: Period) -> list[texts.PeriodOutcome]:
    """Every active schedule's periods that closed on ``day``, each done / done late / missed /
    pending (no check and no miss on record: within the sweep's grace, or paused).

    The overview's rule (:func:`server.overview.services.period_outcomes`) over the periods
    that closed that day; a paused period is told as pending, as the digest always has.
    """
    history = period_outcomes(enterprise_id, zone, shifts, day.start, day.end, closed_only=True)
    result = []
    for o in history.periods:
        s = history.schedules[o.schedule_id]
        outcome = "pending" if o.outcome == "paused" else o.outcome
        result.append(texts.PeriodOutcome(s.post_id, s.post_name, s.site_name, s.risk_level.value, s.frequency.value, o.period.key, outcome))
    return result


def _open_alerts(enterprise_id: int) -> tuple[list[Alert], dict[int, set[int]]]:
    """Unresolved alerts of the enterprise (blue ones included), and who each one reached."""
    alerts = db.session.scalars(
        sa.select(Alert).where(Alert.enterprise_id == enterprise_id, Alert.status != AlertStatus.RESOLVED).order_by(Alert.id)
    ).all()
    reached: dict[int, set[int]] = {}
    for alert_id, user_id in db.session.execute(
        sa.select(AlertRecipient.alert_id, AlertRecipient.user_id)
        .join(Alert, Alert.id == AlertRecipient.alert_id)
        .where(Alert.enterprise_id == enterprise_id, Alert.status != AlertStatus.RESOLVED)
    ):
        reached.setdefault(user_id, set()).add(alert_id)
    return list(alerts), reached


def _claim(enterprise_id: int, user_id: int, day: str, now: datetime) -> bool:
    """Record "sent" for this user and day; False when it was already there (or another run has it)."""
    table = DigestSent.__table__
    stmt = (
        dialect_insert(table)
        .values(user_id=user_id, day=day, enterprise_id=enterprise_id, sent_at=now)
        .on_conflict_do_nothing()
        .returning(table.c.user_id)  # rowcount is not reliable for this statement on psycopg
    )
    return db.session.execute(stmt).first() is not None


def _send_for_enterprise(enterprise_id: int, name: str, zone: str, shifts: tuple[str, ...], now: datetime) -> int:
    day = yesterday(zone, shifts, now)
    people = _recipients(enterprise_id)
    done = set(db.session.scalars(sa.select(DigestSent.user_id).where(DigestSent.enterprise_id == enterprise_id, DigestSent.day == day.key)))
    people = [p for p in people if p[0] not in done]
    if not people:
        return 0
    all_outcomes = outcomes(enterprise_id, zone, shifts, day)
    alerts, reached = _open_alerts(enterprise_id)
    link = f"{current_app.config['PUBLIC_BASE_URL']}/manage/overview"
    sent = 0
    for user_id, locale, _role, posts in people:
        if not _claim(enterprise_id, user_id, day.key, now):
            continue
        content = texts.DigestContent(
            enterprise_name=name,
            day=day.key,
            outcomes=all_outcomes if posts is None else [o for o in all_outcomes if o.post_id in posts],
            open_alerts=alerts if posts is None else [a for a in alerts if a.id in reached.get(user_id, set())],
        )
        notify(enterprise_id, texts.digest_message(content, locale, link), [user_id], None, push=True)
        sent += 1
    return sent
