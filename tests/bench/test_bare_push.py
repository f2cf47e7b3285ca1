"""The bare endpoint the push benchmark measures against (``bench/bare_push_app.py``) stores
the same rows as a push — the checks, and the photo slots their answers name — in tables shaped
like the server's; else the ratio ``bench/bench_push.py`` prints would compare unlike work."""
from __future__ import annotations

import sqlite3
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from server.checks.models import Check, CheckPhoto
from server.extensions import db
from sync.simulate import push_bodies, synthetic_records
from sync.timing import Reading
from tests.builders import ITEMS
from tests.conftest import T0

sys.path.append(str(Path(__file__).resolve().parents[2] / "bench"))  # after the project: bench/ shadows nothing
import bare_push_app


@pytest.fixture
def bare(tmp_path, monkeypatch):
    """The bare endpoint on a SQLite file of its own, with the one table it reads (schedules)."""
    path = tmp_path / "bare.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE schedules (id INTEGER PRIMARY KEY, post_id INTEGER)")
    monkeypatch.setattr(bare_push_app, "_local", threading.local())  # its connection is per thread
    return path, bare_push_app.create_bare_app(f"sqlite:///{path}").test_client()


def _bodies(tenant, n: int) -> list[bytes]:
    records = synthetic_records(
        n, schedule_id=tenant.schedules["daily"], version={"id": tenant.version_id, "items": ITEMS},
        start=T0 - timedelta(hours=2), boot_id="bench-test", spacing=timedelta(minutes=1), seed=7, fail_rate=0.3,
    )
    sent = Reading("bench-test", 3_600_000 + 2 * 3_600_000, T0)
    return [encoded.body for encoded in push_bodies(records, sent=sent, batch=10)]


def test_bare_push_stores_the_rows_a_push_stores(app, client, world, bare):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("the bare endpoint is a SQLite benchmark")
    path, bare_client = bare
    bodies = _bodies(world.a, 30)
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    for body in bodies:
        assert client.post("/api/v1/sync/push", data=body, headers={**headers, **world.a.auth("worker")}).status_code == 200
        assert bare_client.post("/bare/push", data=body, headers=headers).status_code == 200

    with app.app_context():
        checks = db.session.scalar(sa.select(sa.func.count()).select_from(Check))
        slots = sorted(db.session.execute(sa.select(CheckPhoto.check_id, CheckPhoto.sha256)).all())
    with sqlite3.connect(path) as con:
        bare_checks = con.execute("SELECT count(*) FROM bare_checks").fetchone()[0]
        bare_slots = sorted(con.execute("SELECT check_id, sha256 FROM bare_check_photos").fetchall())
        indexes = {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_bare_%'")}
        follow_up = con.execute("SELECT sql FROM sqlite_master WHERE name = 'ix_bare_checks_follow_up'").fetchone()[0]

    assert checks == bare_checks == 30
    assert len(slots) > 0
    assert [(str(c).replace("-", ""), d) for c, d in bare_slots] == [(c.hex, d) for c, d in slots]
    assert indexes == {i.name.replace("ix_", "ix_bare_", 1) for t in (Check.__table__, CheckPhoto.__table__) for i in t.indexes}
    assert follow_up.endswith("WHERE follow_up")  # a partial index stays partial
