"""The overview's pages per role, over the hand-built week (see conftest): the numbers are the
service's, each links to the rows behind it, a supervisor sees only their post, another
enterprise's post is a 404 page."""
from __future__ import annotations

import re

import pytest

from server.accounts.auth import principal_for_token
from server.overview import services
from tests.conftest import T0
from tests.overview.conftest import Browser

MONTH = "date_from=2026-11-01&amp;date_to=2026-11-30"


def text_of(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def stat(html: str, name: str) -> str:
    match = re.search(rf'href="([^"]*)" data-stat="{name}">([^<]*)<', html)
    assert match, f"no {name} tile"
    return match.group(2)


def stat_link(html: str, name: str) -> str:
    return re.search(rf'href="([^"]*)" data-stat="{name}"', html).group(1)


def counts(html: str, post_id: int) -> dict[str, str]:
    row = re.search(rf'<tr data-post="{post_id}".*?</tr>', html, re.S).group(0)
    return {name: re.sub(r"<[^>]+>", "", value).strip().split()[0] for name, value in re.findall(r'data-count="(\w+)"[^>]*>(.*?)</(?:td|a)>', row, re.S)}


@pytest.mark.parametrize("role", ["safety_manager", "admin"])
def test_a_manager_sees_the_enterprise_month(app, world, history, browser_for, role):
    html = text_of(browser_for(role).get("/manage/overview?span=month"))
    with app.app_context():
        data = services.overview(principal_for_token(world.a.tokens[role]), "month", T0)
    t = data.total
    assert stat(html, "completion") == f"{t.percent}%" == "80%"
    assert (stat(html, "done"), stat(html, "done_late"), stat(html, "missed")) == (str(t.done), str(t.done_late), str(t.missed)) == ("11", "1", "2")
    assert stat(html, "open_alerts") == str(data.open_alerts) and int(data.open_alerts) > 0
    assert (stat(html, "hazards_open"), stat(html, "hazards_overdue")) == (str(data.hazards.unfinished), "0")
    # numbers lead to their rows
    assert stat_link(html, "done") == f"/manage/checks?{MONTH}"
    assert stat_link(html, "failed") == f"/manage/checks?{MONTH}&amp;failed=1"
    assert stat_link(html, "missed") == "/manage/overview/missed?span=month&amp;status=missed"
    assert stat_link(html, "done_late") == "/manage/overview/missed?span=month&amp;status=done_late"
    assert stat_link(html, "open_alerts") == "/manage/alerts?status=open"
    assert stat_link(html, "hazards_overdue") == "/manage/hazards?overdue=1"
    for hazard in data.hazards.rows:
        assert f'href="/manage/hazards/{hazard.id}"' in html
    # posts: the red one first, with its badge, counts and calendar link
    red, yellow = world.a.post_id, world.a.other_post_id
    assert html.index(f'data-post="{red}"') < html.index(f'data-post="{yellow}"')
    assert counts(html, red) == {"done": "4", "done_late": "1", "missed": "2", "paused": "1", "pending": "0", "open": "3"}
    assert counts(html, yellow) == {"done": "7", "done_late": "0", "missed": "0", "paused": "0", "pending": "1", "open": "0"}
    assert f'href="/manage/overview/posts/{red}">液氨储罐区</a>' in html and "risk risk-red" in html and "risk risk-yellow" in html
    assert f"/manage/checks?{MONTH}&amp;post_id={red}" in html and f"/manage/checks?{MONTH}&amp;post_id={red}&amp;failed=1" in html
    assert f"/manage/checks?{MONTH}&amp;site_id={world.a.site_id}" in html
    assert "71%" in html and "87%" in html
    # the missed checks of the month, and the 30-day chart with its legend
    missed = re.search(r'<section id="missed".*?</section>', html, re.S).group(0)
    assert re.findall(r'data-miss="\d+/([\w-]+)"', missed) == ["2026-11-21", "2026-11-19", "2026-11-18"]
    assert "逾期补录" in missed and missed.count('class="badge bad">漏检') == 2
    assert html.count("<g data-day=") == 30 and "<svg" in html and "近 30 天完成情况" in html and "周期结束日" in html
    assert "<script" not in html


def test_today_and_this_week(app, world, history, browser_for):
    browser = browser_for("safety_manager")
    day = text_of(browser.get("/manage/overview"))
    assert (stat(day, "done"), stat(day, "missed")) == ("1", "0")
    assert stat_link(day, "done") == "/manage/checks?date_from=2026-11-23&amp;date_to=2026-11-23"
    assert "该时段没有漏检。" in day
    week = text_of(browser.get("/manage/overview?span=week"))
    assert stat_link(week, "done") == "/manage/checks?date_from=2026-11-23&amp;date_to=2026-11-29"
    assert 'class="active">本周' in week


def test_a_supervisor_sees_only_their_red_post(app, world, history, browser_for):
    browser = browser_for("supervisor")
    html = text_of(browser.get("/manage/overview?span=month"))
    assert "液氨储罐区" in html and "1号高压配电柜" not in html and "配电室" not in html
    assert (stat(html, "done"), stat(html, "missed"), stat(html, "completion")) == ("4", "2", "71%")
    assert counts(html, world.a.post_id)["done_late"] == "1"
    calendar = browser.get(f"/manage/overview/posts/{world.a.other_post_id}")
    assert calendar.status_code == 404 and "本企业没有这个页面" in calendar.get_data(as_text=True)
    missed = text_of(browser.get("/manage/overview/missed?span=month"))
    assert missed.count("data-miss=") == 3


def test_tenant_b_sees_none_of_tenant_a(app, world, history, browser_for):
    html = text_of(browser_for("safety_manager", tenant="bravo").get("/manage/overview?span=month"))
    with app.app_context():
        data = services.overview(principal_for_token(world.b.tokens["safety_manager"]), "month", T0)
    assert [p.post_id for p in data.posts] == [world.b.post_id, world.b.other_post_id]
    assert (stat(html, "done"), stat(html, "missed")) == (str(data.total.done), str(data.total.missed)) == ("1", "10")  # b's own misses
    assert f'data-post="{world.a.post_id}"' not in html and f'data-post="{world.a.other_post_id}"' not in html
    for role in ("admin", "supervisor"):
        response = browser_for(role).get(f"/manage/overview/posts/{world.b.post_id}")
        assert response.status_code == 404 and "液氨储罐区" not in response.get_data(as_text=True)


def test_a_worker_never_gets_in(app, client, world):
    browser = Browser(app.test_client())
    assert browser.sign_in("acme", "worker").status_code == 403
    response = browser.get("/manage/overview")
    assert response.status_code == 302 and response.headers["Location"].startswith("/manage/sign-in")


def test_the_missed_page_filters(app, world, history, browser_for):
    browser = browser_for("safety_manager")
    every = text_of(browser.get("/manage/overview/missed?span=month"))
    assert re.findall(r'data-miss="\d+/([\w-]+)"', every) == ["2026-11-21", "2026-11-19", "2026-11-18"]
    assert f'href="/manage/checks/{history["daily/2026-11-19"]}"' in every and "危化品仓库日检 · 日检" in every
    only_missed = text_of(browser.get("/manage/overview/missed?span=month&status=missed"))
    assert re.findall(r'data-miss="\d+/([\w-]+)"', only_missed) == ["2026-11-21", "2026-11-18"]
    late = text_of(browser.get("/manage/overview/missed?span=month&status=done_late"))
    assert re.findall(r'data-miss="\d+/([\w-]+)"', late) == ["2026-11-19"]
    other_post = text_of(browser.get(f"/manage/overview/missed?span=month&post_id={world.a.other_post_id}"))
    assert "data-miss=" not in other_post
    assert "data-miss=" not in text_of(browser.get("/manage/overview/missed"))  # today: nothing missed yet


def test_the_post_calendar_page(app, world, history, browser_for):
    html = text_of(browser_for("supervisor").get(f"/manage/overview/posts/{world.a.post_id}?weeks=2"))
    cells = dict(re.findall(r'class="cell (\w+)"[^>]*data-period="([\w-]+)"', html)[i][::-1] for i in range(len(re.findall(r'class="cell (\w+)"[^>]*data-period="([\w-]+)"', html))))
    assert cells == {
        "2026-11-16": "done", "2026-11-17": "done", "2026-11-18": "missed", "2026-11-19": "done_late", "2026-11-20": "paused",
        "2026-11-21": "missed", "2026-11-22": "done", "2026-11-23": "open", "2026-W47": "done", "2026-W48": "open", "2026-11": "open",
    }
    assert f'<a class="cell done" href="/manage/checks/{history["daily/2026-11-17"]}"' in html
    assert f'<a class="cell done_late" href="/manage/checks/{history["daily/2026-11-19"]}"' in html
    assert f'<a class="cell done" href="/manage/checks/{history["weekly/2026-W47"]}"' in html
    assert html.count('class="calendar"') == 3 and "图例" in html and "已暂停" in html
    assert 'class="active">2 周' not in html and 'class="active">5 周' not in html  # 2 is not one of the tabs


def test_bad_arguments_say_what_is_wrong(app, world, browser_for):
    browser = browser_for("admin")
    response = browser.get("/manage/overview?span=year")
    assert response.status_code == 422 and "span" in response.get_data(as_text=True) and "输入校验失败" in response.get_data(as_text=True)
    assert browser.get(f"/manage/overview/posts/{world.a.post_id}?weeks=0").status_code == 422
    assert browser.get(f"/manage/overview/posts/{world.a.post_id}?weeks=x").status_code == 422
    assert browser.get("/manage/overview/missed?status=lost").status_code == 422
    assert browser.get("/manage/overview/posts/999999").status_code == 404


def test_english(app, world, history, browser_for):
    browser = browser_for("admin")
    assert browser.post("/manage/language", {"lang": "en", "back": "/manage/overview"}).status_code == 303
    html = text_of(browser.get("/manage/overview?span=month"))
    assert "Completion over the last 30 days" in html and "Done late" in html and "Major (red)" in html
