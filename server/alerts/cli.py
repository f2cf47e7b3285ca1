"""``zicha alerts escalate`` and ``zicha alerts digest``: what the periodic runner calls."""
import click
from flask.cli import with_appcontext

from server import clock
from server.cli_options import now_option
from server.extensions import db


@click.group("alerts", help="Alert escalation and the daily digest.")
def alerts_cli():
    pass


@alerts_cli.command("escalate")
@now_option()
@with_appcontext
def escalate_command(now):
    """Move every unacknowledged alert whose time has come one level up the chain."""
    from server.alerts.services import escalate

    moved = escalate(now or clock.now())
    db.session.commit()
    click.echo(f"escalated {moved} alert(s)")


@alerts_cli.command("digest")
@now_option()
@with_appcontext
def digest_command(now):
    """Enqueue yesterday's digest for everyone who has not had it yet."""
    from server.alerts.digest import send_digests

    sent = send_digests(now or clock.now())
    db.session.commit()
    click.echo(f"enqueued {sent} digest(s)")
