"""The overview's cost as the enterprise grows: one enterprise with N posts (a daily, a per-shift
and a weekly schedule each) and 40 days of history, bulk-inserted with SQLAlchemy Core, most
periods done, the rest recorded missed by the real sweep.

Timed, per span (day, week, month): ``server.overview.services.overview`` for the safety manager
— the outcomes of every period of the span and of the 30-day chart, open alerts, hazards — and
the number of SQL statements it sent (the same whatever N). Then one post's calendar.

Usage::

    python bench/bench_overview.py                  # 200 posts, SQLite in a temp dir
    python bench/bench_overview.py --posts 1000 --rounds 5
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
from server.accounts.auth import Principal  # noqa: E402
from server.accounts.models import Role  # noqa: E402
from server.checklists import services as checklists  # noqa: E402
from server.checks.models import Check  # noqa: E402
from server.clock import FrozenClock  # noqa: E402
from server.enterprises import services as enterprises  # noqa: E402
from server.extensions import db  # noqa: E402
from server.misses import services as misses  # noqa: E402
from server.misses.services import closed_periods  # noqa: E402
from server.overview import services  # noqa: E402
from server.posts.models import Post  # noqa: E402
from server.schedules.models import Schedule  # noqa: E402
from sync.periods import Frequency  # noqa: E402

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
BUILT_AT = NOW - timedelta(days=41)
ZONE, SHIFTS = "Asia/Shanghai", ("00:00", "08:00", "16:00")


def build(posts: int, done: float, seed: int) -> Principal:
    rng = random.Random(seed)
    built = BUILT_AT.astimezone(timezone.utc)
    enterprise = enterprises.create_enterprise("bench", "基准企业")
    site = enterprises.create_site(enterprise.id, "厂区")
    manager = accounts.create_user(enterprise.id, "manager", "安全员", Role.SAFETY_MANAGER, "x" * 12)
    worker = accounts.create_user(enterprise.id, "worker", "巡检员", Role.WORKER, "x" * 12)
    checklist = checklists.create_checklist(enterprise.id, "日常检查", "", [{"id": "ok", "kind": "yes_no", "label": "现场安全"}], None)
    db.session.commit()
    post_ids = insert_rows(Post.__table__, [{
        "enterprise_id": enterprise.id, "site_id": site.id, "name": f"岗位{i}", "location": "", "risk_level": rng.choice(["red", "orange", "yellow", "blue"]),
        "supervisor_id": None, "qr_token": secrets.token_urlsafe(32), "active": True, "created_at": built,
    } for i in range(posts)], returning=True)
    rows = [{"enterprise_id": enterprise.id, "post_id": p, "checklist_id": checklist.id, "frequency": f, "due_start_minutes": 0,
             "due_end_minutes": None, "responsible_id": None, "active": True, "created_at": built}
            for p in post_ids for f in (Frequency.DAILY, Frequency.SHIFT, Frequency.WEEKLY)]
    schedule_ids = insert_rows(Schedule.__table__, rows, returning=True)
    checks = []
    for schedule_id, row in zip(schedule_ids, rows):
        for period in closed_periods(ZONE, SHIFTS, row["frequency"], BUILT_AT + timedelta(days=1), NOW):
            if rng.random() < done:
                at = (period.start + (period.end - period.start) / 2).astimezone(timezone.utc)
                checks.append({
                    "id": uuid.UUID(int=rng.getrandbits(128), version=4), "enterprise_id": enterprise.id, "schedule_id": schedule_id,
                    "post_id": row["post_id"], "checklist_version_id": checklist.current_version_id, "user_id": worker.id, "device_id": None,
                    "device_seq": None, "frequency": row["frequency"], "period_key": period.key, "performed_at": at, "device_time": at,
                    "received_at": at, "time_quality": "device", "flags": [], "ok": rng.random() > 0.05, "failed_count": 0,
                    "answers": [{"item_id": "ok", "value": True, "ok": True}], "note": "", "content_hash": "0" * 64, "status": "complete",
                })
    insert_rows(Check.__table__, checks)
    db.session.commit()
    misses.sweep(NOW)
    db.session.commit()
    print(f"built {posts} posts, {len(schedule_ids)} schedules, {len(checks)} checks")
    return Principal(manager.id, enterprise.id, Role.SAFETY_MANAGER, None, 0, ZONE, SHIFTS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--done", type=float, default=0.93)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        from flask_migrate import upgrade

        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db", "CLOCK": FrozenClock(NOW), "MISS_LOOKBACK_DAYS": 45})
        with app.app_context():
            upgrade()
            principal = build(args.posts, args.done, args.seed)
            statements = 0

            def tick(*_):
                nonlocal statements
                statements += 1

            sa.event.listen(db.engine, "before_cursor_execute", tick)
            for span in services.SPANS:
                times = []
                for _ in range(args.rounds):
                    statements = 0
                    started = time.perf_counter()
                    data = services.overview(principal, span, NOW)
                    times.append(time.perf_counter() - started)
                print(f"overview {span:5}: {statistics.median(times) * 1000:7.1f} ms median, {statements} statements, "
                      f"{data.total.due} due, {data.total.percent}% complete")
            post_id = db.session.scalar(sa.select(Post.id).order_by(Post.id))
            started = time.perf_counter()
            services.post_calendar(principal, post_id, 13, NOW)
            print(f"calendar 13 weeks: {(time.perf_counter() - started) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
