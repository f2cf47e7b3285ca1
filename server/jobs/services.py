"""Claiming and running periodic jobs, once across every process that serves.

A job is a name, an interval and a task (see :mod:`server.jobs.tasks`). :func:`run_due` runs
every job whose ``next_run_at`` has come and whose lease is free, claiming each with one
conditional UPDATE committed before the task starts — so under several gunicorn workers, plus
a systemd timer, a job still runs in one place at a time. The task commits its own work; the
job's next time is set after it finished (or failed: a failing job is retried at its next
interval, and its error is kept on the lease row for an admin to see).

The tasks themselves are idempotent (a sweep twice records a miss once, delivery sends a row
once), so a lease that expires under a slow task costs time, never a double effect.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask

from server import clock
from server.database import dialect_insert
from server.extensions import db
from server.jobs.models import JobLease

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    task: Callable[[datetime], str]  # runs the work at a moment, commits it, says what it did
    lease: timedelta = timedelta(minutes=10)


def holder_name() -> str:
    """This process, as a lease holder: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _ensure_rows(jobs: list[Job], now: datetime) -> None:
    db.session.execute(
        dialect_insert(JobLease.__table__).on_conflict_do_nothing(index_elements=["name"]),
        [{"name": j.name, "next_run_at": now, "last_result": "", "last_error": "", "runs": 0, "failures": 0} for j in jobs],
    )
    db.session.commit()


def claim(job: Job, holder: str, now: datetime, *, force: bool = False) -> bool:
    """Take the job's lease if it is due (or ``force``) and nobody holds it; committed at once."""
    due = sa.true() if force else JobLease.next_run_at <= now
    result = db.session.execute(
        sa.update(JobLease)
        .where(JobLease.name == job.name, due, sa.or_(JobLease.lease_until.is_(None), JobLease.lease_until < now))
        .values(holder=holder, lease_until=now + job.lease, last_started_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def release(job: Job, holder: str, finished: datetime, result: str = "", error: str = "") -> None:
    values = {
        "holder": None,
        "lease_until": None,
        "next_run_at": finished + job.every,
        "last_finished_at": finished,
        "runs": JobLease.runs + 1,
        "last_result": result[:500],
    }
    if error:
        values.update(last_error=error[:5000], failures=JobLease.failures + 1)
    db.session.execute(
        sa.update(JobLease).where(JobLease.name == job.name, JobLease.holder == holder).values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def run_due(jobs: list[Job], holder: str, now: datetime | None = None, *, force: bool = False) -> dict[str, str]:
    """Run every job that is due and free; ``now`` replays a moment (CLI ``--now``), ``force``
    runs them whether due or not. Returns what each job that ran said (or its error)."""
    moment = now or clock.now()
    _ensure_rows(jobs, moment)
    ran: dict[str, str] = {}
    for job in jobs:
        if not claim(job, holder, moment, force=force):
            continue
        try:
            outcome, error = job.task(moment), ""
        except Exception as exc:  # noqa: BLE001 - one failing job must not stop the others
            db.session.rollback()
            log.exception("job %s failed", job.name)
            outcome, error = "", f"{type(exc).__name__}: {exc}"
        release(job, holder, now or clock.now(), outcome, error)
        ran[job.name] = error or outcome
    return ran


class Runner:
    """A daemon thread in a server process that runs due jobs every ``tick`` seconds.

    Started by ``server.wsgi`` (so README command 1 runs the sweep, escalation and delivery)
    unless ``ZICHA_JOBS=0``; every worker starts one and the leases keep them from doubling.
    """

    def __init__(self, app: Flask, jobs: list[Job], tick: float):
        self.app, self.jobs, self.tick = app, jobs, tick
        self.holder = holder_name()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="zicha-jobs", daemon=True)

    def start(self) -> "Runner":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=30)

    def _loop(self) -> None:
        while not self.stopped.wait(self.tick):
            try:
                with self.app.app_context():
                    try:
                        run_due(self.jobs, self.holder)
                    finally:
                        db.session.remove()
            except Exception:  # noqa: BLE001 - the database may be briefly away; try next tick
                log.exception("job runner tick failed")
