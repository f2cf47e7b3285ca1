"""The dashboard's family report queue (/manage/reports): who sees which report (the API's rules,
never a report about the supervisor to a supervisor), a report's page with its photos, triage
through the report services (confirm opens a hazard), rewards, the sealed contact for designated
readers only (each reading logged), the public link's settings, and tenancy."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from PIL import Image

from server.accounts.models import Role
from server.alerts.models import Alert, AlertStatus
from server.extensions import db
from server.hazards.models import Hazard, HazardSource
from server.reports import services
from server.reports.models import ContactAccess, FamilyReport, ReportSettings, ReportStatus, RewardStatus
from tests.manage.test_queue_hazards import html, opening

CONTACT = "张三 13800138000"


def jpeg(colour=(200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), colour).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def reports(app, world, clock, photo_dirs):
    """Enterprise A: a report on the supervisor's site with a photo and a contact, one that
    concerns that site's supervisor, one on the other site (arrived in that order, a minute
    apart). Enterprise B: one report. Sent through ``services.submit``, as the public page does."""
    ids = {}
    with app.app_context():
        a, b = world.a, world.b
        token = services.settings_of(a.enterprise_id).link_token
        services.submit(token, {"description": "消防通道被货物堵死", "site_id": a.site_id, "location": "3号仓库东门", "contact": CONTACT}, [io.BytesIO(jpeg())])
        clock.advance(minutes=1)
        services.submit(token, {"description": "班组长默许违章动火", "site_id": a.site_id, "concerns_supervisor": True, "anonymous": True})
        clock.advance(minutes=1)
        services.submit(token, {"description": "配电室漏水", "site_id": a.other_site_id})
        services.submit(services.settings_of(b.enterprise_id).link_token, {"description": "乙企业的秘密举报"})
        rows = db.session.scalars(sa.select(FamilyReport).order_by(FamilyReport.id)).all()
        ids = {"fire": rows[0].id, "about_supervisor": rows[1].id, "water": rows[2].id, "foreign": rows[3].id}
        db.session.commit()
        db.session.remove()
    return ids


@pytest.fixture
def signed(browser_for):
    return opening(browser_for, "/manage/reports/")


def stored(app, report_id: int) -> FamilyReport:
    with app.app_context():
        report = db.session.scalar(sa.select(FamilyReport).where(FamilyReport.id == report_id))
        report.hazard, report.rewards, report.events  # noqa: B018 (load before detaching)
        db.session.expunge_all()
    return report


# --------------------------------------------------------------------------- the queue


@pytest.mark.parametrize("role", ["safety_manager", "admin"])
def test_managers_see_every_report_received_first(app, signed, reports, role):
    browser = signed(role)
    page = html(browser.get("/manage/reports/"))
    assert "共 3 条举报" in page and "乙企业的秘密举报" not in page
    assert page.index("配电室漏水") < page.index("班组长默许违章动火") < page.index("消防通道被货物堵死")
    assert "涉及区域负责人" in page and "1 张照片" in page and "已受理" in page
    browser.post(f"/manage/reports/{reports['water']}/reject", {"reply": "经核实为空调冷凝水，不属于隐患"})
    page = html(browser.get("/manage/reports/"))
    assert page.index("班组长默许违章动火") < page.index("消防通道被货物堵死") < page.index("配电室漏水")  # triaged ones after
    received = html(browser.get("/manage/reports/?status=received"))
    assert "配电室漏水" not in received and "消防通道被货物堵死" in received


def test_a_supervisor_sees_their_sites_reports_but_never_one_about_the_supervisor(signed, reports):
    browser = signed("supervisor")
    page = html(browser.get("/manage/reports/"))
    assert "消防通道被货物堵死" in page
    assert "班组长默许违章动火" not in page and "配电室漏水" not in page
    assert browser.get(f"/manage/reports/{reports['about_supervisor']}").status_code == 404
    assert browser.get(f"/manage/reports/{reports['water']}").status_code == 404
    detail = html(browser.get(f"/manage/reports/{reports['fire']}"))
    assert "消防通道被货物堵死" in detail and 'id="confirm-form"' not in detail and "举报由安全管理员和企业管理员处理" in detail


def test_a_reports_page_shows_what_where_photos_and_history(app, signed, reports):
    browser = signed("safety_manager")
    page = html(browser.get(f"/manage/reports/{reports['fire']}"))
    assert "家属举报 #" in page and "消防通道被货物堵死" in page and "3号仓库东门" in page and "危化品仓库" in page
    assert "留有加密联系方式" in page and CONTACT not in page and "13800138000" not in page
    assert 'id="confirm-form"' in page and "驳回：不属实" in page
    with app.app_context():
        sha = db.session.get(FamilyReport, reports["fire"]).photos[0].sha256
    assert f"/manage/reports/{reports['fire']}/photos/{sha}/thumb" in page
    thumb = browser.get(f"/manage/reports/{reports['fire']}/photos/{sha}/thumb")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg" and thumb.data[:2] == b"\xff\xd8"
    assert browser.get(f"/manage/reports/{reports['fire']}/photos/{sha}/display").status_code == 200
    assert browser.get(f"/manage/reports/{reports['fire']}/photos/{sha}/original").status_code == 404
    assert browser.get(f"/manage/reports/{reports['water']}/photos/{sha}/thumb").status_code == 404  # not that report's photo


# --------------------------------------------------------------------------- triage


def test_confirming_opens_a_linked_hazard_through_the_service(app, signed, reports, world):
    browser = signed("safety_manager")
    rid = reports["fire"]
    response = browser.post(f"/manage/reports/{rid}/confirm", {"type": "fire", "reply": "已安排清理，感谢举报", "note": "现场核实"})
    assert response.status_code == 303 and response.headers["Location"] == f"/manage/reports/{rid}"
    report = stored(app, rid)
    assert report.status is ReportStatus.CONFIRMED and report.reply == "已安排清理，感谢举报"
    with app.app_context():
        hazard = db.session.get(Hazard, report.hazard_id)
        assert hazard.source is HazardSource.REPORT and hazard.found_by_id == world.a.users["safety_manager"]
        assert hazard.description == "消防通道被货物堵死" and hazard.site_id == world.a.site_id and len(hazard.photos_before) == 1
        assert db.session.get(Alert, report.alert_id).status is AlertStatus.RESOLVED  # the triage answered the alert
        number = hazard.number
    page = html(browser.get(f"/manage/reports/{rid}"))
    assert f"已确认，已生成隐患 {number}" in page and f'href="/manage/hazards/{report.hazard_id}"' in page
    assert "确认为隐患" in page and 'id="confirm-form"' not in page and "发放奖励" in page


def test_rejecting_needs_the_reply_the_reporter_reads(app, signed, reports):
    browser = signed("admin")
    rid = reports["water"]
    browser.post(f"/manage/reports/{rid}/reject", {"reply": "", "back": f"/manage/reports/{rid}"})
    assert "输入校验失败" in html(browser.get(f"/manage/reports/{rid}"))
    assert stored(app, rid).status is ReportStatus.RECEIVED
    browser.post(f"/manage/reports/{rid}/reject", {"reply": "经核实为空调冷凝水", "note": "内部：已拍照"})
    report = stored(app, rid)
    assert report.status is ReportStatus.NOT_HAZARD and report.reply == "经核实为空调冷凝水" and report.hazard_id is None
    page = html(browser.get(f"/manage/reports/{rid}"))
    assert "不属实" in page and "经核实为空调冷凝水" in page and "发放奖励" not in page
    browser.post(f"/manage/reports/{rid}/confirm", {"type": "fire", "back": f"/manage/reports/{rid}"})
    assert "举报当前状态不允许此操作" in html(browser.get(f"/manage/reports/{rid}"))


def test_replies_and_the_reward_ledger(app, signed, reports):
    browser = signed("safety_manager")
    rid = reports["fire"]
    browser.post(f"/manage/reports/{rid}/rewards", {"amount": "200", "back": f"/manage/reports/{rid}"})
    assert "举报当前状态不允许此操作" in html(browser.get(f"/manage/reports/{rid}"))  # not confirmed yet
    browser.post(f"/manage/reports/{rid}/confirm", {"type": "fire"})
    browser.post(f"/manage/reports/{rid}/reply", {"reply": "整改中，请放心"})
    browser.post(f"/manage/reports/{rid}/rewards", {"amount": "200.00", "note": "月度举报奖"})
    report = stored(app, rid)
    assert report.reply == "整改中，请放心" and [(str(w.amount), w.status) for w in report.rewards] == [("200.00", RewardStatus.GRANTED)]
    page = html(browser.get(f"/manage/reports/{rid}"))
    assert "200.00" in page and "月度举报奖" in page and "标记为已发放" in page
    browser.post(f"/manage/reports/{rid}/rewards/{report.rewards[0].id}/pay", {})
    assert stored(app, rid).rewards[0].status is RewardStatus.PAID
    browser.post(f"/manage/reports/{rid}/rewards/{report.rewards[0].id}/pay", {"back": f"/manage/reports/{rid}"})
    assert "该奖励已发放" in html(browser.get(f"/manage/reports/{rid}"))
    assert [e.action for e in stored(app, rid).events] == ["received", "confirmed", "replied", "reward_granted", "reward_paid"]


@pytest.mark.parametrize("action,form", [("confirm", {"type": "fire"}), ("reject", {"reply": "x"}), ("reply", {"reply": "x"}), ("rewards", {"amount": "1"})])
def test_a_supervisor_may_not_triage(app, signed, reports, action, form):
    browser = signed("supervisor")
    assert browser.post(f"/manage/reports/{reports['fire']}/{action}", form).status_code == 403
    report = stored(app, reports["fire"])
    assert report.status is ReportStatus.RECEIVED and report.reply == "" and report.rewards == []


# --------------------------------------------------------------------------- the sealed contact


def _readings(app) -> list[tuple]:
    with app.app_context():
        rows = [(c.action, c.report_id, c.user_id) for c in db.session.scalars(sa.select(ContactAccess).order_by(ContactAccess.id))]
        db.session.remove()
    return rows


def test_only_a_designated_reader_opens_the_contact_and_each_reading_is_logged(app, signed, reports, world):
    rid = reports["fire"]
    admin = signed("admin")
    page = html(admin.get(f"/manage/reports/{rid}"))
    assert "查看加密联系方式" not in page  # nobody is a reader yet (no head named)
    refused = admin.post(f"/manage/reports/{rid}/contact", {"back": f"/manage/reports/{rid}"})
    assert refused.status_code == 303
    assert "只有企业指定的查看人可以查看举报人的联系方式" in html(admin.get(f"/manage/reports/{rid}"))
    assert _readings(app) == []
    admin.get("/manage/reports/settings")
    admin.post("/manage/reports/settings/readers", {"contact_reader_ids": [str(world.a.users["safety_manager"])]})
    manager = signed("safety_manager")
    assert "查看加密联系方式" in html(manager.get(f"/manage/reports/{rid}"))
    opened = manager.post(f"/manage/reports/{rid}/contact", {})
    assert opened.status_code == 200 and CONTACT in html(opened) and "本次查看已记录" in html(opened)
    assert opened.headers["Cache-Control"] == "no-store"
    assert CONTACT not in html(manager.get(f"/manage/reports/{rid}"))  # shown on that answer only
    assert _readings(app)[-1] == ("read", rid, world.a.users["safety_manager"])
    log = html(manager.get("/manage/reports/settings"))
    assert f"查看了举报 #{rid} 的联系方式" in log and "修改了查看人" in log


def test_the_settings_show_the_public_link_and_only_an_admin_changes_them(app, signed, reports, world):
    manager = signed("safety_manager")
    page = html(manager.get("/manage/reports/settings"))
    with app.app_context():
        token = db.session.get(ReportSettings, world.a.enterprise_id).link_token
    assert f"https://zicha.example.cn/r/{token}" in page and "生成新链接" not in page
    qr = manager.get("/manage/reports/settings/qr.png")
    assert qr.status_code == 200 and qr.mimetype == "image/png" and qr.data[:4] == b"\x89PNG"
    assert manager.post("/manage/reports/settings/rotate-link", {}).status_code == 403
    assert manager.post("/manage/reports/settings/readers", {"contact_reader_ids": "1"}).status_code == 403
    admin = signed("admin")
    admin.get("/manage/reports/settings")
    assert admin.post("/manage/reports/settings/rotate-link", {}).status_code == 303
    with app.app_context():
        new = db.session.get(ReportSettings, world.a.enterprise_id).link_token
    assert new != token and f"/r/{new}" in html(admin.get("/manage/reports/settings"))
    foreign = admin.post("/manage/reports/settings/readers", {"contact_reader_ids": [str(world.b.users["admin"])]})
    assert foreign.status_code == 404  # another tenant's user is no user here: nothing changed
    with app.app_context():
        assert services.contact_readers(world.a.enterprise_id) == ([], True)
    admin.post("/manage/reports/settings/readers", {"contact_reader_ids": [str(world.a.users["supervisor"]), str(world.a.users["admin"])]})
    admin.post("/manage/reports/settings/readers/default", {})
    with app.app_context():
        assert services.contact_readers(world.a.enterprise_id) == ([], True)
    assert signed("supervisor").get("/manage/reports/settings").status_code == 403


# --------------------------------------------------------------------------- roles and tenancy


def test_the_pages_and_actions_allow_the_apis_roles(app):
    views = app.view_functions
    readers = {Role.SUPERVISOR, Role.SAFETY_MANAGER, Role.ADMIN}
    managers = {Role.SAFETY_MANAGER, Role.ADMIN}
    expected = {
        "reports": readers, "report": readers, "photo": readers, "read_contact": readers, "confirm": managers, "reject": managers,
        "reply": managers, "grant_reward": managers, "pay_reward": managers, "settings": managers, "link_qr": managers,
        "rotate_link": {Role.ADMIN}, "set_readers": {Role.ADMIN}, "default_readers": {Role.ADMIN},
    }
    for endpoint, roles in expected.items():
        assert views[f"manage_reports.{endpoint}"].dashboard_roles == roles, endpoint


@pytest.mark.parametrize("role", ["supervisor", "safety_manager", "admin"])
def test_another_enterprises_reports_are_not_found(app, signed, reports, role, world):
    browser = signed(role)
    foreign = reports["foreign"]
    assert browser.get(f"/manage/reports/{foreign}").status_code == 404
    assert browser.post(f"/manage/reports/{foreign}/contact", {}).status_code == 404
    if role != "supervisor":
        for action, form in (("confirm", {"type": "fire"}), ("reject", {"reply": "x"}), ("reply", {"reply": "x"}), ("rewards", {"amount": "1"})):
            assert browser.post(f"/manage/reports/{foreign}/{action}", form).status_code == 404, action
    report = stored(app, foreign)
    assert report.status is ReportStatus.RECEIVED and report.reply == ""
    assert "乙企业的秘密举报" not in html(browser.get("/manage/reports/"))


def test_an_alert_of_a_report_links_to_it(app, signed, reports):
    with app.app_context():
        alert_id = db.session.get(FamilyReport, reports["fire"]).alert_id
    page = html(signed("safety_manager").get(f"/manage/alerts/{alert_id}"))
    assert f'href="/manage/reports/{reports["fire"]}"' in page and "新的家属举报待处理" in page
