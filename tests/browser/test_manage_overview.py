"""The overview in a real Chromium at tablet size: the safety manager of an enterprise with a
month of history reads today, the month, and a post's calendar. Screenshots go to
tests/artifacts/manage-overview-*.png."""
from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in
from tests.builders import PASSWORD
from tests.overview.lively import build_lively_world


@pytest.fixture
def lively(app, clock):
    return build_lively_world(app, clock)


def test_the_safety_manager_reads_the_overview(lively, live_server, tablet, artifacts):
    world, posts = lively
    page = tablet
    sign_in(page, live_server, "acme", "safety_manager", PASSWORD)
    page.goto(f"{live_server}/manage/overview")
    assert page.locator("h1").first.inner_text().startswith("总览")
    assert page.locator(".tabs a.active").inner_text() == "今日"
    assert page.locator("[data-stat=missed]").inner_text().isdigit()
    assert page.locator("svg g[data-day]").count() == 30
    assert page.locator(f"tr[data-post='{posts['液氨储罐区']}'] .risk-red").count() == 1
    page.screenshot(path=str(artifacts / "manage-overview-day.png"), full_page=True)

    page.click("nav.tabs >> text=本月")
    page.wait_for_url("**span=month")
    assert int(page.locator("[data-stat=missed]").inner_text()) > 0
    assert page.locator("#missed tr[data-miss]").count() > 0
    assert page.locator("tr.overdue").count() >= 1  # the boiler's hazard is past its deadline
    page.screenshot(path=str(artifacts / "manage-overview-month.png"), full_page=True)

    page.click(f"tr[data-post='{posts['燃气锅炉']}'] td a >> nth=0")
    page.wait_for_url(f"**/manage/overview/posts/{posts['燃气锅炉']}")
    assert page.locator(".calendar").count() == 2
    assert page.locator(".calendar .cell.paused").count() >= 3
    assert page.locator(".calendar a.cell.done").count() > 20
    page.screenshot(path=str(artifacts / "manage-overview-calendar.png"), full_page=True)

    page.goto(f"{live_server}/manage/overview/posts/{posts['液氨储罐区']}")
    assert page.locator(".calendar .cell.missed").count() >= 3 and page.locator(".calendar .cell.done_late").count() >= 3
    page.screenshot(path=str(artifacts / "manage-overview-calendar-red.png"), full_page=True)
