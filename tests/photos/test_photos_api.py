"""HEAD / PUT / GET /api/v1/photos/<sha256> and the served copies, through the test client."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from PIL import Image

from server.checks.models import Check
from server.extensions import db
from server.photos.models import Photo
from tests.builders import check_record, good_answers
from tests.photos.conftest import files_under, make_image, sha

URL = "/api/v1/photos/{}"


def put(client, tenant, data: bytes, digest: str | None = None, role: str = "worker", **kwargs):
    return client.put(URL.format(digest or sha(data)), data=data, content_type="image/jpeg", headers=tenant.auth(role), **kwargs)


def photo_rows(app) -> list[tuple[int, str]]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(sa.select(Photo.enterprise_id, Photo.sha256).order_by(Photo.enterprise_id))]


def test_put_stores_once_and_head_get_answer(app, client, world, photo_dirs, clock):
    data = make_image("JPEG", (640, 480), taken="2026:11:23 09:58:00", offset="+08:00", gps=(31.2304, 121.4737))
    digest = sha(data)
    assert client.head(URL.format(digest), headers=world.a.auth()).status_code == 404

    first = put(client, world.a, data)
    assert first.status_code == 201, first.json
    body = first.json
    assert body["sha256"] == digest and body["content_type"] == "image/jpeg" and body["byte_size"] == len(data)
    assert (body["width"], body["height"]) == (640, 480)
    assert body["captured_at"] == "2026-11-23T01:58:00+00:00" and body["captured_local"] == "2026-11-23T09:58:00"
    assert body["gps_lat"] == pytest.approx(31.2304, abs=1e-4) and body["gps_lon"] == pytest.approx(121.4737, abs=1e-4)
    assert body["uploaded_by_id"] == world.a.users["worker"] and body["device_id"] == world.a.device_id
    assert body["received_at"] == clock.now().isoformat()
    assert body["display_url"] == f"/api/v1/photos/{digest}/display" and body["thumb_url"] == f"/api/v1/photos/{digest}/thumb"
    assert "original_key" not in body

    assert client.head(URL.format(digest), headers=world.a.auth()).status_code == 200
    assert client.get(URL.format(digest), headers=world.a.auth("safety_manager")).json == body
    assert client.head(URL.format(digest.upper()), headers=world.a.auth()).status_code == 200

    again = put(client, world.a, data)  # the device retries after a lost answer
    assert again.status_code == 200 and again.json == body
    assert photo_rows(app) == [(world.a.enterprise_id, digest)]
    stored = files_under(photo_dirs["PHOTO_DIR"])
    assert [p.name for p in stored] == ["display.jpg", "original", "thumb.jpg"]
    assert (photo_dirs["PHOTO_DIR"] / f"{world.a.enterprise_id}/{digest[:2]}/{digest}/original").read_bytes() == data
    assert files_under(photo_dirs["PHOTO_TEMP_DIR"]) == []


@pytest.mark.parametrize("role", ["worker", "supervisor", "safety_manager", "admin"])
def test_every_role_may_send_and_see_photos(client, world, photo_dirs, role):
    data = make_image("PNG", (50, 40))
    assert put(client, world.a, data, role=role).status_code == 201
    assert client.get(URL.format(sha(data)) + "/thumb", headers=world.a.auth(role)).status_code == 200


def test_photos_need_sign_in(client, world, photo_dirs):
    data = make_image()
    assert client.put(URL.format(sha(data)), data=data).status_code == 401
    for suffix in ("", "/display", "/thumb"):
        assert client.get(URL.format(sha(data)) + suffix).status_code == 401


def test_another_enterprise_never_sees_a_photo_and_gets_its_own_row(app, client, world, photo_dirs):
    data = make_image()
    digest = sha(data)
    assert put(client, world.a, data).status_code == 201
    for suffix in ("", "/display", "/thumb"):
        r = client.get(URL.format(digest) + suffix, headers=world.b.auth("admin"))
        assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    assert client.head(URL.format(digest), headers=world.b.auth()).status_code == 404

    # The same bytes from B are B's own photo: a new row, 201, not "already present".
    assert put(client, world.b, data).status_code == 201
    assert photo_rows(app) == [(world.a.enterprise_id, digest), (world.b.enterprise_id, digest)]


def test_served_copies_are_safe_jpegs(client, world, photo_dirs):
    data = make_image("JPEG", (2400, 1800), taken="2026:11:23 09:58:00", gps=(31.2, 121.4), orientation=6)
    digest = sha(data)
    assert put(client, world.a, data).status_code == 201
    for variant, size in (("display", (1200, 1600)), ("thumb", (240, 320))):
        r = client.get(f"{URL.format(digest)}/{variant}", headers=world.a.auth())
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "image/jpeg"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Cache-Control"].startswith("private")
        im = Image.open(io.BytesIO(r.data))
        assert im.size == size and not im.getexif()
        etag = r.headers["ETag"]
        cached = client.get(f"{URL.format(digest)}/{variant}", headers={**world.a.auth(), "If-None-Match": etag})
        assert cached.status_code == 304 and cached.data == b""


def test_digest_must_be_a_sha256(client, world, photo_dirs):
    r = client.put(URL.format("not-a-digest"), data=b"x", headers=world.a.auth())
    assert r.status_code == 422 and r.json["error"]["code"] == "validation_failed"
    assert client.get(URL.format("0" * 63), headers=world.a.auth()).status_code == 404


def test_a_check_waiting_for_its_photo_completes_when_it_arrives(app, client, world, photo_dirs, clock):
    data = make_image("JPEG", (320, 240))
    digest = sha(data)
    answers = good_answers()
    answers[2]["photos"] = [digest]
    record = check_record(world.a.schedules["daily"], world.a.version_id, clock.now(), answers=answers)
    r = client.post("/api/v1/checks", json=record, headers=world.a.auth())
    assert r.status_code == 201 and r.json["status"] == "awaiting_photos"

    # B sending the same bytes completes nothing of A's.
    assert put(client, world.b, data).status_code == 201
    assert client.get(f"/api/v1/checks/{record['id']}", headers=world.a.auth()).json["status"] == "awaiting_photos"

    assert put(client, world.a, data).status_code == 201
    assert client.get(f"/api/v1/checks/{record['id']}", headers=world.a.auth()).json["status"] == "complete"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Check)) == 1


def test_a_photo_sent_before_its_check_makes_the_check_complete_at_once(client, world, photo_dirs, clock):
    data = make_image("WEBP", (320, 240))
    assert put(client, world.a, data).status_code == 201
    answers = good_answers()
    answers[2]["photos"] = [sha(data)]
    record = check_record(world.a.schedules["daily"], world.a.version_id, clock.now(), answers=answers)
    r = client.post("/api/v1/checks", json=record, headers=world.a.auth())
    assert r.status_code == 201 and r.json["status"] == "complete"


def test_racing_puts_of_one_photo_store_one_row(app, world, photo_dirs, monkeypatch):
    """The loser of the unique constraint answers with the winner's row (200), not a 500."""
    from server.photos import services

    data = make_image()
    digest = sha(data)
    client = app.test_client()
    real_find = services.find_photo
    calls = []

    def find_missing_once(enterprise_id, wanted):
        # The first look-ups miss, as in a request racing another; the other request then commits.
        calls.append(wanted)
        if len(calls) == 2:
            with app.app_context():
                other = app.test_client()
                monkeypatch.setattr(services, "find_photo", real_find)
                assert put(other, world.a, data).status_code == 201
                monkeypatch.setattr(services, "find_photo", find_missing_once)
            return None
        return real_find(enterprise_id, wanted)

    monkeypatch.setattr(services, "find_photo", find_missing_once)
    r = put(client, world.a, data)
    assert r.status_code == 200 and r.json["sha256"] == digest
    assert len(calls) == 3  # the view's look-up, ingest's, and the winner's after the conflict
    assert photo_rows(app) == [(world.a.enterprise_id, digest)]


def test_photo_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"head", "get", "put"} <= set(paths["/api/v1/photos/{sha256}"])
    assert "get" in paths["/api/v1/photos/{sha256}/display"] and "get" in paths["/api/v1/photos/{sha256}/thumb"]
    assert {"options", "post"} <= set(paths["/api/v1/uploads"])
    assert {"head", "patch", "delete"} <= set(paths["/api/v1/uploads/{upload_id}"])
    assert paths["/api/v1/photos/{sha256}"]["put"]["security"] == [{"bearerAuth": []}]
