"""Signing in to the dashboard: the form, the cookie, CSRF, lockout, roles, signing out."""
from __future__ import annotations


import sqlalchemy as sa

from server.accounts.models import ApiToken, User
from server.extensions import db
from tests.builders import PASSWORD
from tests.manage.conftest import Browser, csrf_of


def test_sign_in_sets_a_scoped_http_only_cookie_and_lands_on_the_dashboard(app, client, world):
    browser = Browser(client)
    response = browser.sign_in("acme", "safety_manager")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/manage")
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("zicha_manage="))
    assert "Path=/manage" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/manage/", follow_redirects=True)
    assert page.status_code == 200
    assert "安全管理员" in page.get_data(as_text=True) or "safety_manager" not in page.get_data(as_text=True)


def test_the_dashboard_cookie_never_reaches_the_api_or_the_public_pages(app, client, world):
    Browser(client).sign_in("acme", "admin")
    assert client.get("/api/v1/auth/me").status_code == 401  # the cookie is not a bearer token
    assert client.get_cookie("zicha_manage", path="/manage") is not None


def test_pages_need_a_session_and_send_back_after_sign_in(client, world):
    response = client.get("/manage/?from=digest")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/manage/sign-in?next=")
    page = client.get(response.headers["Location"])
    token = csrf_of(page.get_data(as_text=True))
    signed = client.post("/manage/sign-in", data={"enterprise": "acme", "username": "admin", "password": PASSWORD, "csrf_token": token, "next": "/manage/?from=digest"})
    assert signed.headers["Location"] == "/manage/?from=digest"


def test_next_never_leaves_the_dashboard(client, world):
    page = client.get("/manage/sign-in")
    token = csrf_of(page.get_data(as_text=True))
    for target in ("https://evil.example/", "//evil.example/manage", "/api/v1/auth/me", "/manage\\@evil"):
        client.post("/manage/sign-out")  # whatever state
        client.delete_cookie("zicha_manage", path="/manage")
        page = client.get("/manage/sign-in")
        token = csrf_of(page.get_data(as_text=True))
        r = client.post("/manage/sign-in", data={"enterprise": "acme", "username": "admin", "password": PASSWORD, "csrf_token": token, "next": target})
        assert r.status_code == 303 and r.headers["Location"] == "/manage/", target


def test_a_wrong_password_shows_the_form_again_with_a_message(client, world):
    r = Browser(client).sign_in("acme", "admin", "wrong")
    assert r.status_code == 401
    html = r.get_data(as_text=True)
    assert "企业、用户名或密码错误" in html and 'value="acme"' in html and 'value="admin"' in html
    assert client.get_cookie("zicha_manage", path="/manage") is None or "token" not in (client.get_cookie("zicha_manage", path="/manage").value)


def test_sign_in_without_the_csrf_token_is_refused(client, world):
    r = client.post("/manage/sign-in", data={"enterprise": "acme", "username": "admin", "password": PASSWORD})
    assert r.status_code == 400
    assert client.get("/manage/", follow_redirects=False).headers["Location"].startswith("/manage/sign-in")


def test_workers_are_sent_to_the_phone_app(client, world):
    r = Browser(client).sign_in("acme", "worker")
    assert r.status_code == 403
    assert client.get("/manage/", follow_redirects=False).headers["Location"].startswith("/manage/sign-in")


def test_lockout_after_repeated_wrong_passwords_then_it_lifts(app, client, clock, world):
    browser = Browser(client)
    for _ in range(app.config["SIGN_IN_MAX_FAILURES"]):
        assert browser.sign_in("acme", "admin", "wrong").status_code == 401
    locked = browser.sign_in("acme", "admin", PASSWORD)
    assert locked.status_code == 429
    assert "锁定" in locked.get_data(as_text=True)
    # the API's door is the same account: locked there too
    api = client.post("/api/v1/auth/sign-in", json={"enterprise": "acme", "username": "admin", "password": PASSWORD})
    assert api.status_code == 429 and api.json["error"]["code"] == "account_locked"
    clock.advance(minutes=app.config["SIGN_IN_LOCK_MINUTES"], seconds=1)
    assert browser.sign_in("acme", "admin", PASSWORD).status_code == 303
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.id == world.a.users["admin"]))
        assert user.failed_sign_ins == 0 and user.locked_until is None


def test_api_wrong_passwords_count_towards_the_lockout(app, client, world):
    for _ in range(app.config["SIGN_IN_MAX_FAILURES"]):
        r = client.post("/api/v1/auth/sign-in", json={"enterprise": "acme", "username": "supervisor", "password": "nope"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/sign-in", json={"enterprise": "acme", "username": "supervisor", "password": PASSWORD})
    assert r.json["error"]["code"] == "account_locked"
    # another account of the same enterprise is untouched
    assert client.post("/api/v1/auth/sign-in", json={"enterprise": "acme", "username": "admin", "password": PASSWORD}).status_code == 201


def test_sign_out_revokes_the_session_token(app, browser_for):
    browser = browser_for("admin")
    assert browser.get("/manage/", follow_redirects=True).status_code == 200
    r = browser.post("/manage/sign-out")
    assert r.status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken).where(ApiToken.revoked_at.is_not(None))) >= 1
    assert browser.client.get("/manage/").headers["Location"].startswith("/manage/sign-in")


def test_a_session_ends_when_its_user_is_deactivated(app, browser_for, world):
    browser = browser_for("safety_manager")
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == world.a.users["safety_manager"]).values(active=False))
        db.session.commit()
    assert browser.client.get("/manage/").headers["Location"].startswith("/manage/sign-in")


def test_a_session_expires(app, clock, browser_for):
    browser = browser_for("admin")
    clock.advance(hours=app.config["MANAGE_SESSION_HOURS"], minutes=1)
    assert browser.client.get("/manage/").headers["Location"].startswith("/manage/sign-in")


def test_posting_a_form_without_its_csrf_token_is_refused(browser_for):
    browser = browser_for("admin")
    r = browser.client.post("/manage/language", data={"lang": "en"})
    assert r.status_code == 400


def test_language_switch_is_remembered_on_the_account(app, browser_for, world):
    browser = browser_for("admin")
    r = browser.post("/manage/language", {"lang": "en", "back": "/manage/"})
    assert r.status_code == 303
    page = browser.get("/manage/", follow_redirects=True).get_data(as_text=True)
    assert "Sign out" in page
    with app.app_context():
        assert db.session.get(User, world.a.users["admin"]).locale == "en"


def test_pages_are_not_cached_or_framed(browser_for):
    r = browser_for("admin").get("/manage/", follow_redirects=True)
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
