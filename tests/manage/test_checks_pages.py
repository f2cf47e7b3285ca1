"""The checks pages of the dashboard: the list and its filters, a check's evidence, its photos.

The checks are made the way phones make them — a sync push with both clocks (a measured time),
``POST /api/v1/checks`` without them (the phone's clock), real photos sent with ``PUT`` — so the
pages show what the services really stored.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from server.alerts.models import Alert
from server.checks.models import CheckReview
from server.extensions import db
from server.hazards.models import Hazard
from tests.builders import ITEMS, PHOTO, check_record, good_answers, run_job
from tests.photos.conftest import make_image, sha

API = "/api/v1"
SHANGHAI = timezone(timedelta(hours=8))
ROW = re.compile(r'data-check="([0-9a-f-]{36})"')


@dataclass
class Checks:
    pushed: str      # red post, yesterday 09:00, measured time, a real photo, complete
    failed: str      # red post, today 09:30, phone's clock, gas reading too high, photo awaited
    other: str       # yellow post (other site, no supervisor), two days ago, phone's clock
    photo: str       # the real photo's SHA-256 (named by pushed and other)
    stray: str       # a photo of the enterprise that no check names
    b_check: str     # tenant b's check
    b_photo: str


def upload_photo(client, tenant, data: bytes) -> str:
    r = client.put(f"{API}/photos/{sha(data)}", data=data, content_type="image/jpeg", headers=tenant.auth("worker"))
    assert r.status_code in (200, 201), r.json
    return sha(data)


def answers(gas: float = 3.5, photos=(PHOTO,), remarks: str | None = None) -> list[dict]:
    result = good_answers()
    result[2] = {"item_id": "gas_reading", "value": gas, "photos": list(photos), "note": "表计读数" if gas > 20 else ""}
    if remarks is not None:
        result.append({"item_id": "remarks", "value": remarks})
    return result


def push_check(client, clock, tenant, schedule_id: int, answer_list: list[dict], made_minutes_ago: int = 30) -> str:
    """A check made on a phone ``made_minutes_ago`` and pushed now, on the same boot: a measured time."""
    uptime_now = 50_000_000
    wall = clock.now().astimezone(SHANGHAI)
    record = check_record(
        schedule_id, tenant.version_id, wall - timedelta(minutes=made_minutes_ago), answer_list,
        type="check", device_seq=1, boot_id="boot-1", uptime_ms=uptime_now - made_minutes_ago * 60_000,
    )
    body = {"protocol": 1, "sent": {"wall": wall.isoformat(), "boot_id": "boot-1", "uptime_ms": uptime_now}, "anchors": [], "records": [record]}
    r = client.post(f"{API}/sync/push", json=body, headers=tenant.auth("worker"))
    assert r.status_code == 200 and r.json["results"][0]["status"] in ("complete", "awaiting_photos"), r.json
    return record["id"]


def post_check(client, tenant, schedule_id: int, performed_at: datetime, answer_list: list[dict], **extra) -> str:
    record = check_record(schedule_id, tenant.version_id, performed_at, answer_list, **extra)
    r = client.post(f"{API}/checks", json=record, headers=tenant.auth("worker"))
    assert r.status_code == 201, r.json
    return record["id"]


def make_checks(app, client, clock, world, picture: bytes | None = None) -> Checks:
    """Three checks of tenant a and one of b (see :class:`Checks`); the clock ends at T0.
    ``picture``: the JPEG the pushed and the other check name (a plain test image if None)."""
    a, b = world.a, world.b
    t0 = clock.now()
    photo = upload_photo(client, a, picture or make_image("JPEG", (640, 480)))
    stray = upload_photo(client, a, make_image("JPEG", (320, 240), noise=True))
    b_photo = upload_photo(client, b, make_image("JPEG", (200, 100)))

    clock.set(t0 - timedelta(days=1) - timedelta(minutes=30))  # yesterday 09:30; made 09:00
    pushed = push_check(client, clock, a, a.schedules["daily"], answers(photos=[photo], remarks="巡检正常"))
    clock.set(t0 - timedelta(minutes=30))  # today 09:30
    failed = post_check(client, a, a.schedules["daily"], clock.now(), answers(gas=35))
    clock.set(t0)
    other = post_check(client, a, a.schedules["other_post_daily"], t0 - timedelta(days=2), answers(photos=[photo]))
    b_check = post_check(client, b, b.schedules["daily"], t0 - timedelta(hours=1), answers(photos=[b_photo]))
    run_job(app, "checks.follow_up")  # the failed check's alert and draft, as the runner's next tick raises them
    return Checks(pushed, failed, other, photo, stray, b_check, b_photo)


@pytest.fixture
def checks(app, client, clock, world, photo_dirs) -> Checks:
    return make_checks(app, client, clock, world)


def listed(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return ROW.findall(response.get_data(as_text=True))


# --------------------------------------------------------------------------- the list


@pytest.mark.parametrize("role", ["safety_manager", "admin"])
def test_managers_see_every_check_of_their_enterprise_newest_performed_first(browser_for, checks, role):
    page = browser_for(role).get("/manage/checks")
    assert listed(page) == [checks.failed, checks.pushed, checks.other]
    html = page.get_data(as_text=True)
    assert "液氨储罐区" in html and "1号高压配电柜" in html and "危化品仓库日检" in html
    assert "2026-11-23 09:30" in html and "2026-11-22 09:00" in html and "2026-11-21 10:00" in html  # the enterprise's zone
    assert "1 项不合格" in html and "等待照片" in html and "已测定" in html and "手机时钟" in html
    assert "重大风险（红）" in html or "risk-red" in html
    assert checks.b_check not in html and "乙企业" not in html


def test_failed_checks_are_highlighted(browser_for, checks):
    html = browser_for("admin").get("/manage/checks").get_data(as_text=True)
    row = re.search(rf'<tr class="([^"]*)" data-check="{checks.failed}"', html)
    assert row and "failed" in row.group(1)
    row = re.search(rf'<tr class="([^"]*)" data-check="{checks.pushed}"', html)
    assert row and "failed" not in row.group(1)


def test_a_supervisor_sees_only_the_checks_of_their_posts(browser_for, world, checks):
    browser = browser_for("supervisor")
    assert listed(browser.get("/manage/checks")) == [checks.failed, checks.pushed]
    # Filters cannot widen it.
    assert listed(browser.get(f"/manage/checks?post_id={world.a.other_post_id}")) == []
    assert listed(browser.get(f"/manage/checks?site_id={world.a.other_site_id}")) == []


def test_filters_each_narrow_the_list(app, client, browser_for, world, checks):
    a = world.a
    browser = browser_for("safety_manager")
    # Reviews: pushed reviewed, other questionable; failed unreviewed.
    for check_id, verdict, note in ((checks.pushed, "reviewed", ""), (checks.other, "questionable", "照片与岗位不符")):
        r = client.post(f"{API}/checks/{check_id}/reviews", json={"verdict": verdict, "note": note}, headers=a.auth("safety_manager"))
        assert r.status_code == 201, r.json
    cases = {
        f"post_id={a.post_id}": [checks.failed, checks.pushed],
        f"post_id={a.other_post_id}": [checks.other],
        f"site_id={a.other_site_id}": [checks.other],
        f"site_id={a.site_id}": [checks.failed, checks.pushed],
        "date_from=2026-11-22&date_to=2026-11-22": [checks.pushed],
        "date_from=2026-11-23": [checks.failed],
        "date_to=2026-11-21": [checks.other],
        "date_from=2026-11-21&date_to=2026-11-23": [checks.failed, checks.pushed, checks.other],
        "failed=1": [checks.failed],
        "flagged=1": [checks.failed, checks.other],
        "verdict=unreviewed": [checks.failed],
        "verdict=reviewed": [checks.pushed],
        "verdict=questionable": [checks.other],
        f"post_id={a.post_id}&flagged=1": [checks.failed],
        # What a GET form sends: every field, the empty ones blank.
        "site_id=&post_id=&date_from=&date_to=&verdict=&failed=1": [checks.failed],
    }
    for query, expected in cases.items():
        assert listed(browser.get(f"/manage/checks?{query}")) == expected, query

    # A later review supersedes the earlier one for the filter (the history stays).
    r = client.post(f"{API}/checks/{checks.pushed}/reviews", json={"verdict": "questionable", "note": "读数雷同"}, headers=a.auth("admin"))
    assert r.status_code == 201
    assert listed(browser.get("/manage/checks?verdict=reviewed")) == []
    assert listed(browser.get("/manage/checks?verdict=questionable")) == [checks.pushed, checks.other]
    html = browser.get("/manage/checks").get_data(as_text=True)
    assert html.count("存疑") >= 2


def test_the_filter_form_keeps_its_values_and_the_verdict_column_shows_the_newest(client, browser_for, world, checks):
    a = world.a
    client.post(f"{API}/checks/{checks.pushed}/reviews", json={"verdict": "reviewed"}, headers=a.auth("admin"))
    html = browser_for("admin").get(f"/manage/checks?post_id={a.post_id}&date_from=2026-11-20&failed=1&flagged=1&verdict=unreviewed").get_data(as_text=True)
    assert f'<option value="{a.post_id}" selected>' in html
    assert 'name="date_from" value="2026-11-20"' in html
    assert re.search(r'name="failed" value="1"\s+checked', html) and re.search(r'name="flagged" value="1"\s+checked', html)
    assert '<option value="unreviewed" selected>' in html
    html = browser_for("admin").get("/manage/checks").get_data(as_text=True)
    pushed_row = html[html.index(f'data-check="{checks.pushed}"'):].split("</tr>")[0]
    assert "已审阅" in pushed_row


@pytest.mark.parametrize("query", ["date_from=yesterday", "post_id=abc", "verdict=maybe", "date_from=2026-11-23&date_to=2026-11-01", "page=0"])
def test_bad_filters_are_a_clear_message_not_a_500(browser_for, checks, query):
    r = browser_for("admin").get(f"/manage/checks?{query}")
    assert r.status_code == 422
    assert "输入校验失败" in r.get_data(as_text=True)


def test_the_list_is_paginated(app, client, clock, browser_for, world, checks, monkeypatch):
    from server.checks import dashboard

    monkeypatch.setattr(dashboard, "PAGE_SIZE", 2)
    browser = browser_for("admin")
    first = browser.get("/manage/checks?failed=0")
    assert listed(first) == [checks.failed, checks.pushed]
    assert "第 1 页，共 2 页" in first.get_data(as_text=True)
    assert listed(browser.get("/manage/checks?page=2")) == [checks.other]
    assert listed(browser.get("/manage/checks?page=3")) == []


def test_no_checks_says_so(browser_for, world):
    html = browser_for("admin").get("/manage/checks").get_data(as_text=True)
    assert "还没有检查记录" in html


def test_english(browser_for, checks):
    browser = browser_for("admin")
    browser.get("/manage/checks")
    assert browser.post("/manage/language", data={"lang": "en", "back": "/manage/checks"}).status_code == 303
    html = browser.get("/manage/checks").get_data(as_text=True)
    assert "1 failed" in html and "Awaiting photos" in html and "Not reviewed" in html


# --------------------------------------------------------------------------- one check


def test_a_check_page_shows_answers_against_the_version_photos_and_timing(app, browser_for, world, checks):
    html = browser_for("safety_manager").get(f"/manage/checks/{checks.pushed}").get_data(as_text=True)
    for item in ITEMS:
        assert item["label"] in html
    assert "3.5 %LEL" in html and "0 – 20 %LEL" in html and "正常" in html and "巡检正常" in html
    assert "合格：是" in html and "不合格选项：异常" in html
    # The photo: a thumbnail linking to the display copy, through the check's own route.
    assert f'src="/manage/checks/{checks.pushed}/photos/{checks.photo}/thumb"' in html
    assert f'href="/manage/checks/{checks.pushed}/photos/{checks.photo}/display"' in html
    # Timing and device facts.
    assert "已测定" in html and "2026-11-22 09:00:00" in html and "2026-11-22 09:30:00" in html
    assert "phone" in html and "android" in html and "甲企业worker" in html
    assert re.search(r"设备记录序号</dt>\s*<dd>1</dd>", html)
    assert "危化品仓库日检 v1" in html and "当前版本" in html
    assert "无" in html  # no flags
    assert "此次检查未发现隐患" in html and "此次检查未触发提醒" in html
    assert "还没有人审阅这条检查记录" in html


def test_a_failed_check_shows_the_failed_item_the_awaited_photo_the_hazard_and_the_alert(app, browser_for, world, checks):
    with app.app_context():
        hazard = db.session.scalar(sa.select(Hazard).where(Hazard.check_id == uuid.UUID(checks.failed)))
        alert = db.session.scalar(sa.select(Alert).where(Alert.check_id == uuid.UUID(checks.failed)))
        hazard_id, number, alert_id, alert_title = hazard.id, hazard.number, alert.id, alert.title_zh
        db.session.remove()
    html = browser_for("safety_manager").get(f"/manage/checks/{checks.failed}").get_data(as_text=True)
    row = re.search(r'<tr class="([^"]*)" data-item="gas_reading">(.*?)</tr>', html, re.S)
    assert row and row.group(1) == "failed" and "35 %LEL" in row.group(2) and "不合格" in row.group(2) and "表计读数" in row.group(2)
    assert "等待上传" in row.group(2) and "<img" not in row.group(2)
    assert re.search(r'<tr class="" data-item="extinguisher">', html)
    assert f'href="/manage/hazards/{hazard_id}"' in html and number in html
    assert f'href="/manage/alerts/{alert_id}"' in html and alert_title in html
    assert "手机时钟" in html and "1 项不合格" in html and "等待照片" in html


def test_flags_are_explained_and_a_retired_version_is_named(app, client, clock, browser_for, world, checks):
    a = world.a
    r = client.post(f"{API}/checklists/{a.checklist_id}/versions", json={"items": ITEMS}, headers=a.auth("admin"))
    assert r.status_code == 201
    # A phone that kept the old version, with its clock an hour ahead.
    late = post_check(client, a, a.schedules["daily"], clock.now() + timedelta(hours=1), answers())
    html = browser_for("admin").get(f"/manage/checks/{late}").get_data(as_text=True)
    assert 'data-flag="version_retired"' in html and "已被新版本替换" in html
    assert 'data-flag="clock_ahead"' in html and "手机时钟比服务器快" in html
    assert "接收时间" in html and "停用于 2026-11-23" in html
    assert listed(browser_for("admin").get("/manage/checks?flagged=1"))[0] == late


def test_a_supervisor_opens_their_posts_checks_but_not_others_and_has_no_review_form(browser_for, checks):
    browser = browser_for("supervisor")
    page = browser.get(f"/manage/checks/{checks.failed}")
    assert page.status_code == 200 and "液氨储罐区" in page.get_data(as_text=True)
    assert "标记为存疑" not in page.get_data(as_text=True)
    refused = browser.get(f"/manage/checks/{checks.other}")
    assert refused.status_code == 404 and "未找到" in refused.get_data(as_text=True)
    assert "1号高压配电柜" not in refused.get_data(as_text=True)


@pytest.mark.parametrize("role", ["supervisor", "safety_manager", "admin"])
def test_another_enterprises_check_is_a_404_page(browser_for, checks, role):
    browser = browser_for(role)
    for url in (f"/manage/checks/{checks.b_check}", f"/manage/checks/{uuid.uuid4()}"):
        r = browser.get(url)
        assert r.status_code == 404 and r.mimetype == "text/html"
        assert "未找到" in r.get_data(as_text=True) and "乙" not in r.get_data(as_text=True)
    # And from b's side, a's check.
    r = browser_for(role, tenant="bravo").get(f"/manage/checks/{checks.pushed}")
    assert r.status_code == 404


# --------------------------------------------------------------------------- photos


def test_the_photo_route_serves_the_stored_copies_of_a_photo_the_check_names(client, browser_for, world, checks):
    browser = browser_for("safety_manager")
    for variant in ("thumb", "display"):
        r = browser.get(f"/manage/checks/{checks.pushed}/photos/{checks.photo}/{variant}")
        assert r.status_code == 200 and r.mimetype == "image/jpeg"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Cache-Control"] == "private, max-age=86400"
        api = client.get(f"{API}/photos/{checks.photo}/{variant}", headers=world.a.auth("safety_manager"))
        assert r.data == api.data and r.data[:2] == b"\xff\xd8"
    # Upper-case hex names the same photo.
    assert browser.get(f"/manage/checks/{checks.pushed}/photos/{checks.photo.upper()}/thumb").status_code == 200
    # The same photo through another check that names it, by a supervisor of neither post: no.
    assert browser_for("supervisor").get(f"/manage/checks/{checks.other}/photos/{checks.photo}/thumb").status_code == 404
    assert browser_for("supervisor").get(f"/manage/checks/{checks.pushed}/photos/{checks.photo}/thumb").status_code == 200


@pytest.mark.parametrize("which", ["stray", "not_arrived", "b_photo", "variant", "not_hex"])
def test_the_photo_route_refuses_what_the_check_does_not_name(browser_for, checks, which):
    check_id, digest, variant = checks.pushed, checks.photo, "thumb"
    if which == "stray":
        digest = checks.stray  # in the enterprise, but not this check's
    elif which == "not_arrived":
        check_id, digest = checks.failed, PHOTO  # named, not yet uploaded
    elif which == "b_photo":
        digest = checks.b_photo
    elif which == "variant":
        variant = "original"
    elif which == "not_hex":
        digest = "g" * 64
    r = browser_for("admin").get(f"/manage/checks/{check_id}/photos/{digest}/{variant}")
    assert r.status_code == 404
    assert r.mimetype == "text/html"


def test_another_enterprises_check_photo_is_a_404(browser_for, checks):
    r = browser_for("admin").get(f"/manage/checks/{checks.b_check}/photos/{checks.b_photo}/thumb")
    assert r.status_code == 404 and r.mimetype == "text/html"
    r = browser_for("admin", tenant="bravo").get(f"/manage/checks/{checks.pushed}/photos/{checks.photo}/display")
    assert r.status_code == 404 and r.mimetype == "text/html"


def test_no_review_rows_were_written_by_reading(app, browser_for, checks):
    browser_for("admin").get(f"/manage/checks/{checks.pushed}")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckReview)) == 0
