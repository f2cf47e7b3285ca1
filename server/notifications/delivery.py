"""The delivery worker: drains the outbox, channel by channel, strictly in sequence order.

Decisions (and why):

- **It commits itself, once per row.** Unlike services, ``deliver`` is a commit point, like a
  CLI command: a row's outcome (delivered, or a failed attempt with its backoff) is committed
  right after its send, so one crash re-sends at most the one row that was in flight. That row
  is re-sent with the same idempotency id (``X-Zicha-Id``, the mail's Message-ID) — at-least-once
  with a stable id, which is all a network allows. Call it outside any request transaction.
- **One worker per channel at a time, by lease, not by lock.** A worker claims a channel with a
  conditional UPDATE of ``lease_id``/``lease_until`` and commits before it touches the network,
  so no database lock (nor SQLite's write lock) is held while a receiver is slow. The claim is
  atomic on both databases (PostgreSQL re-checks the WHERE after a concurrent update; SQLite
  serialises writers), so two workers never drain the same channel. A crashed worker's lease
  expires after :data:`LEASE`; every committed row renews it, and a worker that finds its lease
  taken over stops.
- **Order per channel, independence across channels.** The head (lowest pending seq) of a
  channel must be delivered before the next is tried; when it fails, the channel waits until
  the head's ``next_attempt_at`` while other channels go on. After the maximum attempts the
  head is ``dead`` — it stays visible and replayable, and the channel moves past it (a receiver
  sees the gap in ``seq``) rather than block every later notification forever.
- **Backoff is deterministic**: ``base × 2^(attempts−1)`` capped, with no random jitter, so a
  test (or an operator) can say exactly when the next attempt is.
- Deactivated channels keep their pending rows; they are sent when the channel is active again.
- The signing timestamp is the clock's time of sending, not ``now`` — ``--now`` replays a moment
  for the due decisions, but robots refuse signatures more than an hour off the real time.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from server import clock
from server.enterprises.models import Enterprise
from server.extensions import db
from server.notifications.channels import DeliveryFailed, Envelope, send
from server.notifications.models import Channel, OutboxEntry, OutboxStatus
from server.notifications.services import message_from_json

LEASE = timedelta(minutes=5)
# Rows taken from one channel before the worker turns to the next, so one long backlog
# cannot keep the others waiting for a whole run.
CHANNEL_BATCH = 20

_channels = Channel.__table__
_outbox = OutboxEntry.__table__


@dataclass
class DeliveryReport:
    """What one :func:`deliver` run did."""

    delivered: int = 0
    failed: int = 0  # failed attempts that will be retried
    dead: int = 0  # rows given up on in this run
    channels: set[int] = field(default_factory=set)  # channels this run drained (held the lease of)

    @property
    def attempted(self) -> int:
        return self.delivered + self.failed + self.dead


def backoff(attempts: int, settings: dict) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 60 s, 120 s … capped at an hour
    (by default; ``NOTIFY_BACKOFF_SECONDS`` and ``NOTIFY_BACKOFF_MAX_SECONDS``)."""
    base, cap = settings["NOTIFY_BACKOFF_SECONDS"], settings["NOTIFY_BACKOFF_MAX_SECONDS"]
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def deliver(now: datetime | None = None, limit: int = 100) -> DeliveryReport:
    """Send due outbox rows of every enterprise, at most ``limit`` attempts; commits per row.

    ``now`` (default: the clock) decides what is due and when retries fall; see the module
    docstring for ordering, leases and crash behaviour.
    """
    now = now or clock.now()
    report = DeliveryReport()
    db.session.commit()  # start from a clean transaction; nothing of a caller's is left half-done
    while report.attempted < limit:
        due = _due_channels(now)
        progressed = False
        for channel_id in due:
            if report.attempted >= limit:
                break
            progressed |= _drain(channel_id, now, min(CHANNEL_BATCH, limit - report.attempted), report)
        if not progressed:
            break
    return report


def _due_channels(now: datetime) -> list[int]:
    """Active, unleased channels whose head row is due, oldest head first."""
    pending = _outbox.alias("pending")
    head_seq = (
        sa.select(sa.func.min(pending.c.seq))
        .where(pending.c.channel_id == _channels.c.id, pending.c.status == OutboxStatus.PENDING)
        .correlate(_channels)
        .scalar_subquery()
    )
    query = (
        sa.select(_channels.c.id)
        .select_from(_channels)
        .join(_outbox, sa.and_(_outbox.c.channel_id == _channels.c.id, _outbox.c.seq == head_seq))
        .where(
            _channels.c.active.is_(True),
            sa.or_(_channels.c.lease_until.is_(None), _channels.c.lease_until <= now),
            _outbox.c.next_attempt_at <= now,
        )
        .order_by(_outbox.c.next_attempt_at, _channels.c.id)
    )
    ids = list(db.session.scalars(query))
    db.session.commit()
    return ids


def _claim(channel_id: int, lease_id: str, now: datetime) -> bool:
    taken = db.session.execute(
        sa.update(_channels)
        .where(
            _channels.c.id == channel_id,
            _channels.c.active.is_(True),
            sa.or_(_channels.c.lease_until.is_(None), _channels.c.lease_until <= now),
        )
        .values(lease_id=lease_id, lease_until=now + LEASE)
    ).rowcount
    db.session.commit()
    return taken == 1


def _renew(channel_id: int, lease_id: str, now: datetime) -> bool:
    """Extend our lease in the transaction that records a row's outcome; False if it was lost."""
    return db.session.execute(
        sa.update(_channels).where(_channels.c.id == channel_id, _channels.c.lease_id == lease_id).values(lease_until=now + LEASE)
    ).rowcount == 1


def _release(channel_id: int, lease_id: str) -> None:
    db.session.execute(
        sa.update(_channels).where(_channels.c.id == channel_id, _channels.c.lease_id == lease_id).values(lease_id=None, lease_until=None)
    )
    db.session.commit()


def _load(channel_id: int, now: datetime, limit: int) -> list[Envelope]:
    """The channel's next pending rows in seq order, as plain data; empty when the head is not due."""
    rows = db.session.execute(
        sa.select(
            _outbox.c.uuid, _outbox.c.seq, _outbox.c.message, _outbox.c.created_at, _outbox.c.next_attempt_at,
            Channel.kind, Channel.language, Channel.url, Channel.secret, Channel.config, Enterprise.code,
        )
        .select_from(_outbox)
        .join(Channel, Channel.id == _outbox.c.channel_id)
        .join(Enterprise, Enterprise.id == Channel.enterprise_id)
        .where(_outbox.c.channel_id == channel_id, _outbox.c.status == OutboxStatus.PENDING)
        .order_by(_outbox.c.seq)
        .limit(limit)
    ).all()
    db.session.commit()
    if not rows or rows[0].next_attempt_at > now:
        return []
    return [
        Envelope(
            id=str(r.uuid), seq=r.seq, channel_id=channel_id, kind=r.kind, language=r.language, url=r.url,
            secret=r.secret, config=r.config or {}, enterprise_code=r.code, message=message_from_json(r.message),
            created_at=r.created_at,
        )
        for r in rows
    ]


def _drain(channel_id: int, now: datetime, limit: int, report: DeliveryReport) -> bool:
    """Deliver up to ``limit`` rows of one channel in order, stopping at the first that fails;
    True when at least one attempt was made."""
    lease_id = str(uuid.uuid4())
    if not _claim(channel_id, lease_id, now):
        return False  # another worker has it
    report.channels.add(channel_id)
    before = report.attempted
    settings = current_app.config
    try:
        for env in _load(channel_id, now, limit):
            try:
                send(env, clock.now(), settings)
            except DeliveryFailed as exc:
                outcome = _record_failure(env, str(exc), now, settings)
            except Exception as exc:  # a rendering bug must not stop every other channel
                current_app.logger.exception("notification %s: unexpected delivery error", env.id)
                outcome = _record_failure(env, f"internal: {type(exc).__name__}: {exc}", now, settings)
            else:
                outcome = _record(env, now, status=OutboxStatus.DELIVERED, delivered_at=now, last_error=None)
            if outcome is None or not _renew(channel_id, lease_id, now):
                db.session.rollback()
                break  # the row changed under us (replay) or our lease was taken over
            db.session.commit()
            setattr(report, outcome, getattr(report, outcome) + 1)
            if outcome == "failed":
                break  # the head waits for its retry; later rows wait behind it
    finally:
        _release(channel_id, lease_id)
    return report.attempted > before


def _record_failure(env: Envelope, error: str, now: datetime, settings: dict) -> str | None:
    attempts = db.session.scalar(sa.select(_outbox.c.attempts).where(_outbox.c.uuid == uuid.UUID(env.id))) or 0
    attempts += 1
    if attempts >= settings["NOTIFY_MAX_ATTEMPTS"]:
        return _record(env, now, status=OutboxStatus.DEAD, last_error=error[:1000], outcome="dead")
    return _record(env, now, next_attempt_at=now + backoff(attempts, settings), last_error=error[:1000], outcome="failed")


def _record(env: Envelope, now: datetime, outcome: str = "delivered", **values) -> str | None:
    """Write one attempt's outcome, only if the row is still pending (a replay may have reset it)."""
    done = db.session.execute(
        sa.update(OutboxEntry)
        .where(OutboxEntry.uuid == uuid.UUID(env.id), OutboxEntry.status == OutboxStatus.PENDING)
        .values(attempts=OutboxEntry.attempts + 1, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    return outcome if done == 1 else None
