"""Running the enterprise in real Chromium: revoke a lost phone, read the users, send a test
notification to a real webhook receiver on 127.0.0.1 and see it delivered."""
from __future__ import annotations

from tests.browser.conftest import sign_in
from tests.builders import PASSWORD
from tests.notifications.conftest import create_channel, receiver, run_delivery  # noqa: F401 (fixture)


def test_admin_revokes_a_phone_reads_the_users_and_tests_a_channel(app, client, tablet, live_server, world, receiver, artifacts):  # noqa: F811
    page = tablet
    channel_id = create_channel(client, world.a, "webhook", receiver, name="安全管理群 Webhook")
    sign_in(page, live_server, "acme", "admin", PASSWORD)

    # Devices: revoke the worker's phone, accepting the browser's confirmation.
    page.goto(f"{live_server}/manage/devices")
    row = page.locator(f"#device-{world.a.device_id}")
    assert "甲企业worker" in row.inner_text() and "使用中" in row.inner_text()
    asked = []

    def accept(dialog):
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    row.locator("button.danger").click()
    page.wait_for_load_state()
    assert asked and "确定停用设备 phone" in asked[0]
    assert "设备 phone 已停用" in page.locator(".flash-ok").inner_text()
    row = page.locator(f"#device-{world.a.device_id}")
    assert "已停用" in row.inner_text() and "操作人：甲企业admin" in row.inner_text() and "恢复" in row.inner_text()
    page.screenshot(path=str(artifacts / "manage-people-devices.png"), full_page=True)
    r = client.get("/api/v1/auth/me", headers=world.a.auth("worker"))
    assert r.status_code == 401 and r.json["error"]["code"] == "invalid_token"

    # Users: every user with their role.
    page.goto(f"{live_server}/manage/users")
    table = page.locator("table").inner_text()
    for name, role in (("甲企业worker", "一线员工"), ("甲企业supervisor", "班组长"), ("甲企业safety_manager", "安全管理员"), ("甲企业admin", "企业管理员")):
        assert name in table and role in table
    assert page.locator("form[action='/manage/users'] button.primary").is_visible()
    page.screenshot(path=str(artifacts / "manage-people-users.png"), full_page=True)

    # Channels: the list masks the URL; send a test; the worker delivers it; the page says so.
    page.goto(f"{live_server}/manage/channels")
    listed = page.locator(f"#channel-{channel_id}").inner_text()
    assert "安全管理群 Webhook" in listed and f"{receiver.base}/…" in listed and "/webhook" not in listed
    page.click(f"#channel-{channel_id} a")
    page.click("#send-test")
    page.wait_for_load_state()
    assert "测试消息 #1 已排队" in page.locator(".flash-ok").inner_text()
    assert "等待发送" in page.locator("#delivery-1").inner_text()
    assert run_delivery(app).delivered == 1
    page.reload()
    assert "已送达" in page.locator("#delivery-1").inner_text()
    assert receiver.problems == [] and receiver.at("/webhook")[0].json["kind"] == "test"
    page.screenshot(path=str(artifacts / "manage-people-channels.png"), full_page=True)
