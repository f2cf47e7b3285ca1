"""End to end: a phone works offline for a week across several posts, reboots, has its wall clock
set wrong, then syncs over a link that drops requests before and after the server committed —
and the server ends with exactly the checks and photos the phone made, each once, in its own
period, and the phone's outbox is empty.

The real app is served over HTTP on 127.0.0.1; the server's FrozenClock and the phone's clocks
move together (the phone's clocks follow the server's "true" time; its wall clock may lie).
"""
from __future__ import annotations

import hashlib
import io
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import requests
import sqlalchemy as sa
from PIL import Image

from server.checks.models import Check, CheckConflict
from server.extensions import db
from sync.client import Device
from sync.device_clock import SimulatedDeviceClock
from sync.simulate import make_jpeg, sample_answers
from sync.transport import Fault, FaultInjectingAdapter, Transport
from sync.windows import DueState
from tests.builders import PASSWORD
from tests.conftest import T0

SHANGHAI = ZoneInfo("Asia/Shanghai")


def big_jpeg(seed: int) -> bytes:
    """A photo of a few hundred KB: noise does not compress."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (400, 300), rng.randbytes(400 * 300 * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def add_post_with_weekly_schedule(base: str, tenant) -> None:
    """A third post, set up online by the admin before the phone's first pull."""
    admin = {"Authorization": f"Bearer {tenant.tokens['admin']}"}
    post = requests.post(
        f"{base}/api/v1/posts", json={"site_id": tenant.other_site_id, "name": "2号空压机房", "risk_level": "orange"}, headers=admin, timeout=10
    )
    assert post.status_code == 201, post.text
    schedule = requests.post(
        f"{base}/api/v1/schedules",
        json={"post_id": post.json()["id"], "checklist_id": tenant.checklist_id, "frequency": "weekly"},
        headers=admin,
        timeout=10,
    )
    assert schedule.status_code == 201, schedule.text


def test_a_week_offline_then_a_flaky_sync_leaves_exactly_what_the_phone_made(app, clock, world, live_server, tmp_path):
    tenant = world.a
    add_post_with_weekly_schedule(live_server, tenant)

    adapter = FaultInjectingAdapter()
    phone = SimulatedDeviceClock(clock.now, tz=SHANGHAI)
    device = Device(
        live_server,
        str(tmp_path / "phone.db"),
        clock=phone,
        transport=Transport(live_server, adapter=adapter, sleep=lambda _s: None),
        batch_size=5,
        tus_threshold=64 * 1024,
        tus_chunk=48 * 1024,
        pull_limit=4,
    )
    signed = device.sign_in(tenant.code, "worker", PASSWORD)
    device_id = signed["device"]["id"]

    # Online once, at T0: the first pull is a snapshot, in several pages.
    first = device.pull()
    assert first.error is None and first.pages > 1 and first.resets == 1
    posts = device.posts()
    assert len(posts) == 3 and device.resolve_qr(tenant.post_token)["id"] == tenant.post_id
    boot_one = phone.boot_id

    # Offline for nine days: Monday 23 Nov to Tuesday 1 Dec, crossing a week and a month.
    rng = random.Random(7)
    made: dict[str, str] = {}  # check id -> the period it was truly made in
    boots: dict[str, str] = {}
    wrong_clock: set[str] = set()
    photos: set[str] = set()
    shared_photo = make_jpeg(rng)
    for day in range(9):
        clock.set(T0 + timedelta(days=day, minutes=rng.randrange(0, 90)))
        if day == 4:
            phone.reboot()  # switched off and on, still offline: no anchor on this boot
        if day == 5:
            phone.set_wall(datetime(2017, 3, 1, 9, 0, tzinfo=SHANGHAI))  # flat battery
        if day == 7:
            phone.set_wall_offset(timedelta(0))  # the worker fixes the clock
        for post in posts:
            clock.advance(minutes=7)
            # The test decides by true time what is due, so every period gets exactly one check.
            for due in device.due(post["id"], now=clock.now()):
                if due.state not in (DueState.DUE, DueState.OVERDUE):
                    continue

                def photo() -> bytes:
                    if day == 3:
                        return shared_photo  # one photo as evidence in several checks
                    return big_jpeg(day * 100 + len(made)) if len(made) % 9 == 4 else make_jpeg(rng)

                answers = sample_answers(due.version["items"], rng, photo, fail_rate=0.2)
                record = device.make_check(due.schedule["id"], answers)
                made[record.id] = due.period.key
                boots[record.id] = phone.boot_id
                photos.update(record.photos)
                if day in (5, 6):
                    wrong_clock.add(record.id)
    # Post 1: 9 daily + 2 weekly + 2 monthly; post 2: 9 daily; post 3: 2 weekly.
    assert len(made) == 24 and device.outbox()["records"] == 24
    assert any(len(device.store.photo_bytes(s)) > 64 * 1024 for s in photos)  # some go by tus

    # Wednesday: back in range, over a link that drops requests on purpose.
    clock.set(T0 + timedelta(days=9))
    adapter.add(Fault.DROP_BEFORE_SEND, method="POST", path="/api/v1/sync/push")
    adapter.add(Fault.DROP_AFTER_COMMIT, method="POST", path="/api/v1/sync/push", times=2)
    adapter.add(Fault.DROP_BEFORE_SEND, method="HEAD", path="/api/v1/photos/")
    adapter.add(Fault.DROP_AFTER_COMMIT, method="PUT", path="/api/v1/photos/")
    adapter.add(Fault.DROP_AFTER_COMMIT, method="PATCH", path="/api/v1/uploads/")
    adapter.add(Fault.DROP_BEFORE_SEND, method="GET", path="/api/v1/sync/pull")
    report = device.sync()

    assert report.ok, report
    assert adapter.armed == 0 and len(adapter.injected) == 7
    # The first batch of 5 never left, then was committed twice with the answer lost: the third
    # try was answered "duplicate" (the first result). Every check names a photo, so the rest
    # were stored awaiting their photos, which came next.
    assert report.push.results == {"duplicate": 5, "awaiting_photos": 19} and not device.problems()
    assert report.photos.uploaded_resumable >= 1 and report.photos.resumed >= 1
    assert report.photos.refused == 0 and report.photos.failed == 0
    assert device.outbox() == {"drafts": 0, "sealed": 0, "stored": 0, "problems": 0, "records": 0, "photos": 0, "photos_unconfirmed": 0}

    with app.app_context():
        rows = db.session.execute(
            sa.select(Check.id, Check.period_key, Check.schedule_id, Check.status, Check.device_id, Check.device_seq,
                      Check.time_quality, Check.flags).where(Check.enterprise_id == tenant.enterprise_id)
        ).all()
        stored_photos = set(
            db.session.scalars(sa.text("SELECT sha256 FROM photos WHERE enterprise_id = :e"), {"e": tenant.enterprise_id})
        )
        conflicts = db.session.scalar(sa.select(sa.func.count()).select_from(CheckConflict))
        seq = db.session.execute(sa.text("SELECT highest, gaps FROM device_seqs WHERE device_id = :d"), {"d": device_id}).one()
        db.session.remove()

    # Exactly the checks the phone made: same ids, each once, in the period it was truly made in.
    assert len(rows) == len(made) == 24
    assert {str(r.id) for r in rows} == set(made)
    assert {str(r.id): r.period_key for r in rows} == made
    assert len({(r.schedule_id, r.period_key) for r in rows}) == 24
    assert {r.status for r in rows} == {"complete"} and {r.device_id for r in rows} == {device_id}
    assert sorted(r.device_seq for r in rows) == list(range(1, 25))
    assert seq.highest == 24 and seq.gaps in ([], "[]")
    assert conflicts == 0
    # Dated by the phone's monotonic clock, not its wall clock: anchored across the reboot,
    # monotonic on the boot it synced from; the wrong wall clock is flagged, never trusted.
    quality = {str(r.id): r.time_quality for r in rows}
    assert {quality[i] for i, b in boots.items() if b == boot_one} == {"anchored"}
    assert {quality[i] for i, b in boots.items() if b != boot_one} == {"monotonic"}
    assert all("device_clock_wrong" in r.flags for r in rows if str(r.id) in wrong_clock)
    # Exactly the photos the phone made, by content.
    assert stored_photos == photos

    # A second sync has nothing to send, and pulls nothing new.
    again = device.sync()
    assert again.ok and again.push.sent == 0 and again.pull.changes == 0
    device.close()


def test_an_online_scan_is_enough_to_work_offline(app, clock, world, live_server, tmp_path):
    """A phone that only scanned a post online (no pull) can still check it offline."""
    tenant = world.a
    phone = SimulatedDeviceClock(clock.now, tz=SHANGHAI)
    device = Device(live_server, str(tmp_path / "phone.db"), clock=phone, transport=Transport(live_server, sleep=lambda _s: None))
    device.sign_in(tenant.code, "worker", PASSWORD)
    device.fetch_enterprise()
    answer = device.scan_online(tenant.post_token)
    assert device.resolve_qr(tenant.post_token)["id"] == tenant.post_id
    clock.advance(hours=2)
    due = [d for d in device.due(tenant.post_id) if d.state is DueState.DUE]
    assert {d.schedule["id"] for d in due} == {s["schedule_id"] for s in answer["schedules"]}
    rng = random.Random(1)
    record = device.make_check(due[0].schedule["id"], sample_answers(due[0].version["items"], rng, lambda: make_jpeg(rng)))
    report = device.sync(pull=False)
    assert report.ok and report.push.results == {"awaiting_photos": 1} and report.photos.uploaded == len(record.photos)
    assert device.outbox()["records"] == 0
    with app.app_context():
        stored = db.session.get(Check, __import__("uuid").UUID(record.id))
        assert stored.status == "complete" and stored.time_quality == "monotonic"
        assert stored.period_key == "2026-11-23"
        db.session.remove()
    device.close()


def test_a_cursor_the_server_cannot_serve_replaces_reference_data_but_keeps_the_outbox(app, clock, world, live_server, tmp_path):
    def phone(name: str, tenant) -> Device:
        device = Device(
            live_server, str(tmp_path / f"{name}.db"), clock=SimulatedDeviceClock(clock.now, tz=SHANGHAI),
            transport=Transport(live_server, sleep=lambda _s: None),
        )
        device.sign_in(tenant.code, "worker", PASSWORD)
        assert device.pull().error is None
        return device

    device, other = phone("a", world.a), phone("b", world.b)
    rng = random.Random(2)
    schedule_id = world.a.schedules["daily"]
    _schedule, _checklist, version = device.schedule(schedule_id)
    record = device.make_check(schedule_id, sample_answers(version["items"], rng, lambda: make_jpeg(rng)))
    device.store.put_reference("site", {"id": 999, "name": "已删除的厂区"})  # stale: gone on the server
    # A cursor of another scope (here: another enterprise's) gets reset_required and a snapshot.
    device.store.set_meta("cursor", other.store.cursor)
    report = device.pull()
    assert report.error is None and report.resets == 1
    assert device.store.reference("site", 999) is None and device.resolve_qr(world.a.post_token)
    assert device.resolve_qr(world.b.post_token) is None
    # A cursor that is not a cursor at all: 400 invalid_cursor, and the device starts over.
    device.store.put_reference("site", {"id": 999, "name": "已删除的厂区"})
    device.store.set_meta("cursor", "not-a-cursor")
    report = device.pull()
    assert report.error is None and report.resets == 1 and device.store.reference("site", 999) is None
    # The outbox was never touched.
    assert device.store.get(record.id).device_seq == 1 and device.store.has_photo(record.photos[0])
    device.close()
    other.close()


def test_sha_of_generated_photos_is_unique():
    rng = random.Random(3)
    assert len({hashlib.sha256(make_jpeg(rng)).hexdigest() for _ in range(50)}) == 50
