"""The dashboard's queues in real Chromium: a safety manager acknowledges an alert with a note,
grades and assigns a hazard, and opens a family report with its photo. Screenshots:
``manage-queue-alerts.png``, ``manage-queue-hazard.png``, ``manage-queue-report.png``."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from PIL import Image

from server.alerts import services as alerts
from server.alerts.models import Alert, AlertStatus
from server.extensions import db
from server.hazards import services as hazards
from server.hazards.models import Hazard, HazardStatus
from server.reports import services as reports
from server.reports.models import FamilyReport
from tests.alerts.conftest import record_miss
from tests.browser.conftest import sign_in
from tests.builders import PASSWORD
from tests.manage.test_queue_hazards import as_principal


def _photo() -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (640, 480), (180, 60, 40))
    for x in range(0, 640, 40):  # stripes, so the thumbnail is visibly a photo
        image.paste((240, 200, 60), (x, 0, x + 20, 480))
    image.save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def queues(app, world, clock, photo_dirs):
    with app.app_context():
        a = world.a
        red = alerts.raise_for_misses([record_miss(a)])[0]
        clock.advance(minutes=3)
        alerts.raise_for_misses([record_miss(a, "other_post_daily")])
        hazard = hazards.report(as_principal(a, "worker"), {"description": "液氨储罐区阀门法兰处有轻微泄漏", "post_id": a.post_id, "type": "equipment"})
        token = reports.settings_of(a.enterprise_id).link_token
        reports.submit(token, {"description": "消防通道被货物堵死，晚上无人清理", "site_id": a.site_id, "location": "3号仓库东门"}, [io.BytesIO(_photo())])
        report_id = db.session.scalar(sa.select(FamilyReport.id))
        db.session.commit()
        ids = {"alert": red, "hazard": hazard.id, "report": report_id}
        db.session.remove()
    return ids


def test_a_safety_manager_works_the_queues(app, tablet, live_server, world, queues, artifacts):
    page = tablet
    sign_in(page, live_server, "acme", "safety_manager", PASSWORD)

    # Alerts: acknowledge the red one with a note, from the queue itself.
    page.goto(f"{live_server}/manage/alerts/")
    row = page.locator(f"#alert-{queues['alert']}")
    assert "漏检：液氨储罐区（重大风险）" in row.inner_text()
    row.locator("input[name=note]").fill("已通知夜班补检")
    row.locator("button.primary").click()
    page.wait_for_load_state()
    assert "提醒已确认" in page.locator(".flash-ok").inner_text()
    assert "已确认" in page.locator(f"#alert-{queues['alert']}").inner_text()
    page.screenshot(path=str(artifacts / "manage-queue-alerts.png"), full_page=True)
    with app.app_context():
        assert db.session.get(Alert, queues["alert"]).status is AlertStatus.ACKNOWLEDGED
        db.session.remove()

    # A hazard: grade it, then assign the rectification.
    page.goto(f"{live_server}/manage/hazards/")
    page.click("text=YH-2026-0001")
    form = page.locator("#confirm-form")
    form.locator("select[name=grade]").select_option("general")
    form.locator("input[name=basis]").fill("《危险化学品安全管理条例》")
    form.locator("button.primary").click()
    page.wait_for_load_state()
    assert "隐患已评估定级" in page.locator(".flash-ok").inner_text()
    assign = page.locator("#assign-form")
    assign.locator("select[name=responsible_id]").select_option(label="甲企业worker (一线员工)")
    assign.locator("input[name=responsible_department]").fill("设备部")
    assign.locator("input[name=deadline]").fill("2026-11-30T17:00")
    assign.locator("textarea[name=measures]").fill("更换法兰垫片并做气密性试验")
    assign.locator("button.primary").click()
    page.wait_for_load_state()
    assert "已下达整改" in page.locator(".flash-ok").inner_text()
    assert "2026-11-30 17:00" in page.content() and "整改中" in page.content()
    page.screenshot(path=str(artifacts / "manage-queue-hazard.png"), full_page=True)
    with app.app_context():
        hazard = db.session.get(Hazard, queues["hazard"])
        assert hazard.status is HazardStatus.ASSIGNED and hazard.responsible_id == world.a.users["worker"]
        db.session.remove()

    # A family report, with its photo served through the dashboard's session.
    page.goto(f"{live_server}/manage/reports/")
    page.click("text=消防通道被货物堵死，晚上无人清理")
    page.wait_for_load_state()
    assert "3号仓库东门" in page.content()
    thumb = page.locator(".photos img").first
    assert thumb.evaluate("img => img.complete && img.naturalWidth > 0")
    page.screenshot(path=str(artifacts / "manage-queue-report.png"), full_page=True)
