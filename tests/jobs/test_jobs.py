"""Periodic jobs: claimed through a lease so they run once, on time, whoever asks."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.extensions import db
from server.jobs import services
from server.jobs.models import JobLease
from server.jobs.services import Job, claim, run_due


class Recorder:
    def __init__(self, fail: bool = False):
        self.moments = []
        self.fail = fail

    def __call__(self, now):
        self.moments.append(now)
        if self.fail:
            raise RuntimeError("channel down")
        return f"ran at {now:%H:%M}"


def lease(name) -> JobLease:
    db.session.expire_all()
    return db.session.scalar(sa.select(JobLease).where(JobLease.name == name))


def test_a_due_job_runs_once_and_is_next_due_after_its_interval(ctx, clock):
    task = Recorder()
    jobs = [Job("sweep", timedelta(minutes=1), task)]
    assert run_due(jobs, "worker-1") == {"sweep": "ran at 02:00"}
    assert run_due(jobs, "worker-2") == {}  # not due again yet
    clock.advance(seconds=59)
    assert run_due(jobs, "worker-2") == {}
    clock.advance(seconds=1)
    assert run_due(jobs, "worker-2") == {"sweep": "ran at 02:01"}
    row = lease("sweep")
    assert row.runs == 2 and row.holder is None and row.lease_until is None
    assert row.next_run_at == clock.now() + timedelta(minutes=1)
    assert task.moments == [clock.now() - timedelta(minutes=1), clock.now()]


def test_a_held_lease_keeps_others_out_until_it_expires(ctx, clock):
    job = Job("deliver", timedelta(seconds=10), Recorder(), lease=timedelta(minutes=5))
    run_due([job], "a")  # creates the row; runs once
    clock.advance(seconds=10)
    assert claim(job, "a", clock.now())  # a process claims it, then dies without releasing
    assert not claim(job, "b", clock.now())
    clock.advance(minutes=4, seconds=59)
    assert not claim(job, "b", clock.now())
    clock.advance(seconds=2)
    assert claim(job, "b", clock.now())  # the dead holder's lease ran out
    assert lease("deliver").holder == "b"


def test_a_failing_job_is_recorded_and_the_others_still_run(ctx, clock):
    good, bad = Recorder(), Recorder(fail=True)
    jobs = [Job("bad", timedelta(minutes=1), bad), Job("good", timedelta(minutes=1), good)]
    ran = run_due(jobs, "w")
    assert ran == {"bad": "RuntimeError: channel down", "good": "ran at 02:00"}
    row = lease("bad")
    assert row.failures == 1 and row.last_error == "RuntimeError: channel down" and row.holder is None
    assert row.next_run_at == clock.now() + timedelta(minutes=1)  # retried at its next interval


def test_two_processes_at_the_same_moment_run_a_job_once(app, clock):
    started, finish = threading.Event(), threading.Event()
    calls = []

    def slow(now):
        calls.append(now)
        started.set()
        assert finish.wait(timeout=30)
        return "done"

    jobs = [Job("digest", timedelta(minutes=15), slow)]
    with app.app_context():
        services._ensure_rows(jobs, clock.now())
    results = {}

    def worker(name):
        with app.app_context():
            results[name] = run_due(jobs, name)
            db.session.remove()

    first = threading.Thread(target=worker, args=("w1",))
    first.start()
    assert started.wait(timeout=30)
    worker("w2")  # while w1's task is running
    finish.set()
    first.join(timeout=30)
    assert results == {"w1": {"digest": "done"}, "w2": {}}
    assert len(calls) == 1


def test_a_replayed_moment_runs_every_job_whether_due_or_not(ctx, clock):
    task = Recorder()
    jobs = [Job("sweep", timedelta(hours=1), task)]
    run_due(jobs, "w")
    replay = clock.now() - timedelta(days=2)
    assert run_due(jobs, "w", replay, force=True) == {"sweep": f"ran at {replay:%H:%M}"}
    assert task.moments[-1] == replay


def test_the_cli_runs_jobs_and_shows_their_leases(app, clock, monkeypatch):
    from server.jobs import tasks

    task = Recorder()
    monkeypatch.setattr(tasks, "JOBS", [Job("misses.detect", timedelta(minutes=1), task), Job("other", timedelta(minutes=1), Recorder())])
    runner = app.test_cli_runner()
    result = runner.invoke(args=["jobs", "run", "--only", "misses.detect", "--now", "2026-11-24T09:00:00+08:00"])
    assert result.exit_code == 0, result.output
    assert "misses.detect: ran at 01:00" in result.output
    assert task.moments[0].isoformat() == "2026-11-24T01:00:00+00:00"
    status = runner.invoke(args=["jobs", "status"])
    assert "misses.detect: free" in status.output and "runs 1" in status.output
    assert runner.invoke(args=["jobs", "run", "--only", "nope"]).exit_code != 0
    assert runner.invoke(args=["jobs", "run", "--now", "yesterday"]).exit_code != 0
    assert runner.invoke(args=["jobs", "run", "--now", "2026-11-24T09:00:00"]).exit_code != 0


@pytest.mark.parametrize("enabled", [True, False])
def test_the_served_app_starts_the_runner_unless_told_not_to(monkeypatch, tmp_path, enabled):
    import importlib
    import sys

    monkeypatch.setenv("ZICHA_DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("ZICHA_JOBS", "1" if enabled else "0")
    monkeypatch.setenv("ZICHA_JOBS_TICK_SECONDS", "3600")  # started, but it never ticks in the test
    sys.modules.pop("server.wsgi", None)
    wsgi = importlib.import_module("server.wsgi")
    try:
        assert hasattr(wsgi, "runner") is enabled
        if enabled:
            assert wsgi.runner.thread.is_alive()
    finally:
        if enabled:
            wsgi.runner.stop()
        sys.modules.pop("server.wsgi", None)
