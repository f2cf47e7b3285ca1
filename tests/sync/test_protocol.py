"""The wire format of the push: the fast record loader agrees with the schema; time estimates."""
from __future__ import annotations

import copy
import random
import uuid
from datetime import datetime, timedelta, timezone

import marshmallow as ma
import pytest

from sync.protocol import PushResultSchema, SyncCheckRecordSchema, _fast_check_record, load_check_record
from sync.records import CheckRecordSchema, canonical_record
from sync.simulate import sample_answers
from sync.timing import Anchor, Reading, estimate_performed_at

SCHEMA = SyncCheckRecordSchema()
ITEMS = [
    {"id": "a", "kind": "yes_no", "label": "x"},
    {"id": "n", "kind": "number", "label": "x", "min": 0, "max": 10, "photo_required": True},
    {"id": "c", "kind": "choice", "label": "x", "options": [{"value": "ok", "label": "ok"}, {"value": "bad", "label": "bad", "ok": False}]},
    {"id": "t", "kind": "text", "label": "x"},
]


def good() -> dict:
    return {
        "type": "check",
        "id": str(uuid.uuid4()),
        "device_seq": 7,
        "schedule_id": 3,
        "checklist_version_id": 9,
        "performed_at": "2026-11-23T10:00:00+08:00",
        "boot_id": "boot-1",
        "uptime_ms": 1234,
        "answers": sample_answers(ITEMS, random.Random(1), lambda: "f" * 64, fail_rate=0),
        "note": "备注",
    }


def _set(path, value):
    def mutate(r):
        target = r
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


def _drop(path):
    def mutate(r):
        target = r
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return mutate


MUTATIONS = [
    ("unchanged", lambda r: None),
    ("no note", _drop(["note"])),
    ("no clocks", lambda r: (r.pop("boot_id"), r.pop("uptime_ms"))),
    ("utc Z", _set(["performed_at"], "2026-11-23T02:00:00Z")),
    ("fractions", _set(["performed_at"], "2026-11-23T02:00:00.123456+00:00")),
    ("minutes only", _set(["performed_at"], "2026-11-23T10:00+08:00")),
    ("naive time", _set(["performed_at"], "2026-11-23T10:00:00")),
    ("space separator", _set(["performed_at"], "2026-11-23 10:00:00+08:00")),
    ("bad date", _set(["performed_at"], "2026-02-30T10:00:00+08:00")),
    ("time not text", _set(["performed_at"], 1763863200)),
    ("upper-case uuid", lambda r: r.update(id=r["id"].upper())),
    ("hex uuid", lambda r: r.update(id=uuid.UUID(r["id"]).hex)),
    ("bad uuid", _set(["id"], "not-a-uuid")),
    ("uuid as number", _set(["id"], 12345)),
    ("bool seq", _set(["device_seq"], True)),
    ("zero seq", _set(["device_seq"], 0)),
    ("huge seq", _set(["device_seq"], 2**63)),
    ("float seq", _set(["device_seq"], 7.0)),
    ("text schedule", _set(["schedule_id"], "3")),
    ("largest row id", _set(["schedule_id"], 2**31 - 1)),
    ("schedule past a row id", _set(["schedule_id"], 2**31)),
    ("version past a row id", _set(["checklist_version_id"], 2**31)),
    ("negative version", _set(["checklist_version_id"], -1)),
    ("unknown type", _set(["type"], "hazard")),
    ("no type", _drop(["type"])),
    ("unknown key", _set(["extra"], 1)),
    ("empty boot id", _set(["boot_id"], "")),
    ("long boot id", _set(["boot_id"], "b" * 65)),
    ("negative uptime", _set(["uptime_ms"], -1)),
    ("note too long", _set(["note"], "x" * 2001)),
    ("note null", _set(["note"], None)),
    ("no answers", _set(["answers"], [])),
    ("answers not list", _set(["answers"], {"a": True})),
    ("answer not object", _set(["answers", 0], "yes")),
    ("answer unknown key", _set(["answers", 0, "ok"], True)),
    ("answer without value", _drop(["answers", 0, "value"])),
    ("null value", _set(["answers", 0, "value"], None)),
    ("object value", _set(["answers", 0, "value"], {"nested": [1, 2]})),
    ("long item id", _set(["answers", 0, "item_id"], "i" * 65)),
    ("empty item id", _set(["answers", 0, "item_id"], "")),
    ("answer note long", _set(["answers", 0, "note"], "x" * 501)),
    ("photo upper-case", _set(["answers", 1, "photos"], ["F" * 64])),
    ("photo short", _set(["answers", 1, "photos"], ["f" * 63])),
    ("photo not text", _set(["answers", 1, "photos"], [7])),
    ("eleven photos", _set(["answers", 1, "photos"], ["f" * 64] * 11)),
    ("photos not list", _set(["answers", 1, "photos"], "f" * 64)),
    ("record not object", lambda r: r.clear() or r.update(__list__=True)),
]


@pytest.mark.parametrize("name, mutate", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_the_fast_loader_never_accepts_what_the_schema_refuses(name, mutate):
    raw = good()
    mutate(raw)
    if raw.get("__list__"):
        raw = ["not", "a", "record"]
    fast = _fast_check_record(copy.deepcopy(raw))
    try:
        slow = SCHEMA.load(copy.deepcopy(raw))
    except ma.ValidationError as error:
        assert fast is None, f"fast path accepted what the schema refuses: {error.messages}"
        with pytest.raises(ma.ValidationError):
            load_check_record(raw)
        return
    if fast is not None:
        assert fast == slow
    assert load_check_record(raw) == slow


def test_the_fast_loader_takes_the_common_record():
    assert _fast_check_record(good()) is not None


def test_canonical_record_is_the_schema_dump():
    loaded = SCHEMA.load(good())
    dumped = CheckRecordSchema().dump(loaded)
    dumped["performed_at"] = loaded["performed_at"].timestamp()
    assert canonical_record(loaded) == dumped


def test_push_result_schema_loads_a_result():
    body = {
        "server_time": "2026-11-23T02:00:00+00:00",
        "results": [{"index": 0, "id": str(uuid.uuid4()), "result": "accepted", "status": "complete"}],
        "device_seq": {"highest": 1, "gaps": []},
    }
    assert PushResultSchema().load(body)["results"][0]["result"] == "accepted"


# -- time estimates with monotonic clocks and anchors ---------------------------------------------

R = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
PUBLISHED = R - timedelta(days=30)
TOL = timedelta(minutes=5)
WRONG = datetime(2017, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "wall, made, sent, anchors, at, quality, flags",
    [
        # Same boot: receipt minus the uptime between making and sending; the wall clock is irrelevant.
        (WRONG, Reading("b", 1_000), Reading("b", 3_601_000), [], R - timedelta(hours=1), "monotonic", ("device_clock_wrong",)),
        (R - timedelta(hours=1), Reading("b", 1_000), Reading("b", 3_601_000), [], R - timedelta(hours=1), "monotonic", ()),
        # Rebooted since: an anchor on the making boot dates it.
        (WRONG, Reading("a", 10_000), Reading("b", 5), [Anchor("a", 4_000, R - timedelta(days=1))], R - timedelta(days=1) + timedelta(seconds=6), "anchored", ("device_clock_wrong",)),
        # The closest anchor in uptime wins.
        (R - timedelta(hours=2), Reading("a", 100_000), Reading("b", 5), [Anchor("a", 0, R - timedelta(hours=3)), Anchor("a", 90_000, R - timedelta(hours=2, seconds=10))], R - timedelta(hours=2), "anchored", ()),
        # No anchor for the making boot: the wall clock, if possible.
        (R - timedelta(days=2), Reading("a", 10), Reading("b", 5), [Anchor("c", 1, R)], R - timedelta(days=2), "device", ()),
        (WRONG, Reading("a", 10), Reading("b", 5), [], R, "server_receipt", ("clock_behind",)),
        # Uptime that went backwards on "the same boot" cannot be used.
        (R - timedelta(hours=1), Reading("b", 9_000), Reading("b", 5), [], R - timedelta(hours=1), "device", ()),
        # A monotonic estimate is clamped too: never after receipt, never before publication.
        (R, Reading("a", 10), Reading("b", 5), [Anchor("a", 0, R + timedelta(days=1))], R, "device", ("monotonic_inconsistent",)),
        (R + timedelta(days=3), Reading("a", 10), Reading("b", 5), [Anchor("a", 0, R + timedelta(days=1))], R, "server_receipt", ("monotonic_inconsistent", "clock_ahead")),
        (R - timedelta(days=60), Reading("b", 0), Reading("b", 60 * 86_400_000), [], R, "server_receipt", ("monotonic_inconsistent", "clock_behind")),
    ],
)
def test_estimates_with_clocks(wall, made, sent, anchors, at, quality, flags):
    estimate = estimate_performed_at(wall, R, PUBLISHED, TOL, made=made, sent=sent, anchors=anchors)
    assert (estimate.at, estimate.quality, estimate.flags) == (at, quality, flags)
    assert estimate.at.tzinfo == timezone.utc
