"""Sign-in, bearer tokens, sign-out, device revocation, deactivation, roles and users."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from server.accounts.models import ApiToken, Device, Role, User
from server.extensions import db
from tests.builders import PASSWORD

SIGN_IN = "/api/v1/auth/sign-in"
ME = "/api/v1/auth/me"


def sign_in(client, enterprise="acme", username="worker", password=PASSWORD, device=None, headers=None):
    body = {"enterprise": enterprise, "username": username, "password": password}
    if device is not None:
        body["device"] = device
    return client.post(SIGN_IN, json=body, headers=headers or {})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def code(response) -> str:
    return response.json["error"]["code"]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def token_row(app, token: str) -> ApiToken | None:
    with app.app_context():
        row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == sha256(token)))
        db.session.expunge_all()
        return row


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


# --------------------------------------------------------------------------- sign-in


def test_sign_in_issues_a_thirty_day_token_bound_to_the_device(app, client, world, clock):
    device = {"install_id": "acme-new-phone-0001", "name": "小米 14", "platform": "android"}
    r = sign_in(client, device=device)
    assert r.status_code == 201, r.json
    body = r.json
    assert isinstance(body["token"], str) and len(body["token"]) >= 40
    assert body["token_type"] == "Bearer"
    assert datetime.fromisoformat(body["expires_at"]) == clock.now() + timedelta(days=30)
    assert body["user"]["id"] == world.a.users["worker"]
    assert body["user"]["username"] == "worker" and body["user"]["role"] == "worker"
    assert "password" not in body["user"] and "password_hash" not in body["user"]
    assert body["device"]["install_id"] == device["install_id"]
    assert body["device"]["name"] == "小米 14" and body["device"]["platform"] == "android"
    assert body["device"]["user_id"] == world.a.users["worker"]
    assert body["device"]["revoked_at"] is None

    row = token_row(app, body["token"])
    assert row is not None
    assert row.device_id == body["device"]["id"]
    assert row.user_id == world.a.users["worker"]
    assert row.enterprise_id == world.a.enterprise_id
    assert row.expires_at == clock.now() + timedelta(days=30)
    assert row.revoked_at is None
    with app.app_context():
        stored = db.session.get(Device, body["device"]["id"])
        assert stored.enterprise_id == world.a.enterprise_id
        assert stored.install_id == device["install_id"]
        assert stored.last_seen_at == clock.now()


def test_sign_in_without_a_device_gives_an_unbound_token(app, client, world):
    r = sign_in(client, username="admin")
    assert r.status_code == 201, r.json
    assert r.json["device"] is None
    assert token_row(app, r.json["token"]).device_id is None


def test_signing_in_again_from_a_known_install_reuses_its_device(app, client, world):
    before = count(app, Device)
    r = sign_in(client, device={"install_id": "acme-worker-install", "name": "phone", "platform": "android"})
    assert r.status_code == 201, r.json
    assert r.json["device"]["id"] == world.a.device_id
    assert count(app, Device) == before


def test_each_sign_in_gets_its_own_token(client, world):
    first = sign_in(client).json["token"]
    second = sign_in(client).json["token"]
    assert first != second
    assert client.get(ME, headers=bearer(first)).status_code == 200
    assert client.get(ME, headers=bearer(second)).status_code == 200


@pytest.mark.parametrize(
    "enterprise, username, password",
    [
        ("acme", "worker", "wrong password"),
        ("acme", "nobody", PASSWORD),
        ("nonexistent", "worker", PASSWORD),
        ("bravo", "nobody", "wrong password"),
    ],
    ids=["wrong-password", "unknown-user", "unknown-enterprise", "all-wrong"],
)
def test_bad_credentials_are_one_indistinguishable_401(app, client, world, enterprise, username, password):
    reference = sign_in(client, "acme", "worker", "another wrong password")
    tokens = count(app, ApiToken)
    r = sign_in(client, enterprise, username, password)
    assert r.status_code == 401
    assert code(r) == "invalid_credentials"
    assert r.json == reference.json
    assert r.json["error"]["details"] is None
    assert count(app, ApiToken) == tokens


def test_a_username_of_another_enterprise_does_not_sign_in_here(client, world):
    # Every enterprise has a user "admin"; a new username in B is unknown to A.
    r = client.post(
        "/api/v1/users",
        json={"username": "b_only", "display_name": "乙", "role": "worker", "password": "long enough pw"},
        headers=world.b.auth("admin"),
    )
    assert r.status_code == 201, r.json
    assert sign_in(client, "bravo", "b_only", "long enough pw").status_code == 201
    r = sign_in(client, "acme", "b_only", "long enough pw")
    assert r.status_code == 401 and code(r) == "invalid_credentials"


@pytest.mark.parametrize(
    "body, fields",
    [
        ({}, {"enterprise", "username", "password"}),
        ({"enterprise": "acme", "username": "worker"}, {"password"}),
        ({"enterprise": "acme", "password": PASSWORD}, {"username"}),
        ({"username": "worker", "password": PASSWORD}, {"enterprise"}),
        ({"enterprise": "", "username": "worker", "password": PASSWORD}, {"enterprise"}),
        ({"enterprise": "acme", "username": "worker", "password": PASSWORD, "device": {"name": "x"}}, {"device"}),
        ({"enterprise": "acme", "username": "worker", "password": PASSWORD, "device": {"install_id": "short"}}, {"device"}),
    ],
    ids=["empty", "no-password", "no-username", "no-enterprise", "blank-enterprise", "device-no-install-id", "device-short-install-id"],
)
def test_sign_in_with_missing_or_bad_fields_is_422_with_details(app, client, world, body, fields):
    tokens = count(app, ApiToken)
    r = client.post(SIGN_IN, json=body)
    assert r.status_code == 422, r.json
    assert code(r) == "validation_failed"
    assert set(r.json["error"]["details"]) == fields
    assert r.json["error"]["message"]
    assert count(app, ApiToken) == tokens


def test_sign_in_with_a_body_that_is_not_json_is_400(client, world):
    r = client.post(SIGN_IN, data="{not json", content_type="application/json")
    assert r.status_code == 400
    assert code(r) == "invalid_json"


# --------------------------------------------------------------------------- using a token


def test_the_token_identifies_the_user_on_me(client, world):
    token = sign_in(client, username="supervisor").json["token"]
    r = client.get(ME, headers=bearer(token))
    assert r.status_code == 200, r.json
    assert r.json["id"] == world.a.users["supervisor"]
    assert r.json["username"] == "supervisor"
    assert r.json["role"] == "supervisor"
    assert r.json["active"] is True


def test_world_tokens_each_belong_to_their_own_user(client, world):
    for tenant in (world.a, world.b):
        for role in Role:
            r = client.get(ME, headers=tenant.auth(role.value))
            assert r.status_code == 200, r.json
            assert r.json["id"] == tenant.users[role.value]


@pytest.mark.parametrize(
    "header, expected",
    [
        (None, "unauthorized"),
        ("", "unauthorized"),
        ("Bearer", "unauthorized"),
        ("Bearer    ", "unauthorized"),
        ("Basic d29ya2VyOnB3", "unauthorized"),
        ("Token {token}", "unauthorized"),
        ("{token}", "unauthorized"),
        ("Bearer garbage", "invalid_token"),
        ("Bearer {token}x", "invalid_token"),
        ("Bearer " + "A" * 43, "invalid_token"),
        ("Bearer " + "é" * 10, "invalid_token"),
    ],
    ids=["no-header", "empty", "scheme-only", "scheme-blank", "basic", "token-scheme", "no-scheme", "garbage",
         "altered", "well-formed-unknown", "non-ascii"],
)
def test_missing_or_bad_authorization_is_401(client, world, header, expected):
    headers = {} if header is None else {"Authorization": header.format(token=world.a.tokens["worker"])}
    r = client.get(ME, headers=headers)
    assert r.status_code == 401
    assert code(r) == expected
    assert "id" not in r.json


def test_bearer_scheme_is_case_insensitive(client, world):
    r = client.get(ME, headers={"Authorization": f"bearer {world.a.tokens['worker']}"})
    assert r.status_code == 200


def test_tokens_and_passwords_are_stored_hashed(app, client, world):
    r = sign_in(client, device={"install_id": "acme-hash-check-01"})
    token = r.json["token"]
    assert token_row(app, token).token_hash == sha256(token)
    plaintexts = [token, *world.a.tokens.values(), *world.b.tokens.values()]
    with app.app_context():
        conn = db.session.connection()
        for table in ("api_tokens", "devices", "users"):
            for row in conn.execute(sa.text(f"SELECT * FROM {table}")):
                text = " ".join(str(value) for value in row)
                for secret in plaintexts:
                    assert secret not in text, f"plaintext token found in {table}"
                assert PASSWORD not in text, f"plaintext password found in {table}"
        hashes = db.session.scalars(sa.select(User.password_hash)).all()
    assert hashes and all(h.startswith("$argon2") for h in hashes)


# --------------------------------------------------------------------------- expiry and sign-out


def test_a_token_expires_after_thirty_days(client, world, clock):
    token = sign_in(client).json["token"]
    clock.advance(days=29)
    assert client.get(ME, headers=bearer(token)).status_code == 200
    clock.advance(days=2)
    r = client.get(ME, headers=bearer(token))
    assert r.status_code == 401
    assert code(r) == "invalid_token"
    # A fresh sign-in works again.
    assert client.get(ME, headers=bearer(sign_in(client).json["token"])).status_code == 200


def test_sign_out_kills_that_token_only(app, client, world, clock):
    first = sign_in(client).json["token"]
    second = sign_in(client).json["token"]
    r = client.post("/api/v1/auth/sign-out", headers=bearer(first))
    assert r.status_code == 204
    r = client.get(ME, headers=bearer(first))
    assert r.status_code == 401 and code(r) == "invalid_token"
    assert token_row(app, first).revoked_at == clock.now()
    assert client.get(ME, headers=bearer(second)).status_code == 200
    # Signing out twice with a dead token is a 401, not a crash.
    r = client.post("/api/v1/auth/sign-out", headers=bearer(first))
    assert r.status_code == 401 and code(r) == "invalid_token"


def test_sign_out_without_a_token_is_401(client, world):
    r = client.post("/api/v1/auth/sign-out")
    assert r.status_code == 401 and code(r) == "unauthorized"


# --------------------------------------------------------------------------- devices


def revoke(client, tenant, device_id, role="admin"):
    return client.post(f"/api/v1/devices/{device_id}/revoke", headers=tenant.auth(role))


def restore(client, tenant, device_id, role="admin"):
    return client.post(f"/api/v1/devices/{device_id}/restore", headers=tenant.auth(role))


WORKER_DEVICE = {"install_id": "acme-worker-install", "name": "phone", "platform": "android"}


def test_revoking_a_device_kills_its_tokens_at_once(app, client, world, clock):
    # A second token on the same phone dies too.
    second = sign_in(client, device=WORKER_DEVICE).json["token"]
    assert client.get(ME, headers=bearer(second)).status_code == 200

    r = revoke(client, world.a, world.a.device_id)
    assert r.status_code == 200, r.json
    assert r.json["id"] == world.a.device_id
    assert datetime.fromisoformat(r.json["revoked_at"]) == clock.now()

    for token in (world.a.tokens["worker"], second):
        r = client.get(ME, headers=bearer(token))
        assert r.status_code == 401 and code(r) == "invalid_token"
        r = client.get(f"/api/v1/scan/{world.a.post_token}", headers=bearer(token))
        assert r.status_code == 401 and code(r) == "invalid_token"
    with app.app_context():
        device = db.session.get(Device, world.a.device_id)
        assert device.revoked_at == clock.now()
        assert device.revoked_by_id == world.a.users["admin"]
        live = db.session.scalar(
            sa.select(sa.func.count()).select_from(ApiToken).where(ApiToken.device_id == world.a.device_id, ApiToken.revoked_at.is_(None))
        )
        assert live == 0

    # Everyone else is unaffected, in both enterprises.
    for role in ("admin", "safety_manager", "supervisor"):
        assert client.get(ME, headers=world.a.auth(role)).status_code == 200
    for role in Role:
        assert client.get(ME, headers=world.b.auth(role.value)).status_code == 200


def test_a_revoked_device_cannot_sign_in_again(app, client, world):
    assert revoke(client, world.a, world.a.device_id).status_code == 200
    tokens = count(app, ApiToken)
    r = sign_in(client, device=WORKER_DEVICE)
    assert r.status_code == 403
    assert code(r) == "device_revoked"
    # Not even another user of the enterprise on that phone.
    r = sign_in(client, username="supervisor", device=WORKER_DEVICE)
    assert r.status_code == 403 and code(r) == "device_revoked"
    # A wrong password still says only that the credentials are wrong.
    r = sign_in(client, password="wrong password", device=WORKER_DEVICE)
    assert r.status_code == 401 and code(r) == "invalid_credentials"
    assert count(app, ApiToken) == tokens
    # The person is not locked out: a new phone works.
    r = sign_in(client, device={"install_id": "acme-replacement-phone"})
    assert r.status_code == 201
    assert r.json["device"]["id"] != world.a.device_id


def test_revoking_twice_keeps_the_first_revocation(app, client, world, clock):
    first = revoke(client, world.a, world.a.device_id).json["revoked_at"]
    clock.advance(hours=1)
    r = revoke(client, world.a, world.a.device_id)
    assert r.status_code == 200
    assert r.json["revoked_at"] == first


def test_restoring_a_device_allows_sign_in_but_old_tokens_stay_dead(app, client, world):
    old = world.a.tokens["worker"]
    assert revoke(client, world.a, world.a.device_id).status_code == 200
    r = restore(client, world.a, world.a.device_id)
    assert r.status_code == 200, r.json
    assert r.json["revoked_at"] is None
    r = client.get(ME, headers=bearer(old))
    assert r.status_code == 401 and code(r) == "invalid_token"
    r = sign_in(client, device=WORKER_DEVICE)
    assert r.status_code == 201, r.json
    assert r.json["device"]["id"] == world.a.device_id
    assert client.get(ME, headers=bearer(r.json["token"])).status_code == 200
    assert client.get(ME, headers=bearer(old)).status_code == 401


def test_admin_lists_the_enterprise_devices(client, world):
    r = client.get("/api/v1/devices", headers=world.a.auth("admin"))
    assert r.status_code == 200, r.json
    assert [d["id"] for d in r.json] == [world.a.device_id]
    assert r.json[0]["install_id"] == "acme-worker-install"
    assert r.json[0]["user_id"] == world.a.users["worker"]


def test_unknown_device_is_404(client, world):
    for action in (revoke, restore):
        r = action(client, world.a, 999_999)
        assert r.status_code == 404 and code(r) == "not_found"


# --------------------------------------------------------------------------- deactivated users


def set_active(app, user_id: int, active: bool) -> None:
    with app.app_context():
        db.session.get(User, user_id).active = active
        db.session.commit()


def test_a_deactivated_users_tokens_are_refused_at_once(app, client, world):
    set_active(app, world.a.users["supervisor"], False)
    r = client.get(ME, headers=world.a.auth("supervisor"))
    assert r.status_code == 401 and code(r) == "invalid_token"
    r = client.get("/api/v1/schedules", headers=world.a.auth("supervisor"))
    assert r.status_code == 401 and code(r) == "invalid_token"
    r = sign_in(client, username="supervisor")
    assert r.status_code == 401 and code(r) == "invalid_credentials"
    assert r.json == sign_in(client, username="supervisor", password="wrong password").json
    # Reactivated, the same token works again (it was never revoked).
    set_active(app, world.a.users["supervisor"], True)
    assert client.get(ME, headers=world.a.auth("supervisor")).status_code == 200


# --------------------------------------------------------------------------- roles


@pytest.mark.parametrize("role", ["worker", "supervisor", "safety_manager"])
def test_only_admins_see_and_manage_devices(app, client, world, role):
    r = client.get("/api/v1/devices", headers=world.a.auth(role))
    assert r.status_code == 403 and code(r) == "forbidden"
    for action in (revoke, restore):
        r = action(client, world.a, world.a.device_id, role=role)
        assert r.status_code == 403 and code(r) == "forbidden"
    with app.app_context():
        assert db.session.get(Device, world.a.device_id).revoked_at is None
    assert client.get(ME, headers=world.a.auth("worker")).status_code == 200


NEW_USER = {"username": "zhang.san", "display_name": "张三", "role": "worker", "password": "a long password", "phone": "13800000000"}


@pytest.mark.parametrize("role", ["worker", "supervisor", "safety_manager"])
def test_only_admins_create_users(app, client, world, role):
    users = count(app, User)
    r = client.post("/api/v1/users", json=NEW_USER, headers=world.a.auth(role))
    assert r.status_code == 403 and code(r) == "forbidden"
    # Refused before the body is even looked at.
    r = client.post("/api/v1/users", json={}, headers=world.a.auth(role))
    assert r.status_code == 403 and code(r) == "forbidden"
    assert count(app, User) == users


@pytest.mark.parametrize("role, status", [("admin", 200), ("safety_manager", 200), ("supervisor", 403), ("worker", 403)])
def test_who_may_list_users(client, world, role, status):
    r = client.get("/api/v1/users", headers=world.a.auth(role))
    assert r.status_code == status
    if status == 200:
        assert sorted(u["id"] for u in r.json) == sorted(world.a.users.values())
    else:
        assert code(r) == "forbidden"


def test_admin_creates_a_user_who_can_sign_in(app, client, world):
    r = client.post("/api/v1/users", json=NEW_USER, headers=world.a.auth("admin"))
    assert r.status_code == 201, r.json
    body = r.json
    assert body["username"] == "zhang.san" and body["display_name"] == "张三"
    assert body["role"] == "worker" and body["phone"] == "13800000000" and body["active"] is True
    assert "password" not in body and "password_hash" not in body
    with app.app_context():
        user = db.session.get(User, body["id"])
        assert user.enterprise_id == world.a.enterprise_id
        assert user.password_hash.startswith("$argon2")
        assert NEW_USER["password"] not in user.password_hash
    r = sign_in(client, username="zhang.san", password=NEW_USER["password"])
    assert r.status_code == 201
    assert r.json["user"]["id"] == body["id"]


def test_duplicate_username_is_409_but_other_enterprises_may_reuse_it(app, client, world):
    assert client.post("/api/v1/users", json=NEW_USER, headers=world.a.auth("admin")).status_code == 201
    users = count(app, User)
    r = client.post("/api/v1/users", json={**NEW_USER, "display_name": "另一个张三"}, headers=world.a.auth("admin"))
    assert r.status_code == 409
    assert code(r) == "conflict"
    assert "username" in r.json["error"]["details"]
    assert count(app, User) == users
    # An existing builder user name, too.
    r = client.post("/api/v1/users", json={**NEW_USER, "username": "worker"}, headers=world.a.auth("admin"))
    assert r.status_code == 409 and code(r) == "conflict"
    # The same username in the other enterprise is a different person.
    r = client.post("/api/v1/users", json=NEW_USER, headers=world.b.auth("admin"))
    assert r.status_code == 201


@pytest.mark.parametrize(
    "change, field",
    [
        ({"username": "has space"}, "username"),
        ({"username": ""}, "username"),
        ({"password": "short"}, "password"),
        ({"role": "superuser"}, "role"),
        ({"display_name": ""}, "display_name"),
    ],
)
def test_user_creation_validates_input(app, client, world, change, field):
    users = count(app, User)
    r = client.post("/api/v1/users", json={**NEW_USER, **change}, headers=world.a.auth("admin"))
    assert r.status_code == 422
    assert code(r) == "validation_failed"
    assert field in r.json["error"]["details"]
    assert count(app, User) == users


@pytest.mark.parametrize("field, value", [("enterprise_id", "B"), ("active", False), ("password_hash", "$argon2id$x"), ("id", 1)])
def test_fields_a_caller_may_not_set_are_refused_and_never_stored(app, client, world, field, value):
    if value == "B":
        value = world.b.enterprise_id
    users = count(app, User)
    r = client.post("/api/v1/users", json={**NEW_USER, field: value}, headers=world.a.auth("admin"))
    assert r.status_code == 422, r.json
    assert code(r) == "validation_failed"
    assert field in r.json["error"]["details"]
    assert count(app, User) == users


# --------------------------------------------------------------------------- language


def test_messages_follow_accept_language(client, world):
    zh = sign_in(client, password="wrong password")
    en = sign_in(client, password="wrong password", headers={"Accept-Language": "en"})
    en_us = sign_in(client, password="wrong password", headers={"Accept-Language": "en-US,en;q=0.9,zh;q=0.5"})
    assert zh.json["error"]["message"] == "企业、用户名或密码错误"
    assert en.json["error"]["message"] == "Wrong enterprise, username or password"
    assert en_us.json["error"]["message"] == "Wrong enterprise, username or password"
    assert zh.json["error"]["code"] == en.json["error"]["code"] == "invalid_credentials"
    r = client.get(ME, headers={"Accept-Language": "en"})
    assert r.json["error"]["message"] == "Sign-in required"
    r = client.get("/api/v1/devices", headers={**world.a.auth("worker"), "Accept-Language": "en"})
    assert r.json["error"]["message"] == "You may not do this"
