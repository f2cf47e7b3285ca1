"""Tenancy across two enterprises, the role × endpoint matrix, visibility, filters, OpenAPI."""
from __future__ import annotations

import pytest

ROLES = ["worker", "supervisor", "safety_manager", "admin"]
MANAGERS = {"safety_manager", "admin"}
STEP_BODIES = {
    "confirm": {"grade": "general"},
    "reject": {"reason": "不属实"},
    "assign": {"responsible_id": 0, "deadline": "2026-12-01T10:00:00+08:00"},
    "rectify": {"description": "已整改"},
    "verify": {"passed": True},
}
# Roles each endpoint admits at the door (the service may still refuse: rectify by a stranger).
MATRIX = {
    ("POST", ""): set(ROLES),
    ("GET", ""): set(ROLES),
    ("GET", "/{id}"): set(ROLES),
    ("POST", "/{id}/confirm"): MANAGERS,
    ("POST", "/{id}/reject"): MANAGERS,
    ("POST", "/{id}/assign"): MANAGERS,
    ("POST", "/{id}/rectify"): set(ROLES),
    ("POST", "/{id}/verify"): MANAGERS,
}


def _call(client, tenant, method, path, hid, role, body=None):
    url = "/api/v1/hazards" + path.replace("{id}", str(hid))
    return client.open(url, method=method, json=body if method == "POST" else None, headers=tenant.auth(role))


def _body(path, tenant):
    step = path.rsplit("/", 1)[-1]
    body = dict(STEP_BODIES.get(step, {"description": "通道堵塞"}))
    if step == "assign":
        body["responsible_id"] = tenant.users["worker"]
    return body


@pytest.mark.parametrize("method,path", list(MATRIX))
def test_another_enterprise_gets_404_or_sees_nothing(loop, client, world, method, path):
    hid = loop.to("reported")
    for role in ROLES:
        r = _call(client, world.b, method, path, hid, role, _body(path, world.b))
        if path == "":
            if method == "GET":
                assert r.status_code == 200 and r.json == []
            continue
        if role in MATRIX[(method, path)]:
            assert r.status_code == 404 and r.json["error"]["code"] == "not_found", (role, r.json)
        else:
            assert r.status_code == 403
    assert loop.get(hid).json["status"] == "reported"


def test_another_enterprises_post_site_or_person_are_not_found(loop, client, world):
    r = client.post("/api/v1/hazards", json={"description": "x", "post_id": world.b.post_id}, headers=world.a.auth("worker"))
    assert r.status_code == 404
    r = client.post("/api/v1/hazards", json={"description": "x", "site_id": world.b.site_id}, headers=world.a.auth("worker"))
    assert r.status_code == 404
    hid = loop.to("confirmed")
    r = loop.assign(hid, responsible_id=world.b.users["worker"])
    assert r.status_code == 422 and "responsible_id" in r.json["error"]["details"]


@pytest.mark.parametrize("method,path", list(MATRIX))
@pytest.mark.parametrize("role", ROLES)
def test_role_by_endpoint(loop, client, world, method, path, role):
    """Each role at each endpoint, on a hazard in the step's starting status, reported by the role
    itself (so visibility never hides it): the door admits exactly the matrix's roles."""
    start = {"confirm": "reported", "reject": "reported", "assign": "confirmed", "rectify": "assigned", "verify": "rectified"}.get(path.rsplit("/", 1)[-1], "reported")
    hid = loop.report(role=role)["id"]
    steps = {"confirmed": ["confirm"], "assigned": ["confirm", "assign"], "rectified": ["confirm", "assign", "rectify"]}.get(start, [])
    for step in steps:
        assert _call(client, world.a, "POST", f"/{{id}}/{step}", hid, "admin" if step != "rectify" else "worker", _body(step, world.a)).status_code == 200
    r = _call(client, world.a, method, path, hid, role, _body(path, world.a))
    if role not in MATRIX[(method, path)]:
        assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    elif path.endswith("rectify") and role not in {"worker", "supervisor"}:
        assert r.status_code == 403 and r.json["error"]["code"] == "hazard_not_responsible"
    else:
        assert r.status_code in (200, 201), (role, r.json)


def test_every_endpoint_needs_a_token(client, loop):
    hid = loop.to("reported")
    for method, path in MATRIX:
        r = client.open("/api/v1/hazards" + path.replace("{id}", str(hid)), method=method, json={})
        assert r.status_code == 401


def test_visibility_within_the_enterprise(loop, client, world):
    by_worker = loop.report(role="worker")["id"]
    by_manager = loop.report(role="safety_manager", post_id=world.a.other_post_id)["id"]  # a post without supervisor
    on_red_post = loop.report(role="safety_manager")["id"]  # the supervisor's post
    seen = lambda role: {h["id"] for h in client.get("/api/v1/hazards", headers=world.a.auth(role)).json}
    assert seen("worker") == {by_worker}
    assert seen("supervisor") == {by_worker, on_red_post}
    assert seen("admin") == seen("safety_manager") == {by_worker, by_manager, on_red_post}
    assert loop.get(by_manager, role="worker").status_code == 404
    # Being made responsible makes it visible.
    loop.confirm(by_manager)
    loop.assign(by_manager, responsible="worker")
    assert by_manager in seen("worker")


def test_ledger_filters_and_pagination(loop, client, world, clock):
    closed = loop.to("closed")
    major = loop.to("assigned", grade="major")
    loop.report(source="seasonal", type="fire")
    get = lambda q: [h["id"] for h in client.get(f"/api/v1/hazards?{q}", headers=world.a.auth("admin")).json]
    assert get("status=closed") == [closed]
    assert get("grade=major") == [major]
    assert len(get("source=seasonal")) == 1 and len(get("type=fire")) == 1
    assert len(get(f"site_id={world.a.site_id}")) == 3 and get(f"site_id={world.a.other_site_id}") == []
    assert get("until=2020-01-01T00:00:00Z") == [] and len(get(f"since={clock.now().isoformat().replace('+', '%2B')}")) == 3
    r = client.get("/api/v1/hazards?page_size=2", headers=world.a.auth("admin"))
    assert len(r.json) == 2 and '"total": 3' in r.headers["X-Pagination"]
    assert client.get("/api/v1/hazards?status=nope", headers=world.a.auth("admin")).status_code == 422


def test_every_hazard_route_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert set(paths["/api/v1/hazards"]) >= {"get", "post"}
    for step in STEP_BODIES:
        assert "post" in paths[f"/api/v1/hazards/{{hazard_id}}/{step}"]
    assert "get" in paths["/api/v1/hazards/{hazard_id}"]
