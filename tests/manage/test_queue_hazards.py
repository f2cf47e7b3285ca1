"""The dashboard's hazard pages (/manage/hazards): the list with its filters (overdue first), a
hazard's page with its history, every step of the closed loop through the hazard services with
the API's roles, the ledger's documents, and enterprise A never reaching B's hazards."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from server.accounts.auth import Principal
from server.accounts.models import Role
from server.extensions import db
from server.hazards import services
from server.hazards.models import Hazard, HazardEvent, HazardGrade, HazardStatus
from tests.builders import Tenant
from tests.conftest import T0

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def as_principal(tenant: Tenant, role: str) -> Principal:
    """The principal a service sees for ``role`` of ``tenant`` (what a view passes it)."""
    return Principal(tenant.users[role], tenant.enterprise_id, Role(role), None, 0, "Asia/Shanghai", ())


@pytest.fixture
def hazards(app, world, clock):
    """Enterprise A: a reported hazard on the supervisor's red post (found by the worker), one on
    the other post found by the admin, and one assigned to the worker and past its deadline.
    Enterprise B: a reported one. Built with the hazard services."""
    with app.app_context():
        a, b = world.a, world.b
        reported = services.report(as_principal(a, "worker"), {"description": "液氨储罐区阀门泄漏", "post_id": a.post_id, "type": "equipment"})
        clock.advance(minutes=5)
        other = services.report(as_principal(a, "admin"), {"description": "配电柜门未关闭", "post_id": a.other_post_id})
        clock.advance(minutes=5)
        late = services.report(as_principal(a, "worker"), {"description": "消防通道堆放杂物", "post_id": a.post_id})
        manager = as_principal(a, "safety_manager")
        services.confirm(manager, late.id, {"grade": HazardGrade.GENERAL})
        services.assign(manager, late.id, {"responsible_id": a.users["worker"], "deadline": T0 - timedelta(hours=1)})
        foreign = services.report(as_principal(b, "worker"), {"description": "乙企业秘密隐患", "post_id": b.post_id})
        ids = {"reported": reported.id, "other": other.id, "late": late.id, "foreign": foreign.id}
        db.session.commit()
        db.session.remove()
    return ids


def opening(browser_for, url: str):
    """``make(role, tenant="acme")``: a browser signed in as ``role`` with ``url`` open first, as
    a person would have it (the page's forms' CSRF token in hand)."""

    def make(role: str, tenant: str = "acme"):
        browser = browser_for(role, tenant)
        browser.get(url)
        return browser

    return make


@pytest.fixture
def signed(browser_for):
    return opening(browser_for, "/manage/hazards/")


def stored(app, hazard_id: int) -> tuple[Hazard, list[HazardEvent]]:
    with app.app_context():
        hazard = db.session.get(Hazard, hazard_id)
        events = db.session.scalars(sa.select(HazardEvent).where(HazardEvent.hazard_id == hazard_id).order_by(HazardEvent.id)).all()
        db.session.expunge_all()
    return hazard, events


def html(response) -> str:
    return response.get_data(as_text=True)


def flash_on(browser, url: str) -> str:
    return html(browser.get(url))


# --------------------------------------------------------------------------- the list


@pytest.mark.parametrize("role", ["safety_manager", "admin"])
def test_managers_see_every_hazard_overdue_first(signed, hazards, role):
    page = html(signed(role).get("/manage/hazards/"))
    assert "共 3 条隐患" in page
    assert page.index("消防通道堆放杂物") < page.index("配电柜门未关闭") < page.index("液氨储罐区阀门泄漏")  # overdue, then newest
    assert 'class="overdue"' in page and "逾期" in page and "YH-2026-0003" in page
    assert "乙企业秘密隐患" not in page
    assert "/manage/hazards/export.xlsx" in page and "/manage/hazards/export.csv" in page


def test_a_supervisor_sees_their_posts_hazards_only_and_no_ledger_exports(signed, hazards):
    page = html(signed("supervisor").get("/manage/hazards/"))
    assert "液氨储罐区阀门泄漏" in page and "消防通道堆放杂物" in page
    assert "配电柜门未关闭" not in page  # another post, found by someone else
    assert "export.xlsx" not in page


def test_the_filters_are_query_arguments(signed, hazards, world):
    browser = signed("safety_manager")
    overdue = html(browser.get("/manage/hazards/?overdue=1"))
    assert "消防通道堆放杂物" in overdue and "液氨储罐区阀门泄漏" not in overdue and "共 1 条隐患" in overdue
    reported = html(browser.get("/manage/hazards/?status=reported&grade=&source=&site_id=&post_id=&overdue="))  # the form's empty choices
    assert "液氨储罐区阀门泄漏" in reported and "配电柜门未关闭" in reported and "消防通道堆放杂物" not in reported
    by_post = html(browser.get(f"/manage/hazards/?post_id={world.a.other_post_id}"))
    assert "配电柜门未关闭" in by_post and "液氨储罐区阀门泄漏" not in by_post
    assert "共 0 条隐患" in html(browser.get("/manage/hazards/?grade=major")) or "没有符合条件的隐患" in html(browser.get("/manage/hazards/?grade=major"))
    assert browser.get("/manage/hazards/?status=nonsense").status_code == 422


# --------------------------------------------------------------------------- a hazard's page


def test_a_hazards_page_shows_its_facts_history_and_the_managers_forms(signed, hazards, world):
    page = html(signed("safety_manager").get(f"/manage/hazards/{hazards['reported']}"))
    assert "YH-2026-0001" in page and "液氨储罐区阀门泄漏" in page and "设备" in page and "危化品仓库" in page
    assert f'href="/manage/overview/posts/{world.a.post_id}"' in page
    assert "上报" in page and "甲企业worker" in page and "2026-11-23 10:00" in page  # the history, local time
    assert 'id="confirm-form"' in page and "驳回" in page and 'id="assign-form"' not in page


def test_a_supervisor_reads_but_may_not_grade(app, signed, hazards):
    browser = signed("supervisor")
    page = html(browser.get(f"/manage/hazards/{hazards['reported']}"))
    assert "液氨储罐区阀门泄漏" in page and 'id="confirm-form"' not in page
    refused = browser.post(f"/manage/hazards/{hazards['reported']}/confirm", {"grade": "general"})
    assert refused.status_code == 403
    assert stored(app, hazards["reported"])[0].status is HazardStatus.REPORTED
    assert browser.get(f"/manage/hazards/{hazards['other']}").status_code == 404  # not theirs to see


def test_grading_records_a_history_row(app, signed, hazards, world):
    browser = signed("safety_manager")
    hid = hazards["reported"]
    response = browser.post(f"/manage/hazards/{hid}/confirm", {"grade": "major", "type": "equipment", "basis": "《危险化学品安全管理条例》", "note": "现场确认", "back": f"/manage/hazards/{hid}"})
    assert response.status_code == 303
    hazard, events = stored(app, hid)
    assert hazard.status is HazardStatus.CONFIRMED and hazard.grade is HazardGrade.MAJOR and hazard.basis == "《危险化学品安全管理条例》"
    assert (events[-1].action, events[-1].actor_id, events[-1].note) == ("confirmed", world.a.users["safety_manager"], "现场确认")
    page = flash_on(browser, f"/manage/hazards/{hid}")
    assert "隐患已评估定级" in page and "重大隐患" in page and 'id="assign-form"' in page and "五到位" in page
    assert "重大事故隐患报告（PDF）" in page


def test_a_major_hazard_is_not_assigned_without_its_plan_and_nothing_is_stored(app, signed, hazards, world):
    browser = signed("safety_manager")
    hid = hazards["reported"]
    browser.post(f"/manage/hazards/{hid}/confirm", {"grade": "major"})
    before = len(stored(app, hid)[1])
    browser.post(f"/manage/hazards/{hid}/assign", {"responsible_id": str(world.a.users["worker"]), "deadline": "2026-11-30T17:00", "back": f"/manage/hazards/{hid}"})
    assert "五到位" in flash_on(browser, f"/manage/hazards/{hid}")
    hazard, events = stored(app, hid)
    assert hazard.status is HazardStatus.CONFIRMED and len(events) == before


def test_assigning_takes_the_deadline_in_the_enterprises_zone(app, signed, hazards, world):
    browser = signed("admin")
    hid = hazards["reported"]
    browser.post(f"/manage/hazards/{hid}/confirm", {"grade": "general"})
    response = browser.post(f"/manage/hazards/{hid}/assign", {
        "responsible_id": str(world.a.users["worker"]), "responsible_department": "设备部", "mode": "by_deadline",
        "deadline": "2026-11-30T17:00", "measures": "更换阀门", "funds": "800",
    })
    assert response.status_code == 303
    hazard, events = stored(app, hid)
    assert hazard.status is HazardStatus.ASSIGNED and hazard.responsible_id == world.a.users["worker"]
    assert hazard.deadline == datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)  # 17:00 in Shanghai
    assert events[-1].action == "assigned"
    page = html(browser.get(f"/manage/hazards/{hid}"))
    assert "2026-11-30 17:00" in page and "设备部" in page and "更换阀门" in page


def test_a_deadline_by_date_is_required_for_by_deadline(app, signed, hazards, world):
    browser = signed("admin")
    hid = hazards["reported"]
    browser.post(f"/manage/hazards/{hid}/confirm", {"grade": "general"})
    browser.post(f"/manage/hazards/{hid}/assign", {"responsible_id": str(world.a.users["worker"]), "mode": "by_deadline", "back": f"/manage/hazards/{hid}"})
    assert "deadline" in flash_on(browser, f"/manage/hazards/{hid}")
    assert stored(app, hid)[0].status is HazardStatus.CONFIRMED


def test_rectify_is_for_the_responsible_person_or_a_supervisor(app, signed, hazards):
    late = hazards["late"]
    manager = signed("safety_manager")
    assert "提交整改情况" not in html(manager.get(f"/manage/hazards/{late}"))  # not responsible, not a supervisor
    manager.post(f"/manage/hazards/{late}/rectify", {"description": "已清理", "back": f"/manage/hazards/{late}"})
    assert "只有整改责任人或班组长可以提交整改" in flash_on(manager, f"/manage/hazards/{late}")
    assert stored(app, late)[0].status is HazardStatus.ASSIGNED
    supervisor = signed("supervisor")
    assert "提交整改情况" in html(supervisor.get(f"/manage/hazards/{late}"))
    supervisor.post(f"/manage/hazards/{late}/rectify", {"description": "已清理通道", "cost": "0"})
    hazard, events = stored(app, late)
    assert hazard.status is HazardStatus.RECTIFIED and hazard.rectification_note == "已清理通道" and events[-1].action == "rectified"


def test_the_rectifier_may_not_verify_the_services_message_shows_and_nothing_is_stored(app, signed, hazards, world):
    hid = hazards["reported"]
    admin = signed("admin")
    admin.post(f"/manage/hazards/{hid}/confirm", {"grade": "general"})
    admin.post(f"/manage/hazards/{hid}/assign", {"responsible_id": str(world.a.users["safety_manager"]), "deadline": "2026-11-30T17:00"})
    manager = signed("safety_manager")
    manager.post(f"/manage/hazards/{hid}/rectify", {"description": "已更换阀门"})
    page = html(manager.get(f"/manage/hazards/{hid}"))
    assert "这次整改是您提交的，须由其他人复查验收" in page
    before = len(stored(app, hid)[1])
    manager.post(f"/manage/hazards/{hid}/verify", {"passed": "true", "note": "自己验收", "back": f"/manage/hazards/{hid}"})
    assert "复查验收人不能是整改人" in flash_on(manager, f"/manage/hazards/{hid}")
    hazard, events = stored(app, hid)
    assert hazard.status is HazardStatus.RECTIFIED and hazard.verifier_id is None and len(events) == before
    admin.get(f"/manage/hazards/{hid}")
    admin.post(f"/manage/hazards/{hid}/verify", {"passed": "false", "note": "仍有渗漏", "deadline": "2026-12-02T17:00"})
    hazard, events = stored(app, hid)
    assert hazard.status is HazardStatus.ASSIGNED and events[-1].action == "verification_failed"
    assert hazard.deadline == datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)
    manager.post(f"/manage/hazards/{hid}/rectify", {"description": "再次更换"})
    admin.post(f"/manage/hazards/{hid}/verify", {"passed": "true", "note": "复查合格"})
    hazard, events = stored(app, hid)
    assert hazard.status is HazardStatus.CLOSED and events[-1].action == "verified"
    page = html(admin.get(f"/manage/hazards/{hid}"))
    assert "已销号" in page and "复查合格" in page and "复查验收通过（销号）" in page and "下一步" not in page


def test_reject_needs_a_reason(app, signed, hazards):
    browser = signed("safety_manager")
    hid = hazards["other"]
    browser.post(f"/manage/hazards/{hid}/reject", {"reason": "", "back": f"/manage/hazards/{hid}"})
    assert "输入校验失败" in flash_on(browser, f"/manage/hazards/{hid}")
    browser.post(f"/manage/hazards/{hid}/reject", {"reason": "现场复核无此问题"})
    hazard, _events = stored(app, hid)
    assert hazard.status is HazardStatus.REJECTED and hazard.reject_reason == "现场复核无此问题"
    assert "驳回理由" in html(browser.get(f"/manage/hazards/{hid}"))


def test_a_step_from_the_wrong_status_shows_the_services_message(app, signed, hazards):
    browser = signed("admin")
    browser.post(f"/manage/hazards/{hazards['late']}/confirm", {"grade": "major", "back": "/manage/hazards/"})
    assert "隐患当前状态不允许此操作" in flash_on(browser, "/manage/hazards/")
    assert stored(app, hazards["late"])[0].grade is HazardGrade.GENERAL


# --------------------------------------------------------------------------- the ledger's documents


@pytest.mark.parametrize("role", ["safety_manager", "admin"])
def test_managers_download_the_ledger_under_the_lists_filters(signed, hazards, role):
    browser = signed(role)
    xlsx = browser.get("/manage/hazards/export.xlsx?status=&overdue=1")
    assert xlsx.status_code == 200 and xlsx.mimetype == XLSX and xlsx.data[:2] == b"PK"
    assert "hazard-ledger-2026-11-23.xlsx" in xlsx.headers["Content-Disposition"]
    csv = browser.get("/manage/hazards/export.csv?overdue=1").get_data(as_text=True)
    assert "YH-2026-0003" in csv and "消防通道堆放杂物" in csv and "液氨储罐区阀门泄漏" not in csv
    everything = browser.get("/manage/hazards/export.csv").get_data(as_text=True)
    assert "液氨储罐区阀门泄漏" in everything and "乙企业秘密隐患" not in everything


def test_the_major_hazard_report_is_for_major_hazards_and_managers(app, signed, hazards):
    manager = signed("safety_manager")
    hid = hazards["reported"]
    manager.post(f"/manage/hazards/{hid}/confirm", {"grade": "major"})
    pdf = manager.get(f"/manage/hazards/{hid}/report.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data[:4] == b"%PDF"
    general = manager.get(f"/manage/hazards/{hazards['late']}/report.pdf")
    assert general.status_code == 409 and "只有定级为重大隐患的隐患才有重大事故隐患报告" in html(general)
    supervisor = signed("supervisor")
    for url in (f"/manage/hazards/{hid}/report.pdf", "/manage/hazards/export.xlsx", "/manage/hazards/export.csv"):
        assert supervisor.get(url).status_code == 403


# --------------------------------------------------------------------------- roles and tenancy


def test_the_pages_and_steps_allow_the_apis_roles(app):
    views = app.view_functions
    anyone = {Role.SUPERVISOR, Role.SAFETY_MANAGER, Role.ADMIN}
    managers = {Role.SAFETY_MANAGER, Role.ADMIN}
    expected = {
        "hazards": anyone, "hazard": anyone, "rectify": anyone, "confirm": managers, "reject": managers, "assign": managers,
        "verify": managers, "export_xlsx": managers, "export_csv": managers, "major_report": managers,
    }
    for endpoint, roles in expected.items():
        assert views[f"manage_hazards.{endpoint}"].dashboard_roles == roles, endpoint


@pytest.mark.parametrize("role", ["supervisor", "safety_manager", "admin"])
def test_another_enterprises_hazards_are_not_found(app, signed, hazards, role):
    browser = signed(role)
    foreign = hazards["foreign"]
    assert browser.get(f"/manage/hazards/{foreign}").status_code == 404
    for step, form in (("confirm", {"grade": "general"}), ("reject", {"reason": "x"}), ("rectify", {"description": "x"}), ("verify", {"passed": "true"})):
        response = browser.post(f"/manage/hazards/{foreign}/{step}", form)
        assert response.status_code in (403, 404), step  # 403 only where the role may not take the step at all
        assert response.status_code == 404 or role == "supervisor"
    if role != "supervisor":
        assert browser.get(f"/manage/hazards/{foreign}/report.pdf").status_code == 404
    assert stored(app, foreign)[0].status is HazardStatus.REPORTED
