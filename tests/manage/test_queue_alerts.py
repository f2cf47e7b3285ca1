"""The dashboard's alert queue (/manage/alerts): who sees which alert (the API's rules), the
queue's order and tabs, an alert's page, acknowledging and resolving through the service, and
enterprise A never reaching B's alerts."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.alerts import services
from server.alerts.models import Alert, AlertEvent, AlertStatus
from server.extensions import db
from server.posts.models import Post
from tests.alerts.conftest import failed_answers, record_miss, submit_check
from tests.builders import run_job
from tests.conftest import T0
from tests.manage.test_queue_hazards import html, opening

RED_TITLE = "漏检：液氨储罐区（重大风险）"
YELLOW_TITLE = "漏检：1号高压配电柜（一般风险）"


@pytest.fixture
def alerts(app, world, clock):
    """In each enterprise: a red miss (reaches the post's supervisor) and, a minute later, a
    yellow one on the post with no supervisor (reaches the safety managers)."""
    ids = {}
    with app.app_context():
        for tenant in (world.a, world.b):
            if tenant is world.b:
                db.session.get(Post, tenant.post_id).name = "乙秘密储罐"
            red = services.raise_for_misses([record_miss(tenant)])[0]
            clock.advance(minutes=1)
            yellow = services.raise_for_misses([record_miss(tenant, "other_post_daily")])[0]
            ids[tenant.code] = {"red": red, "yellow": yellow}
        db.session.commit()
        db.session.remove()
    return ids


@pytest.fixture
def signed(browser_for):
    return opening(browser_for, "/manage/alerts/")


def stored(app, alert_id: int) -> tuple[Alert, list[AlertEvent]]:
    with app.app_context():
        alert = db.session.get(Alert, alert_id)
        events = db.session.scalars(sa.select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)).all()
        db.session.expunge_all()
    return alert, events


def test_a_supervisor_sees_what_reached_them_and_not_the_others(signed, alerts):
    page = html(signed("supervisor").get("/manage/alerts/"))
    assert RED_TITLE in page and "液氨储罐区" in page and 'class="risk risk-red"' in page
    assert YELLOW_TITLE not in page  # it went to the safety managers, not to them
    assert "甲企业supervisor" in page  # who it reached
    assert "发给您的提醒" in page and "显示本企业全部提醒" not in page


@pytest.mark.parametrize("role", ["safety_manager", "admin"])
def test_managers_see_the_enterprises_alerts_or_only_their_inbox(signed, alerts, role):
    browser = signed(role)
    page = html(browser.get("/manage/alerts/"))
    assert RED_TITLE in page and YELLOW_TITLE in page and "共 2 条提醒" in page
    mine = html(browser.get("/manage/alerts/?mine=1"))
    if role == "safety_manager":
        assert YELLOW_TITLE in mine and RED_TITLE not in mine
    else:  # nothing reached the admin (no head escalation yet)
        assert "没有待处理的提醒" in mine


def test_the_queue_puts_open_before_acknowledged_and_red_before_yellow(app, signed, alerts, world):
    browser = signed("safety_manager")
    page = html(browser.get("/manage/alerts/"))
    assert page.index(RED_TITLE) < page.index(YELLOW_TITLE)  # red first, though older
    browser.post(f"/manage/alerts/{alerts['acme']['red']}/acknowledge", {"note": ""})
    page = html(browser.get("/manage/alerts/"))
    assert page.index(YELLOW_TITLE) < page.index(RED_TITLE)  # open before acknowledged
    assert "已确认" in page


def test_acknowledge_with_a_note_goes_through_the_service(app, signed, alerts, world):
    browser = signed("supervisor")
    red = alerts["acme"]["red"]
    response = browser.post(f"/manage/alerts/{red}/acknowledge", {"note": "已安排夜班补检", "back": "/manage/alerts/"})
    assert response.status_code == 303 and response.headers["Location"] == "/manage/alerts/"
    alert, events = stored(app, red)
    assert alert.status is AlertStatus.ACKNOWLEDGED and alert.escalate_at is None
    assert [(e.kind, e.note, e.actor_id) for e in events][-1] == ("acknowledged", "已安排夜班补检", world.a.users["supervisor"])
    page = html(browser.get("/manage/alerts/"))
    assert "提醒已确认" in page  # the flash
    detail = html(browser.get(f"/manage/alerts/{red}"))
    assert "已安排夜班补检" in detail and "甲企业supervisor" in detail


def test_acknowledging_twice_shows_the_services_message_and_stores_nothing(app, signed, alerts):
    browser = signed("safety_manager")
    red = alerts["acme"]["red"]
    browser.post(f"/manage/alerts/{red}/acknowledge", {"note": "first"})
    again = browser.post(f"/manage/alerts/{red}/acknowledge", {"note": "second", "back": f"/manage/alerts/{red}"})
    assert again.status_code == 303
    assert "该提醒已被确认" in html(browser.get(f"/manage/alerts/{red}"))
    _alert, events = stored(app, red)
    assert [e.note for e in events if e.kind == "acknowledged"] == ["first"]


def test_resolve_needs_a_note_then_the_alert_moves_to_the_resolved_tab(app, signed, alerts):
    browser = signed("admin")
    yellow = alerts["acme"]["yellow"]
    browser.post(f"/manage/alerts/{yellow}/resolve", {"note": "", "back": f"/manage/alerts/{yellow}"})
    assert "输入校验失败" in html(browser.get(f"/manage/alerts/{yellow}"))
    assert stored(app, yellow)[0].status is AlertStatus.OPEN
    browser.post(f"/manage/alerts/{yellow}/resolve", {"note": "已补检并复核"})
    assert stored(app, yellow)[0].status is AlertStatus.RESOLVED
    assert YELLOW_TITLE not in html(browser.get("/manage/alerts/"))
    resolved = html(browser.get("/manage/alerts/?tab=resolved"))
    assert YELLOW_TITLE in resolved and "已处理" in resolved
    detail = html(browser.get(f"/manage/alerts/{yellow}"))
    assert "已补检并复核" in detail and "该提醒已处理完毕，无需再操作" in detail and 'name="note"' not in detail


def test_an_alerts_page_shows_who_it_reached_its_history_and_the_period_behind_it(app, signed, alerts, world, clock):
    with app.app_context():
        clock.set(T0 + timedelta(hours=2))  # past the red interval: the safety managers hear of it
        services.escalate(clock.now())
        db.session.commit()
    page = html(signed("supervisor").get(f"/manage/alerts/{alerts['acme']['red']}"))
    assert RED_TITLE in page and "周期 2026-11-22" in page  # the summary
    assert f'href="/manage/overview/posts/{world.a.post_id}"' in page and "2026-11-22" in page
    assert "甲企业supervisor" in page and "甲企业safety_manager" in page  # who it reached
    assert "岗位负责人" in page and "安全管理员" in page and "已升级" in page  # levels and history
    assert "2026-11-23 10:00" in page  # raised, in Shanghai time


def test_a_failed_item_alert_links_to_its_check(app, client, signed, world, clock):
    check_id = submit_check(client, world.a, "daily", T0 - timedelta(hours=1), failed_answers())
    run_job(app, "checks.follow_up")
    with app.app_context():
        alert_id = db.session.scalar(sa.select(Alert.id).where(Alert.check_id == uuid.UUID(check_id)))
    page = html(signed("supervisor").get(f"/manage/alerts/{alert_id}"))
    assert "检查不合格：液氨储罐区" in page and f'href="/manage/checks/{check_id}"' in page


def test_english_pages_show_the_english_wording(signed, alerts):
    browser = signed("supervisor")
    browser.post("/manage/language", {"lang": "en"})
    page = html(browser.get("/manage/alerts/"))
    assert "Missed check: 液氨储罐区 (red, major)" in page and RED_TITLE not in page and "Acknowledge" in page


def test_a_colleague_it_never_reached_gets_a_404(app, signed, alerts, world):
    browser = signed("supervisor")
    yellow = alerts["acme"]["yellow"]
    assert browser.get(f"/manage/alerts/{yellow}").status_code == 404
    assert browser.post(f"/manage/alerts/{yellow}/acknowledge", {"note": "x"}).status_code == 404
    assert stored(app, yellow)[0].status is AlertStatus.OPEN


@pytest.mark.parametrize("role", ["supervisor", "safety_manager", "admin"])
def test_another_enterprises_alerts_are_not_found(app, signed, alerts, role):
    browser = signed(role)
    for alert_id in alerts["bravo"].values():
        assert browser.get(f"/manage/alerts/{alert_id}").status_code == 404
        for action in ("acknowledge", "resolve"):
            assert browser.post(f"/manage/alerts/{alert_id}/{action}", {"note": "x"}).status_code == 404
        assert stored(app, alert_id)[0].status is AlertStatus.OPEN
    assert "乙秘密储罐" not in html(browser.get("/manage/alerts/")) + html(browser.get("/manage/alerts/?tab=resolved"))


def test_the_queue_and_actions_are_for_the_inbox_roles(app):
    from server.accounts.models import Role

    views = app.view_functions
    for endpoint in ("alerts", "alert", "acknowledge", "resolve"):
        assert views[f"manage_alerts.{endpoint}"].dashboard_roles == {Role.SUPERVISOR, Role.SAFETY_MANAGER, Role.ADMIN}


def test_a_bad_filter_is_a_clear_page_not_a_500(signed, alerts):
    response = signed("admin").get("/manage/alerts/?tab=nonsense")
    assert response.status_code == 422
