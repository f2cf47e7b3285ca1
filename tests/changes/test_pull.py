"""GET /api/v1/sync/pull: snapshots, incremental pages, tombstones, cursors, scope and tenancy."""
from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa

from server.accounts.models import Role, User
from server.changes import cursor as cursors
from server.enterprises.models import Site
from server.extensions import db
from server.posts.models import Post
from tests.builders import ITEMS
from tests.changes.device import PULL, Device, counter, fresh_store

API = "/api/v1"
ROLES = ("worker", "supervisor", "safety_manager", "admin")
NEW_ITEMS = [{"id": "guard", "kind": "yes_no", "label": "防护罩完好"}]


def _keys(page: dict) -> list[tuple[str, int, str]]:
    return [(c["type"], c["id"], c["op"]) for c in page["changes"]]


def _ok(r, status=200):
    assert r.status_code == status, r.json
    return r.json


# --- snapshot -------------------------------------------------------------------------------


def test_first_pull_is_a_snapshot_of_everything_needed_offline(client, world):
    a = world.a
    page = _ok(client.get(PULL, headers=a.auth("worker")))
    assert set(page) == {"server_time", "cursor", "more", "reset_required", "changes"}
    assert page["server_time"] == "2026-11-23T02:00:00+00:00"
    assert (page["more"], page["reset_required"]) == (False, False)
    assert _keys(page) == [
        ("enterprise", a.enterprise_id, "upsert"),
        ("site", a.site_id, "upsert"),
        ("site", a.other_site_id, "upsert"),
        ("post", a.post_id, "upsert"),
        ("post", a.other_post_id, "upsert"),
        ("checklist", a.checklist_id, "upsert"),
        ("checklist_version", a.version_id, "upsert"),
        *[("schedule", s, "upsert") for s in sorted(a.schedules.values())],
    ]
    by_key = {(c["type"], c["id"]): c["data"] for c in page["changes"]}
    assert by_key[("enterprise", a.enterprise_id)] == {
        "id": a.enterprise_id, "name": "甲企业", "timezone": "Asia/Shanghai", "shifts": ["00:00", "08:00", "16:00"],
    }
    assert by_key[("post", a.post_id)] == {
        "id": a.post_id, "site_id": a.site_id, "name": "液氨储罐区", "risk_level": "red", "location": "",
        "supervisor_id": a.users["supervisor"], "qr_token": a.post_token,
    }
    assert by_key[("checklist", a.checklist_id)] == {"id": a.checklist_id, "name": "危化品仓库日检", "description": "", "current_version_id": a.version_id}
    version = by_key[("checklist_version", a.version_id)]
    assert [i["id"] for i in version["items"]] == [i["id"] for i in ITEMS] and version["number"] == 1
    assert by_key[("schedule", a.schedules["daily"])] == {
        "id": a.schedules["daily"], "post_id": a.post_id, "checklist_id": a.checklist_id, "frequency": "daily",
        "due_start_minutes": 0, "due_end_minutes": None, "responsible_id": None,
    }


def test_the_snapshot_matches_what_a_scan_shows(client, world):
    """Offline, the device must resolve the same post and versions the online scan gives."""
    a = world.a
    store = fresh_store(client, a.auth("worker"))
    scan = _ok(client.get(f"{API}/scan/{a.post_token}", headers=a.auth("worker")))
    post = next(d for (t, _), d in store.items() if t == "post" and d["qr_token"] == a.post_token)
    assert post["id"] == scan["post"]["id"] and post["name"] == scan["post"]["name"]
    offline = sorted(d["id"] for (t, _), d in store.items() if t == "schedule" and d["post_id"] == post["id"])
    assert offline == [s["schedule_id"] for s in scan["schedules"]]
    for schedule in scan["schedules"]:
        version = store[("checklist_version", schedule["version"]["id"])]
        assert version == schedule["version"]


def test_a_snapshot_is_paged_by_type_and_id(client, world):
    device = Device(client, world.a.auth("worker"))
    pages = device.sync(limit=4)
    assert [len(p["changes"]) for p in pages] == [4, 4, 3]
    assert [p["more"] for p in pages] == [True, True, False]
    assert not any(p["reset_required"] for p in pages)
    assert sum((_keys(p) for p in pages), []) == _keys(_ok(client.get(PULL, headers=world.a.auth("worker"))))
    assert device.store == fresh_store(client, world.a.auth("worker"))


def test_a_snapshot_page_filled_exactly_at_the_end(client, world):
    # 11 entities: a page of 11 ends the snapshot; the next pull is simply empty
    device = Device(client, world.a.auth("worker"))
    page = device.pull(limit=11)
    assert len(page["changes"]) == 11 and page["more"] is True
    page = device.pull(limit=11)
    assert (page["changes"], page["more"]) == ([], False)
    assert device.pull()["changes"] == []


def test_nothing_is_missed_while_a_snapshot_pages(client, world):
    a = world.a
    device = Device(client, a.auth("worker"))
    device.pull(limit=3)  # enterprise, two sites
    # meanwhile: a site already sent is renamed, a post not yet sent is switched off, a new post appears
    _ok(client.patch(f"{API}/sites/{a.site_id}", json={"name": "新仓库"}, headers=a.auth("admin")))
    _ok(client.patch(f"{API}/posts/{a.other_post_id}", json={"active": False}, headers=a.auth("admin")))
    new_post = _ok(client.post(f"{API}/posts", json={"site_id": a.site_id, "name": "新岗位", "risk_level": "blue"}, headers=a.auth("admin")), 201)
    pages = device.sync(limit=3)
    assert pages[-1]["more"] is False
    assert device.store == fresh_store(client, a.auth("worker"))
    assert device.store[("site", a.site_id)]["name"] == "新仓库"
    assert ("post", a.other_post_id) not in device.store and ("post", new_post["id"]) in device.store
    assert device.seq == counter(client.application, a.enterprise_id)[0]


# --- incremental ------------------------------------------------------------------------------


def test_nothing_new_answers_the_same_cursor_and_no_changes(client, world):
    device = Device(client, world.a.auth("worker"))
    device.sync()
    cursor = device.cursor
    for _ in range(2):
        page = device.pull()
        assert (page["changes"], page["more"], page["reset_required"], page["cursor"]) == ([], False, False, cursor)


def test_tombstones_for_what_becomes_invisible(client, world):
    a = world.a
    device = Device(client, a.auth("worker"))
    device.sync()
    _ok(client.patch(f"{API}/posts/{a.other_post_id}", json={"active": False}, headers=a.auth("admin")))
    _ok(client.patch(f"{API}/schedules/{a.schedules['weekly']}", json={"active": False}, headers=a.auth("admin")))
    page = device.pull()
    assert _keys(page) == [("post", a.other_post_id, "delete"), ("schedule", a.schedules["weekly"], "delete")]
    # switched on again: it comes back whole
    _ok(client.patch(f"{API}/posts/{a.other_post_id}", json={"active": True}, headers=a.auth("admin")))
    page = device.pull()
    assert _keys(page) == [("post", a.other_post_id, "upsert")] and page["changes"][0]["data"]["qr_token"]
    assert device.store == fresh_store(client, a.auth("worker"))


def test_a_removed_site_is_a_tombstone(app, client, world):
    a = world.a
    device = Device(client, a.auth("worker"))
    device.sync()
    with app.app_context():
        site = Site(enterprise_id=a.enterprise_id, name="临时区域", created_at=world_time(app))
        db.session.add(site)
        db.session.commit()
        site_id = site.id
    assert _keys(device.pull()) == [("site", site_id, "upsert")]
    with app.app_context():
        db.session.delete(db.session.get(Site, site_id))
        db.session.commit()
    assert _keys(device.pull()) == [("site", site_id, "delete")]
    assert ("site", site_id) not in device.store


def world_time(app):
    return app.extensions["zicha.clock"].now()


def test_rotated_token_travels_and_the_old_one_is_gone(client, world):
    a = world.a
    device = Device(client, a.auth("worker"))
    device.sync()
    rotated = _ok(client.post(f"{API}/posts/{a.post_id}/rotate-token", headers=a.auth("admin")))
    page = device.pull()
    assert _keys(page) == [("post", a.post_id, "upsert")]
    assert page["changes"][0]["data"]["qr_token"] == rotated["qr_token"] != a.post_token
    assert a.post_token not in {d.get("qr_token") for d in device.store.values()}


def test_a_new_version_replaces_the_old_one(client, world):
    a = world.a
    device = Device(client, a.auth("worker"))
    device.sync()
    new = _ok(client.post(f"{API}/checklists/{a.checklist_id}/versions", json={"items": NEW_ITEMS}, headers=a.auth("admin")), 201)
    page = device.pull()
    assert sorted(_keys(page)) == sorted(
        [("checklist_version", new["id"], "upsert"), ("checklist_version", a.version_id, "delete"), ("checklist", a.checklist_id, "upsert")]
    )
    assert device.store[("checklist", a.checklist_id)]["current_version_id"] == new["id"]
    assert ("checklist_version", a.version_id) not in device.store


def test_many_changes_to_one_entity_arrive_once_in_their_latest_state(client, world):
    a = world.a
    device = Device(client, a.auth("worker"))
    device.sync()
    for i in range(5):
        _ok(client.patch(f"{API}/posts/{a.post_id}", json={"name": f"名字{i}"}, headers=a.auth("admin")))
    _ok(client.patch(f"{API}/sites/{a.site_id}", json={"name": "仓库二"}, headers=a.auth("admin")))
    _ok(client.patch(f"{API}/posts/{a.post_id}", json={"location": "东区"}, headers=a.auth("admin")))
    page = device.pull()
    # in the order of each entity's first change in the page, each in its state now
    assert _keys(page) == [("post", a.post_id, "upsert"), ("site", a.site_id, "upsert")]
    assert (page["changes"][0]["data"]["name"], page["changes"][0]["data"]["location"]) == ("名字4", "东区")
    assert device.pull()["changes"] == []


def test_an_entity_changed_then_hidden_in_one_page_is_only_a_tombstone(client, world):
    a = world.a
    device = Device(client, a.auth("worker"))
    device.sync()
    _ok(client.patch(f"{API}/posts/{a.post_id}", json={"name": "改名"}, headers=a.auth("admin")))
    _ok(client.patch(f"{API}/posts/{a.post_id}", json={"active": False}, headers=a.auth("admin")))
    assert _keys(device.pull()) == [("post", a.post_id, "delete")]


def test_changes_across_pages(client, world):
    a = world.a
    device = Device(client, a.auth("worker"))
    device.sync()
    start = device.seq
    made = [_ok(client.post(f"{API}/sites", json={"name": f"区域{i}"}, headers=a.auth("admin")), 201)["id"] for i in range(7)]
    pages = device.sync(limit=3)
    assert [len(p["changes"]) for p in pages] == [3, 3, 1]
    assert [p["more"] for p in pages] == [True, True, False]
    assert [c["id"] for p in pages for c in p["changes"]] == made
    seqs = [cursors.decode(p["cursor"]).seq for p in pages]
    assert seqs == [start + 3, start + 6, start + 7]
    # a page boundary exactly at the end: more is false, nothing is waiting
    _ok(client.post(f"{API}/sites", json={"name": "再一个"}, headers=a.auth("admin")), 201)
    _ok(client.post(f"{API}/sites", json={"name": "又一个"}, headers=a.auth("admin")), 201)
    page = device.pull(limit=2)
    assert len(page["changes"]) == 2 and page["more"] is False


def test_the_page_limit_counts_change_rows_and_dedup_may_shrink_a_page(client, world):
    a = world.a
    device = Device(client, a.auth("worker"))
    device.sync()
    for i in range(4):
        _ok(client.patch(f"{API}/posts/{a.post_id}", json={"name": f"名{i}"}, headers=a.auth("admin")))
    page = device.pull(limit=3)
    assert _keys(page) == [("post", a.post_id, "upsert")] and page["more"] is True
    page = device.pull(limit=3)
    assert _keys(page) == [("post", a.post_id, "upsert")] and page["more"] is False
    assert page["changes"][0]["data"]["name"] == "名3"


# --- limits and cursors -------------------------------------------------------------------------


@pytest.mark.parametrize("limit", ["0", "-1", "1001", "abc", "1.5", ""])
def test_limit_out_of_bounds_is_refused(client, world, limit):
    r = client.get(PULL, query_string={"limit": limit}, headers=world.a.auth("worker"))
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "validation_failed"
    assert "limit" in r.json["error"]["details"]["query"]


def test_limit_bounds_and_default(app, client, world):
    a = world.a
    assert len(_ok(client.get(PULL, query_string={"limit": 1}, headers=a.auth("worker")))["changes"]) == 1
    seq = counter(app, a.enterprise_id)[0]
    with app.app_context():
        now = world_time(app)
        db.session.add_all(Site(enterprise_id=a.enterprise_id, name=f"区{i}", created_at=now) for i in range(1100))
        db.session.commit()
    assert len(_ok(client.get(PULL, headers=a.auth("worker")))["changes"]) == 500
    page = _ok(client.get(PULL, query_string={"limit": 1000}, headers=a.auth("worker")))
    assert len(page["changes"]) == 1000 and page["more"] is True
    # the same 1,100 sites as changes: pages of at most 1,000 as well
    device = Device(client, a.auth("worker"))
    device.cursor = cursors.encode(cursors.Cursor(cursors.decode(page["cursor"]).scope, seq))
    assert [len(p["changes"]) for p in device.sync(limit=1000)] == [1000, 100]


def _raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor!",
        "%%%",
        "MS4",
        "x" * 300,
        "游标",
        _raw("2.0123456789abcdef.5"),  # another protocol version
        _raw("1.0123456789abcdef"),
        _raw("1.0123456789ABCDEF.5"),
        _raw("1.0123456789abcdef.-5"),
        _raw("1.0123456789abcdef.05"),
        _raw("1.0123456789abcdef.5.1"),
        _raw("1.0123456789abcdef.5.6.0"),  # no such entity type
        _raw("1.0123456789abcdef.99999999999999999999"),
        _raw("1.0123456789abcdef.5") + "==",
        _raw("1.0123456789abcdef.5")[:-1] + "V",  # same bytes, not the canonical text
        base64.b64encode(b"1.0123456789abcdef.5\xff").decode(),
    ],
)
def test_a_malformed_cursor_is_a_clear_400(client, world, cursor):
    r = client.get(PULL, query_string={"cursor": cursor}, headers=world.a.auth("worker"))
    assert r.status_code == 400, r.json
    assert r.json["error"]["code"] == "invalid_cursor"


def test_cursors_round_trip():
    for cursor in (cursors.Cursor("0123456789abcdef", 0), cursors.Cursor("0123456789abcdef", 10**17, (5, 123))):
        assert cursors.decode(cursors.encode(cursor)) == cursor


def test_a_cursor_ahead_of_the_log_starts_over(client, world):
    """E.g. the database was restored from a backup older than what the device has seen."""
    device = Device(client, world.a.auth("worker"))
    device.sync()
    current = cursors.decode(device.cursor)
    device.cursor = cursors.encode(cursors.Cursor(current.scope, current.seq + 1))
    page = device.pull()
    assert page["reset_required"] is True and len(page["changes"]) == 11


def test_pull_needs_a_signed_in_user(client, world):
    assert client.get(PULL).status_code == 401


# --- scope and tenancy ----------------------------------------------------------------------------


def test_every_role_keeps_the_same_offline_data(client, world):
    """Scan shows every active post of the enterprise to every role, so the pull does too —
    with the QR tokens, which a worker needs most of all to scan offline."""
    stores = {role: fresh_store(client, world.a.auth(role)) for role in ROLES}
    assert all(store == stores["worker"] for store in stores.values())
    tokens = {d["qr_token"] for (t, _), d in stores["worker"].items() if t == "post"}
    assert world.a.post_token in tokens and len(tokens) == 2


def test_each_role_has_its_own_scope(client, world):
    a = world.a
    manager = Device(client, a.auth("safety_manager"))
    manager.sync()
    worker = Device(client, a.auth("worker"))
    worker.cursor = manager.cursor  # a cursor of another scope
    page = worker.pull()
    assert page["reset_required"] is True and len(page["changes"]) == 11
    assert cursors.decode(page["cursor"]).scope != cursors.decode(manager.cursor).scope


def test_a_role_change_resets_the_device(app, client, world):
    a = world.a
    device = Device(client, a.auth("worker"))
    device.sync()
    with app.app_context():
        db.session.get(User, a.users["worker"]).role = Role.SUPERVISOR
        db.session.commit()
    page = device.pull()
    assert page["reset_required"] is True and page["more"] is False
    assert device.store == fresh_store(client, a.auth("worker"))
    assert device.pull()["reset_required"] is False


def test_new_visibility_rules_reset_every_device(client, world, monkeypatch):
    device = Device(client, world.a.auth("worker"))
    device.sync()
    monkeypatch.setattr(cursors, "SCOPE_RULES", cursors.SCOPE_RULES + 1)
    assert device.pull()["reset_required"] is True


def test_a_reset_mid_snapshot_starts_the_snapshot_again(client, world):
    a = world.a
    manager = Device(client, a.auth("admin"))
    manager.pull(limit=5)  # a snapshot cursor, part way
    worker = Device(client, a.auth("worker"))
    worker.cursor = manager.cursor
    page = worker.pull(limit=5)
    assert page["reset_required"] is True and _keys(page)[0] == ("enterprise", a.enterprise_id, "upsert")


def test_one_enterprise_never_sees_another(app, client, world):
    a, b = world.a, world.b
    a_store = fresh_store(client, a.auth("worker"))
    b_device = Device(client, b.auth("worker"))
    b_device.sync()
    b_before = b_device.cursor
    assert {t for (t, _) in a_store} == {t for (t, _) in b_device.store}
    with app.app_context():
        b_tokens = set(db.session.scalars(sa.select(Post.qr_token).where(Post.enterprise_id == b.enterprise_id)))
    a_ids = {key for key in a_store}
    assert not a_ids & set(b_device.store)
    assert not b_tokens & {d.get("qr_token") for d in a_store.values()}
    # A's writes never reach B's device
    _ok(client.post(f"{API}/sites", json={"name": "甲新区域"}, headers=a.auth("admin")), 201)
    _ok(client.patch(f"{API}/posts/{a.post_id}", json={"active": False}, headers=a.auth("admin")))
    page = b_device.pull()
    assert (page["changes"], page["cursor"]) == ([], b_before)
    # A's cursor in B's hands: a fresh snapshot of B, nothing of A
    a_device = Device(client, a.auth("worker"))
    a_device.sync()
    b_thief = Device(client, b.auth("worker"))
    b_thief.cursor = a_device.cursor
    pages = b_thief.sync()
    assert pages[0]["reset_required"] is True
    assert b_thief.store == b_device.store
    assert "甲" not in str(pages)
    # ... and B's snapshot cursor in A's hands too
    snapshot_of_b = Device(client, b.auth("admin"))
    snapshot_of_b.pull(limit=2)
    a_thief = Device(client, a.auth("admin"))
    a_thief.cursor = snapshot_of_b.cursor
    page = a_thief.pull()
    assert page["reset_required"] is True and "乙" not in str(page)


def test_pull_is_in_the_openapi_document(client):
    spec = client.get(f"{API}/openapi.json").json
    operation = spec["paths"][f"{API}/sync/pull"]["get"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert {p["name"] for p in operation["parameters"]} >= {"cursor", "limit"}
    schemas = spec["components"]["schemas"]
    assert {"PullPage", "Change"} <= set(schemas)
    assert "invalid_cursor" in schemas["ErrorBody"]["properties"]["code"]["enum"]
