"""Tenancy for what issues 3 to 6 added: photos, missed checks, pauses, alerts, notification
channels, the in-app inbox, the hazard ledger's documents and family reports. The same rule as tests/api/test_tenancy.py, by the same means: A's
users calling with B's ids get 404 ``not_found``, exactly what an id that exists nowhere gets,
with nothing of B in it, and not one row changes."""
from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from PIL import Image

from server.alerts.models import Alert
from server.extensions import db
from server.jobs.services import run_due
from server.jobs.tasks import JOBS
from server.misses.models import MissedCheck
from server.notifications.models import Notification
from tests.api.test_tenancy import ADMIN, ALL, API, MANAGERS, READERS, assert_nothing_of_b, snapshot, tenants  # noqa: F401

INBOX = ("admin", "safety_manager", "supervisor")


def _jpeg() -> tuple[bytes, str]:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 10, 10)).save(out, "JPEG")
    return out.getvalue(), hashlib.sha256(out.getvalue()).hexdigest()


@pytest.fixture
def loop(app, client, clock, tenants, photo_dirs):
    """B's photo, misses, alerts, pause, channel and inbox notification; ids nobody has for the ghost."""
    a, b, ghost = tenants
    data, b.photo = _jpeg()
    assert client.put(f"{API}/photos/{b.photo}", data=data, headers={**b.auth(), "Content-Type": "image/jpeg"}).status_code == 201
    with app.app_context():
        run_due([j for j in JOBS if j.name == "misses.detect"], "tenancy-test", clock.now(), force=True)
        b.miss_id = db.session.scalar(sa.select(MissedCheck.id).where(MissedCheck.enterprise_id == b.enterprise_id).limit(1))
        b.alert_id = db.session.scalar(sa.select(Alert.id).where(Alert.enterprise_id == b.enterprise_id).limit(1))
        b.notification_id = db.session.scalar(sa.select(Notification.id).where(Notification.user_id == b.users["supervisor"]).limit(1))
        db.session.remove()
    assert b.miss_id and b.alert_id and b.notification_id
    r = client.post(f"{API}/pauses", json={"post_id": b.other_post_id, "reason": "乙停产检修"}, headers=b.auth("safety_manager"))
    assert r.status_code == 201, r.json
    b.pause_id = r.json["id"]
    r = client.post(
        f"{API}/notification-channels",
        json={"kind": "webhook", "name": "乙群", "url": "http://127.0.0.1:9/bravo-hook", "secret": "bravo-secret-0123456789"},
        headers=b.auth("admin"),
    )
    assert r.status_code == 201, r.json
    b.channel_id = r.json["id"]
    r = client.post(f"{API}/hazards", json={"description": "乙秘密隐患", "post_id": b.post_id}, headers=b.auth("worker"))
    assert r.status_code == 201, r.json
    b.hazard_id = r.json["id"]
    assert client.post(f"{API}/hazards/{b.hazard_id}/confirm", json={"grade": "major"}, headers=b.auth("safety_manager")).status_code == 200
    b.report_id, b.report_photo = _family_report(app, client, b, data)
    ghost.photo = "0" * 64
    ghost.hazard_id = 990_065
    ghost.report_id, ghost.report_photo = 990_066, "0" * 64
    ghost.miss_id, ghost.alert_id, ghost.notification_id, ghost.pause_id, ghost.channel_id = 990_060, 990_061, 990_062, 990_063, 990_064
    clock.advance(minutes=1)
    return a, b, ghost


def _family_report(app, client, b, photo: bytes) -> tuple[int, str]:
    """B's family report (issue 6) with a photo, sent through B's public link; B's admin reads contacts."""
    from server.reports.services import settings_of

    with app.app_context():
        token = settings_of(b.enterprise_id).link_token
        db.session.commit()
        db.session.remove()
    form = {"description": "乙秘密举报", "contact": "乙的电话", "photos": [(io.BytesIO(photo), "p.jpg", "image/jpeg")]}
    assert client.post(f"{API}/public/reports/{token}", data=form, content_type="multipart/form-data").status_code == 201
    assert client.put(f"{API}/report-settings", json={"contact_reader_ids": [b.users["admin"]]}, headers=b.auth("admin")).status_code == 200
    report = client.get(f"{API}/reports", headers=b.auth("admin")).json[0]
    return report["id"], report["photos"][0]["sha256"]


CASES = {
    "photo-get": ("GET", ALL, lambda a, o: (f"/photos/{o.photo}", None)),
    "photo-display": ("GET", ALL, lambda a, o: (f"/photos/{o.photo}/display", None)),
    "photo-thumb": ("GET", ALL, lambda a, o: (f"/photos/{o.photo}/thumb", None)),
    "miss-get": ("GET", READERS, lambda a, o: (f"/misses/{o.miss_id}", None)),
    "pause-get": ("GET", READERS, lambda a, o: (f"/pauses/{o.pause_id}", None)),
    "pause-end": ("POST", MANAGERS, lambda a, o: (f"/pauses/{o.pause_id}/end", {})),
    "pause-create-post": ("POST", MANAGERS, lambda a, o: ("/pauses", {"post_id": o.post_id, "reason": "甲停产"})),
    "pause-create-schedule": ("POST", MANAGERS, lambda a, o: ("/pauses", {"schedule_id": o.schedules["daily"], "reason": "甲停产"})),
    "alert-get": ("GET", INBOX, lambda a, o: (f"/alerts/{o.alert_id}", None)),
    "alert-acknowledge": ("POST", INBOX, lambda a, o: (f"/alerts/{o.alert_id}/acknowledge", {"note": "甲"})),
    "alert-resolve": ("POST", INBOX, lambda a, o: (f"/alerts/{o.alert_id}/resolve", {"note": "甲"})),
    "channel-get": ("GET", ADMIN, lambda a, o: (f"/notification-channels/{o.channel_id}", None)),
    "channel-patch": ("PATCH", ADMIN, lambda a, o: (f"/notification-channels/{o.channel_id}", {"name": "甲改名"})),
    "channel-test": ("POST", ADMIN, lambda a, o: (f"/notification-channels/{o.channel_id}/test", None)),
    "channel-replay": ("POST", ADMIN, lambda a, o: (f"/notification-channels/{o.channel_id}/replay", {"from_seq": 1})),
    "channel-outbox": ("GET", ADMIN, lambda a, o: (f"/notification-channels/{o.channel_id}/outbox", None)),
    "notification-read": ("POST", ALL, lambda a, o: (f"/notifications/{o.notification_id}/read", None)),
    "hazard-report-pdf": ("GET", MANAGERS, lambda a, o: (f"/hazards/{o.hazard_id}/report.pdf", None)),
    "family-report-get": ("GET", READERS, lambda a, o: (f"/reports/{o.report_id}", None)),
    "family-report-thumb": ("GET", READERS, lambda a, o: (f"/reports/{o.report_id}/photos/{o.report_photo}/thumb", None)),
    "family-report-reply": ("POST", MANAGERS, lambda a, o: (f"/reports/{o.report_id}/reply", {"reply": "甲"})),
    "family-report-confirm": ("POST", MANAGERS, lambda a, o: (f"/reports/{o.report_id}/confirm", {})),
    "family-report-contact": ("POST", ALL, lambda a, o: (f"/reports/{o.report_id}/contact", None)),
}

MATRIX = [pytest.param(name, role, id=f"{name}-{role}") for name, (_m, roles, _b) in CASES.items() for role in roles]


def call(client, name, role, a, other):
    method, _roles, build = CASES[name]
    url, body = build(a, other)
    return client.open(API + url, method=method, json=body, headers=a.auth(role))


@pytest.mark.parametrize("name, role", MATRIX)
def test_another_enterprises_ids_are_not_found(app, client, loop, name, role):
    a, b, ghost = loop
    before = snapshot(app)
    r = call(client, name, role, a, b)
    assert r.status_code == 404, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.json["error"]["code"] == "not_found"
    assert_nothing_of_b(r, b)
    reference = call(client, name, role, a, ghost)
    assert reference.status_code == 404 and r.json == reference.json
    assert snapshot(app) == before


def test_listings_show_nothing_of_the_other_enterprise(app, client, loop):
    a, b, _ghost = loop
    for url, role, b_id in (
        ("/misses", "safety_manager", b.miss_id),
        (f"/misses?post_id={b.post_id}", "admin", b.miss_id),
        ("/pauses", "safety_manager", b.pause_id),
        ("/alerts?all=1", "safety_manager", b.alert_id),
        (f"/alerts?all=1&post_id={b.post_id}", "admin", b.alert_id),
        ("/notification-channels", "admin", b.channel_id),
        ("/notifications", "supervisor", b.notification_id),
        ("/sync/gaps", "safety_manager", None),
        ("/hazards/export.csv", "safety_manager", None),
        (f"/hazards/export.csv?post_id={b.post_id}", "admin", None),
        ("/hazards/statistics", "admin", None),
        ("/reports", "safety_manager", b.report_id),
        ("/report-contact-log", "admin", None),
    ):
        r = client.get(API + url, headers=a.auth(role))
        assert r.status_code == 200, (url, r.status_code)
        assert_nothing_of_b(r, b)
        with app.app_context():  # ids of B's rows never appear (A's own rows may share numbers)
            assert b_id is None or all(x.get("enterprise_id", a.enterprise_id) == a.enterprise_id for x in r.json), url
    for url in (f"/misses?post_id={b.post_id}", f"/alerts?all=1&post_id={b.post_id}"):
        assert client.get(API + url, headers=a.auth("admin")).json == []
    assert client.head(f"{API}/photos/{b.photo}", headers=a.auth()).status_code == 404


def test_the_same_calls_succeed_with_own_ids(app, client, clock, loop):
    """The matrix is meaningful: B itself gets answers for its own ids."""
    _a, b, _ghost = loop
    for name, (_method, roles, _build) in CASES.items():
        if name.startswith("pause-create"):
            continue
        r = call(client, name, "supervisor" if name == "notification-read" else roles[0], b, b)  # the inbox is its owner's
        assert r.status_code in (200, 201, 202), (name, r.status_code, r.get_data(as_text=True)[:300])
