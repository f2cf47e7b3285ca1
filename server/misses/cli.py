"""``zicha misses sweep [--now ISO-8601]``: record the checks missed so far, once."""
from datetime import datetime

import click
from flask.cli import with_appcontext

from server.extensions import db


@click.group("misses", help="Missed checks (漏检).")
def misses_cli():
    pass


def _moment(_ctx, _param, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give the offset too, e.g. 2026-11-24T02:00:00+08:00")
    return moment


@misses_cli.command("sweep")
@click.option("--now", "moment", callback=_moment, metavar="ISO-8601", help="Sweep as if it were this moment (default: the clock).")
@with_appcontext
def sweep_command(moment):
    """Record every schedule whose period closed (plus the grace) with no check; print them."""
    from server.misses.services import sweep

    misses = sweep(moment)
    db.session.commit()
    for miss in misses:
        click.echo(
            f"漏检 missed  #{miss.id}  {miss.frequency.value} {miss.period_key}  "
            f"{miss.post_name} ({miss.risk_level.zh}/{miss.risk_level.value})  schedule {miss.schedule_id}"
        )
    click.echo(f"记录漏检 {len(misses)} 条 / recorded {len(misses)} missed check(s)")
