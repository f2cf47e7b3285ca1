"""Changing users through the API: roles, tenancy, deactivation, self-lockout, passwords, unlock."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.accounts.models import ApiToken, User
from server.extensions import db
from tests.builders import PASSWORD

API = "/api/v1"
ME = f"{API}/auth/me"
ROLES = ("admin", "safety_manager", "supervisor", "worker")


def code(response) -> str:
    return response.json["error"]["code"]


def sign_in(client, username: str, password: str = PASSWORD, enterprise: str = "acme"):
    return client.post(f"{API}/auth/sign-in", json={"enterprise": enterprise, "username": username, "password": password})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def user_row(app, user_id: int) -> dict:
    with app.app_context():
        row = db.session.execute(sa.select(User.__table__).where(User.id == user_id)).one()
        db.session.remove()
        return dict(row._mapping)


def endpoints(user_id: int) -> list[tuple[str, str, dict | None, tuple[str, ...]]]:
    """The user endpoints added for the dashboard: method, path, body, roles allowed."""
    item = f"{API}/users/{user_id}"
    return [
        ("GET", item, None, ("admin", "safety_manager")),
        ("PATCH", item, {"display_name": "改名"}, ("admin",)),
        ("POST", f"{item}/password", {"password": "a brand new password"}, ("admin",)),
        ("POST", f"{item}/unlock", None, ("admin",)),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(app, client, world, role):
    target = world.a.users["supervisor"]
    for method, path, body, allowed in endpoints(target):
        r = client.open(path, method=method, json=body, headers=world.a.auth(role))
        if role in allowed:
            assert r.status_code == 200, (method, path, r.json)
            assert r.json["id"] == target
        else:
            assert (r.status_code, code(r)) == (403, "forbidden"), (method, path)
    if role != "admin":
        assert user_row(app, target)["display_name"] == "甲企业supervisor"


def test_every_endpoint_needs_a_token(client, world):
    for method, path, body, _ in endpoints(world.a.users["worker"]):
        r = client.open(path, method=method, json=body)
        assert (r.status_code, code(r)) == (401, "unauthorized"), (method, path)


def test_another_enterprises_user_is_404_and_untouched(app, client, world):
    target = world.b.users["worker"]
    before = user_row(app, target)
    for method, path, body, _ in endpoints(target):
        r = client.open(path, method=method, json=body, headers=world.a.auth("admin"))
        assert (r.status_code, code(r)) == (404, "not_found"), (method, path)
    r = client.patch(f"{API}/users/{target}", json={"active": False}, headers=world.a.auth("admin"))
    assert r.status_code == 404
    assert user_row(app, target) == before
    assert client.get(ME, headers=world.b.auth("worker")).status_code == 200


def test_admin_changes_name_phone_and_role(app, client, world):
    target = world.a.users["worker"]
    r = client.patch(f"{API}/users/{target}", json={"display_name": "王班长", "phone": "13900000000", "role": "supervisor"}, headers=world.a.auth("admin"))
    assert r.status_code == 200, r.json
    assert (r.json["display_name"], r.json["phone"], r.json["role"], r.json["active"]) == ("王班长", "13900000000", "supervisor", True)
    # The new role holds at once, for the token the user already has.
    assert client.get(ME, headers=world.a.auth("worker")).json["role"] == "supervisor"
    r = client.patch(f"{API}/users/{target}", json={"phone": None}, headers=world.a.auth("admin"))
    assert r.json["phone"] is None and user_row(app, target)["phone"] is None


@pytest.mark.parametrize(
    "body, field",
    [({"role": "superuser"}, "role"), ({"display_name": ""}, "display_name"), ({"phone": "1" * 33}, "phone"),
     ({"username": "renamed"}, "username"), ({"password": "a long password"}, "password"), ({"active": "maybe"}, "active")],
)
def test_bad_changes_are_422_and_change_nothing(app, client, world, body, field):
    target = world.a.users["worker"]
    before = user_row(app, target)
    r = client.patch(f"{API}/users/{target}", json=body, headers=world.a.auth("admin"))
    assert (r.status_code, code(r)) == (422, "validation_failed"), r.json
    assert field in r.json["error"]["details"]
    assert user_row(app, target) == before


@pytest.mark.parametrize("body", [{"active": False}, {"role": "safety_manager"}, {"role": "worker", "display_name": "我"}])
def test_an_admin_cannot_deactivate_or_demote_themselves(app, client, world, body):
    me = world.a.users["admin"]
    before = user_row(app, me)
    r = client.patch(f"{API}/users/{me}", json=body, headers=world.a.auth("admin"))
    assert (r.status_code, code(r)) == (409, "self_lockout")
    assert "管理员" in r.json["error"]["message"]
    assert user_row(app, me) == before
    assert client.get(ME, headers=world.a.auth("admin")).json["role"] == "admin"
    # What does not lock anyone out is allowed on oneself.
    r = client.patch(f"{API}/users/{me}", json={"display_name": "厂长", "role": "admin", "active": True}, headers=world.a.auth("admin"))
    assert r.status_code == 200 and r.json["display_name"] == "厂长"


def test_an_admin_may_demote_and_deactivate_another_admin(app, client, world):
    other = client.post(f"{API}/users", json={"username": "admin2", "display_name": "副厂长", "role": "admin", "password": PASSWORD}, headers=world.a.auth("admin")).json["id"]
    token = sign_in(client, "admin2").json["token"]
    r = client.patch(f"{API}/users/{other}", json={"role": "safety_manager"}, headers=world.a.auth("admin"))
    assert r.status_code == 200 and r.json["role"] == "safety_manager"
    assert client.get(f"{API}/devices", headers=bearer(token)).status_code == 403  # no longer an admin, at once
    r = client.patch(f"{API}/users/{other}", json={"active": False}, headers=world.a.auth("admin"))
    assert r.status_code == 200 and r.json["active"] is False


def test_deactivating_revokes_every_token_and_reactivating_does_not_bring_them_back(app, client, world):
    target = world.a.users["worker"]
    second = sign_in(client, "worker").json["token"]
    r = client.patch(f"{API}/users/{target}", json={"active": False}, headers=world.a.auth("admin"))
    assert r.status_code == 200 and r.json["active"] is False
    for headers in (world.a.auth("worker"), bearer(second)):
        r = client.get(ME, headers=headers)
        assert (r.status_code, code(r)) == (401, "invalid_token")
    with app.app_context():
        live = db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken).where(ApiToken.user_id == target, ApiToken.revoked_at.is_(None)))
    assert live == 0
    assert code(sign_in(client, "worker")) == "invalid_credentials"
    client.patch(f"{API}/users/{target}", json={"active": True}, headers=world.a.auth("admin"))
    assert client.get(ME, headers=world.a.auth("worker")).status_code == 401  # the old sessions stay ended
    assert sign_in(client, "worker").status_code == 201
    # Other users keep their sessions.
    assert client.get(ME, headers=world.a.auth("supervisor")).status_code == 200


def test_setting_a_password_signs_the_user_out_elsewhere(app, client, world):
    target = world.a.users["supervisor"]
    r = client.post(f"{API}/users/{target}/password", json={"password": "a brand new password"}, headers=world.a.auth("admin"))
    assert r.status_code == 200 and "password" not in r.json
    assert client.get(ME, headers=world.a.auth("supervisor")).status_code == 401
    assert code(sign_in(client, "supervisor")) == "invalid_credentials"
    assert sign_in(client, "supervisor", "a brand new password").status_code == 201


def test_an_admin_setting_their_own_password_keeps_this_session(client, world):
    other = sign_in(client, "admin").json["token"]
    me = world.a.users["admin"]
    r = client.post(f"{API}/users/{me}/password", json={"password": "a brand new password"}, headers=world.a.auth("admin"))
    assert r.status_code == 200
    assert client.get(ME, headers=world.a.auth("admin")).status_code == 200
    assert client.get(ME, headers=bearer(other)).status_code == 401


@pytest.mark.parametrize("body", [{"password": "short"}, {}, {"password": "x" * 257}])
def test_a_bad_new_password_is_422_and_keeps_the_old(app, client, world, body):
    target = world.a.users["supervisor"]
    r = client.post(f"{API}/users/{target}/password", json=body, headers=world.a.auth("admin"))
    assert (r.status_code, code(r)) == (422, "validation_failed")
    assert "password" in r.json["error"]["details"]
    assert client.get(ME, headers=world.a.auth("supervisor")).status_code == 200
    assert sign_in(client, "supervisor").status_code == 201


def _lock(app, client, username: str) -> None:
    for _ in range(app.config["SIGN_IN_MAX_FAILURES"]):
        sign_in(client, username, "wrong password")
    assert code(sign_in(client, username)) == "account_locked"


def test_unlock_lifts_a_lockout_at_once(app, client, world, clock):
    target = world.a.users["supervisor"]
    _lock(app, client, "supervisor")
    shown = client.get(f"{API}/users/{target}", headers=world.a.auth("admin")).json
    expected = clock.now() + timedelta(minutes=app.config["SIGN_IN_LOCK_MINUTES"])
    assert shown["locked_until"] == expected.isoformat()
    r = client.post(f"{API}/users/{target}/unlock", headers=world.a.auth("admin"))
    assert r.status_code == 200 and r.json["locked_until"] is None
    assert sign_in(client, "supervisor").status_code == 201
    assert user_row(app, target)["failed_sign_ins"] == 0


def test_a_new_password_lifts_a_lockout_too(app, client, world):
    _lock(app, client, "supervisor")
    client.post(f"{API}/users/{world.a.users['supervisor']}/password", json={"password": "a brand new password"}, headers=world.a.auth("admin"))
    assert sign_in(client, "supervisor", "a brand new password").status_code == 201
