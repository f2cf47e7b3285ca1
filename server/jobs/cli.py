"""``zicha jobs run`` / ``zicha jobs status``: the periodic work from a shell or a systemd timer."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from server.cli_options import now_option
from server.extensions import db
from server.jobs import models as _models  # noqa: F401  (the lease table is part of the schema)


@click.group("jobs", help="Periodic work: missed checks, escalation, digests, delivery, housekeeping.")
def jobs_cli():
    pass


@jobs_cli.command("run")
@now_option("Replay this moment (ISO 8601 with its offset); runs every selected job whether due or not.")
@click.option("--only", multiple=True, help="Job name(s) to run (see `zicha jobs status`).")
@with_appcontext
def run_command(now, only):
    """Run the jobs that are due (all selected ones with --now), each claimed so it runs once."""
    from server.jobs.services import holder_name, run_due
    from server.jobs.tasks import JOBS

    jobs = [j for j in JOBS if not only or j.name in only]
    unknown = set(only) - {j.name for j in JOBS}
    if unknown:
        raise click.BadParameter(f"unknown job(s): {', '.join(sorted(unknown))}", param_hint="--only")
    ran = run_due(jobs, holder_name(), now, force=now is not None)
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
