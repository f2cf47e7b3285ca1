"""The inbox API: who sees which alert, filters and pages, acknowledge and resolve, settings,
the user's locale; every endpoint × role; and enterprise A never reaching B's alerts."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.accounts.models import Role
from server.alerts import services
from server.extensions import db
from server.posts.models import Post
from tests.alerts.conftest import API, add_user, record_miss
from tests.conftest import T0

ALL = ("admin", "safety_manager", "supervisor", "worker")
INBOX = ("admin", "safety_manager", "supervisor")


@pytest.fixture
def alerts(app, world, clock):
    """In each enterprise: a red miss (reaches the supervisor) and a yellow one on the post with
    no supervisor (reaches the safety managers); plus a second supervisor in A who has none."""
    ids = {}
    with app.app_context():
        add_user(world.a, "supervisor2", Role.SUPERVISOR, "甲二号班组长")
        for tenant in (world.a, world.b):
            if tenant is world.b:
                db.session.get(Post, tenant.post_id).name = "乙秘密储罐"
            red = services.raise_for_misses([record_miss(tenant)])[0]
            clock.advance(minutes=1)
            yellow = services.raise_for_misses([record_miss(tenant, "other_post_daily")])[0]
            ids[tenant.code] = {"red": red, "yellow": yellow}
        db.session.commit()
    return ids


def _ids(response) -> list[int]:
    return [item["id"] for item in response.json]


def test_the_inbox_holds_what_reached_me(client, world, alerts):
    a = world.a
    mine = client.get(f"{API}/alerts", headers=a.auth("supervisor"))
    assert mine.status_code == 200 and _ids(mine) == [alerts["acme"]["red"]]
    item = mine.json[0]
    assert item["post_name"] == "液氨储罐区" and item["risk_level"] == "red" and item["status"] == "open" and item["level"] == 0
    assert item["escalate_at"].startswith("2026-11-23T03:00:00")
    assert _ids(client.get(f"{API}/alerts", headers=a.auth("safety_manager"))) == [alerts["acme"]["yellow"]]
    assert _ids(client.get(f"{API}/alerts", headers=a.auth("admin"))) == []
    assert _ids(client.get(f"{API}/alerts", headers=a.auth("supervisor2"))) == []
    for role in ("admin", "safety_manager"):
        everything = client.get(f"{API}/alerts?all=true", headers=a.auth(role))
        assert _ids(everything) == [alerts["acme"]["yellow"], alerts["acme"]["red"]]  # newest first
    refused = client.get(f"{API}/alerts?all=true", headers=a.auth("supervisor"))
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"


def test_detail_is_for_recipients_and_managers(client, world, alerts):
    a, red = world.a, alerts["acme"]["red"]
    r = client.get(f"{API}/alerts/{red}", headers=a.auth("supervisor"))
    assert r.status_code == 200
    assert [(x["user_id"], x["level"], x["display_name"]) for x in r.json["recipients"]] == [(a.users["supervisor"], 0, "甲企业supervisor")]
    assert [e["kind"] for e in r.json["events"]] == ["created"]
    assert client.get(f"{API}/alerts/{red}", headers=a.auth("safety_manager")).status_code == 200
    other = client.get(f"{API}/alerts/{red}", headers=a.auth("supervisor2"))
    assert other.status_code == 404 and other.json["error"]["code"] == "not_found"
    assert client.get(f"{API}/alerts/{red}/acknowledge", headers=a.auth("supervisor")).status_code == 405


def test_filters_and_pages(client, world, alerts, clock):
    a = world.a
    h = a.auth("admin")
    assert _ids(client.get(f"{API}/alerts?all=1&post_id={a.other_post_id}", headers=h)) == [alerts["acme"]["yellow"]]
    assert _ids(client.get(f"{API}/alerts?all=1&level=0", headers=h)) == [alerts["acme"]["red"]]
    assert _ids(client.get(f"{API}/alerts?all=1&level=1", headers=h)) == [alerts["acme"]["yellow"]]
    assert _ids(client.get(f"{API}/alerts?all=1&kind=failed_item", headers=h)) == []
    assert len(_ids(client.get(f"{API}/alerts?all=1&kind=missed_check&status=open", headers=h))) == 2
    assert _ids(client.get(f"{API}/alerts?all=1&status=resolved", headers=h)) == []
    since = (T0 + timedelta(seconds=30)).isoformat()
    assert _ids(client.get(f"{API}/alerts", query_string={"all": "1", "since": since}, headers=h)) == [alerts["acme"]["yellow"]]
    page = client.get(f"{API}/alerts?all=1&page=2&page_size=1", headers=h)
    assert _ids(page) == [alerts["acme"]["red"]]
    assert '"total": 2' in page.headers["X-Pagination"]


@pytest.mark.parametrize(
    "query",
    ["level=3", "level=x", "kind=bogus", "status=closed", "since=yesterday", "since=2026-11-23T10:00:00", "post_id=abc", "page=0", "page_size=1000"],
)
def test_bad_filters_are_422(client, world, alerts, query):
    r = client.get(f"{API}/alerts?{query}", headers=world.a.auth("admin"))
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "validation_failed"


def test_acknowledge_then_resolve(client, world, alerts, clock):
    a, red = world.a, alerts["acme"]["red"]
    clock.advance(minutes=10)
    r = client.post(f"{API}/alerts/{red}/acknowledge", json={"note": "已安排补检"}, headers=a.auth("supervisor"))
    assert r.status_code == 200, r.json
    assert (r.json["status"], r.json["escalate_at"]) == ("acknowledged", None)
    assert [(e["kind"], e["actor_id"], e["note"]) for e in r.json["events"]][-1] == ("acknowledged", a.users["supervisor"], "已安排补检")
    again = client.post(f"{API}/alerts/{red}/acknowledge", json={}, headers=a.auth("safety_manager"))
    assert again.status_code == 409 and again.json["error"]["code"] == "alert_already_acknowledged"

    no_note = client.post(f"{API}/alerts/{red}/resolve", json={}, headers=a.auth("supervisor"))
    assert no_note.status_code == 422 and "note" in no_note.json["error"]["details"]
    empty = client.post(f"{API}/alerts/{red}/resolve", json={"note": ""}, headers=a.auth("supervisor"))
    assert empty.status_code == 422
    done = client.post(f"{API}/alerts/{red}/resolve", json={"note": "已补检，合格"}, headers=a.auth("supervisor"))
    assert done.status_code == 200 and done.json["status"] == "resolved"
    assert [e["kind"] for e in done.json["events"]] == ["created", "acknowledged", "resolved"]
    for action, body in (("resolve", {"note": "再次"}), ("acknowledge", {})):
        r = client.post(f"{API}/alerts/{red}/{action}", json=body, headers=a.auth("admin"))
        assert r.status_code == 409 and r.json["error"]["code"] == "alert_already_resolved"
    assert client.get(f"{API}/alerts?status=resolved", headers=a.auth("supervisor")).json[0]["id"] == red


def test_a_manager_may_act_on_any_alert_and_a_colleague_may_not(client, world, alerts):
    a, red = world.a, alerts["acme"]["red"]
    r = client.post(f"{API}/alerts/{red}/acknowledge", json={"note": "x"}, headers=a.auth("supervisor2"))
    assert r.status_code == 404
    r = client.post(f"{API}/alerts/{red}/resolve", json={"note": "厂部已处理"}, headers=a.auth("admin"))
    assert r.status_code == 200 and r.json["status"] == "resolved"


@pytest.mark.parametrize("body", [{"note": "x" * 2001}, {"note": 5}, [], {"unknown": 1}])
def test_bad_bodies_are_refused(client, world, alerts, body):
    r = client.post(f"{API}/alerts/{alerts['acme']['red']}/acknowledge", json=body, headers=world.a.auth("supervisor"))
    assert r.status_code == 422 and r.json["error"]["code"] == "validation_failed"


def test_settings_defaults_replace_and_validation(client, world):
    a = world.a
    h = a.auth("admin")
    r = client.get(f"{API}/alert-settings", headers=h)
    assert r.status_code == 200
    assert r.json == {
        "head_user_id": None, "effective_head_ids": [a.users["admin"]], "red_minutes": 60, "orange_minutes": 240,
        "yellow_minutes": 1440, "blue_minutes": None, "digest_hour": 7,
    }
    r = client.put(f"{API}/alert-settings", json={"head_user_id": a.users["safety_manager"], "red_minutes": 30, "blue_minutes": 2880}, headers=h)
    assert r.status_code == 200, r.json
    assert (r.json["head_user_id"], r.json["effective_head_ids"], r.json["red_minutes"], r.json["orange_minutes"], r.json["blue_minutes"]) == (
        a.users["safety_manager"], [a.users["safety_manager"]], 30, 240, 2880,
    )
    # PUT replaces: what is left out is back to its default.
    assert client.put(f"{API}/alert-settings", json={}, headers=h).json["red_minutes"] == 60
    for bad in ({"red_minutes": 0}, {"red_minutes": "60"}, {"digest_hour": 24}, {"orange_minutes": 10**9}, {"color": "red"}):
        r = client.put(f"{API}/alert-settings", json=bad, headers=h)
        assert r.status_code == 422 and r.json["error"]["code"] == "validation_failed", bad
    assert client.put(f"{API}/alert-settings", json={"head_user_id": 999_999}, headers=h).status_code == 404
    # Null means "never escalates" for any colour.
    assert client.put(f"{API}/alert-settings", json={"yellow_minutes": None}, headers=h).json["yellow_minutes"] is None


def test_an_inactive_head_is_refused_and_a_deactivated_one_falls_back(app, client, world):
    from server.accounts.models import User

    a = world.a
    with app.app_context():
        head = add_user(a, "boss", Role.ADMIN, "总经理")
        db.session.commit()
    assert client.put(f"{API}/alert-settings", json={"head_user_id": head}, headers=a.auth("admin")).status_code == 200
    with app.app_context():
        db.session.get(User, head).active = False
        db.session.commit()
    assert client.get(f"{API}/alert-settings", headers=a.auth("admin")).json["effective_head_ids"] == [a.users["admin"]]
    r = client.put(f"{API}/alert-settings", json={"head_user_id": head}, headers=a.auth("admin"))
    assert r.status_code == 422 and r.json["error"]["details"] == {"head_user_id": ["this user is not active"]}


def test_locale_is_mine_to_set(client, world):
    h = world.a.auth("supervisor")
    assert client.get(f"{API}/auth/me", headers=h).json["locale"] == "zh"
    r = client.patch(f"{API}/auth/me", json={"locale": "en"}, headers=h)
    assert r.status_code == 200 and r.json["locale"] == "en"
    assert client.get(f"{API}/auth/me", headers=h).json["locale"] == "en"
    for bad in ({"locale": "fr"}, {}, {"locale": "en", "role": "admin"}):
        assert client.patch(f"{API}/auth/me", json=bad, headers=h).status_code == 422
    assert client.get(f"{API}/auth/me", headers=h).json["role"] == "supervisor"


def test_every_alert_route_is_documented(client):
    spec = client.get(f"{API}/openapi.json").json
    paths = spec["paths"]
    assert {"get"} <= set(paths["/api/v1/alerts"])
    assert {"get"} <= set(paths["/api/v1/alerts/{alert_id}"])
    assert "post" in paths["/api/v1/alerts/{alert_id}/acknowledge"]
    assert "post" in paths["/api/v1/alerts/{alert_id}/resolve"]
    assert {"get", "put"} <= set(paths["/api/v1/alert-settings"])
    assert {"get", "patch"} <= set(paths["/api/v1/auth/me"])


# --------------------------------------------------------------------------- role × endpoint

# name: (method, roles allowed, build(tenant, alerts) -> (url, body))
ENDPOINTS = {
    "list": ("GET", INBOX, lambda t, al: ("/alerts", None)),
    "list-all": ("GET", ("admin", "safety_manager"), lambda t, al: ("/alerts?all=1", None)),
    "detail": ("GET", INBOX, lambda t, al: (f"/alerts/{al['red']}", None)),
    "acknowledge": ("POST", INBOX, lambda t, al: (f"/alerts/{al['red']}/acknowledge", {"note": "收到"})),
    "resolve": ("POST", INBOX, lambda t, al: (f"/alerts/{al['red']}/resolve", {"note": "已处理"})),
    "settings-get": ("GET", ("admin",), lambda t, al: ("/alert-settings", None)),
    "settings-put": ("PUT", ("admin",), lambda t, al: ("/alert-settings", {"red_minutes": 30})),
    "me-patch": ("PATCH", ALL, lambda t, al: ("/auth/me", {"locale": "en"})),
}


@pytest.mark.parametrize("name, role", [(n, r) for n in ENDPOINTS for r in ALL])
def test_role_by_endpoint(client, world, alerts, name, role):
    method, allowed, build = ENDPOINTS[name]
    url, body = build(world.a, alerts["acme"])
    r = client.open(API + url, method=method, json=body, headers=world.a.auth(role))
    if role not in allowed:
        assert r.status_code == 403 and r.json["error"]["code"] == "forbidden", (name, role, r.json)
    else:
        # The red alert reached the supervisor; the managers see every alert.
        assert r.status_code == 200, (name, role, r.json)
    unauthenticated = client.open(API + url, method=method, json=body)
    assert unauthenticated.status_code == 401


# --------------------------------------------------------------------------- tenancy


def _snapshot(app) -> dict:
    from tests.api.test_tenancy import snapshot

    return snapshot(app)


def _ghost() -> dict:
    return {"red": 990_001, "yellow": 990_002}


TENANCY = {
    "detail": ("GET", lambda o: (f"/alerts/{o['red']}", None)),
    "detail-yellow": ("GET", lambda o: (f"/alerts/{o['yellow']}", None)),
    "acknowledge": ("POST", lambda o: (f"/alerts/{o['red']}/acknowledge", {"note": "甲"})),
    "resolve": ("POST", lambda o: (f"/alerts/{o['yellow']}/resolve", {"note": "甲"})),
}


@pytest.mark.parametrize("name, role", [(n, r) for n in TENANCY for r in INBOX])
def test_another_enterprises_alerts_are_not_found(app, client, world, alerts, name, role):
    method, build = TENANCY[name]
    before = _snapshot(app)
    url, body = build(alerts["bravo"])
    r = client.open(API + url, method=method, json=body, headers=world.a.auth(role))
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    assert "乙" not in r.get_data(as_text=True)
    url, body = build(_ghost())
    assert client.open(API + url, method=method, json=body, headers=world.a.auth(role)).json == r.json
    assert _snapshot(app) == before


@pytest.mark.parametrize("role", ["admin", "safety_manager"])
def test_lists_never_show_another_enterprise(client, world, alerts, role):
    b = world.b
    for query in ("all=1", f"all=1&post_id={b.post_id}", f"all=1&post_id={b.other_post_id}", ""):
        r = client.get(f"{API}/alerts?{query}", headers=world.a.auth(role))
        assert r.status_code == 200
        assert not set(_ids(r)) & set(alerts["bravo"].values())
        assert "乙" not in r.get_data(as_text=True)


def test_settings_cannot_name_another_enterprises_head(app, client, world, alerts):
    before = _snapshot(app)
    r = client.put(f"{API}/alert-settings", json={"head_user_id": world.b.users["admin"]}, headers=world.a.auth("admin"))
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    assert _snapshot(app) == before
    # And each enterprise's settings are its own.
    client.put(f"{API}/alert-settings", json={"red_minutes": 5}, headers=world.a.auth("admin"))
    assert client.get(f"{API}/alert-settings", headers=world.b.auth("admin")).json["red_minutes"] == 60


def test_escalation_stays_inside_the_enterprise(app, world, alerts):
    with app.app_context():
        # One level a run: red 0→1 and yellow 1→2 in each enterprise, then red 1→2.
        assert [services.escalate(T0 + timedelta(hours=30)) for _ in range(3)] == [4, 2, 0]
        rows = db.session.execute(
            sa.text("SELECT a.enterprise_id, u.enterprise_id FROM alert_recipients r JOIN alerts a ON a.id = r.alert_id JOIN users u ON u.id = r.user_id")
        ).all()
        assert rows and all(ae == ue for ae, ue in rows)
