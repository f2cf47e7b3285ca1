"""``zicha notifications deliver``: drain the outbox once (a timer or the in-server scheduler runs it)."""
import click
from flask.cli import with_appcontext

from server.cli_options import now_option


@click.group("notifications", help="Notifications: the delivery outbox.")
def notifications_cli():
    pass


@notifications_cli.command("deliver")
@now_option()
@click.option("--limit", type=click.IntRange(min=1), default=500, show_default=True, help="At most this many send attempts.")
@with_appcontext
def deliver_command(now, limit):
    """Send due notifications, channel by channel in sequence order; commits per row."""
    from server.notifications.delivery import deliver

    report = deliver(now, limit=limit)
    click.echo(
        f"delivered {report.delivered}, failed {report.failed} (will retry), dead {report.dead}, channels {len(report.channels)}"
    )
