"""The missed-check sweep over 100,000 schedules, side by side with the bare SQL anti-join.

Builds, on SQLite in a temp dir (or an empty PostgreSQL database), enterprises in Asia/Shanghai
with 100,000 schedules of mixed frequencies on 25,000 posts, bulk-inserted with SQLAlchemy Core
(not ORM objects). The sweep moment is 02:02 on Monday 2029-01-01 in Shanghai with the default
two-hour grace, and the watermark is five minutes behind, as a sweep every few minutes leaves
it: the shift, day, ISO week, month, quarter and year that ended at midnight all close in the
window. Most of those periods have a check (``--done``), some posts and schedules are paused
(a few by pauses that ended before the period or start after it, which do not excuse), a few
schedules or posts are switched off, and each daily schedule has its previous day's check too,
so the checks table is not only the rows the sweep looks for.

Timed, in alternating rounds:

* **sweep** — ``server.misses.services.sweep(now)`` and its commit: the watermark lock, the
  calendar groups, one ``INSERT … SELECT … WHERE NOT EXISTS … ON CONFLICT DO NOTHING RETURNING``
  per (group, period), the watermark move, and the read of what alerts need for every new miss
  (post name, risk colour, supervisor, responsible); the records are then deleted (untimed);
* **bare** — one hand-written ``SELECT … WHERE NOT EXISTS (check) AND NOT EXISTS (pause)``
  over the same six periods, given as literals: the least any implementation must do.

Both must find the same set of (schedule, period); the script asserts it.

Usage::

    python bench/bench_sweep.py                         # SQLite in a temp dir, 100,000 schedules
    python bench/bench_sweep.py --schedules 20000 --rounds 7
    python bench/bench_sweep.py --database-url postgresql+psycopg://user@127.0.0.1:5432/empty_db
"""
from __future__ import annotations

import argparse
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server import create_app  # noqa: E402
from bulk import insert_rows  # noqa: E402  (bench/bulk.py, next to this script)
from server.accounts import services as accounts  # noqa: E402
from server.accounts.models import Role  # noqa: E402
from server.checklists import services as checklists  # noqa: E402
from server.checks.models import Check  # noqa: E402
from server.clock import FrozenClock  # noqa: E402
from server.enterprises import services as enterprises  # noqa: E402
from server.enterprises.calendar import enterprise_period  # noqa: E402
from server.extensions import UTCDateTime, db  # noqa: E402
from server.misses import services as misses  # noqa: E402
from server.misses.models import MissedCheck, Pause, SweepState  # noqa: E402
from server.posts.models import Post  # noqa: E402
from server.schedules.models import Schedule  # noqa: E402
from sync.periods import Frequency  # noqa: E402

from bench_pull import _analyze as analyze  # noqa: E402  fresh planner statistics after the bulk load

ZONE = "Asia/Shanghai"
SHANGHAI = timezone(timedelta(hours=8))
MIDNIGHT = datetime(2029, 1, 1, 0, 0, tzinfo=SHANGHAI)  # a Monday: every frequency's period ends here
BUILT_AT = datetime(2028, 1, 1, 0, 0, tzinfo=SHANGHAI) - timedelta(days=10)
MIX = {  # share of schedules per frequency
    Frequency.SHIFT: 0.10, Frequency.DAILY: 0.40, Frequency.WEEKLY: 0.25,
    Frequency.MONTHLY: 0.15, Frequency.QUARTERLY: 0.05, Frequency.YEARLY: 0.05,
}
SCHEDULES_PER_POST = 4
PASSWORD = "bench-password-1"
ITEMS = [{"id": "ok", "kind": "yes_no", "label": "现场安全"}]


def build(total: int, enterprises_count: int, done: float, seed: int) -> dict:
    """The data set; returns counts of what was built."""
    rng = random.Random(seed)
    built_at = BUILT_AT.astimezone(timezone.utc)
    closing = {f: enterprise_period(ZONE, ("00:00", "08:00", "16:00"), f, MIDNIGHT - timedelta(seconds=1)) for f in Frequency}
    posts_rows, schedule_rows, tenants = [], [], []
    for e in range(enterprises_count):
        enterprise = enterprises.create_enterprise(f"e{e}", f"企业{e}")
        site = enterprises.create_site(enterprise.id, "厂区")
        supervisor = accounts.create_user(enterprise.id, "sup", "班组长", Role.SUPERVISOR, PASSWORD)
        worker = accounts.create_user(enterprise.id, "worker", "巡检员", Role.WORKER, PASSWORD)
        checklist = checklists.create_checklist(enterprise.id, "日常检查", "", ITEMS, None)
        tenants.append((enterprise.id, site.id, supervisor.id, worker.id, checklist.id, checklist.current_version_id))
    db.session.commit()

    per_enterprise = total // enterprises_count
    posts_per_enterprise = per_enterprise // SCHEDULES_PER_POST
    for enterprise_id, site_id, supervisor_id, *_ in tenants:
        for i in range(posts_per_enterprise):
            posts_rows.append({
                "enterprise_id": enterprise_id, "site_id": site_id, "name": f"岗位{i}", "location": "",
                "risk_level": rng.choice(["red", "orange", "yellow", "blue"]), "supervisor_id": supervisor_id,
                "qr_token": secrets.token_urlsafe(32), "active": rng.random() > 0.01, "created_at": built_at,
            })
    post_ids = insert_rows(Post.__table__, posts_rows, returning=True, chunk=10_000)
    frequencies, weights = list(MIX), list(MIX.values())
    by_enterprise = {t[0]: t for t in tenants}
    for post_id, post in zip(post_ids, posts_rows):
        tenant = by_enterprise[post["enterprise_id"]]
        for _ in range(SCHEDULES_PER_POST):
            schedule_rows.append({
                "enterprise_id": tenant[0], "post_id": post_id, "checklist_id": tenant[4],
                "frequency": rng.choices(frequencies, weights)[0], "due_start_minutes": 0, "due_end_minutes": None,
                "responsible_id": None, "active": rng.random() > 0.01, "created_at": built_at,
            })
    schedule_ids = insert_rows(Schedule.__table__, schedule_rows, returning=True, chunk=10_000)
    db.session.commit()

    checks, pauses = [], []
    for schedule_id, row in zip(schedule_ids, schedule_rows):
        tenant = by_enterprise[row["enterprise_id"]]
        period = closing[row["frequency"]]
        keys = []
        if rng.random() < done:
            keys.append((period.key, period.end - timedelta(hours=1)))
        if row["frequency"] is Frequency.DAILY:  # yesterday's check: history the anti-join must skip
            keys.append(((MIDNIGHT - timedelta(days=1, seconds=1)).date().isoformat(), period.start - timedelta(hours=2)))
        for key, at in keys:
            at = at.astimezone(timezone.utc)
            checks.append({
                "id": uuid.UUID(int=rng.getrandbits(128), version=4), "enterprise_id": tenant[0], "schedule_id": schedule_id,
                "post_id": row["post_id"], "checklist_version_id": tenant[5], "user_id": tenant[3], "device_id": None,
                "device_seq": None, "frequency": row["frequency"], "period_key": key, "performed_at": at, "device_time": at,
                "received_at": at, "time_quality": "device", "flags": [], "ok": True, "failed_count": 0,
                "answers": [{"item_id": "ok", "value": True, "ok": True}], "note": "", "content_hash": "0" * 64, "status": "complete",
            })
        roll = rng.random()
        if roll < 0.02:  # schedule paused over the period: excused
            pauses.append(_pause(tenant, None, schedule_id, period.start - timedelta(days=3), None))
        elif roll < 0.03:  # paused, but the pause ended before the period began: not excused
            pauses.append(_pause(tenant, None, schedule_id, period.start - timedelta(days=3), period.start))
    for post_id, post in zip(post_ids, posts_rows):
        roll = rng.random()
        tenant = by_enterprise[post["enterprise_id"]]
        if roll < 0.02:  # a stoppage of the whole post that began during the last day: excuses every period
            pauses.append(_pause(tenant, post_id, None, MIDNIGHT - timedelta(hours=5), MIDNIGHT + timedelta(days=2)))
        elif roll < 0.03:  # planned for after midnight: excuses nothing that closed at midnight
            pauses.append(_pause(tenant, post_id, None, MIDNIGHT, None))
    insert_rows(Check.__table__, checks, chunk=10_000)
    insert_rows(Pause.__table__, pauses, chunk=10_000)
    db.session.commit()
    return {"enterprises": enterprises_count, "posts": len(post_ids), "schedules": len(schedule_ids), "checks": len(checks), "pauses": len(pauses)}


def _pause(tenant, post_id, schedule_id, starts_at, ends_at) -> dict:
    return {
        "enterprise_id": tenant[0], "post_id": post_id, "schedule_id": schedule_id, "reason": "停产检修",
        "starts_at": starts_at.astimezone(timezone.utc), "ends_at": ends_at and ends_at.astimezone(timezone.utc),
        "created_by_id": tenant[2], "created_at": starts_at.astimezone(timezone.utc),
    }


BARE = """
WITH periods(frequency, period_key, period_start, period_end) AS (VALUES {values})
SELECT s.id, periods.period_key
FROM schedules AS s
JOIN periods ON periods.frequency = s.frequency
JOIN posts AS p ON p.id = s.post_id
WHERE s.active AND p.active AND s.created_at <= periods.period_start
  AND NOT EXISTS (SELECT 1 FROM checks AS c WHERE c.schedule_id = s.id AND c.period_key = periods.period_key)
  AND NOT EXISTS (SELECT 1 FROM pauses AS x WHERE x.schedule_id = s.id AND x.starts_at < periods.period_end
                  AND (x.ends_at IS NULL OR (x.ends_at > periods.period_start AND x.ends_at > x.starts_at)))
  AND NOT EXISTS (SELECT 1 FROM pauses AS x WHERE x.post_id = s.post_id AND x.starts_at < periods.period_end
                  AND (x.ends_at IS NULL OR (x.ends_at > periods.period_start AND x.ends_at > x.starts_at)))
"""


def bare_statement() -> sa.TextClause:
    """The six closing periods as literals (bound with the app's timestamp type, so both
    databases compare like with like), in one hand-written anti-join."""
    closing = [enterprise_period(ZONE, ("00:00", "08:00", "16:00"), f, MIDNIGHT - timedelta(seconds=1)) for f in Frequency]
    values = ", ".join(f"(:f{i}, :k{i}, :s{i}, :e{i})" for i in range(len(closing)))
    params, types = {}, []
    for i, period in enumerate(closing):
        params |= {f"f{i}": period.frequency.value, f"k{i}": period.key, f"s{i}": period.start, f"e{i}": period.end}
        types += [sa.bindparam(f"s{i}", type_=UTCDateTime()), sa.bindparam(f"e{i}", type_=UTCDateTime())]
    return sa.text(BARE.format(values=values)).bindparams(*types, **params)


def reset(watermark: datetime, now: datetime) -> None:
    """Forget the sweep's records (Core: the write-once guard is for the ORM) and set the watermark."""
    db.session.execute(sa.delete(MissedCheck.__table__))
    db.session.execute(sa.delete(SweepState.__table__))
    db.session.execute(sa.insert(SweepState.__table__).values(name=misses.SWEEP_NAME, watermark=watermark, updated_at=now))
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schedules", type=int, default=100_000)
    parser.add_argument("--enterprises", type=int, default=20)
    parser.add_argument("--done", type=float, default=0.9, help="share of closing periods that have a check")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2029)
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temp dir)")
    args = parser.parse_args()

    from flask_migrate import upgrade

    grace = timedelta(minutes=120)
    now = (MIDNIGHT + grace + timedelta(minutes=2)).astimezone(timezone.utc)
    watermark = now - grace - timedelta(minutes=5)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "CLOCK": FrozenClock(BUILT_AT), "MISS_GRACE_MINUTES": 120})
        with app.app_context():
            upgrade()
            print(f"database: {db.engine.dialect.name} {'.'.join(map(str, db.engine.dialect.server_version_info or ()))}")
            began = time.perf_counter()
            counts = build(args.schedules, args.enterprises, args.done, args.seed)
            print("built " + ", ".join(f"{v:,} {k}" for k, v in counts.items()) + f" in {time.perf_counter() - began:.1f} s (Core bulk inserts)")
            analyze()
            app.extensions["zicha.clock"].set(now)
            bare = bare_statement()

            sweep_times, bare_times, found, expected = [], [], None, None
            for _ in range(args.rounds):
                reset(watermark, now)
                began = time.perf_counter()
                new = misses.sweep(now)
                db.session.commit()
                sweep_times.append(time.perf_counter() - began)
                found = {(m.schedule_id, m.period_key) for m in new}
                db.session.remove()

                began = time.perf_counter()
                rows = db.session.execute(bare).all()
                bare_times.append(time.perf_counter() - began)
                expected = {(schedule_id, key) for schedule_id, key in rows}
                db.session.remove()
                assert found == expected, (len(found), len(expected), sorted(found ^ expected)[:5])

            by_frequency = {}
            for miss in new:
                by_frequency[miss.frequency.value] = by_frequency.get(miss.frequency.value, 0) + 1
            sweep_ms, bare_ms = statistics.median(sweep_times) * 1000, statistics.median(bare_times) * 1000
            print(f"misses found: {len(found):,} (" + ", ".join(f"{k} {v:,}" for k, v in by_frequency.items()) + "), the same set both ways")
            print(f"sweep (statements, commit, NewMiss rows): median {sweep_ms:7.1f} ms   all: " + " ".join(f"{t * 1000:.0f}" for t in sweep_times))
            print(f"bare anti-join SELECT:                    median {bare_ms:7.1f} ms   all: " + " ".join(f"{t * 1000:.0f}" for t in bare_times))
            print(f"sweep / bare: {sweep_ms / bare_ms:.2f}x   (aim: sweep < 1000 ms and within 2x)")
            db.engine.dispose()


if __name__ == "__main__":
    main()
