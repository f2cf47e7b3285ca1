"""tus 1.0 resumable uploads: the protocol through the test client, then a real tus client
(tuspy) against the app on a real HTTP server, including an upload killed at 60 % and resumed.
"""
from __future__ import annotations

import base64
import hashlib
import io
import socket
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from server.extensions import db
from server.photos.models import Photo, Upload
from tests.photos.conftest import files_under, make_image, sha

UPLOADS = "/api/v1/uploads"
TUS = {"Tus-Resumable": "1.0.0"}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def create(client, tenant, data: bytes, digest: str | None = None, role: str = "worker", **extra):
    headers = {**TUS, **tenant.auth(role), "Upload-Length": str(len(data)),
               "Upload-Metadata": f"sha256 {b64(digest or sha(data))},filename {b64('泵房.jpg')},filetype {b64('image/jpeg')}", **extra}
    return client.post(UPLOADS, headers=headers)


def patch(client, tenant, location: str, chunk: bytes, offset: int, checksum: str | None = "sha1", role: str = "worker"):
    headers = {**TUS, **tenant.auth(role), "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
    if checksum:
        headers["Upload-Checksum"] = f"{checksum} {base64.b64encode(hashlib.new(checksum, chunk).digest()).decode()}"
    return client.patch(location, data=chunk, headers=headers)


def head(client, tenant, location: str, role: str = "worker"):
    return client.head(location, headers={**TUS, **tenant.auth(role)})


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(sa.select(sa.func.count()).select_from(Photo)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Upload)),
        )


def test_options_announces_the_protocol_without_sign_in(client, photo_dirs):
    r = client.options(UPLOADS)
    assert r.status_code == 204
    assert r.headers["Tus-Resumable"] == "1.0.0" and r.headers["Tus-Version"] == "1.0.0"
    assert set(r.headers["Tus-Extension"].split(",")) == {"creation", "checksum", "expiration", "termination"}
    assert "sha1" in r.headers["Tus-Checksum-Algorithm"].split(",")
    assert int(r.headers["Tus-Max-Size"]) == 25 * 1024 * 1024


def test_requests_without_the_tus_version_are_412(client, world, photo_dirs):
    r = client.post(UPLOADS, headers={**world.a.auth(), "Upload-Length": "10"})
    assert r.status_code == 412 and r.headers["Tus-Version"] == "1.0.0"
    assert r.json["error"]["code"] == "tus_version_unsupported"


def test_upload_in_chunks_with_checksums_stores_the_photo(app, client, world, photo_dirs, clock):
    data = make_image("JPEG", (800, 600), noise=True, taken="2026:11:23 09:58:00", offset="+08:00")
    r = create(client, world.a, data)
    assert r.status_code == 201
    location = r.headers["Location"]
    assert location.startswith(f"{UPLOADS}/") and r.headers["Tus-Resumable"] == "1.0.0"
    assert r.headers["Upload-Expires"] == "Tue, 24 Nov 2026 02:00:00 GMT"  # 24 h from T0

    h = head(client, world.a, location)
    assert (h.status_code, h.headers["Upload-Offset"], h.headers["Upload-Length"]) == (200, "0", str(len(data)))
    assert h.headers["Cache-Control"] == "no-store"

    third = len(data) // 3
    for start in (0, third):
        r = patch(client, world.a, location, data[start:start + third], start)
        assert r.status_code == 204 and r.headers["Upload-Offset"] == str(start + third)
    assert counts(app) == (0, 1)
    r = patch(client, world.a, location, data[2 * third:], 2 * third, checksum="sha256")
    assert r.status_code == 204 and r.headers["Upload-Offset"] == str(len(data))
    assert counts(app) == (1, 1)

    photo = client.get(f"/api/v1/photos/{sha(data)}", headers=world.a.auth()).json
    assert photo["byte_size"] == len(data) and photo["captured_at"] == "2026-11-23T01:58:00+00:00"
    # A client whose last answer was lost asks again: the upload is done.
    h = head(client, world.a, location)
    assert h.headers["Upload-Offset"] == h.headers["Upload-Length"] == str(len(data))
    assert patch(client, world.a, location, b"", len(data)).status_code == 204
    assert files_under(photo_dirs["PHOTO_TEMP_DIR"]) == []


def test_wrong_offset_is_409_and_changes_nothing(client, world, photo_dirs):
    data = make_image()
    location = create(client, world.a, data).headers["Location"]
    assert patch(client, world.a, location, data[:100], 0).status_code == 204
    r = patch(client, world.a, location, data[50:150], 50)
    assert r.status_code == 409 and r.json["error"]["code"] == "upload_offset_mismatch"
    assert r.json["error"]["details"] == {"offset": 100}
    assert head(client, world.a, location).headers["Upload-Offset"] == "100"


def test_corrupted_chunk_is_460_and_not_appended(app, client, world, photo_dirs):
    data = make_image("PNG", (300, 200), noise=True)
    location = create(client, world.a, data).headers["Location"]
    half = len(data) // 2
    assert patch(client, world.a, location, data[:half], 0).status_code == 204
    chunk = data[half:]
    corrupted = chunk[:10] + bytes([chunk[10] ^ 0xFF]) + chunk[11:]
    headers = {**TUS, **world.a.auth(), "Upload-Offset": str(half), "Content-Type": "application/offset+octet-stream",
               "Upload-Checksum": "sha1 " + base64.b64encode(hashlib.sha1(chunk).digest()).decode()}
    r = client.patch(location, data=corrupted, headers=headers)
    assert r.status_code == 460 and r.json["error"]["code"] == "checksum_mismatch"
    assert head(client, world.a, location).headers["Upload-Offset"] == str(half)
    assert counts(app) == (0, 1)
    # The good chunk is then taken, and the photo is whole.
    assert patch(client, world.a, location, chunk, half).status_code == 204
    assert counts(app) == (1, 1)
    with app.app_context():
        assert db.session.scalar(sa.select(Photo.byte_size)) == len(data)


def test_unsupported_or_malformed_checksums_are_400(client, world, photo_dirs):
    data = make_image()
    location = create(client, world.a, data).headers["Location"]
    for value in ("md5 AAAA", "sha1 not*base64"):
        headers = {**TUS, **world.a.auth(), "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream", "Upload-Checksum": value}
        r = client.patch(location, data=data, headers=headers)
        assert r.status_code == 400 and r.json["error"]["code"] == "bad_request"


def test_wrong_whole_file_hash_is_refused_and_nothing_stored(app, client, world, photo_dirs):
    data = make_image()
    declared = sha(b"some other photo")
    location = create(client, world.a, data, digest=declared).headers["Location"]
    assert patch(client, world.a, location, data[:200], 0).status_code == 204
    r = patch(client, world.a, location, data[200:], 200)  # every chunk is right; the whole is not
    assert r.status_code == 422 and r.json["error"]["code"] == "hash_mismatch"
    assert r.json["error"]["details"] == {"expected": declared, "received": sha(data)}
    assert counts(app) == (0, 0)
    assert head(client, world.a, location).status_code == 404
    assert files_under(photo_dirs["PHOTO_DIR"]) == [] and files_under(photo_dirs["PHOTO_TEMP_DIR"]) == []


def test_a_finished_upload_that_is_not_an_image_is_refused_and_gone(app, client, world, photo_dirs):
    data = "整改前照片（其实是文字）".encode()
    location = create(client, world.a, data).headers["Location"]
    r = patch(client, world.a, location, data, 0)
    assert r.status_code == 415 and r.json["error"]["code"] == "unsupported_media_type"
    assert counts(app) == (0, 0) and files_under(photo_dirs["PHOTO_TEMP_DIR"]) == []


def test_expired_upload_is_refused_then_purged(app, client, world, photo_dirs, clock):
    from server.photos import services

    data = make_image()
    location = create(client, world.a, data).headers["Location"]
    assert patch(client, world.a, location, data[:100], 0).status_code == 204  # moves the expiry on
    clock.advance(hours=23)
    assert head(client, world.a, location).status_code == 200
    clock.advance(hours=1, seconds=1)
    for r in (head(client, world.a, location), patch(client, world.a, location, data[100:], 100)):
        assert r.status_code == 410
    assert patch(client, world.a, location, data[100:], 100).json["error"]["code"] == "upload_expired"
    assert counts(app) == (0, 1) and len(files_under(photo_dirs["PHOTO_TEMP_DIR"])) == 1

    with app.app_context():
        assert services.purge_expired_uploads() == 1
        db.session.commit()
    assert counts(app) == (0, 0) and files_under(photo_dirs["PHOTO_TEMP_DIR"]) == []
    assert head(client, world.a, location).status_code == 404


def test_purge_command_removes_expired_uploads(app, client, world, photo_dirs, clock):
    location = create(client, world.a, make_image()).headers["Location"]
    keep = create(client, world.a, make_image("PNG")).headers["Location"]
    clock.advance(hours=12)
    assert patch(client, world.a, keep, b"\x89PNG", 0, checksum=None).status_code == 204  # still alive
    clock.advance(hours=13)
    result = app.test_cli_runner().invoke(args=["photos", "purge-uploads"])
    assert result.exit_code == 0 and "1 expired uploads removed" in result.output
    assert head(client, world.a, location).status_code == 404
    assert head(client, world.a, keep).headers["Upload-Offset"] == "4"


def test_uploads_belong_to_their_user_and_enterprise(client, world, photo_dirs):
    data = make_image()
    location = create(client, world.a, data).headers["Location"]
    for tenant, role in ((world.b, "worker"), (world.b, "admin"), (world.a, "supervisor"), (world.a, "admin")):
        assert head(client, tenant, location, role).status_code == 404
        assert patch(client, tenant, location, data, 0, role=role).status_code == 404
        assert client.delete(location, headers={**TUS, **tenant.auth(role)}).status_code == 404
    assert head(client, world.a, location).headers["Upload-Offset"] == "0"
    assert head(client, world.a, f"{UPLOADS}/{'0' * 32}").status_code == 404
    assert head(client, world.a, f"{UPLOADS}/..%2F..%2Fetc").status_code == 404


def test_termination_removes_the_upload(app, client, world, photo_dirs):
    data = make_image()
    location = create(client, world.a, data).headers["Location"]
    assert patch(client, world.a, location, data[:100], 0).status_code == 204
    assert client.delete(location, headers={**TUS, **world.a.auth()}).status_code == 204
    assert head(client, world.a, location).status_code == 404
    assert counts(app) == (0, 0) and files_under(photo_dirs["PHOTO_TEMP_DIR"]) == []


@pytest.mark.parametrize(
    "headers, status, code",
    [
        ({"Upload-Length": str(26 * 1024 * 1024)}, 413, "image_too_large"),
        ({"Upload-Length": "-1"}, 400, "bad_request"),
        ({"Upload-Length": ""}, 400, "bad_request"),
        ({"Upload-Metadata": f"filename {b64('a.jpg')}"}, 400, "bad_request"),
        ({"Upload-Metadata": "sha256 !!!"}, 400, "bad_request"),
        ({"Upload-Metadata": f"sha256 {b64('not hex')}"}, 400, "bad_request"),
    ],
)
def test_bad_creations_are_refused(app, client, world, photo_dirs, headers, status, code):
    base = {**TUS, **world.a.auth(), "Upload-Length": "1000", "Upload-Metadata": f"sha256 {b64('a' * 64)}"}
    r = client.post(UPLOADS, headers={**base, **headers})
    assert (r.status_code, r.json["error"]["code"]) == (status, code)
    assert counts(app) == (0, 0)


def test_patch_needs_the_tus_content_type_and_stays_within_the_length(client, world, photo_dirs):
    data = make_image()
    location = create(client, world.a, data).headers["Location"]
    r = client.patch(location, data=data, headers={**TUS, **world.a.auth(), "Upload-Offset": "0", "Content-Type": "image/jpeg"})
    assert r.status_code == 415
    r = patch(client, world.a, location, data + b"extra", 0)
    assert r.status_code == 413 and r.json["error"]["code"] == "upload_length_exceeded"
    assert head(client, world.a, location).headers["Upload-Offset"] == "0"


def test_open_uploads_per_user_are_capped(app, client, world, photo_dirs, monkeypatch):
    monkeypatch.setitem(app.config, "PHOTO_MAX_OPEN_UPLOADS", 2)
    for n in range(2):
        assert create(client, world.a, make_image(size=(10 + n, 10))).status_code == 201
    r = create(client, world.a, make_image(size=(30, 10)))
    assert r.status_code == 429 and r.json["error"]["code"] == "rate_limited"
    assert create(client, world.a, make_image(size=(30, 10)), role="supervisor").status_code == 201


def test_a_check_waiting_for_a_photo_completes_when_its_tus_upload_finishes(client, world, photo_dirs, clock):
    from tests.builders import check_record, good_answers

    data = make_image("HEIF", (640, 480))
    answers = good_answers()
    answers[2]["photos"] = [sha(data)]
    record = check_record(world.a.schedules["daily"], world.a.version_id, clock.now(), answers=answers)
    assert client.post("/api/v1/checks", json=record, headers=world.a.auth()).json["status"] == "awaiting_photos"
    location = create(client, world.a, data).headers["Location"]
    assert patch(client, world.a, location, data, 0).status_code == 204
    assert client.get(f"/api/v1/checks/{record['id']}", headers=world.a.auth()).json["status"] == "complete"


# --- a real tus client on a real HTTP server --------------------------------------------------------

def tus_client(live_server: str, tenant):
    from tusclient import client as tus

    return tus.TusClient(f"{live_server}{UPLOADS}", headers=dict(tenant.auth()))


def test_tuspy_uploads_a_photo(app, live_server, world):
    data = make_image("JPEG", (1200, 900), noise=True)
    uploader = tus_client(live_server, world.a).uploader(
        file_stream=io.BytesIO(data), chunk_size=64 * 1024, metadata={"sha256": sha(data), "filename": "巡检.jpg"}, upload_checksum=True
    )
    uploader.upload()
    assert uploader.offset == len(data)
    assert counts(app) == (1, 1)


def test_tuspy_upload_interrupted_at_60_percent_then_resumed(app, live_server, world):
    data = make_image("JPEG", (1600, 1200), noise=True)
    metadata = {"sha256": sha(data)}
    first = tus_client(live_server, world.a).uploader(file_stream=io.BytesIO(data), chunk_size=32 * 1024, metadata=metadata, upload_checksum=True)
    sixty_percent = int(len(data) * 0.6)
    first.upload(stop_at=sixty_percent)  # the phone loses its link here
    url, reached = first.url, first.offset
    assert reached == sixty_percent
    assert counts(app) == (0, 1)

    # Later, a new process with only the URL: tuspy asks the offset (HEAD) and goes on from there.
    resumed = tus_client(live_server, world.a).uploader(file_stream=io.BytesIO(data), url=url, chunk_size=32 * 1024, upload_checksum=True)
    assert resumed.offset == reached
    resumed.upload()
    assert resumed.offset == len(data)
    assert counts(app) == (1, 1)
    with app.app_context():
        assert db.session.scalar(sa.select(Photo.sha256)) == sha(data)


def test_connection_killed_mid_chunk_keeps_what_arrived_and_tuspy_resumes(app, live_server, world):
    """The socket dies 60 % into a chunk sent without a checksum: the bytes that reached the
    server are kept (the whole-file SHA-256 still guards them), and the resume sends only the rest."""
    data = make_image("PNG", (900, 700), noise=True)
    location = tus_client(live_server, world.a).uploader(file_stream=io.BytesIO(data), metadata={"sha256": sha(data)}).create_url()
    cut = int(len(data) * 0.6)
    target = urlsplit(location)
    request = (
        f"PATCH {target.path} HTTP/1.1\r\nHost: {target.netloc}\r\nTus-Resumable: 1.0.0\r\n"
        f"Authorization: {world.a.auth()['Authorization']}\r\nUpload-Offset: 0\r\n"
        f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode() + data[:cut]
    with socket.create_connection((target.hostname, target.port), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)  # killed: no more bytes will come
        sock.recv(65536)  # the server answers (or closes) once it has seen the end

    resumed = tus_client(live_server, world.a).uploader(file_stream=io.BytesIO(data), url=location, upload_checksum=True)
    assert resumed.offset == cut
    resumed.upload()
    assert counts(app) == (1, 1)
