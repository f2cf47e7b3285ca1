"""The device simulator (as a library and as ``python -m sync simulate``) and the payload builder."""
from __future__ import annotations

import gzip
import json
from datetime import timedelta

import sqlalchemy as sa

from server.checks.models import Check
from server.extensions import db
from sync import __main__ as cli
from sync.protocol import MAX_BATCH, PushSchema, SyncCheckRecordSchema
from sync.records import evaluate_answers
from sync.simulate import SimulationConfig, push_bodies, push_bodies_for, simulate, synthetic_records
from sync.timing import Reading
from tests.builders import ITEMS, PASSWORD
from tests.conftest import T0


def test_simulated_devices_work_offline_then_sync_over_a_flaky_link(app, clock, world, live_server, tmp_path):
    # The world was set up a week before T0; the devices' six days offline end at T0.
    config = SimulationConfig(
        server=live_server, enterprise=world.a.code, admin_username="admin", admin_password=PASSWORD,
        devices=3, days=6, workdir=str(tmp_path / "devices"), drop_rate=0.15, concurrency=3, batch_size=7,
        photo_size=(96, 64), seed=5, user_prefix="sim-",
    )
    summary = simulate(config, now=clock.now, sleep=lambda _s: None)

    assert summary.checks_made > 0 and summary.checks_skipped_unpublished == 0
    assert summary.outbox_left == 0 and summary.sync_errors == [] and summary.seq_gaps == 0
    assert summary.faults_injected > 0
    first_results = {k: v for k, v in summary.results.items() if k != "duplicate"}
    assert sum(first_results.values()) + summary.results.get("duplicate", 0) >= summary.checks_made
    assert summary.results.get("rejected", 0) == 0 and summary.results.get("conflict", 0) == 0
    assert summary.photos_uploaded + summary.photos_already_there >= summary.photos_made > 0
    assert 0 < summary.push_bytes_per_check < 2000
    assert "checks made" in summary.text()
    with app.app_context():
        stored = db.session.scalar(sa.select(sa.func.count()).select_from(Check).where(Check.enterprise_id == world.a.enterprise_id))
        complete = db.session.scalar(sa.select(sa.func.count()).select_from(Check).where(Check.status == "complete"))
        qualities = set(db.session.scalars(sa.select(Check.time_quality).distinct()))
        db.session.remove()
    assert stored == complete == summary.checks_made
    assert qualities <= {"monotonic", "device", "anchored"}


def test_the_cli_builds_its_configuration(monkeypatch):
    seen = {}

    def fake_simulate(config, log):
        seen["config"] = config
        from sync.simulate import Summary

        return Summary(config.devices, config.days)

    monkeypatch.setattr(cli, "simulate", fake_simulate)
    code = cli.main(
        ["simulate", "--server", "http://127.0.0.1:5000", "--enterprise", "demo", "--admin-phone", "admin",
         "--admin-password", "pw", "--devices", "50", "--days", "7", "--offline", "--photo-size", "64x48", "--json"]
    )
    config = seen["config"]
    assert code == 0
    assert (config.devices, config.days, config.admin_username, config.photo_size) == (50, 7, "admin", (64, 48))


def test_push_bodies_for_a_benchmark_are_valid_and_small():
    version = {"id": 9, "items": ITEMS}
    records = synthetic_records(450, schedule_id=3, version=version, start=T0 - timedelta(days=1), seed=2)
    assert len({r["id"] for r in records}) == 450
    assert [r["device_seq"] for r in records] == list(range(1, 451))
    for record in records[:20]:
        assert not evaluate_answers(ITEMS, SyncCheckRecordSchema().load(record)["answers"]).errors
    bodies = push_bodies(records, sent=Reading("b0", 99_000_000, T0))
    assert [len(json.loads(gzip.decompress(b.body))["records"]) for b in bodies] == [MAX_BATCH, MAX_BATCH, 50]
    PushSchema().load(json.loads(gzip.decompress(bodies[0].body)))
    per_check = sum(len(b.body) for b in bodies) / 450
    assert per_check < 515, per_check


def test_push_bodies_for_a_benchmark_are_accepted_by_the_server(app, clock, world, live_server):
    """The benchmark's bodies, POSTed as they are: every check accepted, dated by monotonic time."""
    import requests

    tenant = world.a
    version = requests.get(
        f"{live_server}/api/v1/checklists/{tenant.checklist_id}/versions/{tenant.version_id}", headers=tenant.auth("admin"), timeout=10
    ).json()
    bodies = push_bodies_for(250, schedule_id=tenant.schedules["daily"], version=version, now=clock.now(), seed=11, batch=100)
    assert len(bodies) == 3
    results = []
    for body in bodies:
        response = requests.post(f"{live_server}/api/v1/sync/push", data=body.body, headers={**body.headers, **tenant.auth()}, timeout=30)
        assert response.status_code == 200, response.text
        results += response.json()["results"]
    assert len(results) == 250
    # The version has a photo-required item: each check names a (never sent) photo.
    assert {r["result"] for r in results} == {"awaiting_photos"}
    assert {r["time_quality"] for r in results} == {"monotonic"}
