"""The dashboard's sign-in in real Chromium: the form, a wrong password, signing in and out."""
from __future__ import annotations

from tests.browser.conftest import sign_in
from tests.builders import PASSWORD


def test_sign_in_wrong_password_then_right_then_sign_out(tablet, live_server, world, artifacts):
    page = tablet
    page.goto(f"{live_server}/manage/")
    assert "/manage/sign-in" in page.url
    assert page.locator("h1").inner_text().startswith("自查")
    page.screenshot(path=str(artifacts / "manage-sign-in.png"))

    page.fill("input[name=enterprise]", "acme")
    page.fill("input[name=username]", "safety_manager")
    page.fill("input[name=password]", "wrong")
    page.click("button.primary")
    assert "企业、用户名或密码错误" in page.locator(".flash-error").inner_text()
    assert page.input_value("input[name=enterprise]") == "acme"

    sign_in(page, live_server, "acme", "safety_manager", PASSWORD)
    assert page.locator(".topbar .role").inner_text() == "安全管理员"
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["zicha_manage"]["httpOnly"] and cookies["zicha_manage"]["path"] == "/manage"

    page.click("text=English")
    assert page.locator(".topbar .role").inner_text() == "Safety manager"
    page.click("text=中文")
    page.click("text=退出登录")
    page.wait_for_url(f"{live_server}/manage/sign-in")
    page.goto(f"{live_server}/manage/")
    assert "/manage/sign-in" in page.url
