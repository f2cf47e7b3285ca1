"""What protects the reporter: no trace of their connection anywhere — database, stored files,
the rate limiter's memory, the application's and the servers' logs — photos stored without any
metadata (read back from the stored bytes), and the photo limits of the pipeline."""
from __future__ import annotations

import io
import logging
import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
import sqlalchemy as sa
from PIL import Image

from server import cli
from server.extensions import db
from server.photos import images
from server.reports.models import FamilyReport, FamilyReportPhoto
from tests.reports.conftest import DEVICE_WORDS, REPORTER_ADDR, csrf_of, link_token, metadata_jpeg, receipt_on


def _every_value(app) -> list[str]:
    """Every value of every row of every table, as text."""
    with app.app_context():
        conn = db.session.connection()
        values = [str(v) for table in db.metadata.sorted_tables for row in conn.execute(sa.select(table)) for v in row]
        db.session.remove()
    return values


def _stored_files(photo_dirs) -> list[bytes]:
    return [p.read_bytes() for p in photo_dirs["PHOTO_DIR"].rglob("*") if p.is_file()]


def test_no_address_or_browser_trace_is_stored_anywhere(app, public, queue, world, photo_dirs, caplog):
    caplog.set_level(logging.DEBUG)
    receipt = public.receipt(photos=(metadata_jpeg(),), contact="13800000000", site_id=world.a.site_id)
    assert public.status(receipt).status_code == 200
    rid = queue.ids()[0]
    assert queue.confirm(rid, reply="已核实").status_code == 200  # the hazard, its photos, the alert's end
    assert queue.post(f"/reports/{rid}/rewards", {"amount": "200.00"}).status_code == 201
    values = _every_value(app)
    assert values  # the search did look at something
    traces = (REPORTER_ADDR, "203.0.113", "ReporterAgent", "SpyPhone Build")
    for trace in traces:
        assert not [v for v in values if trace in v], trace
        assert trace not in caplog.text
        for data in _stored_files(photo_dirs):
            assert trace.encode() not in data
    # No column anywhere is even meant to hold one.
    words = {w for t in db.metadata.sorted_tables if t.name.startswith("family_report") for c in t.columns for w in c.name.lower().split("_")}
    assert not words & {"ip", "addr", "address", "agent", "ua", "fingerprint", "cookie", "session", "browser", "device"}


def test_stored_photo_bytes_carry_no_metadata(app, public, photo_dirs):
    original = metadata_jpeg((800, 600))
    with Image.open(io.BytesIO(original)) as im:  # the test photo really carries all of it
        assert images.gps_position(im.getexif()) == (31.2358333, 121.475)
        assert {"exif", "xmp", "comment", "icc_profile"} <= set(im.info)
    public.receipt(photos=(original,))
    with app.app_context():
        [photo] = db.session.scalars(sa.select(FamilyReportPhoto)).all()
        db.session.remove()
    files = {p.name: p.read_bytes() for p in photo_dirs["PHOTO_DIR"].rglob("*") if p.is_file()}
    assert set(files) == {"display.jpg", "thumb.jpg"}  # the phone's file itself is not kept
    for data in files.values():
        assert data != original
        for word in (*DEVICE_WORDS, b"Exif", b"GPS", b"http://ns.adobe.com", b"adobe:ns:meta", b"ICC_PROFILE"):
            assert word not in data, word
        with Image.open(io.BytesIO(data)) as im:
            assert im.format == "JPEG"
            assert len(im.getexif()) == 0
            assert not {"exif", "xmp", "comment", "icc_profile"} & set(im.info), im.info.keys()
            assert images.gps_position(im.getexif()) == (None, None)
    assert photo.width == 800 and photo.height == 600


def test_an_image_that_is_not_a_photo_is_refused_and_nothing_is_kept(app, public, photo_dirs):
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, "GIF")
    r = public.submit(photos=(metadata_jpeg(), gif.getvalue()))
    assert r.status_code == 415 and r.json["error"]["code"] == "unsupported_media_type"
    r = public.submit(photos=(b"<svg xmlns='http://www.w3.org/2000/svg'/>",))
    assert r.status_code == 415
    r = public.submit(photos=(metadata_jpeg()[:-200],))
    assert r.status_code == 422 and r.json["error"]["code"] == "image_invalid"
    assert _stored_files(photo_dirs) == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FamilyReport)) == 0
        db.session.remove()


def test_photo_count_and_size_limits(app, public, photo_dirs, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_MAX_PHOTOS", 2)
    r = public.submit(photos=(metadata_jpeg(), metadata_jpeg((40, 40)), metadata_jpeg((50, 50))))
    assert r.status_code == 422 and "photos" in r.json["error"]["details"]
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", 1000)
    r = public.submit(photos=(metadata_jpeg((400, 400)),))
    assert r.status_code == 413 and r.json["error"]["code"] == "image_too_large"
    monkeypatch.setitem(app.config, "REPORT_MAX_CONTENT_LENGTH", 2000)
    r = public.submit(photos=(b"\xff\xd8\xff" + b"0" * 5000,))
    assert r.status_code == 413 and r.json["error"]["code"] == "payload_too_large"
    assert _stored_files(photo_dirs) == []


def test_a_report_body_may_be_larger_than_the_json_cap(app, public, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4000)
    big = metadata_jpeg((300, 300))
    noisy = io.BytesIO()
    Image.effect_noise((400, 400), 80).convert("RGB").save(noisy, "JPEG", quality=95)
    assert len(noisy.getvalue()) > 4000
    assert public.submit(photos=(big, noisy.getvalue())).status_code == 201


def test_empty_file_inputs_are_skipped_and_the_same_photo_is_kept_once(app, public):
    photo = metadata_jpeg()
    assert public.submit(photos=(b"", photo, photo)).status_code == 201
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FamilyReportPhoto)) == 1
        db.session.remove()


@pytest.mark.parametrize("variant", ["display", "thumb"])
def test_the_queue_serves_the_clean_copies(queue, public, variant):
    public.receipt(photos=(metadata_jpeg((900, 500)),))
    report = queue.latest()
    sha = report["photos"][0]["sha256"]
    r = queue.get(f"/reports/{report['id']}/photos/{sha}/{variant}")
    assert r.status_code == 200 and r.mimetype == "image/jpeg" and r.headers["X-Content-Type-Options"] == "nosniff"
    with Image.open(io.BytesIO(r.data)) as im:
        assert max(im.size) == (900 if variant == "display" else 320) and not im.getexif()
    assert queue.get(f"/reports/{report['id']}/photos/{'0' * 64}/{variant}").status_code == 404
    assert queue.get(f"/reports/{report['id']}/photos/{sha}/{variant}", role="worker").status_code == 403


# --------------------------------------------------------------------------- the HTML page, the limiter, the logs


def test_the_html_form_leaves_no_trace_of_its_sender(app, page, queue, photo_dirs, caplog):
    from server.extensions import limiter

    caplog.set_level(logging.DEBUG)
    r = page.send(photos=(metadata_jpeg(),), anonymous="false", contact="13800000000", concerns_supervisor=True)
    assert r.status_code == 200
    assert page.look_up(receipt_on(r)).status_code == 200
    assert queue.confirm(queue.ids()[0]).status_code == 200
    values = _every_value(app)
    # The limiter counted this client (under a keyed hash), and holds no address either.
    counted = repr(vars(limiter.storage))
    assert "client:" in counted
    for trace in (REPORTER_ADDR, "203.0.113", "ReporterAgent", "SpyPhone Build"):
        assert not [v for v in values if trace in v], trace
        assert trace not in caplog.text and trace not in counted
        for data in _stored_files(photo_dirs):
            assert trace.encode() not in data


def test_the_dev_server_log_names_no_reporter(app, live_server, world, caplog, monkeypatch):
    token = link_token(app, world.a.enterprise_id)
    # Alembic's logging set-up (the migrations ran in this process) disables loggers it did not name.
    monkeypatch.setattr(logging.getLogger("werkzeug"), "disabled", False)
    caplog.set_level(logging.INFO, logger="werkzeug")
    with requests.Session() as browser:
        form = browser.get(f"{live_server}/r/{token}")
        sent = browser.post(f"{live_server}/r/{token}", data={"description": "楼梯间堆放杂物", "csrf_token": csrf_of(form.text)}, files={"photos": ("a.jpg", metadata_jpeg(), "image/jpeg")})
        assert sent.status_code == 200
        assert browser.get(f"{live_server}/api/v1/public/reports/{token}").status_code == 200
        assert browser.get(f"{live_server}/q/{world.a.post_token}").status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    private = [line for line in lines if "/r/" in line or "/api/v1/public/" in line]
    assert len(private) == 3 and all(line.startswith("- - - [") for line in private), private
    assert not [line for line in private if "127.0.0.1" in line]
    # Other paths are logged as before.
    assert [line for line in lines if "/q/" in line and line.startswith("127.0.0.1 ")]


def _gunicorn_line(capsys, path: str) -> str:
    from gunicorn.config import Config

    from server.accesslog import GunicornLogger

    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("access_log_format", '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-forwarded-for}i)s %({x-real-ip}i)s')
    logger = GunicornLogger(cfg)
    environ = {"REMOTE_ADDR": REPORTER_ADDR, "REQUEST_METHOD": "POST", "RAW_URI": path, "PATH_INFO": path, "SERVER_PROTOCOL": "HTTP/1.1",
               "HTTP_USER_AGENT": "ReporterAgent", "HTTP_REFERER": "https://wx.example/chat"}
    request = SimpleNamespace(headers=[("X-FORWARDED-FOR", REPORTER_ADDR), ("X-REAL-IP", REPORTER_ADDR), ("USER-AGENT", "ReporterAgent")])
    response = SimpleNamespace(status="200 OK", headers=[], sent=1234)
    capsys.readouterr()
    logger.access(response, request, environ, timedelta(milliseconds=12))
    return capsys.readouterr().out


@pytest.mark.parametrize("path", ["/r/Abc123", "/r/status", "/api/v1/public/reports/Abc123", "/api/v1/public/report-status"])
def test_the_gunicorn_access_log_names_no_reporter(capsys, path):
    line = _gunicorn_line(capsys, path)
    assert path in line and " 200 1234 " in line
    for trace in (REPORTER_ADDR, "ReporterAgent", "wx.example"):
        assert trace not in line


def test_the_gunicorn_access_log_is_unchanged_elsewhere(capsys):
    line = _gunicorn_line(capsys, "/api/v1/scan/abc")
    assert line.startswith(REPORTER_ADDR) and "ReporterAgent" in line


def test_production_and_zicha_serve_use_the_private_access_log():
    conf = runpy.run_path(str(Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"))
    assert conf["logger_class"] == "server.accesslog.GunicornLogger"
    assert '"--logger-class", "server.accesslog.GunicornLogger"' in Path(cli.__file__).read_text()
