"""``zicha changes prune``: forget tombstones older than the retention."""
import click
from flask.cli import with_appcontext

from server.extensions import db


@click.group("changes", help="The sync change log.")
def changes_cli():
    pass


@changes_cli.command("prune")
@click.option("--days", type=click.IntRange(min=1), default=None, help="Retention in days (default: CHANGE_RETENTION_DAYS).")
@with_appcontext
def prune_command(days):
    """Delete change-log rows older than the retention; devices behind it start over with a snapshot."""
    from server.changes.services import prune

    pruned = prune(days)
    db.session.commit()
    click.echo(f"pruned {sum(pruned.values())} change(s) in {len(pruned)} enterprise(s)")
