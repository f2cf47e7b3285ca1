"""The error envelope for every kind of bad request, and the served OpenAPI document."""
from __future__ import annotations

import re

import pytest


def test_malformed_json_is_400_invalid_json(client, world):
    r = client.post("/api/v1/checks", data="{not json", content_type="application/json", headers=world.a.auth())
    assert r.status_code == 400
    assert r.json["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("body", ["[]", '"text"', "42", "null"])
def test_json_that_is_not_an_object_is_refused(client, world, body):
    r = client.post("/api/v1/checks", data=body, content_type="application/json", headers=world.a.auth())
    assert r.status_code in (400, 422)
    assert r.json["error"]["code"] in ("validation_failed", "invalid_json")


def test_nan_is_not_a_number_we_accept(client, world, clock):
    from tests.builders import check_record

    record = check_record(world.a.schedules["daily"], world.a.version_id, clock.now())
    import json

    body = json.dumps(record).replace('"value": 3.5', '"value": NaN')
    assert "NaN" in body
    r = client.post("/api/v1/checks", data=body, content_type="application/json", headers=world.a.auth())
    assert r.status_code in (400, 422) and r.json["error"]["code"] in ("answers_invalid", "invalid_json")


def test_oversize_body_is_413(client, world):
    r = client.post("/api/v1/checks", data=b"{" + b" " * (3 * 1024 * 1024) + b"}", content_type="application/json", headers=world.a.auth())
    assert r.status_code == 413
    assert r.json["error"]["code"] == "payload_too_large"


def test_unknown_route_and_method(client, world):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    r = client.delete("/api/v1/checks", headers=world.a.auth())
    assert r.status_code == 405 and r.json["error"]["code"] == "method_not_allowed"


def test_messages_follow_accept_language(client):
    zh = client.get("/api/v1/auth/me")
    en = client.get("/api/v1/auth/me", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert zh.json["error"]["message"] == "需要登录"
    assert en.json["error"]["message"] == "Sign-in required"
    assert zh.json["error"]["code"] == en.json["error"]["code"] == "unauthorized"


def test_unexpected_exceptions_become_internal_error_json(app, client, world, monkeypatch):
    from server.scan import services

    def boom(*_args):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "scan", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        r = client.get(f"/api/v1/scan/{world.a.post_token}", headers=world.a.auth())
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert r.status_code == 500
    assert r.json == {"error": {"code": "internal_error", "message": "服务器内部错误", "details": None}}


def test_every_route_is_in_the_openapi_document(app, client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    spec = r.json
    documented = set()
    for path, operations in spec["paths"].items():
        for method in operations:
            documented.add((re.sub(r"\{[^}]+\}", "{}", path), method.upper()))
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api-docs") or rule.endpoint == "static":
            continue
        path = re.sub(r"<[^>]+>", "{}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            served.add((path, method))
    assert served - documented == set()
    assert ("/api/v1/scan/{}", "GET") in documented and ("/api/v1/checks", "POST") in documented


def test_openapi_documents_shapes_security_and_errors(client):
    spec = client.get("/api/v1/openapi.json").json
    schemas = spec["components"]["schemas"]
    assert {"CheckIn", "CheckOut", "Scan", "Error"} <= set(schemas) or {"CheckIn", "CheckOut", "ScanOut", "Error"} <= set(schemas)
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    submit = spec["paths"]["/api/v1/checks"]["post"]
    assert submit["security"] == [{"bearerAuth": []}]
    assert {"201", "200", "409", "422", "default"} <= set(submit["responses"])
    error_codes = schemas["ErrorBody"]["properties"]["code"]["enum"]
    assert {"id_conflict", "not_found", "validation_failed", "answers_invalid"} <= set(error_codes)


def test_interactive_docs_are_served(client):
    r = client.get("/api/v1/docs")
    assert r.status_code == 200 and b"swagger" in r.data.lower()


@pytest.mark.parametrize(
    "method, url, body",
    [
        ("get", "/api/v1/scan/abc%00def", None),
        ("get", "/api/v1/checks?period_key=2026%00", None),
        ("post", "/api/v1/sites", {"name": "配电室\u0000"}),
        ("post", "/api/v1/sites", {"name\u0000": "配电室"}),
        ("post", "/api/v1/checks", {"answers": [{"item_id": "a", "value": "x\u0000"}]}),
    ],
)
def test_nul_characters_are_refused_on_every_database(client, world, method, url, body):
    # PostgreSQL cannot store NUL in text: without the guard this is a 500 there, 4xx on SQLite.
    import json

    data = json.dumps(body) if body is not None else None  # NUL travels as \\u0000
    r = getattr(client, method)(url, data=data, content_type="application/json", headers=world.a.auth("admin"))
    assert r.status_code == 400, r.json
    assert r.json["error"]["code"] == "bad_request"


def test_a_lone_surrogate_is_stored_as_a_replacement_character_on_every_database(client, world):
    # "\ud83d" (half an emoji) is valid JSON but no database can store it: without the
    # replacement this is a 500 on both. The same reading serves every JSON endpoint.
    r = client.post("/api/v1/sites", data='{"name": "配电室\\ud83d"}', content_type="application/json", headers=world.a.auth("admin"))
    assert r.status_code == 201, r.json
    assert r.json["name"] == "配电室\ufffd"
    listed = client.get("/api/v1/sites", headers=world.a.auth("admin")).json
    assert "配电室\ufffd" in [s["name"] for s in (listed["items"] if isinstance(listed, dict) else listed)]


WIDE = 2**70  # an integer no database column holds


@pytest.mark.parametrize("url", [
    f"/api/v1/posts/{WIDE}", f"/api/v1/hazards/{WIDE}", f"/api/v1/posts/{2**63}", f"/manage/posts/{WIDE}",
    f"/api/v1/posts/{2**31}", f"/api/v1/hazards/{2**31}", f"/api/v1/notifications/{2**63}/read", f"/api/v1/notifications/{2**40}/read",
])
def test_an_id_past_64_bits_in_a_path_is_not_found(client, world, url):
    # Past a row id (PostgreSQL integer, 2**31 - 1) no row can have it; past 64 bits (a bigint
    # key's, as notifications have) no database can even compare it.
    r = client.open(url, method="POST" if url.endswith("/read") else "GET", headers=world.a.auth("admin"))
    assert r.status_code == 404


@pytest.mark.parametrize(
    "method, url, body",
    [
        ("get", f"/api/v1/checks?post_id={WIDE}", None),
        ("get", f"/api/v1/checks?page={WIDE}", None),
        ("post", "/api/v1/schedules", {"post_id": WIDE, "checklist_id": 1, "frequency": "daily"}),
        ("post", "/api/v1/schedules", {"post_id": 2**63, "checklist_id": 1, "frequency": "daily"}),
        ("post", "/api/v1/checks", {"id": "6f1c1a52-4a63-4b3c-9d7e-2f0b8f0f3c11", "schedule_id": WIDE, "checklist_version_id": WIDE,
                                    "performed_at": "2026-11-23T10:00:00+08:00", "answers": [{"item_id": "a", "value": True}]}),
    ],
)
def test_a_number_past_64_bits_is_never_a_server_error(app, client, world, method, url, body):
    # A row id is bounded (validation_failed, server.extensions.bound_row_ids). Where no rule
    # bounds a number, SQLite cannot bind it (value_out_of_range) and PostgreSQL may compare it
    # and find nothing: a clean answer on both, and nothing written.
    import json

    from server.checks.models import Check
    from server.schedules.models import Schedule
    from tests.push.test_push import count

    before = count(app, Schedule), count(app, Check)
    r = getattr(client, method)(url, data=json.dumps(body) if body else None, content_type="application/json", headers=world.a.auth("admin"))
    assert r.status_code < 500, r.json
    if r.status_code >= 400:
        assert r.json["error"]["code"] in ("value_out_of_range", "not_found", "validation_failed")
    else:
        assert r.json["items"] == [] if isinstance(r.json, dict) else r.json == []
    assert (count(app, Schedule), count(app, Check)) == before
