"""The users' and devices' pages: each role, each action, tenancy, and what the pages say."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from server.accounts.models import ApiToken, Device, Role, User
from server.extensions import db
from tests.builders import PASSWORD
from tests.manage.conftest import Browser

ME = "/api/v1/auth/me"


def text(response) -> str:
    return response.get_data(as_text=True)


def user_row(app, user_id: int) -> dict:
    with app.app_context():
        row = dict(db.session.execute(sa.select(User.__table__).where(User.id == user_id)).one()._mapping)
        db.session.remove()
        return row


def device_row(app, device_id: int) -> dict:
    with app.app_context():
        row = dict(db.session.execute(sa.select(Device.__table__).where(Device.id == device_id)).one()._mapping)
        db.session.remove()
        return row


def user_id(app, tenant, username: str) -> int | None:
    with app.app_context():
        found = db.session.scalar(sa.select(User.id).where(User.enterprise_id == tenant.enterprise_id, User.username == username))
        db.session.remove()
        return found


def follow(browser: Browser, response):
    """After a form: the 303 and the page it leads to (with its flashed message)."""
    assert response.status_code == 303, text(response)
    return browser.get(response.headers["Location"])


def lock(app, client, username: str) -> None:
    for _ in range(app.config["SIGN_IN_MAX_FAILURES"]):
        client.post("/api/v1/auth/sign-in", json={"enterprise": "acme", "username": username, "password": "wrong password"})


NEW_USER = {"display_name": "张三", "username": "zhang.san", "role": "supervisor", "phone": "13800000000", "password": "a long password"}


# --------------------------------------------------------------------------- who may open what


def test_the_users_page_lists_every_user_of_the_enterprise_for_an_admin(browser_for, world):
    page = browser_for("admin").get("/manage/users")
    assert page.status_code == 200
    html = text(page)
    for role, label in (("worker", "一线员工"), ("supervisor", "班组长"), ("safety_manager", "安全管理员"), ("admin", "企业管理员")):
        assert f"甲企业{role}" in html and label in html
    assert "乙企业" not in html
    assert "共 4 个用户，4 个启用" in html
    assert 'action="/manage/users"' in html and "添加用户" in html
    assert f'href="/manage/users/{world.a.users["worker"]}"' in html


def test_a_safety_manager_reads_the_users_but_may_change_nothing(app, browser_for, world):
    browser = browser_for("safety_manager")
    html = text(browser.get("/manage/users"))
    assert "甲企业worker" in html and "只有企业管理员可以添加或修改用户" in html
    assert "添加用户" not in html and "/manage/users/" not in html and "<form method=\"post\" action=\"/manage/users" not in html
    target = world.a.users["worker"]
    before = user_row(app, target)
    for url, data in (
        ("/manage/users", NEW_USER),
        (f"/manage/users/{target}", {"active": "false"}),
        (f"/manage/users/{target}/password", {"password": "a brand new password"}),
        (f"/manage/users/{target}/unlock", {}),
    ):
        r = browser.post(url, data)
        assert r.status_code == 403 and "无权访问" in text(r), url
    assert browser.get(f"/manage/users/{target}").status_code == 403
    assert user_row(app, target) == before and user_id(app, world.a, "zhang.san") is None


def test_supervisors_open_no_people_page_and_do_nothing(app, browser_for, world):
    browser = browser_for("supervisor")
    target = world.a.users["worker"]
    for url in ("/manage/users", f"/manage/users/{target}", "/manage/devices"):
        r = browser.get(url)
        assert r.status_code == 403 and "无权访问" in text(r), url
    for url in ("/manage/users", f"/manage/users/{target}", f"/manage/devices/{world.a.device_id}/revoke"):
        assert browser.post(url, {"active": "false", **NEW_USER}).status_code == 403, url
    assert user_row(app, target)["active"] is True and device_row(app, world.a.device_id)["revoked_at"] is None


def test_devices_are_for_admins_only(app, browser_for, world):
    browser = browser_for("safety_manager")
    assert browser.get("/manage/devices").status_code == 403
    for action in ("revoke", "restore"):
        assert browser.post(f"/manage/devices/{world.a.device_id}/{action}").status_code == 403
    assert device_row(app, world.a.device_id)["revoked_at"] is None


def test_the_menu_offers_users_and_devices_by_role(browser_for):
    admin = text(browser_for("admin").get("/manage/users"))
    assert 'href="/manage/devices"' in admin
    manager = text(browser_for("safety_manager").get("/manage/users"))
    assert 'href="/manage/users"' in manager and 'href="/manage/devices"' not in manager


# --------------------------------------------------------------------------- tenancy


def test_another_enterprises_user_and_device_are_404_pages_and_untouched(app, browser_for, world):
    browser = browser_for("admin")
    target, device = world.b.users["worker"], world.b.device_id
    before_user, before_device = user_row(app, target), device_row(app, device)
    r = browser.get(f"/manage/users/{target}")
    assert r.status_code == 404 and "未找到" in text(r)
    for url, data in (
        (f"/manage/users/{target}", {"active": "false"}),
        (f"/manage/users/{target}/password", {"password": "a brand new password"}),
        (f"/manage/users/{target}/unlock", {}),
        (f"/manage/devices/{device}/revoke", {}),
        (f"/manage/devices/{device}/restore", {}),
    ):
        r = browser.post(url, data)
        assert r.status_code == 404 and "未找到" in text(r), url
    assert user_row(app, target) == before_user and device_row(app, device) == before_device
    assert browser.client.get(ME, headers=world.b.auth("worker")).status_code == 200
    assert "乙企业" not in text(browser.get("/manage/devices"))


# --------------------------------------------------------------------------- users


def test_an_admin_adds_a_user_who_can_then_sign_in(app, client, browser_for, world):
    browser = browser_for("admin")
    browser.get("/manage/users")
    page = follow(browser, browser.post("/manage/users", {**NEW_USER, "back": "/manage/users"}))
    html = text(page)
    assert "已添加用户 张三" in html and "zhang.san" in html and "13800000000" in html
    row = user_row(app, user_id(app, world.a, "zhang.san"))
    assert (row["display_name"], row["role"], row["phone"], row["active"]) == ("张三", Role.SUPERVISOR.value, "13800000000", True)
    assert Browser(app.test_client()).sign_in("acme", "zhang.san", "a long password").status_code == 303


@pytest.mark.parametrize(
    "change, complaint",
    [({"password": "short"}, "password"), ({"username": "has space"}, "username"), ({"role": "superuser"}, "role"),
     ({"username": "worker"}, "与现有数据冲突")],
)
def test_a_bad_new_user_is_refused_with_the_reason_and_nothing_stored(app, browser_for, world, change, complaint):
    browser = browser_for("admin")
    browser.get("/manage/users")
    page = follow(browser, browser.post("/manage/users", {**NEW_USER, **change, "back": "/manage/users"}))
    html = text(page)
    assert "flash-error" in html and complaint in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.enterprise_id == world.a.enterprise_id)) == 4


def test_the_user_page_shows_the_form_filled_in(browser_for, world):
    html = text(browser_for("admin").get(f"/manage/users/{world.a.users['worker']}"))
    assert 'value="甲企业worker"' in html and '<option value="worker" selected>一线员工</option>' in html
    assert "停用" in html and "设置新密码" in html and "确定停用 甲企业worker" in html


def test_an_admin_changes_name_role_and_phone_and_clears_the_phone(app, browser_for, world):
    browser = browser_for("admin")
    target = world.a.users["worker"]
    url = f"/manage/users/{target}"
    browser.get(url)
    page = follow(browser, browser.post(url, {"display_name": "王组长", "role": "supervisor", "phone": "13900000000", "back": url}))
    assert "王组长 已保存" in text(page)
    assert '<option value="supervisor" selected>班组长</option>' in text(page)
    row = user_row(app, target)
    assert (row["display_name"], row["role"], row["phone"]) == ("王组长", "supervisor", "13900000000")
    follow(browser, browser.post(url, {"display_name": "王组长", "role": "supervisor", "phone": "", "back": url}))
    assert user_row(app, target)["phone"] is None


def test_a_too_long_name_is_refused_and_an_emptied_one_is_kept(app, browser_for, world):
    browser = browser_for("admin")
    url = f"/manage/users/{world.a.users['worker']}"
    browser.get(url)
    follow(browser, browser.post(url, {"display_name": "", "role": "worker", "back": url}))
    # An emptied field is left out, as an API client would: the name stays.
    assert user_row(app, world.a.users["worker"])["display_name"] == "甲企业worker"
    page = follow(browser, browser.post(url, {"display_name": "x" * 101, "back": url}))
    assert "flash-error" in text(page) and "display_name" in text(page)
    assert user_row(app, world.a.users["worker"])["display_name"] == "甲企业worker"


@pytest.mark.parametrize("data", [{"role": "worker"}, {"role": "safety_manager"}, {"active": "false"}])
def test_an_admin_cannot_demote_or_deactivate_themselves(app, browser_for, world, data):
    browser = browser_for("admin")
    me = world.a.users["admin"]
    url = f"/manage/users/{me}"
    html = text(browser.get(url))
    assert "不能修改自己的角色" in html and "不能停用自己的账号" in html and 'name="active"' not in html
    before = user_row(app, me)
    page = follow(browser, browser.post(url, {**data, "back": url}))
    assert page.status_code == 200
    assert "不能停用自己的账号或取消自己的企业管理员角色" in text(page)
    assert user_row(app, me) == before
    assert browser.get("/manage/devices").status_code == 200  # still an admin, still signed in


def test_deactivating_a_user_ends_their_dashboard_session_and_their_phone(app, browser_for, world):
    victim = browser_for("safety_manager")
    assert victim.get("/manage/users").status_code == 200
    admin = browser_for("admin")
    target = world.a.users["safety_manager"]
    url = f"/manage/users/{target}"
    admin.get(url)
    page = follow(admin, admin.post(url, {"active": "false", "back": "/manage/users"}))
    assert "已停用 甲企业safety_manager" in text(page)
    assert "已停用" in text(page)
    r = victim.get("/manage/users")
    assert r.status_code == 302 and r.headers["Location"].startswith("/manage/sign-in")
    assert admin.client.get(ME, headers=world.a.auth("safety_manager")).status_code == 401
    assert victim.sign_in("acme", "safety_manager").status_code == 401
    # Active again: they sign in anew; the old sessions stay ended.
    follow(admin, admin.post(url, {"active": "true", "back": url}))
    assert admin.client.get(ME, headers=world.a.auth("safety_manager")).status_code == 401
    assert victim.sign_in("acme", "safety_manager").status_code == 303


def test_an_admin_sets_a_new_password(app, browser_for, world):
    worker_token = world.a.auth("supervisor")
    browser = browser_for("admin")
    url = f"/manage/users/{world.a.users['supervisor']}"
    browser.get(url)
    page = follow(browser, browser.post(f"{url}/password", {"password": "a brand new password", "back": url}))
    assert "已为 甲企业supervisor 设置新密码" in text(page)
    assert browser.client.get(ME, headers=worker_token).status_code == 401
    fresh = Browser(app.test_client())
    assert fresh.sign_in("acme", "supervisor").status_code == 401
    assert fresh.sign_in("acme", "supervisor", "a brand new password").status_code == 303
    page = follow(browser, browser.post(f"{url}/password", {"password": "short", "back": url}))
    assert "flash-error" in text(page) and "password" in text(page)
    assert Browser(app.test_client()).sign_in("acme", "supervisor", "a brand new password").status_code == 303


def test_a_locked_account_shows_until_when_and_an_admin_unlocks_it(app, client, browser_for, world):
    lock(app, client, "supervisor")
    browser = browser_for("admin")
    html = text(browser.get("/manage/users"))
    minutes = app.config["SIGN_IN_LOCK_MINUTES"]
    # 10:00 Shanghai + the lock: shown in the enterprise's zone, not UTC.
    assert f"锁定至 2026-11-23 10:{minutes:02d}" in html
    assert html.count("锁定至") == 1
    page = follow(browser, browser.post(f"/manage/users/{world.a.users['supervisor']}/unlock", {"back": "/manage/users"}))
    assert "甲企业supervisor 已解除锁定" in text(page) and "锁定至" not in text(page)
    assert Browser(app.test_client()).sign_in("acme", "supervisor").status_code == 303


def test_the_users_page_is_in_english_on_request(browser_for):
    browser = browser_for("admin")
    browser.get("/manage/users")
    browser.post("/manage/language", {"lang": "en", "back": "/manage/users"})
    html = text(browser.get("/manage/users"))
    assert "Add a user" in html and "Safety manager" in html and "4 users, 4 active" in html


# --------------------------------------------------------------------------- devices


def test_the_devices_page_shows_each_phone_its_user_and_when_it_was_last_seen(browser_for, world):
    html = text(browser_for("admin").get("/manage/devices"))
    assert "acme-worker-install" in html and "android" in html and "甲企业worker" in html
    assert "2026-11-16 10:00" in html  # signed in a week before T0, 10:00 Shanghai
    assert "使用中" in html and "共 1 台设备，已停用 0 台" in html
    assert f'action="/manage/devices/{world.a.device_id}/revoke"' in html and "data-confirm=" in html
    assert "bravo-worker-install" not in html


def test_revoking_a_phone_ends_its_token_and_restoring_lets_it_sign_in_again(app, browser_for, world):
    browser = browser_for("admin")
    api = browser.client
    browser.get("/manage/devices")
    assert api.get(ME, headers=world.a.auth("worker")).status_code == 200
    page = follow(browser, browser.post(f"/manage/devices/{world.a.device_id}/revoke", {"back": "/manage/devices"}))
    html = text(page)
    assert "设备 phone 已停用" in html and "已停用 1 台" in html
    assert "2026-11-23 10:00" in html and "操作人：甲企业admin" in html
    assert f'action="/manage/devices/{world.a.device_id}/restore"' in html
    r = api.get(ME, headers=world.a.auth("worker"))
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_token"
    device = {"install_id": "acme-worker-install", "name": "phone", "platform": "android"}
    sign = {"enterprise": "acme", "username": "worker", "password": PASSWORD, "device": device}
    assert api.post("/api/v1/auth/sign-in", json=sign).json["error"]["code"] == "device_revoked"
    row = device_row(app, world.a.device_id)
    assert row["revoked_by_id"] == world.a.users["admin"]
    page = follow(browser, browser.post(f"/manage/devices/{world.a.device_id}/restore", {"back": "/manage/devices"}))
    assert "设备 phone 已恢复" in text(page) and "使用中" in text(page)
    assert api.post("/api/v1/auth/sign-in", json=sign).status_code == 201
    assert api.get(ME, headers=world.a.auth("worker")).status_code == 401  # the old token stays dead
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken).where(ApiToken.device_id == world.a.device_id, ApiToken.revoked_at.is_(None))) == 1


def test_a_form_without_its_csrf_token_is_refused(app, browser_for, world):
    browser = browser_for("admin")
    r = browser.client.post(f"/manage/devices/{world.a.device_id}/revoke", data={})
    assert r.status_code == 400
    assert device_row(app, world.a.device_id)["revoked_at"] is None
