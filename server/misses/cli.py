"""``zicha misses sweep [--now ISO-8601]``: record the checks missed so far, once."""
import click
from flask.cli import with_appcontext

from server.cli_options import now_option


@click.group("misses", help="Missed checks (漏检).")
def misses_cli():
    pass


@misses_cli.command("sweep")
@now_option("Sweep as if it were this moment (ISO 8601 with its offset; default: the clock).")
@with_appcontext
def sweep_command(now):
    """Record every schedule whose period closed (plus the grace) with no check, alert its
    supervisor (the same work as the periodic job), and print them."""
    from server.jobs.tasks import sweep_and_alert

    misses, _alerts = sweep_and_alert(now)
    for miss in misses:
        click.echo(
            f"漏检 missed  #{miss.id}  {miss.frequency.value} {miss.period_key}  "
            f"{miss.post_name} ({miss.risk_level.zh}/{miss.risk_level.value})  schedule {miss.schedule_id}"
        )
    click.echo(f"记录漏检 {len(misses)} 条 / recorded {len(misses)} missed check(s)")
