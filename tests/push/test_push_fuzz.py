"""Mutated records in a push: whatever a buggy or hostile device sends in a record, the batch is
answered 200 with one result per record, the rest are stored, and a resend changes nothing.

Each batch mixes good check and hazard records with copies broken at a random place — a value
swapped for junk of another type or size, a key dropped or added, at the top or inside an answer.
Seeded, so a failure repeats; the server must never answer 500 or store half of a record.
"""
from __future__ import annotations

import copy
import json
import random
import uuid

import pytest
import sqlalchemy as sa

from server.checks.models import Check, CheckPhoto
from server.extensions import db
from server.hazards.models import Hazard
from tests.builders import PHOTO
from tests.push.test_push import Phone, count, push

JUNK = [
    None, True, False, 0, -1, 1.5, 2**31, 2**63, -(2**63) - 1, 2**70, 1e308, "", " ", "x" * 5000, "\ud83d", "💥" * 70,
    "2026-13-45T99:00:00+08:00", "2026-11-23T10:00:00", "not-a-uuid", str(uuid.uuid4()), PHOTO, [], [None], [PHOTO] * 30,
    {}, {"item_id": "extinguisher"}, {"$where": 1}, "<script>alert(1)</script>", "'; DROP TABLE checks; --",
]
STORED = {"accepted", "awaiting_photos"}


def _paths(value, prefix=()):
    """Every place in a JSON value: the paths of its keys and list positions."""
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _paths(inner, (*prefix, i))


def _mutate(record: dict, rng: random.Random) -> dict:
    broken = copy.deepcopy(record)
    path = rng.choice([p for p in _paths(broken) if p and p[0] != "id"])  # keep the id: a result must name it
    parent = broken
    for step in path[:-1]:
        parent = parent[step]
    key, how = path[-1], rng.random()
    if how < 0.7:
        parent[key] = copy.deepcopy(rng.choice(JUNK))
    elif how < 0.85 and isinstance(parent, dict):
        del parent[key]
    elif isinstance(parent, dict):
        parent[rng.choice(["extra", "answers_", "__proto__", "type2"])] = rng.choice(JUNK)
    else:
        parent.append(copy.deepcopy(rng.choice(JUNK)))
    return broken


def _hazard(phone: Phone) -> dict:
    phone.seq += 1
    return {
        "type": "hazard", "id": str(uuid.uuid4()), "device_seq": phone.seq, "found_at": phone.wall().isoformat(),
        "boot_id": phone.boot_id, "uptime_ms": phone.uptime(), "description": "配电室门口积水", "hazard_type": "electrical",
        "source": "daily", "photos": [PHOTO], "location": "一楼",
    }


@pytest.mark.parametrize("seed", range(12))
def test_mutated_records_are_answered_one_by_one_and_a_resend_changes_nothing(app, client, world, clock, seed):
    rng = random.Random(seed)
    phone = Phone(clock)
    records = []
    for _ in range(40):
        good = phone.check(world.a.schedules["daily"], world.a.version_id) if rng.random() < 0.75 else _hazard(phone)
        records.append(_mutate(good, rng) if rng.random() < 0.6 else good)
    # As a phone sends it (\\uXXXX escapes for lone surrogates; no NaN can travel).
    body = json.dumps(phone.envelope(records))
    headers = {**world.a.auth(), "Content-Type": "application/json"}

    first = client.post("/api/v1/sync/push", data=body, headers=headers)
    assert first.status_code == 200, first.get_data(as_text=True)[:500]
    results = first.json["results"]
    assert [r["index"] for r in results] == list(range(len(records)))
    assert all(r["result"] in STORED | {"rejected", "conflict"} for r in results)
    assert all(r.get("code") for r in results if r["result"] in ("rejected", "conflict"))
    assert any(r["result"] == "rejected" for r in results) and any(r["result"] in STORED for r in results)

    stored_ids = {r["id"] for r in results if r["result"] in STORED}
    checks = count(app, Check)
    hazards = count(app, Hazard)
    with app.app_context():
        check_ids = {str(i) for i in db.session.scalars(sa.select(Check.id))}
        slots_per_check = dict(db.session.execute(sa.select(CheckPhoto.check_id, sa.func.count()).group_by(CheckPhoto.check_id)).all())
    assert check_ids <= stored_ids
    assert checks + hazards == len(stored_ids)  # a record is stored whole or not at all
    assert all(n >= 1 for n in slots_per_check.values())

    again = client.post("/api/v1/sync/push", data=body, headers=headers)
    assert again.status_code == 200
    for before, after in zip(results, again.json["results"]):
        if before["result"] in STORED:
            assert after["result"] == "duplicate", (before, after)
        else:
            assert after["result"] == before["result"] and after.get("code") == before.get("code")
    assert count(app, Check) == checks and count(app, Hazard) == hazards
