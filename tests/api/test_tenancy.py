"""Tenancy: enterprise A can neither see nor change anything of enterprise B.

Every endpoint that takes an id (in its URL or its body) is called by A's users with B's ids.
The answer must be 404 ``not_found`` — never 403, never 200 — byte for byte the answer for an id
that does not exist at all, with nothing of B in it; and afterwards not one row of the database
has changed. List endpoints for A show none of B's objects, whatever filter names B's ids.
"""
from __future__ import annotations

import copy
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.enterprises.models import Site
from server.extensions import db
from server.posts.models import Post
from tests.builders import ITEMS, Tenant, check_record

API = "/api/v1"
ALL = ("admin", "safety_manager", "supervisor", "worker")
MANAGERS = ("admin", "safety_manager")
READERS = ("admin", "safety_manager", "supervisor")
ADMIN = ("admin",)

# Everything of B carries the character 乙 (A's data never does) or one of B's unguessable strings.
B_SECRETS = ["乙", "bravo", "bravo-worker-install"]

NEW_ITEMS = [{"id": "guard", "kind": "yes_no", "label": "防护罩完好"}]


def _ghost() -> Tenant:
    """An enterprise that does not exist: ids no row has."""
    ghost = Tenant(enterprise_id=990_000, code="ghost")
    ghost.users = {role: 990_001 + i for i, role in enumerate(ALL)}
    ghost.site_id, ghost.other_site_id = 990_010, 990_011
    ghost.post_id, ghost.other_post_id = 990_020, 990_021
    ghost.post_token = "G" * 43
    ghost.checklist_id, ghost.version_id = 990_030, 990_031
    ghost.schedules = {"daily": 990_040, "weekly": 990_041, "monthly": 990_042, "other_post_daily": 990_043}
    ghost.device_id = 990_050
    ghost.check_id = "00000000-0000-4000-8000-000000000000"
    return ghost


@pytest.fixture
def tenants(app, client, world, clock):
    """The world, with B's objects given names only B has, and one check in each enterprise."""
    b = world.b
    with app.app_context():
        for site_id, name in ((b.site_id, "乙秘密仓库"), (b.other_site_id, "乙秘密配电室")):
            db.session.get(Site, site_id).name = name
        for post_id, name in ((b.post_id, "乙秘密储罐"), (b.other_post_id, "乙秘密配电柜")):
            db.session.get(Post, post_id).name = name
            db.session.get(Post, post_id).location = "乙厂东区"
        db.session.commit()
    items = copy.deepcopy(ITEMS)
    for item in items:
        item["label"] = "乙秘密" + item["label"]
    r = client.post(
        f"{API}/checklists/{b.checklist_id}/versions", json={"items": items, "title": "乙秘密日检表"}, headers=b.auth("admin")
    )
    assert r.status_code == 201, r.json
    b.version_id = r.json["id"]
    clock.advance(hours=1)
    for tenant in (world.a, world.b):
        record = check_record(tenant.schedules["daily"], tenant.version_id, clock.now() - timedelta(minutes=5), note=f"{tenant.code} note")
        if tenant is b:
            record["note"] = "乙秘密备注"
        r = client.post(f"{API}/checks", json=record, headers=tenant.auth("worker"))
        assert r.status_code == 201, r.json
        tenant.check_id = record["id"]
    return world.a, world.b, _ghost()


def snapshot(app) -> dict:
    """Every row of every table (a device's last_seen_at aside: signing in touches it)."""
    with app.app_context():
        state = {}
        conn = db.session.connection()
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if not (table.name == "devices" and c.name == "last_seen_at")]
            rows = conn.execute(sa.select(*columns).order_by(*table.primary_key.columns)).all()
            state[table.name] = [tuple(row) for row in rows]
        db.session.remove()
        return state


def assert_nothing_of_b(response, b: Tenant) -> None:
    text = response.get_data(as_text=True)
    for secret in [*B_SECRETS, b.post_token, str(b.check_id)]:
        assert secret not in text, f"{secret!r} leaked: {text[:300]}"


# --------------------------------------------------------------------------- the matrix
#
# name: (method, roles that may call the endpoint at all, build(a, other) -> (url, json body))
# ``other`` is B in the test and a tenant that does not exist in the reference call.

CASES = {
    # sites
    "site-get": ("GET", ALL, lambda a, o: (f"/sites/{o.site_id}", None)),
    "site-patch": ("PATCH", ADMIN, lambda a, o: (f"/sites/{o.site_id}", {"name": "甲改名"})),
    "site-create-parent": ("POST", ADMIN, lambda a, o: ("/sites", {"name": "甲新区", "parent_id": o.site_id})),
    "site-move-under": ("PATCH", ADMIN, lambda a, o: (f"/sites/{a.site_id}", {"parent_id": o.site_id})),
    # posts
    "post-get": ("GET", READERS, lambda a, o: (f"/posts/{o.post_id}", None)),
    "post-patch": ("PATCH", ADMIN, lambda a, o: (f"/posts/{o.post_id}", {"name": "甲改名", "location": "x"})),
    "post-create-site": ("POST", ADMIN, lambda a, o: ("/posts", {"site_id": o.site_id, "name": "甲岗", "risk_level": "red"})),
    "post-create-supervisor": (
        "POST", ADMIN,
        lambda a, o: ("/posts", {"site_id": a.site_id, "name": "甲岗", "risk_level": "red", "supervisor_id": o.users["supervisor"]}),
    ),
    "post-move-to-site": ("PATCH", ADMIN, lambda a, o: (f"/posts/{a.post_id}", {"site_id": o.site_id})),
    "post-set-supervisor": ("PATCH", ADMIN, lambda a, o: (f"/posts/{a.post_id}", {"supervisor_id": o.users["supervisor"]})),
    "post-rotate-token": ("POST", ADMIN, lambda a, o: (f"/posts/{o.post_id}/rotate-token", None)),
    "post-label-png": ("GET", MANAGERS, lambda a, o: (f"/posts/{o.post_id}/label.png", None)),
    "post-label-svg": ("GET", MANAGERS, lambda a, o: (f"/posts/{o.post_id}/label.svg", None)),
    "site-labels-pdf": ("GET", MANAGERS, lambda a, o: (f"/sites/{o.site_id}/labels.pdf", None)),
    # checklists and versions
    "checklist-get": ("GET", ALL, lambda a, o: (f"/checklists/{o.checklist_id}", None)),
    "checklist-publish": ("POST", MANAGERS, lambda a, o: (f"/checklists/{o.checklist_id}/versions", {"items": NEW_ITEMS})),
    "version-get": ("GET", ALL, lambda a, o: (f"/checklists/{o.checklist_id}/versions/{o.version_id}", None)),
    "version-get-under-own-checklist": ("GET", ALL, lambda a, o: (f"/checklists/{a.checklist_id}/versions/{o.version_id}", None)),
    "own-version-under-other-checklist": ("GET", ALL, lambda a, o: (f"/checklists/{o.checklist_id}/versions/{a.version_id}", None)),
    # schedules
    "schedule-get": ("GET", READERS, lambda a, o: (f"/schedules/{o.schedules['daily']}", None)),
    "schedule-patch": ("PATCH", MANAGERS, lambda a, o: (f"/schedules/{o.schedules['daily']}", {"active": False})),
    "schedule-create-post": (
        "POST", MANAGERS, lambda a, o: ("/schedules", {"post_id": o.post_id, "checklist_id": a.checklist_id, "frequency": "daily"})
    ),
    "schedule-create-checklist": (
        "POST", MANAGERS, lambda a, o: ("/schedules", {"post_id": a.post_id, "checklist_id": o.checklist_id, "frequency": "daily"})
    ),
    "schedule-create-responsible": (
        "POST", MANAGERS,
        lambda a, o: ("/schedules", {"post_id": a.post_id, "checklist_id": a.checklist_id, "frequency": "daily",
                                     "responsible_id": o.users["worker"]}),
    ),
    "schedule-set-responsible": (
        "PATCH", MANAGERS, lambda a, o: (f"/schedules/{a.schedules['daily']}", {"responsible_id": o.users["worker"]})
    ),
    # devices
    "device-revoke": ("POST", ADMIN, lambda a, o: (f"/devices/{o.device_id}/revoke", None)),
    "device-restore": ("POST", ADMIN, lambda a, o: (f"/devices/{o.device_id}/restore", None)),
    # checks and scanning
    "check-get": ("GET", ALL, lambda a, o: (f"/checks/{o.check_id}", None)),
    "check-review": ("POST", MANAGERS, lambda a, o: (f"/checks/{o.check_id}/reviews", {"verdict": "questionable", "note": "甲存疑"})),
    "check-reviews": ("GET", READERS, lambda a, o: (f"/checks/{o.check_id}/reviews", None)),
    "scan": ("GET", ALL, lambda a, o: (f"/scan/{o.post_token}", None)),
    "check-submit-schedule": (
        "POST", ALL,
        lambda a, o: ("/checks", {**check_record(o.schedules["daily"], a.version_id, a.performed_at),
                                  "id": "11111111-1111-4111-8111-111111111111"}),
    ),
}

MATRIX = [
    pytest.param(name, role, id=f"{name}-{role}")
    for name, (_method, roles, _build) in CASES.items()
    for role in roles
]


def call(client, name: str, role: str, a: Tenant, other: Tenant):
    method, _roles, build = CASES[name]
    url, body = build(a, other)
    return client.open(API + url, method=method, json=body, headers=a.auth(role))


@pytest.mark.parametrize("name, role", MATRIX)
def test_another_enterprises_ids_are_not_found(app, client, clock, tenants, name, role):
    a, b, ghost = tenants
    a.performed_at = b.performed_at = ghost.performed_at = clock.now() - timedelta(minutes=1)
    before = snapshot(app)

    r = call(client, name, role, a, b)
    assert r.status_code == 404, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.mimetype == "application/json"
    assert r.json["error"]["code"] == "not_found"
    assert_nothing_of_b(r, b)

    # Exactly what an id that exists nowhere gets: B's ids reveal nothing.
    reference = call(client, name, role, a, ghost)
    assert reference.status_code == 404
    assert r.json == reference.json

    assert snapshot(app) == before


def test_the_matrix_calls_succeed_with_own_ids(app, client, clock, tenants):
    """The matrix is meaningful: with A's own ids the same calls are not refused."""
    a, _b, _ghost = tenants
    a.performed_at = clock.now() - timedelta(minutes=1)
    for name, (_method, roles, _build) in CASES.items():
        if name in {"own-version-under-other-checklist", "version-get-under-own-checklist"}:
            continue
        r = call(client, name, roles[0], a, a)
        if name == "post-rotate-token":
            a.post_token = r.json["qr_token"]
        if name in {"site-move-under"}:
            assert r.status_code == 422, name  # a site inside itself
        else:
            assert r.status_code in (200, 201, 204), (name, r.status_code, r.get_data(as_text=True)[:300])


# --------------------------------------------------------------------------- body ids answered otherwise


def test_a_check_naming_another_enterprises_version_is_refused_like_an_unknown_version(app, client, clock, tenants):
    a, b, ghost = tenants
    before = snapshot(app)
    answers = []
    for other in (b, ghost):
        record = check_record(a.schedules["daily"], other.version_id, clock.now() - timedelta(minutes=1))
        record["id"] = "22222222-2222-4222-8222-222222222222"
        r = client.post(f"{API}/checks", json=record, headers=a.auth("worker"))
        assert r.status_code in (404, 422), r.json
        assert_nothing_of_b(r, b)
        answers.append(r.json)
    assert answers[0] == answers[1]
    assert snapshot(app) == before


def test_reusing_another_enterprises_check_id_reveals_and_changes_nothing(app, client, clock, tenants):
    a, b, _ghost = tenants
    before = snapshot(app)
    record = check_record(a.schedules["daily"], a.version_id, clock.now() - timedelta(minutes=1))
    record["id"] = b.check_id
    r = client.post(f"{API}/checks", json=record, headers=a.auth("worker"))
    assert r.status_code not in (200, 201, 403), r.json
    assert "乙" not in r.get_data(as_text=True)
    assert "answers" not in r.json
    assert snapshot(app) == before


# --------------------------------------------------------------------------- lists


def ids_of(app, table: str, enterprise_id: int) -> set:
    with app.app_context():
        rows = db.session.execute(sa.text(f"SELECT id FROM {table} WHERE enterprise_id = :e"), {"e": enterprise_id}).scalars().all()
        db.session.remove()
    return {norm(i) for i in rows}


def norm(ident) -> str:
    """An id as text; UUIDs in one spelling whatever the database keeps."""
    try:
        return uuid.UUID(str(ident)).hex
    except ValueError:
        return str(ident)


LISTS = [
    # (url built from (a, b), table, roles, B-filter: the answer must be empty)
    ("/sites", "sites", ALL, False),
    ("/posts", "posts", READERS, False),
    ("/posts?site_id={b.site_id}", "posts", READERS, True),
    ("/checklists", "checklists", ALL, False),
    ("/schedules", "schedules", READERS, False),
    ("/schedules?post_id={b.post_id}", "schedules", READERS, True),
    ("/users", "users", MANAGERS, False),
    ("/devices", "devices", ADMIN, False),
    ("/checks", "checks", READERS, False),
    ("/checks/mine", "checks", ALL, False),
    ("/checks?post_id={b.post_id}", "checks", READERS, True),
    ("/checks?site_id={b.site_id}", "checks", READERS, True),
    ("/checks?schedule_id={b.schedules[daily]}", "checks", READERS, True),
]


@pytest.mark.parametrize(
    "url, table, role, empty",
    [pytest.param(url, table, role, empty, id=f"{url}-{role}") for url, table, roles, empty in LISTS for role in roles],
)
def test_lists_show_only_the_callers_enterprise(app, client, tenants, url, table, role, empty):
    a, b, _ghost = tenants
    r = client.get(API + url.format(b=b), headers=a.auth(role))
    assert r.status_code == 200, r.json
    assert isinstance(r.json, list)
    assert_nothing_of_b(r, b)
    got = {norm(item["id"]) for item in r.json}
    assert got <= ids_of(app, table, a.enterprise_id)
    assert not got & ids_of(app, table, b.enterprise_id)
    if empty:
        assert got == set()


def test_lists_are_not_trivially_empty(client, tenants):
    a, b, _ghost = tenants
    admin = a.auth("admin")
    assert len(client.get(f"{API}/sites", headers=admin).json) == 2
    assert len(client.get(f"{API}/posts", headers=admin).json) == 2
    assert len(client.get(f"{API}/schedules", headers=admin).json) == 4
    assert [c["id"] for c in client.get(f"{API}/checks", headers=admin).json] == [a.check_id]
    assert [c["id"] for c in client.get(f"{API}/checks/mine", headers=a.auth("worker")).json] == [a.check_id]
    assert len(client.get(f"{API}/users", headers=admin).json) == 4
    assert len(client.get(f"{API}/devices", headers=admin).json) == 1
    # And B sees its own.
    assert [c["id"] for c in client.get(f"{API}/checks", headers=b.auth("admin")).json] == [b.check_id]


@pytest.mark.parametrize("role", ALL)
def test_own_enterprise_and_profile_name_nothing_of_the_other(client, tenants, role):
    a, b, _ghost = tenants
    r = client.get(f"{API}/enterprise", headers=a.auth(role))
    assert r.status_code == 200
    assert r.json["id"] == a.enterprise_id and r.json["code"] == "acme"
    assert_nothing_of_b(r, b)
    r = client.get(f"{API}/auth/me", headers=a.auth(role))
    assert r.status_code == 200 and r.json["id"] == a.users[role]
    assert_nothing_of_b(r, b)


def test_the_public_qr_page_does_not_need_a_tenant_but_shows_only_the_post(client, tenants):
    # /q/<token> is public by design (a phone camera has no account); it names only the post.
    a, b, _ghost = tenants
    r = client.get(f"/q/{b.post_token}")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "乙秘密储罐" in page
    assert "乙秘密日检表" not in page and "乙秘密备注" not in page


def test_an_install_id_belongs_to_one_enterprise(app, client, tenants):
    a, b, _ghost = tenants
    from server.accounts.models import Device
    from tests.builders import PASSWORD

    assert client.post(f"{API}/devices/{b.device_id}/revoke", headers=b.auth("admin")).status_code == 200
    with app.app_context():
        b_device = tuple(db.session.execute(sa.select(Device.__table__).where(Device.id == b.device_id)).one())
        db.session.remove()
    # A's worker on a phone whose app happens to carry B's install id: a device of A, unrevoked.
    body = {"enterprise": "acme", "username": "worker", "password": PASSWORD,
            "device": {"install_id": "bravo-worker-install", "name": "phone", "platform": "android"}}
    r = client.post(f"{API}/auth/sign-in", json=body)
    assert r.status_code == 201, r.json
    assert r.json["device"]["id"] != b.device_id
    with app.app_context():
        assert db.session.get(Device, r.json["device"]["id"]).enterprise_id == a.enterprise_id
        assert tuple(db.session.execute(sa.select(Device.__table__).where(Device.id == b.device_id)).one()) == b_device
        db.session.remove()
    assert "乙" not in r.get_data(as_text=True)
