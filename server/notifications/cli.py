"""``zicha notifications deliver``: drain the outbox once (a timer or the in-server scheduler runs it)."""
from datetime import datetime

import click
from flask.cli import with_appcontext


class _AwareDateTime(click.ParamType):
    """An ISO 8601 moment with its offset; a naive time is refused (whose zone would it be?)."""

    name = "iso-datetime"

    def convert(self, value, param, ctx):
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 date-time", param, ctx)
        if moment.tzinfo is None:
            self.fail(f"{value!r} has no UTC offset (e.g. 2026-11-23T10:00+08:00)", param, ctx)
        return moment


@click.group("notifications", help="Notifications: the delivery outbox.")
def notifications_cli():
    pass


@notifications_cli.command("deliver")
@click.option("--now", "now", type=_AwareDateTime(), default=None, help="Act as of this moment (ISO 8601 with offset).")
@click.option("--limit", type=click.IntRange(min=1), default=500, show_default=True, help="At most this many send attempts.")
@with_appcontext
def deliver_command(now, limit):
    """Send due notifications, channel by channel in sequence order; commits per row."""
    from server.notifications.delivery import deliver

    report = deliver(now, limit=limit)
    click.echo(
        f"delivered {report.delivered}, failed {report.failed} (will retry), dead {report.dead}, channels {len(report.channels)}"
    )
