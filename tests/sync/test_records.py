"""Pure rules of the wire format: answer evaluation, content hashing, time estimation, windows."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import marshmallow as ma
import pytest

from sync.periods import Frequency, period_of
from sync.records import CheckRecordSchema, ItemListSchema, content_hash, evaluate_answers, record_id
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
