"""The misses and pauses API: every role × endpoint, tenancy across two enterprises, filters,
pagination, bad input (a stable 4xx code, never a 500), the correction a supervisor sees, and
the ``zicha misses sweep`` command."""
from __future__ import annotations

import json
from datetime import datetime

import pytest
import sqlalchemy as sa

from server.extensions import db
from server.misses.models import MissedCheck, Pause
from tests.builders import check_record
from tests.misses.conftest import local, sweep

API = "/api/v1"
ROLES = ("admin", "safety_manager", "supervisor", "worker")
READERS = {"admin", "safety_manager", "supervisor"}
MANAGERS = {"admin", "safety_manager"}


def iso(moment: datetime) -> str:
    return moment.isoformat()


@pytest.fixture
def swept(app, world, clock):
    """The world swept at T0 (Monday 10:00): 17–22 November missed on both daily schedules of
    each enterprise (six days each; the 16th began before the schedules existed)."""
    found = sweep(app, clock.now())
    assert len(found) == 24
    return world


def miss_ids(app, tenant, post_id=None) -> list[int]:
    with app.app_context():
        query = sa.select(MissedCheck.id).where(MissedCheck.enterprise_id == tenant.enterprise_id).order_by(MissedCheck.id)
        if post_id is not None:
            query = query.where(MissedCheck.post_id == post_id)
        return list(db.session.scalars(query))


def make_pause(client, tenant, **body):
    body = {"post_id": tenant.post_id, "reason": "停产检修 shutdown", **body}
    r = client.post(f"{API}/pauses", json=body, headers=tenant.auth("admin"))
    assert r.status_code == 201, r.json
    return r.json


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --------------------------------------------------------------------------- role × endpoint

def _endpoints(app, client, tenant):
    """(name, method, url, body, roles allowed); ids on the supervised post, so a supervisor may read them."""
    supervised = miss_ids(app, tenant, tenant.post_id)[0]
    pause = make_pause(client, tenant)
    return [
        ("list misses", "GET", "/misses", None, READERS),
        ("get miss", "GET", f"/misses/{supervised}", None, READERS),
        ("list pauses", "GET", "/pauses", None, READERS),
        ("create pause", "POST", "/pauses", {"schedule_id": tenant.schedules["weekly"], "reason": "设备停用"}, MANAGERS),
        ("get pause", "GET", f"/pauses/{pause['id']}", None, READERS),
        ("end pause", "POST", f"/pauses/{pause['id']}/end", {}, MANAGERS),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_for_every_role(app, client, swept, role):
    a = swept.a
    for name, method, url, body, allowed in _endpoints(app, client, a):
        r = client.open(API + url, method=method, json=body, headers=a.auth(role))
        if role in allowed:
            assert r.status_code in (200, 201), (name, role, r.json)
        else:
            assert (r.status_code, r.json["error"]["code"]) == (403, "forbidden"), (name, role)
        anonymous = client.open(API + url, method=method, json=body)
        assert (anonymous.status_code, anonymous.json["error"]["code"]) == (401, "unauthorized"), name


def test_a_supervisor_sees_only_the_posts_they_supervise(app, client, swept):
    a = swept.a
    r = client.get(f"{API}/misses", headers=a.auth("supervisor"))
    assert r.status_code == 200
    assert {m["post"]["id"] for m in r.json} == {a.post_id} and len(r.json) == 6
    unsupervised = miss_ids(app, a, a.other_post_id)[0]
    assert client.get(f"{API}/misses/{unsupervised}", headers=a.auth("supervisor")).status_code == 404
    assert client.get(f"{API}/misses/{unsupervised}", headers=a.auth("safety_manager")).status_code == 200

    mine, theirs = make_pause(client, a), make_pause(client, a, post_id=a.other_post_id)
    on_schedule = make_pause(client, a, post_id=None, schedule_id=a.schedules["weekly"])
    r = client.get(f"{API}/pauses", headers=a.auth("supervisor"))
    assert sorted(p["id"] for p in r.json) == sorted([mine["id"], on_schedule["id"]])
    assert client.get(f"{API}/pauses/{theirs['id']}", headers=a.auth("supervisor")).status_code == 404


# --------------------------------------------------------------------------- tenancy

def test_another_enterprises_misses_and_pauses_are_not_found(app, client, swept):
    a, b = swept.a, swept.b
    b_miss = miss_ids(app, b)[0]
    b_pause = make_pause(client, b)
    pauses_before = count(app, Pause)
    for role in ("admin", "safety_manager", "supervisor"):
        for url, method, body in (
            (f"/misses/{b_miss}", "GET", None),
            (f"/pauses/{b_pause['id']}", "GET", None),
        ):
            r = client.open(API + url, method=method, json=body, headers=a.auth(role))
            ghost = client.open(API + url.replace(str(b_miss), "990000").replace(f"/{b_pause['id']}", "/990000"), method=method, json=body, headers=a.auth(role))
            assert r.status_code == 404 and r.json == ghost.json, (url, role)
    for role in ("admin", "safety_manager"):
        for body in ({"post_id": b.post_id, "reason": "x"}, {"schedule_id": b.schedules["daily"], "reason": "x"}):
            r = client.post(f"{API}/pauses", json=body, headers=a.auth(role))
            assert (r.status_code, r.json["error"]["code"]) == (404, "not_found")
        r = client.post(f"{API}/pauses/{b_pause['id']}/end", json={}, headers=a.auth(role))
        assert (r.status_code, r.json["error"]["code"]) == (404, "not_found")
    assert count(app, Pause) == pauses_before
    assert client.get(f"{API}/pauses/{b_pause['id']}", headers=b.auth("admin")).json["ends_at"] is None

    for query in ("", f"?post_id={b.post_id}", f"?site_id={b.site_id}", f"?schedule_id={b.schedules['daily']}"):
        r = client.get(f"{API}/misses{query}", headers=a.auth("admin"))
        assert r.status_code == 200
        assert not set(m["id"] for m in r.json) & set(miss_ids(app, b)), query
        assert "乙" not in r.get_data(as_text=True)
    assert client.get(f"{API}/misses?post_id={b.post_id}", headers=a.auth("admin")).json == []
    r = client.get(f"{API}/pauses?post_id={b.post_id}", headers=a.auth("admin"))
    assert r.json == []


# --------------------------------------------------------------------------- reading misses

def test_a_miss_as_the_api_shows_it(app, client, swept):
    a = swept.a
    r = client.get(f"{API}/misses?post_id={a.post_id}&page_size=1", headers=a.auth("safety_manager"))
    assert r.status_code == 200
    [miss] = r.json
    assert json.loads(r.headers["X-Pagination"])["total"] == 6
    assert miss["period_key"] == "2026-11-22" and miss["frequency"] == "daily"  # the most recently closed first
    assert miss["status"] == "missed" and miss["status_zh"] == "漏检"
    assert miss["post"] == {"id": a.post_id, "name": "液氨储罐区", "site_id": a.site_id, "risk_level": "red", "risk_level_zh": "重大风险", "supervisor_id": a.users["supervisor"]}
    assert miss["closed_at"] == "2026-11-22T16:00:00+00:00" and miss["period_start"] == "2026-11-21T16:00:00+00:00"
    assert miss["detected_at"] == "2026-11-23T02:00:00+00:00"
    assert miss["late_check_id"] is None and miss["corrected_at"] is None


def test_filters(app, client, swept):
    a = swept.a
    headers = a.auth("admin")

    def ids(query: str) -> set[int]:
        r = client.get(f"{API}/misses?{query}", headers=headers)
        assert r.status_code == 200, r.json
        return {m["id"] for m in r.json}

    everything = set(miss_ids(app, a))
    assert ids("") == everything and len(everything) == 12
    assert ids(f"post_id={a.other_post_id}") == set(miss_ids(app, a, a.other_post_id))
    assert ids(f"site_id={a.other_site_id}") == set(miss_ids(app, a, a.other_post_id))
    assert ids(f"schedule_id={a.schedules['daily']}") == set(miss_ids(app, a, a.post_id))
    assert ids("frequency=daily") == everything and ids("frequency=weekly") == set()
    assert ids("status=missed") == everything and ids("status=done_late") == set()
    since, until = "2026-11-20T00:00:00%2B08:00", "2026-11-22T00:00:00%2B08:00"  # closed on the 20th and 21st
    assert len(ids(f"since={since}&until={until}")) == 4


def test_a_late_check_shows_as_done_late_to_the_supervisor(app, client, swept, clock):
    a = swept.a
    made = local(2026, 11, 22, 9, 30)  # Sunday morning, synced Monday 10:00 when the phone came back
    record = check_record(a.schedules["daily"], a.version_id, made)
    r = client.post(f"{API}/checks", json=record, headers=a.auth("worker"))
    assert r.status_code == 201 and r.json["period_key"] == "2026-11-22"
    r = client.get(f"{API}/misses?status=done_late", headers=a.auth("supervisor"))
    [miss] = r.json
    assert miss["period_key"] == "2026-11-22" and miss["status_zh"] == "补检/迟报"
    assert miss["late_check_id"] == record["id"]
    assert datetime.fromisoformat(miss["late_performed_at"]) == made
    assert datetime.fromisoformat(miss["late_received_at"]) == clock.now() == datetime.fromisoformat(miss["corrected_at"])
    assert miss["closed_at"] == "2026-11-22T16:00:00+00:00"  # the stamps stay
    # The same record sent again is a duplicate: nothing changes.
    assert client.post(f"{API}/checks", json=record, headers=a.auth("worker")).status_code == 200
    assert len(client.get(f"{API}/misses?status=done_late", headers=a.auth("admin")).json) == 1


@pytest.mark.parametrize(
    "query",
    ["status=bogus", "frequency=hourly", "since=yesterday", "post_id=abc", "page=0", "page_size=1000", "until=2026-11-22T00:00:00"],
)
def test_bad_queries_are_422(client, swept, query):
    r = client.get(f"{API}/misses?{query}", headers=swept.a.auth("admin"))
    assert (r.status_code, r.json["error"]["code"]) == (422, "validation_failed"), r.json


# --------------------------------------------------------------------------- pauses

def test_create_list_and_end_a_pause(client, swept, clock):
    a = swept.a
    created = make_pause(client, a, ends_at=iso(local(2026, 12, 1)))
    assert created["starts_at"] == clock.now().isoformat() and created["in_force"] is True
    assert created["created_by_id"] == a.users["admin"] and created["ended_at"] is None
    future = make_pause(client, a, schedule_id=a.schedules["daily"], post_id=None, starts_at=iso(local(2026, 12, 5)))
    assert future["in_force"] is False and future["ends_at"] is None

    r = client.get(f"{API}/pauses?active=true", headers=a.auth("supervisor"))
    assert [p["id"] for p in r.json] == [created["id"]]
    r = client.get(f"{API}/pauses?active=false", headers=a.auth("admin"))
    assert [p["id"] for p in r.json] == [future["id"]]
    r = client.get(f"{API}/pauses?schedule_id={a.schedules['daily']}", headers=a.auth("admin"))
    assert [p["id"] for p in r.json] == [future["id"]]

    clock.advance(hours=1)
    r = client.post(f"{API}/pauses/{created['id']}/end", json={}, headers=a.auth("safety_manager"))
    assert r.status_code == 200
    assert r.json["ends_at"] == clock.now().isoformat() and r.json["ended_by_id"] == a.users["safety_manager"]
    assert r.json["in_force"] is False
    r = client.post(f"{API}/pauses/{created['id']}/end", json={}, headers=a.auth("admin"))
    assert (r.status_code, r.json["error"]["code"]) == (409, "pause_ended")

    # A planned stoppage called off before it began covers nothing.
    r = client.post(f"{API}/pauses/{future['id']}/end", json={}, headers=a.auth("admin"))
    assert r.status_code == 200 and r.json["ends_at"] == r.json["starts_at"] == "2026-12-04T16:00:00+00:00"


def test_a_pause_is_respected_by_the_sweep_through_the_api(app, client, world, clock):
    a = world.a
    make_pause(client, a, starts_at=iso(local(2026, 11, 20, 12)))
    found = sweep(app, clock.now())
    keys = {(m.schedule_id, m.period_key) for m in found}
    assert (a.schedules["daily"], "2026-11-19") in keys
    assert (a.schedules["daily"], "2026-11-20") not in keys and (a.schedules["daily"], "2026-11-22") not in keys
    assert (a.schedules["other_post_daily"], "2026-11-22") in keys


@pytest.mark.parametrize(
    "body, field",
    [
        ({"reason": "x"}, "post_id"),  # neither target
        ({"post_id": "P", "reason": "x"}, "post_id"),
        ({"post_id": 1, "schedule_id": 1, "reason": "x"}, "post_id"),  # both
        ({"post_id": 1}, "reason"),
        ({"post_id": 1, "reason": ""}, "reason"),
        ({"post_id": 1, "reason": "长" * 501}, "reason"),
        ({"post_id": 1, "reason": "x", "starts_at": "2026-11-23T10:00:00"}, "starts_at"),  # no offset
        ({"post_id": 1, "reason": "x", "starts_at": "2026-11-23T10:00:00+08:00", "ends_at": "2026-11-23T10:00:00+08:00"}, "ends_at"),
        ({"post_id": 1, "reason": "x", "ends_at": "2026-11-01T10:00:00+08:00"}, "ends_at"),  # before the default start (now)
        ({"post_id": 1, "reason": "x", "status": "ended"}, "status"),  # fields a caller may not set are refused
    ],
)
def test_bad_pauses_are_422_and_store_nothing(app, client, swept, body, field):
    a = swept.a
    body = {k: (a.post_id if k == "post_id" and v == 1 else a.schedules["daily"] if k == "schedule_id" else v) for k, v in body.items()}
    r = client.post(f"{API}/pauses", json=body, headers=a.auth("admin"))
    assert (r.status_code, r.json["error"]["code"]) == (422, "validation_failed"), r.json
    assert field in json.dumps(r.json["error"]["details"])
    assert count(app, Pause) == 0


def test_ending_a_pause_checks_its_moment(client, swept, clock):
    a = swept.a
    pause = make_pause(client, a, ends_at=iso(local(2026, 11, 30)))
    url, headers = f"{API}/pauses/{pause['id']}/end", a.auth("admin")
    for ends_at in (iso(local(2026, 11, 23, 9)), iso(local(2026, 12, 5)), "2026-11-24T10:00:00", "soon"):
        r = client.post(url, json={"ends_at": ends_at}, headers=headers)
        assert (r.status_code, r.json["error"]["code"]) == (422, "validation_failed"), ends_at  # past, longer, naive, not a time
    r = client.post(url, json={"ends_at": iso(local(2026, 11, 25))}, headers=headers)
    assert r.status_code == 200 and r.json["ends_at"] == "2026-11-24T16:00:00+00:00"


# --------------------------------------------------------------------------- OpenAPI and CLI

def test_the_endpoints_are_documented(client):
    spec = client.get(f"{API}/openapi.json").json
    for path, methods in {
        "/api/v1/misses": {"get"}, "/api/v1/misses/{miss_id}": {"get"}, "/api/v1/pauses": {"get", "post"},
        "/api/v1/pauses/{pause_id}": {"get"}, "/api/v1/pauses/{pause_id}/end": {"post"},
    }.items():
        assert set(spec["paths"][path]) >= methods
        for method in methods:
            operation = spec["paths"][path][method]
            assert operation["security"] == [{"bearerAuth": []}]
            assert any(code.startswith("2") for code in operation["responses"])
    assert "MissOut" in spec["components"]["schemas"] and "PauseIn" in spec["components"]["schemas"]
    assert "pause_ended" in spec["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"]


def test_the_sweep_command(app, world):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["misses", "sweep", "--now", "2026-11-23T10:00:00+08:00"])
    assert result.exit_code == 0, result.output
    assert "记录漏检 24 条 / recorded 24 missed check(s)" in result.output
    assert "液氨储罐区 (重大风险/red)" in result.output and "daily 2026-11-22" in result.output
    again = runner.invoke(args=["misses", "sweep", "--now", "2026-11-23T10:00:00+08:00"])
    assert again.exit_code == 0 and "recorded 0 missed check(s)" in again.output
    for bad in ("yesterday", "2026-11-23T10:00:00"):
        result = runner.invoke(args=["misses", "sweep", "--now", bad])
        assert result.exit_code == 2 and "--now" in result.output
