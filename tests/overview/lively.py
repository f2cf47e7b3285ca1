"""A month of varied history for screenshots and benchmarks: four posts of every colour, daily,
per-shift, weekly and monthly schedules, mostly done on time, some missed, some synced late, a
stoppage, failed items and hazards at every step of the loop. Deterministic (no randomness)."""
from __future__ import annotations

from datetime import timedelta

from server import clock
from server.accounts.auth import principal_for_token
from server.alerts.services import raise_for_misses
from server.checks.ingest import Outcome, ingest_checks
from server.enterprises import services as enterprises
from server.extensions import db
from server.hazards import services as hazards
from server.misses import services as misses
from server.posts import services as posts
from server.posts.models import RiskLevel
from server.schedules import services as schedules
from sync.periods import Frequency
from sync.records import CheckRecordSchema
from tests.builders import World, build_world, check_record, good_answers
from tests.conftest import T0
from tests.overview.conftest import local

DAYS = 30


def _failed() -> list[dict]:
    answers = good_answers()
    answers[1]["value"] = False  # 安全出口畅通: no
    return answers


def build_lively_world(app, frozen) -> tuple[World, dict[str, int]]:
    """The world, set up 35 days before T0, with 30 days of history in tenant a; the clock ends at T0.
    Returns the world and tenant a's post ids by name."""
    frozen.set(T0 - timedelta(days=DAYS + 5))
    with app.app_context():
        world = build_world()
        a = world.a
        site = enterprises.create_site(a.enterprise_id, "锅炉房区域")
        boiler = posts.create_post(a.enterprise_id, site.id, "燃气锅炉", RiskLevel.ORANGE, supervisor_id=a.users["supervisor"])
        pump = posts.create_post(a.enterprise_id, site.id, "消防泵房", RiskLevel.BLUE)
        ids = {"液氨储罐区": a.post_id, "1号高压配电柜": a.other_post_id, "燃气锅炉": boiler.id, "消防泵房": pump.id}
        for name, post, frequency in (("boiler_shift", boiler, Frequency.SHIFT), ("boiler_daily", boiler, Frequency.DAILY), ("pump_daily", pump, Frequency.DAILY)):
            a.schedules[name] = schedules.create_schedule(a.enterprise_id, {"post_id": post.id, "checklist_id": a.checklist_id, "frequency": frequency}).id
        db.session.commit()
        worker = principal_for_token(a.tokens["worker"])
        manager = principal_for_token(a.tokens["safety_manager"])
        # A boiler stoppage for three days, ten days ago.
        frozen.set(local(2026, 11, 12, 8))
        misses.create_pause(manager, {"post_id": boiler.id, "reason": "锅炉年检停炉", "starts_at": local(2026, 11, 12, 8), "ends_at": local(2026, 11, 15, 0)})
        db.session.commit()
        db.session.remove()

    first = T0.astimezone(local(2026, 1, 1).tzinfo).date() - timedelta(days=DAYS)
    late: dict = {}
    for n in range(DAYS + 1):
        day = first + timedelta(days=n)
        records = []

        def check(schedule: str, hour: int, minute: int = 0, answers=None, when=day):
            performed = local(when.year, when.month, when.day, hour, minute)
            records.append(CheckRecordSchema().load(check_record(a.schedules[schedule], a.version_id, performed, answers)))

        # the red post's daily check: missed every 9th day, done late (synced two days on) every 7th
        if n % 9 == 4:
            pass
        elif n % 7 == 3:
            late.setdefault(n + 2, []).append(("daily", day))
        elif n < DAYS:
            check("daily", 9, answers=_failed() if n % 11 == 5 else None)
        if day.weekday() == 1:
            check("weekly", 10)
        if day.day == 3:
            check("monthly", 10)
        if n % 13 != 6 and n < DAYS:
            check("other_post_daily", 11)
        stopped = local(2026, 11, 12) <= local(day.year, day.month, day.day) < local(2026, 11, 15)  # the boiler's stoppage
        if n < DAYS:
            if n % 6 != 1:
                check("pump_daily", 14)
            if n % 10 != 8 and not stopped:
                check("boiler_daily", 15)
            for shift, hour in ((1, 2), (2, 10), (3, 18)):
                if (n + shift) % 8 != 0 and not stopped:
                    check("boiler_shift", hour)
        else:  # today, 10:00: the morning's checks only
            check("boiler_shift", 2)
            check("pump_daily", 8)
        for schedule, when in late.pop(n, []):
            check(schedule, 20, when=when)
        with app.app_context():
            frozen.set(local(day.year, day.month, day.day, 9, 59) if n == DAYS else local(day.year, day.month, day.day, 23, 0))
            kept = []
            for record in records:  # a check of a later hour today is not made yet (or the boiler is stopped)
                if record["performed_at"] <= clock.now():
                    kept.append(record)
            for outcome in ingest_checks(worker, kept):
                assert outcome.outcome is Outcome.ACCEPTED, outcome.error
            db.session.commit()
            if n < DAYS:
                frozen.set(local(day.year, day.month, day.day, 23, 0) + timedelta(hours=4))
                raise_for_misses(misses.sweep(clock.now()))
                db.session.commit()
            db.session.remove()

    frozen.set(T0 - timedelta(days=6))
    with app.app_context():
        manager = principal_for_token(a.tokens["safety_manager"])
        found = [hazards.report(manager, {"description": text, "post_id": post}) for text, post in (
            ("锅炉房安全出口被杂物堵塞", boiler.id), ("液氨储罐区洗眼器失效", a.post_id), ("配电柜接地线松动", a.other_post_id),
            ("消防泵房应急照明损坏", pump.id), ("储罐区围堰排水阀未关闭", a.post_id),
        )]
        for h in found[:4]:
            hazards.confirm(manager, h.id, {"grade": "major" if h is found[1] else "general"})
        for h, days in ((found[0], 3), (found[1], 20), (found[2], 10)):
            data = {"responsible_id": a.users["supervisor"], "deadline": T0 - timedelta(days=6) + timedelta(days=days), "mode": "by_deadline",
                    "measures": "清理并加装标识", "funds": "5000", "emergency_measures": "设置警戒"}
            hazards.assign(manager, h.id, data)
        hazards.rectify(principal_for_token(a.tokens["supervisor"]), found[2].id, {"description": "已紧固接地线"})
        hazards.verify(manager, found[2].id, {"passed": True, "note": "复查合格"})
        db.session.commit()
        db.session.remove()
    frozen.set(T0)
    return world, ids
