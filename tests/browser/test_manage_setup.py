"""Setting up the enterprise in real Chromium: edit a checklist and publish version 2 (version 1
still readable), the posts list, the schedules with a pause for a stoppage."""
from __future__ import annotations

from tests.browser.conftest import sign_in
from tests.builders import PASSWORD


def test_an_admin_edits_a_checklist_publishes_version_2_and_reads_version_1(tablet, live_server, world, artifacts):
    page = tablet
    sign_in(page, live_server, "acme", "admin", PASSWORD)

    page.goto(f"{live_server}/manage/checklists/{world.a.checklist_id}")
    assert "危化品仓库日检" in page.locator("h1").inner_text()
    page.click("text=编辑并发布新版本")
    page.wait_for_url(f"{live_server}/manage/checklists/{world.a.checklist_id}/edit")

    exit_row = page.locator("fieldset", has=page.locator("input[value=exit_clear]"))
    exit_row.locator("input[name$='-label']").fill("安全出口、疏散通道畅通")
    new_row = page.locator("fieldset", has_text="新检查项").first
    new_row.locator("input[name$='-id']").fill("valve_leak")
    new_row.locator("select[name$='-kind']").select_option("number")
    new_row.locator("input[name$='-label']").fill("阀门泄漏检测读数")
    new_row.locator("summary", has_text="数值（读数）").click()
    new_row.locator("input[name$='-unit']").fill("ppm")
    new_row.locator("input[name$='-max']").fill("25")
    new_row.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "manage-setup-checklist-editor.png"), full_page=False)

    page.click("button:has-text('发布第 2 版')")
    page.wait_for_url(f"{live_server}/manage/checklists/{world.a.checklist_id}")
    assert "已发布第 2 版" in page.locator(".flash-ok").inner_text()
    assert "第 2 版" in page.locator("h1").inner_text()
    table = page.locator("table").first.inner_text()
    assert "安全出口、疏散通道畅通" in table and "阀门泄漏检测读数" in table and "ppm" in table
    page.screenshot(path=str(artifacts / "manage-setup-checklist-published.png"), full_page=True)

    page.click("a:has-text('第 1 版')")
    page.wait_for_url(f"{live_server}/manage/checklists/{world.a.checklist_id}/versions/1")
    old = page.locator("table").first.inner_text()
    assert "安全出口畅通" in old and "阀门泄漏检测读数" not in old
    assert "停用" in page.locator("h1 + .badge, .toolbar").first.inner_text()


def test_posts_and_schedules_with_a_pause(tablet, live_server, world, artifacts):
    page = tablet
    sign_in(page, live_server, "acme", "admin", PASSWORD)

    page.goto(f"{live_server}/manage/posts/")
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    assert "液氨储罐区" in rows.nth(0).inner_text() and "1号高压配电柜" in rows.nth(1).inner_text()
    page.screenshot(path=str(artifacts / "manage-setup-posts.png"), full_page=True)

    page.goto(f"{live_server}/manage/schedules/pauses")
    page.select_option("select[name=post_id]", str(world.a.post_id))
    page.fill("input[name=reason]", "停产检修")
    page.click("button:has-text('暂停')")
    assert "已暂停：液氨储罐区" in page.locator(".flash-ok").inner_text()

    page.goto(f"{live_server}/manage/schedules/")
    assert page.locator("tbody tr", has_text="暂停中").count() == 3
    page.screenshot(path=str(artifacts / "manage-setup-schedules.png"), full_page=True)
