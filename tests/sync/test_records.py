"""Pure rules of the wire format: answer evaluation, content hashing, time estimation, windows."""
from __future__ import annotations

import json
import math
import random
import uuid
from datetime import datetime, timedelta, timezone

import marshmallow as ma
import pytest

from sync.periods import Frequency, period_of
from sync.records import (
    CheckRecordSchema, ItemListSchema, canonical_json, canonical_record, content_hash, evaluate_answers, record_id,
)
from sync.timing import estimate_performed_at
from sync.windows import DueState, due_state, due_window

YES = {"id": "y", "kind": "yes_no", "label": "是否"}
NO_EXPECTED = {"id": "n", "kind": "yes_no", "label": "有无泄漏", "expected": False}
NUM = {"id": "t", "kind": "number", "label": "温度", "min": 5, "max": 40, "valid_min": -50, "valid_max": 150}
OPEN_NUM = {"id": "p", "kind": "number", "label": "压力", "max": 1.6}
CHOICE = {
    "id": "c",
    "kind": "choice",
    "label": "状态",
    "options": [{"value": "ok", "label": "正常", "ok": True}, {"value": "bad", "label": "异常", "ok": False}],
}
TEXT = {"id": "x", "kind": "text", "label": "备注", "required": False, "max_length": 5}
PHOTO_ITEM = {"id": "ph", "kind": "yes_no", "label": "拍照", "photo_required": True}


@pytest.mark.parametrize(
    "item, value, ok",
    [
        (YES, True, True),
        (YES, False, False),
        (NO_EXPECTED, False, True),
        (NO_EXPECTED, True, False),
        (NUM, 5, True),
        (NUM, 40.0, True),
        (NUM, 40.01, False),
        (NUM, 4.99, False),
        (NUM, -50, False),
        (OPEN_NUM, -3, True),
        (OPEN_NUM, 1.7, False),
        (CHOICE, "ok", True),
        (CHOICE, "bad", False),
        (TEXT, "好", True),
    ],
)
def test_ok_per_item(item, value, ok):
    result = evaluate_answers([item], [{"item_id": item["id"], "value": value}])
    assert result.errors == {}
    assert result.answers[0]["ok"] is ok
    assert result.ok is ok and result.failed_count == (0 if ok else 1)


@pytest.mark.parametrize(
    "item, value, problem",
    [
        (YES, "true", "expected true or false"),
        (YES, 1, "expected true or false"),
        (NUM, True, "expected a finite number"),
        (NUM, "12", "expected a finite number"),
        (NUM, float("nan"), "expected a finite number"),
        (NUM, float("inf"), "expected a finite number"),
        (NUM, 151, "above the possible maximum 150"),
        (NUM, -51, "below the possible minimum -50"),
        (CHOICE, "maybe", "not one of the options"),
        (CHOICE, 1, "not one of the options"),
        (TEXT, 5, "expected text"),
        (TEXT, "太长的文字啊", "text too long"),
        (YES, None, "required"),
        (PHOTO_ITEM, True, "photo required"),
    ],
)
def test_invalid_answers_are_reported(item, value, problem):
    result = evaluate_answers([item], [{"item_id": item["id"], "value": value}])
    assert result.errors == {item["id"]: [problem]}
    assert result.answers == []


def test_unanswered_optional_item_counts_as_neither():
    result = evaluate_answers([YES, TEXT], [{"item_id": "y", "value": True}])
    assert result.errors == {} and result.ok and [a["item_id"] for a in result.answers] == ["y"]


def test_answers_come_back_in_checklist_order():
    result = evaluate_answers([YES, NUM, CHOICE], [{"item_id": "c", "value": "ok"}, {"item_id": "t", "value": 20}, {"item_id": "y", "value": True}])
    assert [a["item_id"] for a in result.answers] == ["y", "t", "c"]


def _record(**overrides):
    raw = {
        "id": "6f1c1a52-4a63-4b3c-9d7e-2f0b8f0f3c11",
        "schedule_id": 1,
        "checklist_version_id": 2,
        "performed_at": "2026-11-23T10:00:00+08:00",
        "answers": [{"item_id": "y", "value": True}],
    }
    raw.update(overrides)
    return CheckRecordSchema().load(raw)


def test_content_hash_ignores_serialisation_and_sees_content():
    base = content_hash(_record())
    assert content_hash(_record(performed_at="2026-11-23T02:00:00Z")) == base
    assert content_hash(_record(performed_at="2026-11-23T02:00:01Z")) != base
    assert content_hash(_record(answers=[{"item_id": "y", "value": False}])) != base
    assert content_hash(_record(note="补充说明")) != base
    assert content_hash(_record(id=str(uuid.uuid4()))) != base


def test_content_hash_is_the_one_stored_hashes_were_made_with():
    # sha256 of json.dumps(canonical_record(r), sort_keys=True, separators=(",", ":"),
    # ensure_ascii=False): checks stored by every earlier release carry hashes made so, and a
    # resend must still match them — whatever library writes the text now.
    record = _record(
        note='补充说明 "引号"\n',
        performed_at="2026-11-23T10:00:00.123456+08:00",
        answers=[
            {"item_id": "y", "value": True, "note": "正常", "photos": ["a" * 64]},
            {"item_id": "t", "value": 36.6},
            {"item_id": "p", "value": 1e-05},
            {"item_id": "c", "value": "bad"},
            {"item_id": "x", "value": None},
        ],
    )
    assert content_hash(record) == "75ab6e1628a4dc02b6cbd6928f6b3f5da115dc47008bf3a94644a9bb8abd4ee4"


def _standard_library_text(record) -> bytes:
    return json.dumps(canonical_record(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _any_value(rng: random.Random, depth: int = 0):
    """Any JSON value a device could send as an answer — valid or not, all are hashed."""
    kind = rng.randrange(10 if depth < 2 else 7)
    if kind == 0:
        return rng.choice([None, True, False, math.nan, math.inf, -math.inf, 0.0, -0.0])
    if kind == 1:
        return rng.choice([rng.randint(-(2**80), 2**80), rng.randint(-(2**63), 2**64 - 1), rng.randint(-1000, 1000), 2**64, -(2**63) - 1])
    if kind == 2:
        return rng.uniform(-1, 1) * 10.0 ** rng.randint(-324, 308)  # every magnitude: 1e+16, 1e-05 …
    if kind == 3:
        return round(rng.uniform(-100, 100), rng.randint(0, 4))  # readings as people write them
    if kind in (4, 5, 6):
        return "".join(rng.choice("ok 中文隐患😀é\n\t\"\\/\x00\x1f\x7f\u2028") for _ in range(rng.randrange(10)))
    if kind in (7, 8):
        return [_any_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(["b", "a", "中", "Z"]): _any_value(rng, depth + 1) for _ in range(rng.randrange(4))}


def test_canonical_json_is_byte_for_byte_the_standard_librarys():
    rng = random.Random(20261124)
    for n in range(3000):
        made = datetime(2017, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=rng.randrange(10**16))
        # Loaded by the schema, then given what it would not pass (a hash is made before judging).
        record = _record(performed_at=made.isoformat())
        record["note"] = str(_any_value(rng, 9)) if n % 2 else ""
        record["answers"] = [
            {"item_id": f"i{k}", "value": _any_value(rng), "note": rng.choice(["", "正常", "a\tb"]), "photos": ["f" * 64] * rng.randrange(2)}
            for k in range(rng.randrange(1, 6))
        ]
        assert canonical_json(record) == _standard_library_text(record), record


def test_canonical_json_writes_every_character_as_the_standard_library_does():
    characters = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(characters), 8192):
        record = _record()
        record["note"] = "".join(characters[start : start + 8192])
        assert canonical_json(record) == _standard_library_text(record)


def test_record_schema_refuses_naive_times_and_unknown_fields():
    with pytest.raises(ma.ValidationError) as info:
        _record(performed_at="2026-11-23T10:00:00", status="reviewed")
    assert set(info.value.messages) == {"performed_at", "status"}


@pytest.mark.parametrize(
    "items, field",
    [
        ([], "items"),
        ([YES, dict(YES)], "items"),
        ([dict(CHOICE, options=CHOICE["options"][:1])], "items"),
        ([dict(NUM, min=50, max=10)], "items"),
        ([dict(YES, kind="rating")], "items"),
        ([dict(YES, id="has space")], "items"),
    ],
)
def test_bad_item_lists_are_refused(items, field):
    with pytest.raises(ma.ValidationError) as info:
        ItemListSchema().load({"items": items})
    assert field in info.value.messages


R = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
PUBLISHED = datetime(2026, 11, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "device, expected_at, quality, flags",
    [
        (R - timedelta(days=2), R - timedelta(days=2), "device", ()),
        (R + timedelta(minutes=4), R, "device", ()),
        (R + timedelta(minutes=6), R, "server_receipt", ("clock_ahead",)),
        (R + timedelta(days=3650), R, "server_receipt", ("clock_ahead",)),
        (datetime(1970, 1, 1, tzinfo=timezone.utc), R, "server_receipt", ("clock_behind",)),
        (PUBLISHED, PUBLISHED, "device", ()),
    ],
)
def test_time_estimates(device, expected_at, quality, flags):
    estimate = estimate_performed_at(device, R, PUBLISHED)
    assert (estimate.at, estimate.quality, estimate.flags) == (expected_at, quality, flags)


def test_due_window_is_clamped_to_its_period():
    period = period_of(Frequency.DAILY, R, "Asia/Shanghai")
    opens, closes = due_window(period, 480, 600)
    assert opens == datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc) and closes == datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
    assert due_window(period, 0, 99999) == (period.start, period.end)
    assert due_window(period, 99999, None) == (period.end, period.end)
    assert due_state((opens, closes), closes, done=False) is DueState.OVERDUE
    assert due_state((opens, closes), closes - timedelta(seconds=1), done=False) is DueState.DUE
    assert due_state((opens, closes), opens - timedelta(seconds=1), done=False) is DueState.UPCOMING
    assert due_state((opens, closes), opens - timedelta(seconds=1), done=True) is DueState.DONE


def test_current_periods_are_reused_only_while_they_hold():
    from server.enterprises.calendar import current_periods

    shifts = ("08:00", "20:00")
    first = current_periods("Asia/Shanghai", shifts, R)  # 10:00 Shanghai, day shift
    assert current_periods("Asia/Shanghai", shifts, R + timedelta(hours=9, minutes=59)) is first
    later = current_periods("Asia/Shanghai", shifts, R + timedelta(hours=10))  # 20:00: night shift
    assert later[Frequency.SHIFT].key == "2026-11-23-S2" and later[Frequency.DAILY].key == "2026-11-23"
    back = current_periods("Asia/Shanghai", shifts, R - timedelta(days=1))  # a replayed moment
    assert back[Frequency.DAILY].key == "2026-11-22"
    assert current_periods("Europe/Berlin", shifts, R)[Frequency.DAILY].start == datetime(2026, 11, 22, 23, 0, tzinfo=timezone.utc)


def test_record_ids_are_version_7_uuids_ordered_by_the_time_they_name():
    made = datetime(2026, 11, 23, 8, 30, 15, 123000, tzinfo=timezone.utc)
    first = uuid.UUID(record_id(made))
    assert first.version == 7 and first.variant == uuid.RFC_4122
    assert first.int >> 80 == int(made.timestamp() * 1000)  # the 48-bit Unix time in ms
    # Later moments sort later, whatever the random bits; the same moment still gives new ids.
    ids = [record_id(made + timedelta(milliseconds=ms)) for ms in range(0, 5000, 7)]
    assert ids == sorted(ids)
    assert len({record_id(made) for _ in range(1000)}) == 1000
    # Reproducible from given random bits (simulations), and those bits all reach the id.
    assert record_id(made, 12345) == record_id(made, 12345) != record_id(made, 12346)
    assert uuid.UUID(record_id(made, (1 << 74) - 1)).int & ((1 << 62) - 1) == (1 << 62) - 1
