"""Setting an enterprise up: sites, posts and their QR tokens and labels, checklists, schedules."""
from __future__ import annotations

import copy
import io
import re
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
import sqlalchemy as sa

from server.checklists.models import Checklist, ChecklistVersion
from server.enterprises.models import Site
from server.extensions import db
from server.posts.models import Post
from server.schedules.models import Schedule
from tests.builders import ITEMS

API = "/api/v1"
QR_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def code(response) -> str:
    return response.json["error"]["code"]


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def load(app, model, ident):
    with app.app_context():
        obj = db.session.get(model, ident)
        db.session.expunge_all()
        return obj


# =========================================================================== sites


@pytest.mark.parametrize("role", ["admin", "safety_manager", "supervisor", "worker"])
def test_everyone_signed_in_lists_the_sites(client, world, role):
    r = client.get(f"{API}/sites", headers=world.a.auth(role))
    assert r.status_code == 200, r.json
    assert [(s["id"], s["name"], s["parent_id"]) for s in r.json] == [
        (world.a.site_id, "危化品仓库", None),
        (world.a.other_site_id, "配电室", None),
    ]


def test_admin_creates_nested_sites(app, client, world):
    r = client.post(f"{API}/sites", json={"name": "一号厂区"}, headers=world.a.auth("admin"))
    assert r.status_code == 201, r.json
    plant = r.json
    assert plant["name"] == "一号厂区" and plant["parent_id"] is None
    r = client.post(f"{API}/sites", json={"name": "合成车间", "parent_id": plant["id"]}, headers=world.a.auth("admin"))
    assert r.status_code == 201, r.json
    assert r.json["parent_id"] == plant["id"]
    stored = load(app, Site, r.json["id"])
    assert stored.enterprise_id == world.a.enterprise_id and stored.parent_id == plant["id"]
    r = client.get(f"{API}/sites/{r.json['id']}", headers=world.a.auth("worker"))
    assert r.status_code == 200 and r.json["name"] == "合成车间"


@pytest.mark.parametrize(
    "body, field",
    [({}, "name"), ({"name": ""}, "name"), ({"name": "x" * 201}, "name"), ({"name": "x", "parent_id": "1"}, "parent_id")],
)
def test_site_input_is_validated(app, client, world, body, field):
    sites = count(app, Site)
    r = client.post(f"{API}/sites", json=body, headers=world.a.auth("admin"))
    assert r.status_code == 422 and code(r) == "validation_failed"
    assert field in r.json["error"]["details"]
    assert count(app, Site) == sites


def test_creating_a_site_under_an_unknown_parent_is_404(app, client, world):
    sites = count(app, Site)
    r = client.post(f"{API}/sites", json={"name": "x", "parent_id": 999_999}, headers=world.a.auth("admin"))
    assert r.status_code == 404 and code(r) == "not_found"
    assert count(app, Site) == sites


@pytest.mark.parametrize("role", ["safety_manager", "supervisor", "worker"])
def test_only_admins_write_sites(app, client, world, role):
    r = client.post(f"{API}/sites", json={"name": "x"}, headers=world.a.auth(role))
    assert r.status_code == 403 and code(r) == "forbidden"
    r = client.patch(f"{API}/sites/{world.a.site_id}", json={"name": "x"}, headers=world.a.auth(role))
    assert r.status_code == 403 and code(r) == "forbidden"
    assert load(app, Site, world.a.site_id).name == "危化品仓库"


def test_admin_renames_and_moves_a_site(app, client, world):
    r = client.patch(f"{API}/sites/{world.a.other_site_id}", json={"name": "10kV 配电室"}, headers=world.a.auth("admin"))
    assert r.status_code == 200, r.json
    assert r.json["name"] == "10kV 配电室" and r.json["parent_id"] is None
    r = client.patch(f"{API}/sites/{world.a.other_site_id}", json={"parent_id": world.a.site_id}, headers=world.a.auth("admin"))
    assert r.status_code == 200, r.json
    assert r.json["parent_id"] == world.a.site_id and r.json["name"] == "10kV 配电室"
    stored = load(app, Site, world.a.other_site_id)
    assert (stored.name, stored.parent_id) == ("10kV 配电室", world.a.site_id)
    # And back to the top.
    r = client.patch(f"{API}/sites/{world.a.other_site_id}", json={"parent_id": None}, headers=world.a.auth("admin"))
    assert r.status_code == 200 and r.json["parent_id"] is None


def test_a_site_cannot_be_put_inside_itself(app, client, world):
    admin = world.a.auth("admin")
    top = world.a.site_id
    middle = client.post(f"{API}/sites", json={"name": "车间", "parent_id": top}, headers=admin).json["id"]
    bottom = client.post(f"{API}/sites", json={"name": "区域", "parent_id": middle}, headers=admin).json["id"]
    for site, parent in ((top, top), (top, bottom), (top, middle), (middle, bottom)):
        r = client.patch(f"{API}/sites/{site}", json={"parent_id": parent, "name": "改名"}, headers=admin)
        assert r.status_code == 422, (site, parent, r.json)
        assert code(r) == "validation_failed"
        assert "parent_id" in r.json["error"]["details"]
    # Nothing was half-written: names and parents are as they were.
    assert (load(app, Site, top).parent_id, load(app, Site, top).name) == (None, "危化品仓库")
    assert load(app, Site, middle).parent_id == top and load(app, Site, middle).name == "车间"
    assert load(app, Site, bottom).parent_id == middle


def test_unknown_site_is_404(client, world):
    r = client.get(f"{API}/sites/999999", headers=world.a.auth("admin"))
    assert r.status_code == 404 and code(r) == "not_found"
    r = client.patch(f"{API}/sites/999999", json={"name": "x"}, headers=world.a.auth("admin"))
    assert r.status_code == 404 and code(r) == "not_found"


# =========================================================================== posts


def create_post(client, tenant, **fields):
    body = {"site_id": tenant.site_id, "name": "2号反应釜", "risk_level": "orange", **fields}
    return client.post(f"{API}/posts", json=body, headers=tenant.auth("admin"))


def test_a_new_post_gets_an_unguessable_qr_token_and_url(app, client, world):
    r = create_post(client, world.a, location="合成车间东侧", supervisor_id=world.a.users["supervisor"])
    assert r.status_code == 201, r.json
    body = r.json
    assert QR_TOKEN.match(body["qr_token"]), body["qr_token"]
    assert body["qr_url"] == f"https://zicha.example.cn/q/{body['qr_token']}"
    assert body["qr_rotated_at"] is None
    assert body["name"] == "2号反应釜" and body["location"] == "合成车间东侧"
    assert body["risk_level"] == "orange" and body["risk_level_zh"] == "较大风险"
    assert body["site"] == {"id": world.a.site_id, "name": "危化品仓库"}
    assert body["supervisor"] == {"id": world.a.users["supervisor"], "display_name": "甲企业supervisor"}
    assert body["active"] is True
    stored = load(app, Post, body["id"])
    assert stored.enterprise_id == world.a.enterprise_id and stored.qr_token == body["qr_token"]
    other = create_post(client, world.a, name="3号反应釜").json
    assert other["qr_token"] != body["qr_token"]
    assert other["supervisor"] is None and other["location"] == ""


def test_posts_are_listed_and_filtered_by_site(client, world):
    r = client.get(f"{API}/posts", headers=world.a.auth("supervisor"))
    assert r.status_code == 200
    assert [p["id"] for p in r.json] == [world.a.post_id, world.a.other_post_id]
    r = client.get(f"{API}/posts", query_string={"site_id": world.a.other_site_id}, headers=world.a.auth("admin"))
    assert [p["id"] for p in r.json] == [world.a.other_post_id]
    r = client.get(f"{API}/posts/{world.a.post_id}", headers=world.a.auth("safety_manager"))
    assert r.status_code == 200 and r.json["name"] == "液氨储罐区" and r.json["qr_token"] == world.a.post_token


def test_admin_edits_a_post(app, client, world):
    r = client.patch(
        f"{API}/posts/{world.a.post_id}",
        json={"name": "液氨储罐区(东)", "risk_level": "yellow", "location": "东门", "site_id": world.a.other_site_id, "supervisor_id": None},
        headers=world.a.auth("admin"),
    )
    assert r.status_code == 200, r.json
    assert r.json["name"] == "液氨储罐区(东)" and r.json["risk_level"] == "yellow" and r.json["risk_level_zh"] == "一般风险"
    assert r.json["site"]["id"] == world.a.other_site_id and r.json["supervisor"] is None and r.json["location"] == "东门"
    assert r.json["qr_token"] == world.a.post_token  # editing does not rotate
    stored = load(app, Post, world.a.post_id)
    assert (stored.name, stored.site_id, stored.supervisor_id) == ("液氨储罐区(东)", world.a.other_site_id, None)
    r = client.patch(f"{API}/posts/{world.a.post_id}", json={"active": False}, headers=world.a.auth("admin"))
    assert r.status_code == 200 and r.json["active"] is False


@pytest.mark.parametrize(
    "body, field",
    [
        ({"risk_level": "purple"}, "risk_level"),
        ({"risk_level": "RED"}, "risk_level"),
        ({"risk_level": None}, "risk_level"),
        ({"name": ""}, "name"),
        ({"site_id": str}, "site_id"),
        ({"qr_token": "chosen-by-me"}, "qr_token"),
        ({"enterprise_id": 2}, "enterprise_id"),
    ],
)
def test_post_input_is_validated(app, client, world, body, field):
    if body.get("site_id") is str:
        body = {"site_id": str(world.a.site_id)}
    posts = count(app, Post)
    r = create_post(client, world.a, **body)
    assert r.status_code == 422, r.json
    assert code(r) == "validation_failed"
    assert field in r.json["error"]["details"]
    assert count(app, Post) == posts
    r = client.patch(f"{API}/posts/{world.a.post_id}", json=body, headers=world.a.auth("admin"))
    assert r.status_code == 422 and code(r) == "validation_failed"
    stored = load(app, Post, world.a.post_id)
    assert (stored.risk_level.value, stored.name, stored.qr_token) == ("red", "液氨储罐区", world.a.post_token)


def test_a_post_on_a_site_of_another_enterprise_is_404(app, client, world):
    posts = count(app, Post)
    r = create_post(client, world.a, site_id=world.b.site_id)
    assert r.status_code == 404 and code(r) == "not_found"
    r = create_post(client, world.a, supervisor_id=world.b.users["supervisor"])
    assert r.status_code == 404 and code(r) == "not_found"
    assert count(app, Post) == posts


@pytest.mark.parametrize("role", ["worker"])
def test_workers_do_not_read_posts(client, world, role):
    for url in (f"{API}/posts", f"{API}/posts/{world.a.post_id}"):
        r = client.get(url, headers=world.a.auth(role))
        assert r.status_code == 403 and code(r) == "forbidden"


@pytest.mark.parametrize("role", ["safety_manager", "supervisor", "worker"])
def test_only_admins_write_posts(app, client, world, role):
    posts = count(app, Post)
    r = client.post(f"{API}/posts", json={"site_id": world.a.site_id, "name": "x", "risk_level": "red"}, headers=world.a.auth(role))
    assert r.status_code == 403 and code(r) == "forbidden"
    r = client.patch(f"{API}/posts/{world.a.post_id}", json={"name": "x"}, headers=world.a.auth(role))
    assert r.status_code == 403 and code(r) == "forbidden"
    r = client.post(f"{API}/posts/{world.a.post_id}/rotate-token", headers=world.a.auth(role))
    assert r.status_code == 403 and code(r) == "forbidden"
    stored = load(app, Post, world.a.post_id)
    assert (stored.name, stored.qr_token) == ("液氨储罐区", world.a.post_token)
    assert count(app, Post) == posts


# --------------------------------------------------------------------------- rotating the QR token


def test_rotating_the_token_kills_the_old_label_at_once(app, client, world, clock):
    old = world.a.post_token
    clock.advance(hours=2)
    r = client.post(f"{API}/posts/{world.a.post_id}/rotate-token", headers=world.a.auth("admin"))
    assert r.status_code == 200, r.json
    new = r.json["qr_token"]
    assert new != old and QR_TOKEN.match(new)
    assert r.json["qr_url"] == f"https://zicha.example.cn/q/{new}"
    assert datetime.fromisoformat(r.json["qr_rotated_at"]) == clock.now()
    assert load(app, Post, world.a.post_id).qr_token == new

    r = client.get(f"{API}/scan/{old}", headers=world.a.auth("worker"))
    assert r.status_code == 404 and code(r) == "not_found"
    r = client.get(f"{API}/scan/{new}", headers=world.a.auth("worker"))
    assert r.status_code == 200, r.json
    assert r.json["post"]["id"] == world.a.post_id

    r = client.get(f"/q/{old}")
    assert r.status_code == 404
    assert r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    assert "液氨储罐区" not in page and "二维码无效" in page
    r = client.get(f"/q/{new}")
    assert r.status_code == 200
    assert r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    assert "液氨储罐区" in page and "重大风险" in page and "危化品仓库" in page
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"


def test_the_public_page_is_the_same_for_unknown_and_rotated_tokens(client, world):
    old = world.a.post_token
    client.post(f"{API}/posts/{world.a.post_id}/rotate-token", headers=world.a.auth("admin"))
    rotated = client.get(f"/q/{old}")
    unknown = client.get("/q/" + "x" * 43)
    too_long = client.get("/q/" + "x" * 200)
    assert rotated.status_code == unknown.status_code == too_long.status_code == 404
    assert rotated.data == unknown.data == too_long.data


def test_an_inactive_posts_label_no_longer_resolves(client, world):
    client.patch(f"{API}/posts/{world.a.post_id}", json={"active": False}, headers=world.a.auth("admin"))
    assert client.get(f"/q/{world.a.post_token}").status_code == 404
    r = client.get(f"{API}/scan/{world.a.post_token}", headers=world.a.auth("worker"))
    assert r.status_code == 404 and code(r) == "not_found"


def test_rotating_an_unknown_post_is_404(client, world):
    r = client.post(f"{API}/posts/999999/rotate-token", headers=world.a.auth("admin"))
    assert r.status_code == 404 and code(r) == "not_found"


# --------------------------------------------------------------------------- labels


def test_png_label(client, world):
    r = client.get(f"{API}/posts/{world.a.post_id}/label.png", headers=world.a.auth("admin"))
    assert r.status_code == 200
    assert r.mimetype == "image/png"
    assert r.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    from PIL import Image

    with Image.open(io.BytesIO(r.data)) as image:
        image.verify()


def test_svg_label(client, world):
    r = client.get(f"{API}/posts/{world.a.post_id}/label.svg", headers=world.a.auth("safety_manager"))
    assert r.status_code == 200
    assert r.mimetype == "image/svg+xml"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    root = ET.fromstring(r.data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = "".join(root.itertext())
    assert "液氨储罐区" in text
    assert "<script" not in r.get_data(as_text=True).lower()


def test_svg_label_escapes_the_post_name(client, world):
    name = '<script>alert("x")</script> & 储罐'
    client.patch(f"{API}/posts/{world.a.post_id}", json={"name": name}, headers=world.a.auth("admin"))
    r = client.get(f"{API}/posts/{world.a.post_id}/label.svg", headers=world.a.auth("admin"))
    assert r.status_code == 200
    root = ET.fromstring(r.data)
    assert name in "".join(root.itertext())
    assert not any(el.tag.endswith("script") for el in root.iter())


def test_site_labels_pdf(client, world):
    r = client.get(f"{API}/sites/{world.a.site_id}/labels.pdf", headers=world.a.auth("admin"))
    assert r.status_code == 200
    assert r.mimetype == "application/pdf"
    assert r.data.startswith(b"%PDF")
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_a_site_with_no_active_posts_has_no_label_sheet(client, world):
    admin = world.a.auth("admin")
    empty = client.post(f"{API}/sites", json={"name": "空仓库"}, headers=admin).json["id"]
    r = client.get(f"{API}/sites/{empty}/labels.pdf", headers=admin)
    assert r.status_code == 404 and code(r) == "not_found"
    # A site whose only post was switched off has nothing to print either.
    client.patch(f"{API}/posts/{world.a.other_post_id}", json={"active": False}, headers=admin)
    r = client.get(f"{API}/sites/{world.a.other_site_id}/labels.pdf", headers=admin)
    assert r.status_code == 404 and code(r) == "not_found"


def test_labels_of_unknown_posts_and_sites_are_404(client, world):
    admin = world.a.auth("admin")
    for url in (f"{API}/posts/999999/label.png", f"{API}/posts/999999/label.svg", f"{API}/sites/999999/labels.pdf"):
        r = client.get(url, headers=admin)
        assert r.status_code == 404 and code(r) == "not_found"


@pytest.mark.parametrize("role", ["worker", "supervisor"])
@pytest.mark.parametrize("kind", ["label.png", "label.svg", "labels.pdf"])
def test_workers_and_supervisors_do_not_print_labels(client, world, role, kind):
    url = f"{API}/sites/{world.a.site_id}/labels.pdf" if kind == "labels.pdf" else f"{API}/posts/{world.a.post_id}/{kind}"
    r = client.get(url, headers=world.a.auth(role))
    assert r.status_code == 403 and code(r) == "forbidden"
    assert r.mimetype == "application/json"


def test_labels_need_a_token(client, world):
    r = client.get(f"{API}/posts/{world.a.post_id}/label.png")
    assert r.status_code == 401 and code(r) == "unauthorized"


# =========================================================================== checklists


NEW_ITEMS = [
    {"id": "guard", "kind": "yes_no", "label": "防护罩完好"},
    {"id": "temp", "kind": "number", "label": "轴承温度", "unit": "℃", "min": 0, "max": 80},
]


def create_checklist(client, tenant, items=None, name="设备周检", role="admin"):
    body = {"name": name, "description": "每周一次", "items": NEW_ITEMS if items is None else items}
    return client.post(f"{API}/checklists", json=body, headers=tenant.auth(role))


def publish(client, tenant, checklist_id, items, role="admin", **extra):
    return client.post(f"{API}/checklists/{checklist_id}/versions", json={"items": items, **extra}, headers=tenant.auth(role))


@pytest.mark.parametrize("role", ["admin", "safety_manager"])
def test_creating_a_checklist_publishes_version_one(app, client, world, clock, role):
    r = create_checklist(client, world.a, role=role)
    assert r.status_code == 201, r.json
    body = r.json
    assert body["name"] == "设备周检" and body["description"] == "每周一次"
    version = body["current_version"]
    assert version["number"] == 1 and version["checklist_id"] == body["id"]
    assert version["retired_at"] is None
    assert datetime.fromisoformat(version["published_at"]) == clock.now()
    assert [(i["id"], i["kind"], i["label"]) for i in version["items"]] == [(i["id"], i["kind"], i["label"]) for i in NEW_ITEMS]
    assert version["items"][1]["min"] == 0 and version["items"][1]["max"] == 80 and version["items"][1]["unit"] == "℃"
    assert version["items"][0]["required"] is True
    with app.app_context():
        stored = db.session.get(Checklist, body["id"])
        assert stored.enterprise_id == world.a.enterprise_id
        assert stored.current_version_id == version["id"]
        v = db.session.get(ChecklistVersion, version["id"])
        assert v.enterprise_id == world.a.enterprise_id and v.published_by_id == world.a.users[role]
    r = client.get(f"{API}/checklists/{body['id']}", headers=world.a.auth("worker"))
    assert [(v["id"], v["number"]) for v in r.json["versions"]] == [(version["id"], 1)]
    # The creation answer lists the version it just published, like a read does.
    assert body["versions"] == r.json["versions"]


@pytest.mark.parametrize("role", ["supervisor", "worker"])
def test_only_admins_and_safety_managers_write_checklists(app, client, world, role):
    checklists, versions = count(app, Checklist), count(app, ChecklistVersion)
    r = create_checklist(client, world.a, role=role)
    assert r.status_code == 403 and code(r) == "forbidden"
    r = publish(client, world.a, world.a.checklist_id, ITEMS, role=role)
    assert r.status_code == 403 and code(r) == "forbidden"
    assert (count(app, Checklist), count(app, ChecklistVersion)) == (checklists, versions)
    # They can read them.
    r = client.get(f"{API}/checklists", headers=world.a.auth(role))
    assert r.status_code == 200 and [c["id"] for c in r.json] == [world.a.checklist_id]
    r = client.get(f"{API}/checklists/{world.a.checklist_id}", headers=world.a.auth(role))
    assert r.status_code == 200 and r.json["current_version"]["id"] == world.a.version_id


def test_publishing_a_new_version_retires_the_old_one(app, client, world, clock):
    v1 = world.a.version_id
    clock.advance(hours=3)
    items = copy.deepcopy(ITEMS)
    items[0]["label"] = "灭火器在位且在有效期内"  # same meaning, clearer words: same id
    items.append({"id": "eyewash", "kind": "yes_no", "label": "洗眼器可用"})
    r = publish(client, world.a, world.a.checklist_id, items, title="危化品仓库日检(2026版)")
    assert r.status_code == 201, r.json
    v2 = r.json
    assert v2["number"] == 2 and v2["id"] != v1 and v2["checklist_id"] == world.a.checklist_id
    assert v2["title"] == "危化品仓库日检(2026版)" and v2["retired_at"] is None
    assert datetime.fromisoformat(v2["published_at"]) == clock.now()
    assert [i["id"] for i in v2["items"]] == [i["id"] for i in items]

    r = client.get(f"{API}/checklists/{world.a.checklist_id}", headers=world.a.auth("worker"))
    assert r.status_code == 200
    assert r.json["current_version"]["id"] == v2["id"]
    assert [(v["number"], v["id"]) for v in r.json["versions"]] == [(1, v1), (2, v2["id"])]
    assert datetime.fromisoformat(r.json["versions"][0]["retired_at"]) == clock.now()
    assert r.json["versions"][1]["retired_at"] is None

    r = client.get(f"{API}/checklists/{world.a.checklist_id}/versions/{v1}", headers=world.a.auth("worker"))
    assert r.status_code == 200, r.json
    assert r.json["number"] == 1
    assert r.json["items"][0]["label"] == "消防器材在位有效"
    assert [i["id"] for i in r.json["items"]] == [i["id"] for i in ITEMS]
    assert datetime.fromisoformat(r.json["retired_at"]) == clock.now()

    # The scan now hands out version 2.
    r = client.get(f"{API}/scan/{world.a.post_token}", headers=world.a.auth("worker"))
    assert {s["version"]["id"] for s in r.json["schedules"]} == {v2["id"]}

    with app.app_context():
        old = db.session.get(ChecklistVersion, v1)
        assert old.items[0]["label"] == "消防器材在位有效" and old.number == 1
        assert db.session.get(Checklist, world.a.checklist_id).current_version_id == v2["id"]

    clock.advance(days=1)
    r = publish(client, world.a, world.a.checklist_id, items)
    assert r.status_code == 201 and r.json["number"] == 3


def test_a_version_of_another_checklist_is_404_under_this_one(client, world):
    other = create_checklist(client, world.a).json
    r = client.get(f"{API}/checklists/{world.a.checklist_id}/versions/{other['current_version']['id']}", headers=world.a.auth("admin"))
    assert r.status_code == 404 and code(r) == "not_found"
    r = client.get(f"{API}/checklists/999999/versions/{world.a.version_id}", headers=world.a.auth("admin"))
    assert r.status_code == 404 and code(r) == "not_found"


def test_changing_an_items_kind_under_the_same_id_is_refused(app, client, world):
    versions = count(app, ChecklistVersion)
    items = copy.deepcopy(ITEMS)
    items[0] = {"id": "extinguisher", "kind": "text", "label": "消防器材情况"}
    r = publish(client, world.a, world.a.checklist_id, items)
    assert r.status_code == 422, r.json
    assert code(r) == "validation_failed"
    assert "extinguisher" in r.json["error"]["details"]["items"]
    assert count(app, ChecklistVersion) == versions
    r = client.get(f"{API}/checklists/{world.a.checklist_id}", headers=world.a.auth("admin"))
    assert r.json["current_version"]["id"] == world.a.version_id
    assert r.json["current_version"]["retired_at"] is None


def test_an_item_dropped_and_brought_back_keeps_its_kind(app, client, world):
    without = [i for i in ITEMS if i["id"] != "gas_reading"]
    assert publish(client, world.a, world.a.checklist_id, without).status_code == 201
    back = without + [{"id": "gas_reading", "kind": "yes_no", "label": "气体报警器正常"}]
    r = publish(client, world.a, world.a.checklist_id, back)
    assert r.status_code == 422 and code(r) == "validation_failed"
    assert "gas_reading" in r.json["error"]["details"]["items"]


BAD_ITEM_LISTS = {
    "duplicate-ids": [{"id": "a", "kind": "yes_no", "label": "甲"}, {"id": "a", "kind": "yes_no", "label": "乙"}],
    "choice-one-option": [{"id": "c", "kind": "choice", "label": "状态", "options": [{"value": "ok", "label": "正常"}]}],
    "choice-no-options": [{"id": "c", "kind": "choice", "label": "状态"}],
    "choice-duplicate-values": [
        {"id": "c", "kind": "choice", "label": "状态", "options": [{"value": "ok", "label": "正常"}, {"value": "ok", "label": "好"}]}
    ],
    "min-over-max": [{"id": "n", "kind": "number", "label": "读数", "min": 10, "max": 5}],
    "valid-min-over-valid-max": [{"id": "n", "kind": "number", "label": "读数", "valid_min": 10, "valid_max": 5}],
    "unknown-kind": [{"id": "x", "kind": "photo", "label": "拍照"}],
    "bad-item-id": [{"id": "has space", "kind": "yes_no", "label": "甲"}],
    "no-label": [{"id": "a", "kind": "yes_no"}],
    "no-kind": [{"id": "a", "label": "甲"}],
    "empty": [],
    "not-a-list": {"id": "a"},
}


@pytest.mark.parametrize("items", list(BAD_ITEM_LISTS.values()), ids=list(BAD_ITEM_LISTS))
def test_bad_items_are_refused_on_create_and_publish(app, client, world, items):
    checklists, versions = count(app, Checklist), count(app, ChecklistVersion)
    r = create_checklist(client, world.a, items=items)
    assert r.status_code == 422, r.json
    assert code(r) == "validation_failed"
    assert "items" in r.json["error"]["details"]
    r = publish(client, world.a, world.a.checklist_id, items)
    assert r.status_code == 422, r.json
    assert code(r) == "validation_failed"
    assert "items" in r.json["error"]["details"]
    assert (count(app, Checklist), count(app, ChecklistVersion)) == (checklists, versions)


def test_checklist_name_is_required(client, world):
    r = client.post(f"{API}/checklists", json={"items": NEW_ITEMS}, headers=world.a.auth("admin"))
    assert r.status_code == 422 and "name" in r.json["error"]["details"]


@pytest.mark.parametrize(
    "change",
    [
        lambda v: setattr(v, "items", [{"id": "x", "kind": "yes_no", "label": "改过的"}]),
        lambda v: setattr(v, "title", "改过的标题"),
        lambda v: setattr(v, "number", 7),
    ],
    ids=["items", "title", "number"],
)
def test_a_published_version_cannot_be_changed_through_the_orm(app, world, change):
    from server.checklists.services import ImmutableVersionError

    with app.app_context():
        version = db.session.get(ChecklistVersion, world.a.version_id)
        change(version)
        with pytest.raises(ImmutableVersionError):
            db.session.flush()
        db.session.rollback()
        version = db.session.get(ChecklistVersion, world.a.version_id)
        assert version.title == "危化品仓库日检" and version.number == 1
        assert [i["id"] for i in version.items] == [i["id"] for i in ITEMS]
        db.session.remove()


def test_publishing_twice_in_one_session_numbers_the_versions(app, world, clock):
    # The CLI and the demo publish through the service directly, several times per session.
    from server.checklists import services

    with app.app_context():
        checklist = services.create_checklist(world.a.enterprise_id, "月检", "", NEW_ITEMS, None)
        second = services.publish_version(world.a.enterprise_id, checklist.id, NEW_ITEMS, None)
        assert second.number == 2
        assert [v.number for v in checklist.versions] == [1, 2]
        db.session.rollback()
        db.session.remove()


def test_retiring_a_version_is_the_one_change_allowed(app, world, clock):
    with app.app_context():
        version = db.session.get(ChecklistVersion, world.a.version_id)
        version.retired_at = clock.now()
        db.session.flush()
        db.session.rollback()
        db.session.remove()


# =========================================================================== schedules


def create_schedule(client, tenant, role="admin", **fields):
    body = {"post_id": tenant.post_id, "checklist_id": tenant.checklist_id, "frequency": "daily", **fields}
    return client.post(f"{API}/schedules", json=body, headers=tenant.auth(role))


@pytest.mark.parametrize("frequency", ["shift", "daily", "weekly", "monthly", "quarterly", "yearly"])
def test_schedules_at_every_frequency(app, client, world, frequency):
    r = create_schedule(client, world.a, frequency=frequency, due_start_minutes=60, due_end_minutes=120,
                        responsible_id=world.a.users["worker"])
    assert r.status_code == 201, r.json
    body = r.json
    assert body["frequency"] == frequency and body["active"] is True
    assert (body["post_id"], body["checklist_id"]) == (world.a.post_id, world.a.checklist_id)
    assert (body["due_start_minutes"], body["due_end_minutes"], body["responsible_id"]) == (60, 120, world.a.users["worker"])
    stored = load(app, Schedule, body["id"])
    assert stored.enterprise_id == world.a.enterprise_id and stored.frequency.value == frequency
    # The post's scan shows it with a period of its frequency.
    r = client.get(f"{API}/scan/{world.a.post_token}", headers=world.a.auth("worker"))
    assert r.status_code == 200, r.json
    assert [s["frequency"] for s in r.json["schedules"] if s["schedule_id"] == body["id"]] == [frequency]


def test_schedule_defaults(client, world):
    r = create_schedule(client, world.a, role="safety_manager", post_id=world.a.other_post_id)
    assert r.status_code == 201, r.json
    assert (r.json["due_start_minutes"], r.json["due_end_minutes"], r.json["responsible_id"]) == (0, None, None)


@pytest.mark.parametrize(
    "fields, detail",
    [
        ({"due_start_minutes": 120, "due_end_minutes": 120}, "due_end_minutes"),
        ({"due_start_minutes": 120, "due_end_minutes": 60}, "due_end_minutes"),
        ({"due_end_minutes": 0}, "due_end_minutes"),
        ({"due_start_minutes": -1}, "due_start_minutes"),
        ({"frequency": "hourly"}, "frequency"),
        ({"frequency": None}, "frequency"),
        ({"post_id": "1"}, "post_id"),
        ({"active": False}, "active"),
    ],
)
def test_schedule_input_is_validated(app, client, world, fields, detail):
    schedules = count(app, Schedule)
    r = create_schedule(client, world.a, **fields)
    assert r.status_code == 422, r.json
    assert code(r) == "validation_failed"
    assert detail in r.json["error"]["details"]
    assert count(app, Schedule) == schedules


@pytest.mark.parametrize(
    "fields",
    [
        lambda w: {"post_id": w.b.post_id},
        lambda w: {"checklist_id": w.b.checklist_id},
        lambda w: {"responsible_id": w.b.users["worker"]},
        lambda w: {"post_id": 999_999},
        lambda w: {"checklist_id": 999_999},
    ],
    ids=["post-of-b", "checklist-of-b", "responsible-of-b", "unknown-post", "unknown-checklist"],
)
def test_schedule_references_must_be_of_this_enterprise(app, client, world, fields):
    schedules = count(app, Schedule)
    r = create_schedule(client, world.a, **fields(world))
    assert r.status_code == 404, r.json
    assert code(r) == "not_found"
    assert count(app, Schedule) == schedules


def test_switching_a_schedule_off(app, client, world):
    sid = world.a.schedules["weekly"]
    r = client.patch(f"{API}/schedules/{sid}", json={"active": False}, headers=world.a.auth("safety_manager"))
    assert r.status_code == 200, r.json
    assert r.json["active"] is False and r.json["frequency"] == "weekly"
    assert load(app, Schedule, sid).active is False
    r = client.get(f"{API}/scan/{world.a.post_token}", headers=world.a.auth("worker"))
    assert [s["frequency"] for s in r.json["schedules"]] == ["daily", "monthly"]
    r = client.get(f"{API}/schedules/{sid}", headers=world.a.auth("supervisor"))
    assert r.status_code == 200 and r.json["active"] is False


def test_patching_a_schedules_window_and_responsible(app, client, world):
    sid = world.a.schedules["daily"]
    admin = world.a.auth("admin")
    r = client.patch(f"{API}/schedules/{sid}", json={"due_start_minutes": 480, "due_end_minutes": 600, "responsible_id": world.a.users["worker"]}, headers=admin)
    assert r.status_code == 200, r.json
    assert (r.json["due_start_minutes"], r.json["due_end_minutes"], r.json["responsible_id"]) == (480, 600, world.a.users["worker"])
    # The end may not move before the stored start, nor the start past the stored end.
    r = client.patch(f"{API}/schedules/{sid}", json={"due_end_minutes": 480}, headers=admin)
    assert r.status_code == 422 and code(r) == "validation_failed"
    r = client.patch(f"{API}/schedules/{sid}", json={"due_start_minutes": 700}, headers=admin)
    assert r.status_code == 422 and code(r) == "validation_failed"
    r = client.patch(f"{API}/schedules/{sid}", json={"responsible_id": world.b.users["worker"]}, headers=admin)
    assert r.status_code == 404 and code(r) == "not_found"
    r = client.patch(f"{API}/schedules/{sid}", json={"post_id": world.a.other_post_id}, headers=admin)
    assert r.status_code == 422 and code(r) == "validation_failed"
    stored = load(app, Schedule, sid)
    assert (stored.due_start_minutes, stored.due_end_minutes, stored.responsible_id, stored.post_id) == (
        480, 600, world.a.users["worker"], world.a.post_id
    )


def test_schedules_listed_and_filtered_by_post(client, world):
    r = client.get(f"{API}/schedules", headers=world.a.auth("supervisor"))
    assert r.status_code == 200
    assert sorted(s["id"] for s in r.json) == sorted(world.a.schedules.values())
    r = client.get(f"{API}/schedules", query_string={"post_id": world.a.other_post_id}, headers=world.a.auth("admin"))
    assert [s["id"] for s in r.json] == [world.a.schedules["other_post_daily"]]


def test_workers_do_not_touch_schedules(app, client, world):
    schedules = count(app, Schedule)
    worker = world.a.auth("worker")
    sid = world.a.schedules["daily"]
    for r in (
        create_schedule(client, world.a, role="worker"),
        client.get(f"{API}/schedules", headers=worker),
        client.get(f"{API}/schedules/{sid}", headers=worker),
        client.patch(f"{API}/schedules/{sid}", json={"active": False}, headers=worker),
    ):
        assert r.status_code == 403 and code(r) == "forbidden"
    # Supervisors read but do not write.
    supervisor = world.a.auth("supervisor")
    assert create_schedule(client, world.a, role="supervisor").status_code == 403
    assert client.patch(f"{API}/schedules/{sid}", json={"active": False}, headers=supervisor).status_code == 403
    assert load(app, Schedule, sid).active is True
    assert count(app, Schedule) == schedules


def test_unknown_schedule_is_404(client, world):
    r = client.get(f"{API}/schedules/999999", headers=world.a.auth("admin"))
    assert r.status_code == 404 and code(r) == "not_found"
    r = client.patch(f"{API}/schedules/999999", json={"active": False}, headers=world.a.auth("admin"))
    assert r.status_code == 404 and code(r) == "not_found"
