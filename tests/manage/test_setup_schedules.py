"""Dashboard set-up pages, part 3: schedules and pauses for stoppages.

Roles mirror the API: supervisors, safety managers and admins read schedules; managers (safety
manager, admin) create and change them and pause or un-pause; a supervisor reads the pauses of
their own posts. The due window is typed as day + hh:mm and stored as the API's minutes; a
pause's times are typed in the enterprise's zone and stored in UTC.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from server.misses.models import Pause
from server.schedules.dashboard import window_edge, window_text
from server.schedules.models import Schedule
from sync.periods import Frequency
from tests.manage.setup_helpers import all_of, html, load

READERS = ["supervisor", "safety_manager", "admin"]
MANAGERS = ["safety_manager", "admin"]
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # the frozen clock: 10:00 in Shanghai


def schedule_form(world, **changes) -> dict:
    form = {"post_id": str(world.a.other_post_id), "checklist_id": str(world.a.checklist_id), "frequency": "daily",
            "due_start_day": "1", "due_start": "08:00", "due_end_day": "1", "due_end": "10:00", "responsible_id": ""}
    form.update(changes)
    return form


# --------------------------------------------------------------------------- the window as people write it


@pytest.mark.parametrize(("frequency", "minutes", "shown"), [
    (Frequency.DAILY, 8 * 60, "08:00"),
    (Frequency.DAILY, 24 * 60, "24:00"),
    (Frequency.DAILY, None, "周期结束"),
    (Frequency.SHIFT, 30, "+00:30"),
    (Frequency.WEEKLY, 2 * 24 * 60 + 17 * 60, "第 3 天 17:00"),
    (Frequency.MONTHLY, 7 * 24 * 60, "第 8 天 00:00"),
])
def test_window_edges_read_as_people_write_them(app, frequency, minutes, shown):
    with app.test_request_context("/manage/schedules/"):
        assert window_text(frequency, minutes) == shown
    if minutes is not None:
        edge = window_edge(minutes)
        assert (int(edge["day"]) - 1) * 1440 + int(edge["time"][:2]) * 60 + int(edge["time"][3:]) == minutes


# --------------------------------------------------------------------------- schedules


@pytest.mark.parametrize("role", READERS)
def test_every_role_reads_the_schedules(browser_for, world, role):
    page = browser_for(role).get("/manage/schedules/")
    assert page.status_code == 200
    text = html(page)
    assert text.count("危化品仓库日检") == 4  # 3 at the red post, 1 at the yellow one
    assert "液氨储罐区" in text and "1号高压配电柜" in text and "日检" in text and "月检" in text
    assert "00:00 – 周期结束" in text
    assert "甲企业supervisor" in text  # nobody named: the post's supervisor answers
    assert "暂停中" not in text
    assert ("新建排查计划" in text) is (role != "supervisor")


def test_schedules_filter_by_post_and_a_foreign_post_is_a_404_page(browser_for, world):
    browser = browser_for("safety_manager")
    text = html(browser.get(f"/manage/schedules/?post_id={world.a.other_post_id}"))
    assert text.count("危化品仓库日检") == 1 and "1号高压配电柜" in text
    assert browser.get(f"/manage/schedules/?post_id={world.b.post_id}").status_code == 404


@pytest.mark.parametrize("role", MANAGERS)
def test_managers_create_a_schedule_with_a_window_in_hh_mm(app, browser_for, world, role):
    browser = browser_for(role)
    assert browser.get(f"/manage/schedules/new?post_id={world.a.other_post_id}").status_code == 200
    response = browser.post("/manage/schedules/", schedule_form(world, frequency="weekly", due_start="09:00", due_end_day="3", due_end="17:00", responsible_id=str(world.a.users["safety_manager"])))
    assert response.status_code == 303, html(response)
    schedule = all_of(app, Schedule, Schedule.post_id == world.a.other_post_id, Schedule.frequency == Frequency.WEEKLY)[0]
    assert (schedule.due_start_minutes, schedule.due_end_minutes, schedule.responsible_id) == (9 * 60, 2 * 1440 + 17 * 60, world.a.users["safety_manager"])
    assert response.headers["Location"] == f"/manage/schedules/{schedule.id}"
    page = html(browser.get(response.headers["Location"]))
    assert "已创建排查计划" in page and "第 1 天 09:00 – 第 3 天 17:00" in page and "甲企业safety_manager" in page


def test_a_blank_end_means_by_the_end_of_the_period(app, browser_for, world):
    browser = browser_for("admin")
    assert browser.post("/manage/schedules/", schedule_form(world, frequency="monthly", due_start="", due_end="")).status_code == 303
    schedule = all_of(app, Schedule, Schedule.frequency == Frequency.MONTHLY, Schedule.post_id == world.a.other_post_id)[0]
    assert (schedule.due_start_minutes, schedule.due_end_minutes, schedule.responsible_id) == (0, None, None)


@pytest.mark.parametrize(("changes", "complaint"), [
    ({"due_start": "25:00"}, "时间请写成 时:分"),
    ({"due_end": "8点"}, "时间请写成 时:分"),
    ({"due_end_day": "0"}, "天数为 1"),
    ({"due_start": "10:00", "due_end": "08:00"}, "must be after due_start_minutes"),
    ({"frequency": "hourly"}, "frequency"),
])
def test_an_invalid_schedule_shows_the_form_again_and_stores_nothing(app, browser_for, world, changes, complaint):
    before = len(all_of(app, Schedule))
    response = browser_for("admin").post("/manage/schedules/", schedule_form(world, **changes))
    assert response.status_code == 422
    text = html(response)
    assert "输入校验失败" in text and complaint in text
    assert f'value="{changes.get("due_start", "08:00")}"' in text  # as typed
    assert len(all_of(app, Schedule)) == before


def test_a_supervisor_may_not_create_or_change_a_schedule(app, browser_for, world):
    browser = browser_for("supervisor")
    before = len(all_of(app, Schedule))
    assert browser.get("/manage/schedules/new").status_code == 403
    assert browser.post("/manage/schedules/", schedule_form(world)).status_code == 403
    assert browser.post(f"/manage/schedules/{world.a.schedules['daily']}", {"due_start": "08:00", "active": "false"}).status_code == 403
    assert len(all_of(app, Schedule)) == before
    assert load(app, Schedule, world.a.schedules["daily"]).active is True


@pytest.mark.parametrize("role", READERS)
def test_a_schedule_page_shows_its_facts(browser_for, world, role):
    page = browser_for(role).get(f"/manage/schedules/{world.a.schedules['weekly']}")
    assert page.status_code == 200
    text = html(page)
    assert "液氨储罐区" in text and "危化品仓库日检" in text and "周检" in text and "从未暂停" in text
    assert ("修改排查计划" in text) is (role != "supervisor")


@pytest.mark.parametrize("role", MANAGERS)
def test_managers_change_the_window_and_responsible_and_switch_it_off(app, browser_for, world, role):
    browser = browser_for(role)
    url = f"/manage/schedules/{world.a.schedules['daily']}"
    response = browser.post(url, {"due_start_day": "1", "due_start": "08:00", "due_end_day": "1", "due_end": "10:30",
                                  "responsible_id": str(world.a.users["admin"]), "active": ["false"]})
    assert response.status_code == 303
    schedule = load(app, Schedule, world.a.schedules["daily"])
    assert (schedule.due_start_minutes, schedule.due_end_minutes, schedule.responsible_id, schedule.active) == (480, 630, world.a.users["admin"], False)
    browser.post(url, {"due_start": "", "due_end": "", "responsible_id": "", "active": ["false", "true"]})
    schedule = load(app, Schedule, world.a.schedules["daily"])
    assert (schedule.due_start_minutes, schedule.due_end_minutes, schedule.responsible_id, schedule.active) == (0, None, None, True)


def test_a_refused_change_shows_the_form_again_and_changes_nothing(app, browser_for, world):
    url = f"/manage/schedules/{world.a.schedules['daily']}"
    response = browser_for("admin").post(url, {"due_start": "09:00", "due_end": "08:00", "active": ["false"]})
    assert response.status_code == 422 and "must be after due_start_minutes" in html(response)
    assert 'value="09:00"' in html(response)
    schedule = load(app, Schedule, world.a.schedules["daily"])
    assert (schedule.due_start_minutes, schedule.due_end_minutes, schedule.active) == (0, None, True)


def test_another_enterprises_schedule_is_a_404_page(app, browser_for, world):
    browser = browser_for("admin")
    b = world.b.schedules["daily"]
    assert browser.get(f"/manage/schedules/{b}").status_code == 404
    assert browser.post(f"/manage/schedules/{b}", {"due_start": "08:00", "active": ["false"]}).status_code == 404
    assert browser.post("/manage/schedules/", schedule_form(world, post_id=str(world.b.post_id))).status_code == 404
    assert browser.post("/manage/schedules/", schedule_form(world, checklist_id=str(world.b.checklist_id))).status_code == 404
    assert load(app, Schedule, b).active is True
    assert all_of(app, Schedule, Schedule.enterprise_id == world.a.enterprise_id, Schedule.post_id == world.b.post_id) == []


# --------------------------------------------------------------------------- pauses


def pause(browser, **form):
    return browser.post("/manage/schedules/pauses", form)


@pytest.mark.parametrize("role", MANAGERS)
def test_managers_pause_a_post_from_now_and_it_shows_everywhere(app, browser_for, world, role):
    browser = browser_for(role)
    response = pause(browser, post_id=str(world.a.post_id), reason="停产检修", back="/manage/schedules/pauses")
    assert response.status_code == 303 and response.headers["Location"] == "/manage/schedules/pauses"
    [stored] = all_of(app, Pause)
    assert (stored.post_id, stored.schedule_id, stored.reason, stored.starts_at, stored.ends_at, stored.created_by_id) == (
        world.a.post_id, None, "停产检修", T0, None, world.a.users[role])
    page = html(browser.get("/manage/schedules/pauses"))
    assert "已暂停：液氨储罐区" in page and "停产检修" in page and "2026-11-23 10:00" in page and "直到解除" in page and "生效中" in page
    schedules = html(browser.get("/manage/schedules/"))
    assert schedules.count("暂停中") == 3  # the post's three schedules; not the other post's
    assert "暂停中" in html(browser.get(f"/manage/posts/{world.a.post_id}"))


def test_a_pause_of_one_schedule_at_given_local_times(app, browser_for, world):
    browser = browser_for("admin")
    response = pause(browser, schedule_id=str(world.a.schedules["weekly"]), reason="设备停用", starts_at="2026-11-24T08:00", ends_at="2026-11-30T18:00")
    assert response.status_code == 303
    [stored] = all_of(app, Pause)
    assert stored.schedule_id == world.a.schedules["weekly"] and stored.post_id is None
    assert stored.starts_at == datetime(2026, 11, 24, 0, 0, tzinfo=timezone.utc)  # 08:00 in Shanghai
    assert stored.ends_at == datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc)
    upcoming = html(browser.get("/manage/schedules/pauses?state=other"))
    assert "设备停用" in upcoming and "2026-11-24 08:00" in upcoming and "2026-11-30 18:00" in upcoming and "尚未开始" in upcoming
    assert "设备停用" not in html(browser.get("/manage/schedules/pauses"))  # not in force yet
    assert "设备停用" in html(browser.get(f"/manage/schedules/{world.a.schedules['weekly']}"))


@pytest.mark.parametrize(("form", "complaint"), [
    ({"reason": "停产检修"}, "give exactly one of post_id and schedule_id"),
    ({"reason": "停产检修", "post_id": "1", "schedule_id": "1"}, "give exactly one of post_id and schedule_id"),
    ({"post_id": "1"}, "reason"),
    ({"post_id": "1", "reason": "停产检修", "starts_at": "2026-11-24T08:00", "ends_at": "2026-11-24T07:00"}, "must be after starts_at"),
    ({"post_id": "1", "reason": "停产检修", "starts_at": "明天"}, "starts_at"),
])
def test_a_refused_pause_says_why_and_stores_nothing(app, browser_for, world, form, complaint):
    browser = browser_for("admin")
    response = pause(browser, back="/manage/schedules/pauses", **form)
    assert response.status_code == 303 and response.headers["Location"] == "/manage/schedules/pauses"
    page = html(browser.get("/manage/schedules/pauses"))
    assert "输入校验失败" in page and complaint in page
    assert all_of(app, Pause) == []


def test_ending_a_pause_now_then_again_is_refused(app, clock, browser_for, world):
    browser = browser_for("safety_manager")
    pause(browser, post_id=str(world.a.post_id), reason="停产检修")
    [stored] = all_of(app, Pause)
    clock.set(T0 + timedelta(hours=5))
    assert browser.post(f"/manage/schedules/pauses/{stored.id}/end", {"back": "/manage/schedules/pauses"}).status_code == 303
    ended = load(app, Pause, stored.id)
    assert (ended.ends_at, ended.ended_by_id) == (T0 + timedelta(hours=5), world.a.users["safety_manager"])
    assert "暂停已结束" in html(browser.get("/manage/schedules/pauses"))
    page = html(browser.get("/manage/schedules/pauses?state=other"))
    assert "已结束" in page and "2026-11-23 15:00" in page
    again = browser.post(f"/manage/schedules/pauses/{stored.id}/end", {"back": "/manage/schedules/pauses"})
    assert again.status_code == 303
    assert "该暂停已经结束" in html(browser.get("/manage/schedules/pauses"))


def test_a_supervisor_reads_only_their_posts_pauses_and_may_not_pause(app, browser_for, world):
    manager = browser_for("admin")
    pause(manager, post_id=str(world.a.post_id), reason="本岗位检修")
    pause(manager, post_id=str(world.a.other_post_id), reason="别人的岗位检修")
    supervisor = browser_for("supervisor")
    page = supervisor.get("/manage/schedules/pauses")
    assert page.status_code == 200
    text = html(page)
    assert "本岗位检修" in text and "别人的岗位检修" not in text
    assert "立即结束" not in text and "暂停岗位或排查计划" not in text
    mine = all_of(app, Pause, Pause.post_id == world.a.post_id)[0]
    assert supervisor.post("/manage/schedules/pauses", {"post_id": str(world.a.post_id), "reason": "x"}).status_code == 403
    assert supervisor.post(f"/manage/schedules/pauses/{mine.id}/end").status_code == 403
    assert load(app, Pause, mine.id).ends_at is None and len(all_of(app, Pause)) == 2


def test_another_enterprises_pause_post_and_schedule_are_a_404_page(app, browser_for, world):
    bravo = browser_for("admin", tenant="bravo")
    pause(bravo, post_id=str(world.b.post_id), reason="乙的检修")
    [theirs] = all_of(app, Pause)
    browser = browser_for("admin")
    assert browser.post(f"/manage/schedules/pauses/{theirs.id}/end").status_code == 404
    assert pause(browser, post_id=str(world.b.post_id), reason="越界").status_code == 404
    assert pause(browser, schedule_id=str(world.b.schedules["daily"]), reason="越界").status_code == 404
    assert "乙的检修" not in html(browser.get("/manage/schedules/pauses"))
    assert load(app, Pause, theirs.id).ends_at is None and len(all_of(app, Pause)) == 1
