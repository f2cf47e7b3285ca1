"""Numbers: per enterprise and year, consecutive, with no holes even under concurrent reports."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import sqlalchemy as sa

from server.accounts.auth import Principal
from server.accounts.models import Role
from server.extensions import db
from server.hazards import services
from server.hazards.models import Hazard


def _principal(tenant, role="worker") -> Principal:
    return Principal(tenant.users[role], tenant.enterprise_id, Role(role), None, 0, "Asia/Shanghai", ("08:00", "16:00", "00:00"))


def test_numbers_are_per_enterprise_and_consecutive(loop, client, world):
    assert [loop.report()["number"] for _ in range(3)] == ["YH-2026-0001", "YH-2026-0002", "YH-2026-0003"]
    r = client.post("/api/v1/hazards", json={"description": "配电柜门未关"}, headers=world.b.auth("supervisor"))
    assert r.json["number"] == "YH-2026-0001"


def test_a_new_local_year_starts_again_at_one(app, world, clock):
    with app.app_context():
        services.report(_principal(world.a), {"description": "old year"})
        clock.set(datetime(2026, 12, 31, 15, 59, tzinfo=timezone.utc))  # 23:59 on 31 December in Shanghai
        assert services.report(_principal(world.a), {"description": "late"}).number == "YH-2026-0002"
        clock.set(datetime(2026, 12, 31, 16, 0, tzinfo=timezone.utc))  # 00:00 on 1 January 2027 in Shanghai
        assert services.report(_principal(world.a), {"description": "new year"}).number == "YH-2027-0001"
        db.session.commit()


def test_a_rolled_back_report_leaves_no_hole(app, world, clock):
    with app.app_context():
        services.report(_principal(world.a), {"description": "first"})
        db.session.rollback()
        services.report(_principal(world.a), {"description": "second"})
        db.session.commit()
        assert db.session.scalars(sa.select(Hazard.number)).all() == ["YH-2026-0001"]


def test_concurrent_reports_get_consecutive_numbers(app, world, clock):
    """Threads released together each report and commit; the numbers are 1..n, no gap, no twin."""
    n = 6
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def report(i: int) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                services.report(_principal(world.a), {"description": f"concurrent {i}"})
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=report, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    with app.app_context():
        numbers = sorted(db.session.scalars(sa.select(Hazard.number)))
    assert numbers == [f"YH-2026-{i:04d}" for i in range(1, n + 1)]
