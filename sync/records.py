"""The wire format of sync, protocol version 1: checklist items and check records.

These shapes are shared by the server (which validates and stores them) and by devices (which
make them offline and validate against the same rules before the server ever sees them), so
they live here, with no import from ``server``.

* :class:`ItemSchema` — one item of a published checklist version (what a device downloads).
* :class:`CheckRecordSchema` — one check as a device sends it (``POST /api/v1/checks`` now, the
  sync push later: the same record).
* :func:`evaluate_answers` — validates answers against a version's items and computes ``ok``
  per item and for the whole check. Pure: the device can run it offline too.
"""
from __future__ import annotations

import enum
import hashlib
import json
import math
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import marshmallow as ma
import orjson
from marshmallow import fields, validate

PROTOCOL_VERSION = 1

MAX_ITEMS = 200
INT64_MAX = 2**63 - 1  # the widest integer either database stores: every count and clock a device sends is bounded by it
# The widest row id: ids are PostgreSQL ``integer`` (serial) columns, so a device naming a larger
# one names no row — and the database could not even compare it (``integer out of range``).
ROW_ID_MAX = 2**31 - 1
ROW_ID = validate.Range(min=1, max=ROW_ID_MAX, error="must be a row id, between {min} and {max}")
MAX_PHOTOS_PER_ANSWER = 10
MAX_TEXT = 2000
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
ITEM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def record_id(made: datetime, random_bits: int | None = None) -> str:
    """A new record's id: a time-ordered UUID, version 7 (RFC 9562 §5.7), from ``made``.

    The first 48 bits are the Unix time in milliseconds, then 74 random bits (``random_bits``,
    for reproducible simulations; fresh from :mod:`secrets` otherwise). Any UUID is accepted by
    the server, but ids that rise with time are appended at the right edge of the server's
    primary-key index instead of landing on a random page of it: a push of 50 random ids
    rewrites ~50 index pages, of 50 time-ordered ids a handful (``bench/bench_push.py``). The
    time is whatever the device believes it is — a wrong clock only costs locality, never
    uniqueness. (Python 3.14 has :func:`uuid.uuid7`; this runs on 3.11.)
    """
    millis = int(made.timestamp() * 1000) & ((1 << 48) - 1)
    rand = secrets.randbits(74) if random_bits is None else random_bits & ((1 << 74) - 1)
    value = (millis << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


class ItemKind(str, enum.Enum):
    YES_NO = "yes_no"    # 是/否: ok when the answer equals ``expected``
    NUMBER = "number"    # 读数: ok when inside [min, max]; outside [valid_min, valid_max] is invalid input
    CHOICE = "choice"    # 单选: each option says whether it is ok
    TEXT = "text"        # 文字: always ok when given


class OptionSchema(ma.Schema):
    value = fields.String(required=True, validate=validate.Length(1, 64))
    label = fields.String(required=True, validate=validate.Length(1, 200))
    label_en = fields.String(validate=validate.Length(max=200))
    ok = fields.Boolean(load_default=True)


class ItemSchema(ma.Schema):
    """One checklist item. ``id`` is stable across versions while the item means the same."""

    id = fields.String(required=True, validate=validate.Regexp(ITEM_ID, error="item id must be 1-64 letters, digits, _ . -"))
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in ItemKind]))
    label = fields.String(required=True, validate=validate.Length(1, 300))
    label_en = fields.String(validate=validate.Length(max=300))
    help = fields.String(validate=validate.Length(max=1000))
    required = fields.Boolean(load_default=True)
    photo_required = fields.Boolean(load_default=False)
    expected = fields.Boolean(metadata={"description": "yes_no: the answer that is ok (default true)"})
    min = fields.Float(allow_none=True, metadata={"description": "number: lowest ok reading"})
    max = fields.Float(allow_none=True, metadata={"description": "number: highest ok reading"})
    valid_min = fields.Float(allow_none=True, metadata={"description": "number: below this the reading is impossible (refused)"})
    valid_max = fields.Float(allow_none=True, metadata={"description": "number: above this the reading is impossible (refused)"})
    unit = fields.String(validate=validate.Length(max=32))
    options = fields.List(fields.Nested(OptionSchema), validate=validate.Length(max=50))
    max_length = fields.Integer(validate=validate.Range(1, MAX_TEXT))

    @ma.validates_schema
    def _consistent(self, data, **_kw):
        if data["kind"] == ItemKind.CHOICE.value:
            options = data.get("options") or []
            if len(options) < 2:
                raise ma.ValidationError("a choice item needs at least two options", "options")
            values = [o["value"] for o in options]
            if len(set(values)) != len(values):
                raise ma.ValidationError("option values must be unique", "options")
        for low, high in (("min", "max"), ("valid_min", "valid_max")):
            if data.get(low) is not None and data.get(high) is not None and data[low] > data[high]:
                raise ma.ValidationError(f"{low} must not exceed {high}", low)

    @ma.post_dump
    def _drop_empty(self, data, **_kw):
        return {k: v for k, v in data.items() if v is not None}


class ItemListSchema(ma.Schema):
    items = fields.List(fields.Nested(ItemSchema), required=True, validate=validate.Length(1, MAX_ITEMS))

    @ma.validates("items")
    def _unique_ids(self, items, **_kw):
        ids = [i["id"] for i in items if "id" in i]
        if len(set(ids)) != len(ids):
            raise ma.ValidationError("item ids must be unique within a version")


class AnswerSchema(ma.Schema):
    item_id = fields.String(required=True, validate=validate.Length(1, 64))
    # Typed per item kind: bool, number, option value or text — checked by evaluate_answers.
    value = fields.Raw(required=True, allow_none=True)
    note = fields.String(load_default="", validate=validate.Length(max=500))
    photos = fields.List(
        fields.String(validate=validate.Regexp(SHA256_HEX, error="photo must be a lowercase SHA-256 hex digest")),
        load_default=list,
        validate=validate.Length(max=MAX_PHOTOS_PER_ANSWER),
        metadata={"description": "SHA-256 of each photo's bytes (photos travel on their own)"},
    )


class CheckRecordSchema(ma.Schema):
    """A check as a device makes it. The ``id`` is a client-made UUID and the idempotency key."""

    id = fields.UUID(required=True, metadata={"description": "Client UUID, the idempotency key; time-ordered (version 7) is best"})
    schedule_id = fields.Integer(required=True, strict=True, validate=ROW_ID)
    checklist_version_id = fields.Integer(required=True, strict=True, validate=ROW_ID)
    performed_at = fields.AwareDateTime(
        required=True, metadata={"description": "The device's wall-clock time when the check was made, with its UTC offset"}
    )
    answers = fields.List(fields.Nested(AnswerSchema), required=True, validate=validate.Length(1, MAX_ITEMS))
    note = fields.String(load_default="", validate=validate.Length(max=MAX_TEXT))



def canonical_record(record: dict) -> dict:
    """A loaded check record as plain JSON values, in the shape :class:`CheckRecordSchema` dumps.

    Written out by hand because it runs for every record of every push (a schema dump costs
    five times as much); ``tests/sync/test_records.py`` holds it equal to the schema's dump.
    ``performed_at`` becomes a POSIX timestamp, so the offset the device wrote does not matter.
    """
    return {
        "id": str(record["id"]),
        "schedule_id": record["schedule_id"],
        "checklist_version_id": record["checklist_version_id"],
        "performed_at": record["performed_at"].timestamp(),
        "answers": [
            {"item_id": a["item_id"], "value": a["value"], "note": a.get("note", ""), "photos": list(a.get("photos", ()))}
            for a in record["answers"]
        ],
        "note": record.get("note", ""),
    }


# The canonical JSON text, as json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# writes it; the encoder made once (dumps builds a new one on every call).
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_FLOAT_WORDS = {math.inf: b"Infinity", -math.inf: b"-Infinity"}  # and NaN: how the standard library writes them


def _float_text(value: float) -> orjson.Fragment:
    """``value`` as the standard library writes it, for orjson to copy as it is.

    orjson's own float text differs from ``float.__repr__`` (``1e16`` or ``1e+16``, ``1e-05`` or
    ``0.00001``) and between its versions; a hash must not change with a library upgrade.
    """
    if value != value:
        return orjson.Fragment(b"NaN")
    return orjson.Fragment(_FLOAT_WORDS.get(value) or float.__repr__(value).encode())


def canonical_json(record: dict) -> bytes:
    """A loaded check record's canonical JSON text (:func:`canonical_record`, keys sorted, no
    spaces, non-ASCII as itself), UTF-8 encoded: what :func:`content_hash` hashes.

    The text is, byte for byte, what ``json.dumps`` writes with those settings — stored hashes
    were made so and must keep matching. orjson writes it ~4× faster: it writes strings, ints,
    booleans and null exactly so (every code point is tested), and floats are handed to it
    already written by :func:`_float_text`. What orjson would write otherwise or not at all —
    an answer that is a list or an object (its floats unseen here), an integer wider than 64
    bits, a lone surrogate: answers no checklist accepts, but hashed all the same — is left
    to ``json.dumps``.
    """
    doc = canonical_record(record)
    for answer in doc["answers"]:
        value = answer["value"]
        kind = type(value)
        if kind is float:
            answer["value"] = _float_text(value)
        elif not (kind is str or kind is bool or kind is int or value is None):
            return _canonical_json_by_json(record)
    doc["performed_at"] = _float_text(doc["performed_at"])
    try:
        return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # an integer past 64 bits; a lone surrogate, which json.dumps refuses too
        return _canonical_json_by_json(record)


def _canonical_json_by_json(record: dict) -> bytes:
    """:func:`canonical_json` written by ``json.dumps`` itself, for what orjson would write otherwise."""
    return _CANONICAL_JSON(canonical_record(record)).encode("utf-8")


def content_hash(record: dict) -> str:
    """SHA-256 of a loaded check record's canonical JSON (:func:`canonical_json`).

    Two sends of the same check hash the same even if the device re-serialised it (key order,
    spacing, the offset it wrote its time in), and any change to what was answered changes it.
    Identity and clock fields (``device_seq``, boot id, uptime) are not content.
    """
    return hashlib.sha256(canonical_json(record)).hexdigest()


@dataclass
class Evaluation:
    """The outcome of checking answers against a version's items."""

    answers: list[dict] = field(default_factory=list)  # one per answered item, in checklist order, with ``ok``
    errors: dict[str, list[str]] = field(default_factory=dict)  # item id -> problems; empty when valid

    @property
    def ok(self) -> bool:
        return all(a["ok"] is not False for a in self.answers)

    @property
    def failed_count(self) -> int:
        return sum(1 for a in self.answers if a["ok"] is False)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _judge(item: dict, value: Any) -> tuple[bool | None, str | None]:
    """Return (ok, problem) for one non-null answer value."""
    kind = item["kind"]  # compared as text: ItemKind(...) costs ~0.5 µs an item, every item of every check
    if kind == ItemKind.YES_NO:
        if not isinstance(value, bool):
            return None, "expected true or false"
        return value == item.get("expected", True), None
    if kind == ItemKind.NUMBER:
        if not _is_number(value):
            return None, "expected a finite number"
        if item.get("valid_min") is not None and value < item["valid_min"]:
            return None, f"below the possible minimum {item['valid_min']}"
        if item.get("valid_max") is not None and value > item["valid_max"]:
            return None, f"above the possible maximum {item['valid_max']}"
        low, high = item.get("min"), item.get("max")
        return (low is None or value >= low) and (high is None or value <= high), None
    if kind == ItemKind.CHOICE:
        for option in item.get("options", []):
            if value == option["value"]:
                return option.get("ok", True), None
        return None, "not one of the options"
    if kind != ItemKind.TEXT:
        raise ValueError(f"unknown item kind {kind!r}")
    if not isinstance(value, str):
        return None, "expected text"
    if len(value) > item.get("max_length", MAX_TEXT):
        return None, "text too long"
    return True, None


def evaluate_answers(items: list[dict], answers: list[dict]) -> Evaluation:
    """Validate ``answers`` against a version's ``items`` and compute ``ok`` for each.

    Problems (unknown item, answered twice, wrong type, impossible reading, a required item or a
    required photo missing) are collected per item id in ``errors``; a caller refuses the check
    if there are any. A reading outside its ok range is not a problem: it is a failed item.
    An unanswered optional item (absent or ``null``) has ``ok`` None and counts as neither.
    """
    result = Evaluation()
    by_id = {item["id"]: item for item in items}
    given: dict[str, dict] = {}
    for answer in answers:
        item_id = answer["item_id"]
        if item_id not in by_id:
            result.errors.setdefault(item_id, []).append("unknown item")
        elif item_id in given:
            result.errors.setdefault(item_id, []).append("answered more than once")
        else:
            given[item_id] = answer
    for item in items:
        answer = given.get(item["id"])
        value = None if answer is None else answer["value"]
        if value is None:
            if item.get("required", True):
                result.errors.setdefault(item["id"], []).append("required")
            continue
        ok, problem = _judge(item, value)
        photos = answer.get("photos", [])
        if problem:
            result.errors.setdefault(item["id"], []).append(problem)
            continue
        if item.get("photo_required") and not photos:
            result.errors.setdefault(item["id"], []).append("photo required")
            continue
        result.answers.append(
            {"item_id": item["id"], "value": value, "ok": ok, "note": answer.get("note", ""), "photos": list(photos)}
        )
    return result

