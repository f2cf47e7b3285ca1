"""The follow-up of failed checks (server/checks/follow_up.py): the push's transactional outbox.

A check with a failed item is stored with its ``follow_up`` mark in the same row; the job raises
what it owes and clears the mark in one transaction; nothing is raised twice, nothing lost when
the job fails, and the job finds its work through a partial index instead of a scan.
"""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from server.alerts.models import Alert
from server.checks import follow_up as follow_up_module
from server.checks.follow_up import follow_up
from server.checks.models import Check
from server.extensions import db
from server.hazards.models import Hazard
from tests.alerts.conftest import failed_answers
from tests.builders import run_job
from tests.push.test_push import Phone, push


def marked(app) -> set[uuid.UUID]:
    with app.app_context():
        return set(db.session.scalars(sa.select(Check.id).where(Check.follow_up)))


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(sa.select(sa.func.count()).select_from(Alert)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Hazard)),
        )


def failed_push(client, world, phone, n: int) -> list[str]:
    records = [phone.check(world.a.schedules["daily"], world.a.version_id, answers=failed_answers()) for _ in range(n)]
    r = push(client, world.a, phone.envelope(records))
    assert {x["result"] for x in r.json["results"]} == {"awaiting_photos"}
    return [rec["id"] for rec in records]


def test_only_checks_with_failed_items_are_marked_and_the_job_clears_them_in_batches(app, client, world, clock, monkeypatch):
    phone = Phone(clock)
    ids = failed_push(client, world, phone, 5)
    ok = phone.check(world.a.schedules["daily"], world.a.version_id)
    push(client, world.a, phone.envelope([ok]))
    assert marked(app) == {uuid.UUID(i) for i in ids}
    assert counts(app) == (0, 0)

    monkeypatch.setattr(follow_up_module, "BATCH", 2)  # 2 + 2 + 1, each batch its own transaction
    batches = []
    original = follow_up_module.follow_up

    def counted(*args, **kwargs):
        done = original(*args, **kwargs)
        batches.append(done.checks)
        return done

    monkeypatch.setattr(follow_up_module, "follow_up", counted)
    assert run_job(app, "checks.follow_up") == "5 failed check(s) followed up: 5 alert(s), 10 hazard draft(s)"
    assert batches == [2, 2, 1]
    assert marked(app) == set() and counts(app) == (5, 10)
    assert run_job(app, "checks.follow_up") == "0 failed check(s) followed up: 0 alert(s), 0 hazard draft(s)"
    assert counts(app) == (5, 10)


def test_a_failing_follow_up_leaves_the_marks_for_the_next_tick(app, client, world, clock, monkeypatch):
    phone = Phone(clock)
    ids = failed_push(client, world, phone, 2)

    def broken(described):
        raise RuntimeError("drafting failed half-way")

    monkeypatch.setattr(follow_up_module, "drafts_for_failed_checks", broken)
    assert "RuntimeError" in run_job(app, "checks.follow_up")  # the job's error, kept on its lease
    assert marked(app) == {uuid.UUID(i) for i in ids} and counts(app) == (0, 0)  # rolled back whole: no alert without its draft
    monkeypatch.undo()
    assert run_job(app, "checks.follow_up").startswith("2 failed check(s)")
    assert marked(app) == set() and counts(app) == (2, 4)


def test_a_check_is_claimed_once(app, client, world, clock):
    """Two claims of the same checks (the job, and a phone's hazard naming one) act once."""
    ids = [uuid.UUID(i) for i in failed_push(client, world, Phone(clock), 2)]
    with app.app_context():
        first = follow_up(ids)
        second = follow_up(ids)
        everything = follow_up()
        db.session.commit()
    assert (first.checks, first.alerts, first.drafts) == (2, 2, 4)
    assert (second.checks, everything.checks) == (0, 0)
    assert counts(app) == (2, 4)


def test_the_job_reads_the_partial_index_not_every_check(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's planner is the one that needs the index condition written as is")
        statements = []

        def note(conn, cursor, statement, *args):
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", note)
        try:
            follow_up()
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", note)
        [claim] = [s for s in statements if s.lstrip().upper().startswith("UPDATE CHECKS")]
        subquery = claim[claim.index("(SELECT") + 1 : claim.rindex(")")]
        plan = db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + subquery, (500,) * subquery.count("?")).all()
        db.session.rollback()
    assert any("ix_checks_follow_up" in row[-1] for row in plan), plan
