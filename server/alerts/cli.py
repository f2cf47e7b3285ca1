"""``zicha alerts escalate`` and ``zicha alerts digest``: what the periodic runner calls."""
from datetime import datetime

import click
from flask.cli import with_appcontext

from server.extensions import db


@click.group("alerts", help="Alert escalation and the daily digest.")
def alerts_cli():
    pass


def _moment(value: str | None) -> datetime:
    """``--now`` (ISO 8601 with an offset) or the app's clock."""
    from server import clock

    if value is None:
        return clock.now()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO 8601 moment: {value!r}", param_hint="--now") from exc
    if moment.tzinfo is None:
        raise click.BadParameter("give an offset, e.g. 2026-11-23T10:00:00+08:00", param_hint="--now")
    return moment


_NOW = click.option("--now", "now", default=None, help="Replay this moment (ISO 8601 with offset) instead of the clock.")


@alerts_cli.command("escalate")
@_NOW
@with_appcontext
def escalate_command(now):
    """Move every unacknowledged alert whose time has come one level up the chain."""
    from server.alerts.services import escalate

    moved = escalate(_moment(now))
    db.session.commit()
    click.echo(f"escalated {moved} alert(s)")


@alerts_cli.command("digest")
@_NOW
@with_appcontext
def digest_command(now):
    """Enqueue yesterday's digest for everyone who has not had it yet."""
    from server.alerts.digest import send_digests

    sent = send_digests(_moment(now))
    db.session.commit()
    click.echo(f"enqueued {sent} digest(s)")
