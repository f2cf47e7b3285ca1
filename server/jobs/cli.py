"""``zicha jobs run`` / ``zicha jobs status``: the periodic work from a shell or a systemd timer."""
from __future__ import annotations

from datetime import datetime, timezone

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from server.extensions import db
from server.jobs import models as _models  # noqa: F401  (the lease table is part of the schema)


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("an ISO 8601 time with its offset, e.g. 2026-11-24T09:00:00+08:00") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give the UTC offset, e.g. 2026-11-24T09:00:00+08:00")
    return moment.astimezone(timezone.utc)


@click.group("jobs", help="Periodic work: missed checks, escalation, digests, delivery, housekeeping.")
def jobs_cli():
    pass


@jobs_cli.command("run")
@click.option("--now", "now", default=None, help="Replay this moment (ISO 8601 with offset); runs every selected job.")
@click.option("--only", multiple=True, help="Job name(s) to run (see `zicha jobs status`).")
@with_appcontext
def run_command(now, only):
    """Run the jobs that are due (all selected ones with --now), each claimed so it runs once."""
    from server.jobs.services import holder_name, run_due
    from server.jobs.tasks import JOBS

    moment = _moment(now)
    jobs = [j for j in JOBS if not only or j.name in only]
    unknown = set(only) - {j.name for j in JOBS}
    if unknown:
        raise click.BadParameter(f"unknown job(s): {', '.join(sorted(unknown))}", param_hint="--only")
    ran = run_due(jobs, holder_name(), moment, force=moment is not None)
    for name, said in ran.items():
        click.echo(f"{name}: {said}")
    if not ran:
        click.echo("nothing due")


@jobs_cli.command("status")
@with_appcontext
def status_command():
    """Each job's lease: who holds it, when it runs next, what it last said."""
    from server.jobs.models import JobLease

    for lease in db.session.scalars(sa.select(JobLease).order_by(JobLease.name)):
        state = f"held by {lease.holder} until {lease.lease_until:%Y-%m-%d %H:%M:%S}" if lease.holder else "free"
        click.echo(f"{lease.name}: {state}; next {lease.next_run_at:%Y-%m-%d %H:%M:%S}Z; runs {lease.runs}, "
                   f"failures {lease.failures}; last: {lease.last_error or lease.last_result}")
