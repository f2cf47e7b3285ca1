"""The sweep under failure and concurrency: a crash before the commit leaves no trace and the
rerun makes each record once; two sweeps at once make one record per (schedule, period); the
records' stamps cannot be rewritten. Threads meet at barriers; nothing sleeps."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.extensions import db
from server.misses import services
from server.misses.models import MissedCheck, MissStatus, WriteOnceError
from tests.misses.conftest import GRACE, local, misses, sweep, watermark

NOW = local(2026, 12, 1) + GRACE  # as the third shift, 30 November and November close


def _keys(rows) -> list[tuple[int, str]]:
    return sorted((m.schedule_id, m.period_key) for m in rows)


@pytest.fixture
def expected(app, plant):
    """What one clean sweep at NOW records (worked out once, then the database emptied of it)."""
    with app.app_context():
        found = services.sweep(NOW)
        db.session.rollback()
    assert {m.frequency.value for m in found} >= {"shift", "daily", "monthly"}
    return _keys(found)


class Crash(RuntimeError):
    pass


def test_a_crash_before_the_commit_then_a_rerun_records_each_miss_once(app, plant, expected):
    with app.app_context():
        with pytest.raises(Crash):
            services.sweep(NOW)  # the inserts and the watermark are written…
            raise Crash("the process dies before the commit")
        db.session.rollback()
        db.session.remove()
    assert misses(app) == [] and watermark(app) is None

    assert _keys(sweep(app, NOW)) == expected
    assert sweep(app, NOW) == [] and sweep(app, NOW + timedelta(minutes=1)) == []
    assert _keys(misses(app)) == expected


def test_a_crash_between_two_inserts_then_a_rerun_records_each_miss_once(app, plant, expected, monkeypatch):
    real = services._record_misses
    calls = []

    def failing(*args):
        calls.append(args)
        if len(calls) == 3:  # after two statements have inserted rows
            raise Crash("connection lost mid-sweep")
        return real(*args)

    monkeypatch.setattr(services, "_record_misses", failing)
    with app.app_context():
        with pytest.raises(Crash):
            services.sweep(NOW)
        db.session.rollback()
        db.session.remove()
    assert misses(app) == [] and watermark(app) is None
    monkeypatch.setattr(services, "_record_misses", real)

    # The rerun is later, so its window starts where the first would have: nothing is skipped.
    assert _keys(sweep(app, NOW + timedelta(hours=1))) == expected
    assert _keys(misses(app)) == expected


def _race(app, work, count=2):
    """Run ``work(index)`` in ``count`` threads, each in its own app context and session, started
    together at a barrier; return their results in order (re-raising the first error)."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(index):
        try:
            with app.app_context():
                barrier.wait()
                results[index] = work(index)
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    if errors:
        raise errors[0]
    return results


def _sweep_and_commit(_index):
    found = services.sweep(NOW)
    db.session.commit()
    return found


def test_two_sweeps_at_once_make_one_record_each(app, plant, expected):
    first, second = _race(app, _sweep_and_commit)
    assert sorted(_keys(first) + _keys(second)) == expected  # one of them did the work, once
    assert _keys(misses(app)) == expected
    assert watermark(app) == NOW - GRACE


def test_without_the_watermark_lock_the_unique_constraint_still_makes_one_record(app, plant, expected, monkeypatch):
    """Two sweeps that both believe they start from the same watermark (the lock bypassed):
    ``ON CONFLICT DO NOTHING`` on (schedule_id, period_key) still makes each record once."""
    start = NOW - GRACE - timedelta(days=7)
    monkeypatch.setattr(services, "_lock_watermark", lambda _initial, _now: start)
    first, second = _race(app, _sweep_and_commit)
    assert sorted(_keys(first) + _keys(second)) == expected
    assert _keys(misses(app)) == expected


def test_a_missed_check_is_write_once(app, plant):
    sweep(app, NOW)
    with app.app_context():
        miss = db.session.scalars(sa.select(MissedCheck).order_by(MissedCheck.id)).first()
        for name, value in (("closed_at", NOW), ("detected_at", NOW), ("period_key", "2026-11-30"), ("post_id", plant.other_post_id)):
            setattr(miss, name, value)
            with pytest.raises(WriteOnceError, match=name):
                db.session.flush()
            db.session.rollback()
        db.session.delete(db.session.get(MissedCheck, miss.id))
        with pytest.raises(WriteOnceError, match="deleted"):
            db.session.flush()
        db.session.rollback()

        miss = db.session.get(MissedCheck, miss.id)
        miss.status, miss.corrected_at = MissStatus.DONE_LATE, NOW
        db.session.flush()  # the one change allowed: the correction, once
        miss.corrected_at = NOW + timedelta(hours=1)
        with pytest.raises(WriteOnceError, match="corrected_at"):
            db.session.flush()
        db.session.rollback()
        miss = db.session.get(MissedCheck, miss.id)
        miss.status, miss.corrected_at = MissStatus.DONE_LATE, NOW
        db.session.flush()
        miss.status = MissStatus.MISSED
        with pytest.raises(WriteOnceError, match="taken back"):
            db.session.flush()
        db.session.rollback()
