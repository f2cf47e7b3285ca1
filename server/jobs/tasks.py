"""The periodic tasks, each a whole unit of work that commits what it did.

Each task takes the moment it runs at (the app clock, or a replayed ``--now``) and returns a
short account for the lease row and the CLI. Where two steps must be one (a miss and the
alert that tells its supervisor; an alert and its notifications in the outbox), they are in one
task and one transaction, so a crash between them cannot leave a miss nobody is told about.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from server.extensions import db
from server.jobs.services import Job


def sweep_and_alert(now: datetime | None):
    """Record the periods that closed without a check and alert their supervisors, in one
    transaction: a miss is never on record without the alert that tells someone about it."""
    from server.alerts.services import raise_for_misses
    from server.misses.services import sweep

    new = sweep(now)
    alerts = raise_for_misses(new)
    db.session.commit()
    return new, alerts


def follow_up_checks(now: datetime) -> str:
    """Raise the alerts and hazard drafts that checks with failed items stored since the last
    tick still owe (the push's transactional outbox; see :mod:`server.checks.follow_up`)."""
    from server.checks.follow_up import follow_up_all

    return str(follow_up_all())


def detect_misses(now: datetime) -> str:
    new, alerts = sweep_and_alert(now)
    return f"{len(new)} missed check(s), {len(alerts)} alert(s)"


def escalate_alerts(now: datetime) -> str:
    """Move unacknowledged alerts up the chain when their colour's time is up."""
    from server.alerts.services import escalate

    moved = escalate(now)
    db.session.commit()
    return f"{moved} alert(s) escalated"


def deliver_notifications(now: datetime) -> str:
    """Send what the outbox holds, per channel in order, retrying failed channels later."""
    from server.notifications.delivery import deliver

    report = deliver(now)
    db.session.commit()
    return str(report)


def send_digests(now: datetime) -> str:
    """Yesterday's completion, misses and open alerts, once a day to each supervisor and manager."""
    from server.alerts.digest import send_digests as send

    sent = send(now)
    db.session.commit()
    return f"{sent} digest(s)"


def hazards_overdue(now: datetime) -> str:
    """Alert on assigned hazards past their deadline (escalating like red for 重大, orange for 一般)."""
    from server.hazards.services import overdue

    alerts = overdue(now)
    db.session.commit()
    return f"{len(alerts)} overdue hazard alert(s)"


def prune_changes(now: datetime) -> str:
    from server.changes.services import prune

    pruned = prune()
    db.session.commit()
    return f"{sum(pruned.values())} change(s) pruned"


def purge_uploads(now: datetime) -> str:
    from server.photos.services import purge_expired_uploads

    removed = purge_expired_uploads(now)
    db.session.commit()
    return f"{removed} expired upload(s) removed"


# The order matters within one tick: failed checks and misses raise alerts, escalation may add
# notifications, delivery then sends them all.
JOBS = [
    Job("checks.follow_up", timedelta(seconds=5), follow_up_checks),
    Job("misses.detect", timedelta(minutes=1), detect_misses),
    Job("hazards.overdue", timedelta(minutes=1), hazards_overdue),
    Job("alerts.escalate", timedelta(minutes=1), escalate_alerts),
    Job("alerts.digest", timedelta(minutes=15), send_digests),
    Job("notifications.deliver", timedelta(seconds=10), deliver_notifications),
    Job("changes.prune", timedelta(hours=24), prune_changes),
    Job("photos.purge_uploads", timedelta(hours=6), purge_uploads),
]
