"""The daily digest: yesterday's completion by site and post, the misses, open alerts (blue ones
too), in Chinese and English; once per person and day; supervisors see their own posts."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from server.alerts import services, texts
from server.alerts.digest import outcomes, send_digests, yesterday
from server.alerts.models import DigestSent
from server.extensions import db
from server.misses.models import MissedCheck, MissStatus
from server.posts.models import RiskLevel
from tests.alerts.conftest import API, notified, record_miss, set_risk, submit_check
from tests.conftest import T0


@pytest.fixture
def day(app, client, world, clock):
    """Sunday 2026-11-22 in enterprise A: the red post's daily check missed, its weekly (W47,
    which closed at midnight) done late; the other post's daily check done on time. A blue alert
    is open too."""
    a = world.a
    submit_check(client, a, "other_post_daily", T0 - timedelta(hours=15))
    with app.app_context():
        services.raise_for_misses([record_miss(a)])
        weekly = record_miss(a, "weekly", "2026-W47")
        row = db.session.get(MissedCheck, weekly["id"])
        row.status, row.late_performed_at, row.late_received_at, row.corrected_at = MissStatus.DONE_LATE, T0 - timedelta(days=2), T0, T0
        set_risk(a.other_post_id, RiskLevel.BLUE)
        services.raise_for_misses([record_miss(a, "other_post_daily", "2026-11-21")])
        db.session.commit()
    return a


def digest_of(user_id: int) -> dict:
    [(who, message)] = [(w, m) for w, m in notified(kind="digest") if w == user_id]
    return message


def test_what_a_manager_reads(app, world, day):
    with app.app_context():
        assert send_digests(T0) == 6  # A and B: supervisor, safety manager, admin
        db.session.commit()
        m = digest_of(day.users["safety_manager"])
    assert m["title_zh"] == "每日排查日报 2026-11-22" and m["title_en"] == "Daily self-check digest 2026-11-22"
    zh, en = m["text_zh"], m["text_en"]
    assert "甲企业 · 2026-11-22 排查完成情况（当日结束的周期）：应查 3，按时完成 1，逾期补录 1，漏检 1" in zh
    assert "- 危化品仓库：应查 2，按时完成 0，逾期补录 1，漏检 1" in zh
    assert "- 配电室：应查 1，按时完成 1，逾期补录 0，漏检 0" in zh
    assert "- 液氨储罐区（危化品仓库，重大风险）：应查 2" in zh
    assert "- 1号高压配电柜（配电室，低风险）：应查 1，按时完成 1" in zh
    assert "漏检 1 项：\n- 液氨储罐区 日检 2026-11-22（重大风险）" in zh
    assert "未处理提醒 2 条（重大 1，较大 0，一般 0，低 1）" in zh
    assert "- 漏检：液氨储罐区（重大风险）（已至岗位负责人）" in zh
    assert "- 漏检：1号高压配电柜（低风险）（已至安全管理员）" in zh
    assert "completion (periods that closed that day): due 3, done 1, done late 1, missed 1" in en
    assert "- 危化品仓库: due 2, done 0, done late 1, missed 1" in en
    assert "Missed checks: 1:\n- 液氨储罐区 daily 2026-11-22 (red)" in en
    assert "Open alerts: 2 (red 1, orange 0, yellow 0, blue 1)" in en
    assert "- Missed check: 1号高压配电柜 (blue, low) (with the safety managers)" in en
    assert m["facts"]["missed"] == 1 and m["facts"]["done_late"] == 1 and m["facts"]["locale"] == "zh"
    assert m["kind"] == "digest" and m["link"].endswith("/manage/overview")


def test_a_supervisor_reads_only_their_posts(app, world, day):
    with app.app_context():
        send_digests(T0)
        m = digest_of(day.users["supervisor"])
    assert "应查 2，按时完成 0，逾期补录 1，漏检 1" in m["text_zh"]
    assert "配电室" not in m["text_zh"] and "1号高压配电柜" not in m["text_zh"]
    assert "未处理提醒 1 条（重大 1" in m["text_zh"]


def test_english_by_the_users_locale(app, client, world, day):
    assert client.patch(f"{API}/auth/me", json={"locale": "en"}, headers=day.auth("admin")).status_code == 200
    with app.app_context():
        send_digests(T0)
        m = digest_of(day.users["admin"])
    assert m["facts"]["locale"] == "en"
    assert m["text_en"].startswith("甲企业 · 2026-11-22 completion")


def test_once_per_person_and_day(app, world, day):
    with app.app_context():
        assert send_digests(T0) == 6
        assert send_digests(T0 + timedelta(hours=5)) == 0
        assert db.session.scalar(db.select(db.func.count()).select_from(DigestSent)) == 6
        assert send_digests(T0 + timedelta(days=1)) == 6  # the next day's
        assert {d.day for d in db.session.scalars(db.select(DigestSent))} == {"2026-11-22", "2026-11-23"}


def test_not_before_the_digest_hour(app, world, day):
    early = datetime(2026, 11, 23, 6, 59, tzinfo=timezone(timedelta(hours=8)))
    with app.app_context():
        assert send_digests(early) == 0
        services.update_settings(day.enterprise_id, {"digest_hour": 6}, day.users["admin"])
        assert send_digests(early) == 3  # A only
        assert send_digests(early + timedelta(minutes=1)) == 3  # now B (07:00) too


def test_a_period_not_yet_judged_is_pending(app, world, clock):
    """No check and no miss on record (the sweep's grace, or a pause): counted apart."""
    a = world.a
    with app.app_context():
        day = yesterday("Asia/Shanghai", ("00:00", "08:00", "16:00"), T0)
        result = outcomes(a.enterprise_id, "Asia/Shanghai", ("00:00", "08:00", "16:00"), day)
        assert sorted((o.post_name, o.frequency, o.period_key, o.outcome) for o in result) == [
            ("1号高压配电柜", "daily", "2026-11-22", "pending"),
            ("液氨储罐区", "daily", "2026-11-22", "pending"),
            ("液氨储罐区", "weekly", "2026-W47", "pending"),
        ]


def test_long_lists_are_cut():
    content = texts.DigestContent(
        enterprise_name="甲企业", day="2026-11-22",
        outcomes=[texts.PeriodOutcome(i, f"岗位{i:02d}", "一车间", "yellow", "daily", "2026-11-22", "missed") for i in range(25)],
    )
    m = texts.digest_message(content, "zh", "https://x/api/v1/alerts")
    assert "……另有 5 条" in m.text_zh and "… and 5 more" in m.text_en
    assert m.text_zh.count("- 岗位") == 40  # 20 posts and 20 misses listed
