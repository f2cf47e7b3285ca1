"""The sync protocol, version 1: what a device pushes and pulls, and what the server answers.

Shared by the server (which validates these shapes and documents them in its OpenAPI document)
and by the reference client in :mod:`sync.client`; nothing here imports ``server``.

Push — ``POST /api/v1/sync/push`` (body may be sent with ``Content-Encoding: gzip``)::

    {"protocol": 1,
     "sent": {"wall": "2026-11-23T10:00:00+08:00", "boot_id": "b-3f..", "uptime_ms": 91234567},
     "anchors": [{"boot_id": "b-3f..", "uptime_ms": 80000000, "server_time": "2026-11-23T01:48:00Z"}],
     "records": [{"type": "check", "id": "<uuid>", "device_seq": 17,
                  "schedule_id": 3, "checklist_version_id": 9,
                  "performed_at": "2026-11-22T09:12:00+08:00", "boot_id": "b-3f..", "uptime_ms": 1234567,
                  "answers": [{"item_id": "exit", "value": true, "photos": ["<sha256>"]}], "note": ""}]}

* A record's ``id`` is made by the device and is the idempotency key: any UUID is accepted, a
  time-ordered one (version 7, :func:`sync.records.record_id`) is best — the server's indexes
  then grow at one edge instead of at random pages.
* A hazard raised on the device travels the same way: ``{"type": "hazard", "id": "<uuid>",
  "device_seq": 18, "found_at": …, "boot_id": …, "uptime_ms": …, "description": "…",
  "hazard_type": "fire", "photos": [...], "check_id": "<uuid>", "check_item_id": "exit"}`` (see
  :class:`SyncHazardRecordSchema`); its result adds the hazard's ``number`` and ``hazard_id``.
* ``sent`` is the device's wall clock and monotonic clock (uptime since boot, counting sleep)
  at the moment it sent the batch; ``anchors`` are moments at which the device learned the
  server's time (every server answer carries ``server_time``), on this boot or earlier ones.
  From these the server dates each record without trusting the device's wall clock (see
  :mod:`sync.timing`).
* Records are judged one by one. The answer is 200 with one result per record, in order:
  ``accepted`` (stored, complete), ``awaiting_photos`` (stored, some photos not yet uploaded —
  ``missing_photos`` lists them), ``duplicate`` (this id was stored before with the same content:
  the first result, with its current status), ``conflict`` (this id was stored before with other
  content; the newcomer is kept aside for review) or ``rejected`` (with an error ``code`` from
  the catalogue, a ``message`` and ``details``). Every result acknowledges its record: the device
  drops it from its send queue and never sends it again, except to upload missing photos.
* Only a fault of the server itself (database down) fails the whole batch (503); nothing of it
  was stored, and sending the same batch again is safe.

Pull — ``GET /api/v1/sync/pull?cursor=<opaque>&limit=<n>`` answers a page of changes to what the
device needs offline; see :class:`PullPageSchema`.
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime

import marshmallow as ma
from marshmallow import fields, validate

from sync.records import INT64_MAX, MAX_ITEMS, MAX_PHOTOS_PER_ANSWER, MAX_TEXT, ROW_ID, ROW_ID_MAX, SHA256_HEX, CheckRecordSchema

MAX_BATCH = 200
MAX_ANCHORS = 20
BOOT_ID = validate.Length(1, 64)


class RecordType:
    CHECK = "check"
    HAZARD = "hazard"
    ALL = (CHECK, HAZARD)


# The server's hazard categories (``server.hazards.models``; a test keeps the two the same).
HAZARD_TYPES = ("safety", "process", "electrical", "instrument", "fire", "equipment", "other")
HAZARD_SOURCES = (
    "daily", "comprehensive", "specialized", "seasonal", "holiday", "accident_analogy", "resumption",
    "external_expert", "control_measure", "report", "other",
)
MAX_HAZARD_PHOTOS = 20


class Result:
    ACCEPTED = "accepted"
    AWAITING_PHOTOS = "awaiting_photos"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    REJECTED = "rejected"
    ALL = (ACCEPTED, AWAITING_PHOTOS, DUPLICATE, CONFLICT, REJECTED)


class ClockReadingSchema(ma.Schema):
    """Both of the device's clocks read at one moment."""

    wall = fields.AwareDateTime(required=True, metadata={"description": "Device wall-clock time, with its UTC offset"})
    boot_id = fields.String(required=True, validate=BOOT_ID, metadata={"description": "Changes at every boot of the device"})
    uptime_ms = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=0, max=INT64_MAX), metadata={"description": "Monotonic milliseconds since that boot"}
    )


class AnchorSchema(ma.Schema):
    """The server's time as the device learned it, pinned to the device's monotonic clock."""

    boot_id = fields.String(required=True, validate=BOOT_ID)
    uptime_ms = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=INT64_MAX))
    server_time = fields.AwareDateTime(required=True)


class SyncCheckRecordSchema(CheckRecordSchema):
    """A check as it travels in a push: the check record plus its device identity and clocks."""

    type = fields.String(required=True, validate=validate.OneOf(RecordType.ALL))
    device_seq = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=2**62), metadata={"description": "The device's own counter, only ever rising"}
    )
    boot_id = fields.String(validate=BOOT_ID, metadata={"description": "Boot id when the check was made"})
    uptime_ms = fields.Integer(strict=True, validate=validate.Range(min=0, max=INT64_MAX), metadata={"description": "Monotonic ms since that boot when the check was made"})


class SyncHazardRecordSchema(ma.Schema):
    """A hazard a worker raised on the device (上报隐患), possibly offline, by its client UUID.

    ``found_at`` is the device's wall clock when it was raised, ``boot_id``/``uptime_ms`` its
    monotonic clock then: the server dates it like a check. Raised from a check's failed item,
    it names ``check_id`` and ``check_item_id`` (the check may travel in the same batch, before
    it); the server then links the two, adding to the draft a red or orange post already opened
    for that item rather than opening a second hazard. ``hazard_type`` is the hazard's category
    (``type`` says what kind of record this is).
    """

    type = fields.String(required=True, validate=validate.Equal(RecordType.HAZARD))
    id = fields.UUID(required=True, metadata={"description": "Client UUID, the idempotency key; time-ordered (version 7) is best"})
    device_seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**62))
    found_at = fields.AwareDateTime(required=True, metadata={"description": "Device wall clock when raised, with its UTC offset"})
    boot_id = fields.String(validate=BOOT_ID)
    uptime_ms = fields.Integer(strict=True, validate=validate.Range(min=0, max=INT64_MAX))
    description = fields.String(required=True, validate=validate.Length(1, MAX_TEXT), metadata={"description": "隐患描述"})
    hazard_type = fields.String(load_default="other", validate=validate.OneOf(HAZARD_TYPES), metadata={"description": "隐患类别"})
    source = fields.String(load_default="daily", validate=validate.OneOf(HAZARD_SOURCES), metadata={"description": "排查类型"})
    post_id = fields.Integer(strict=True, allow_none=True, load_default=None, validate=ROW_ID)
    site_id = fields.Integer(strict=True, allow_none=True, load_default=None, validate=ROW_ID)
    location = fields.String(load_default="", validate=validate.Length(max=300))
    basis = fields.String(load_default="", validate=validate.Length(max=MAX_TEXT))
    photos = fields.List(
        fields.String(validate=validate.Regexp(SHA256_HEX, error="photo must be a lowercase SHA-256 hex digest")),
        load_default=list, validate=validate.Length(max=MAX_HAZARD_PHOTOS),
    )
    note = fields.String(load_default="", validate=validate.Length(max=MAX_TEXT))
    check_id = fields.UUID(allow_none=True, load_default=None, metadata={"description": "The check whose failed item this is"})
    check_item_id = fields.String(allow_none=True, load_default=None, validate=validate.Length(1, 64))


_SYNC_CHECK_RECORD = SyncCheckRecordSchema()
_SYNC_HAZARD_RECORD = SyncHazardRecordSchema()
_RECORD_KEYS = frozenset(_SYNC_CHECK_RECORD.fields)
_REQUIRED_KEYS = frozenset(name for name, f in _SYNC_CHECK_RECORD.fields.items() if f.required)
_ANSWER_KEYS = frozenset({"item_id", "value", "note", "photos"})
_ISO_AWARE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,6})?)?(Z|[+-]\d\d:\d\d)$")
_UUID_TEXT = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _is_int(value, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def _short_text(value, low: int, high: int) -> bool:
    return type(value) is str and low <= len(value) <= high


def _fast_check_record(raw) -> dict | None:
    """The common case of :func:`load_check_record`, without marshmallow's per-field machinery.

    Returns the record exactly as :class:`SyncCheckRecordSchema` would load it, or None when the
    record is anything but plainly well-formed — then the schema decides, and words the errors.
    It must never accept what the schema refuses; ``tests/sync/test_protocol.py`` holds it to
    that over a corpus of good and broken records. (A schema load costs ~115 µs a record; this
    ~12 µs: the difference between meeting the ingest target and missing it fivefold.)
    """
    if type(raw) is not dict or not raw.keys() <= _RECORD_KEYS or not _REQUIRED_KEYS <= raw.keys():
        return None
    if raw["type"] not in RecordType.ALL or not _is_int(raw["device_seq"], 1, 2**62):
        return None
    if not _is_int(raw["schedule_id"], 1, ROW_ID_MAX) or not _is_int(raw["checklist_version_id"], 1, ROW_ID_MAX):
        return None
    record_id, performed_at, note = raw["id"], raw["performed_at"], raw.get("note", "")
    if type(record_id) is not str or not _UUID_TEXT.match(record_id):
        return None
    if type(performed_at) is not str or not _ISO_AWARE.match(performed_at) or not _short_text(note, 0, MAX_TEXT):
        return None
    if "boot_id" in raw and not _short_text(raw["boot_id"], 1, 64):
        return None
    if "uptime_ms" in raw and not _is_int(raw["uptime_ms"], 0, INT64_MAX):
        return None
    answers = raw["answers"]
    if type(answers) is not list or not 1 <= len(answers) <= MAX_ITEMS:
        return None
    loaded_answers = []
    for answer in answers:
        if type(answer) is not dict or not answer.keys() <= _ANSWER_KEYS or "item_id" not in answer or "value" not in answer:
            return None
        photos, answer_note = answer.get("photos", []), answer.get("note", "")
        if not _short_text(answer["item_id"], 1, 64) or not _short_text(answer_note, 0, 500):
            return None
        if type(photos) is not list or len(photos) > MAX_PHOTOS_PER_ANSWER:
            return None
        if photos and not all(type(p) is str and SHA256_HEX.match(p) for p in photos):
            return None
        loaded_answers.append({"item_id": answer["item_id"], "value": answer["value"], "note": answer_note, "photos": list(photos)})
    try:
        when = datetime.fromisoformat(performed_at)
    except ValueError:
        return None
    loaded = dict(raw)
    loaded.update(id=uuid.UUID(record_id), performed_at=when, answers=loaded_answers, note=note)
    return loaded


def load_check_record(raw) -> dict:
    """Load one pushed check record; raises :class:`marshmallow.ValidationError` if it is invalid."""
    loaded = _fast_check_record(raw)
    return loaded if loaded is not None else _SYNC_CHECK_RECORD.load(raw)


def load_record(raw) -> dict:
    """Load one pushed record of any type (its ``type`` says which schema); raises
    :class:`marshmallow.ValidationError` if it is invalid."""
    if type(raw) is dict and raw.get("type") == RecordType.HAZARD:
        return _SYNC_HAZARD_RECORD.load(raw)
    return load_check_record(raw)


class PushSchema(ma.Schema):
    """A push: the envelope is validated as a whole, each record on its own."""

    protocol = fields.Integer(required=True, strict=True, validate=validate.Equal(1))
    sent = fields.Nested(ClockReadingSchema, required=True)
    anchors = fields.List(fields.Nested(AnchorSchema), load_default=list, validate=validate.Length(max=MAX_ANCHORS))
    # Raw here — anything, even null or a number — so that one malformed record is rejected
    # alone instead of failing the batch (on every retry). Documented as the objects they must be.
    records = fields.List(
        fields.Raw(allow_none=True, metadata={"type": "object"}), required=True, validate=validate.Length(1, MAX_BATCH),
        metadata={"description": "SyncCheckRecord and SyncHazardRecord objects, told apart by their type"},
    )


class RecordResultSchema(ma.Schema):
    index = fields.Integer(required=True, metadata={"description": "Position of the record in the batch"})
    id = fields.String(metadata={"description": "The record's id, when it had a readable one"})
    result = fields.String(required=True, validate=validate.OneOf(Result.ALL))
    status = fields.String(metadata={"description": "complete or awaiting_photos, for a stored record"})
    number = fields.String(metadata={"description": "A hazard's number (隐患编号), e.g. YH-2026-0007"})
    hazard_id = fields.Integer(metadata={"description": "A stored hazard's id on the server"})
    missing_photos = fields.List(fields.String(validate=validate.Regexp(SHA256_HEX)))
    period_key = fields.String()
    performed_at = fields.AwareDateTime(metadata={"description": "When the check was made or the hazard found (the server's estimate)"})
    time_quality = fields.String()
    flags = fields.List(fields.String())
    code = fields.String(metadata={"description": "Error code from the catalogue, for a rejected record"})
    message = fields.String()
    details = fields.Raw()

    @ma.post_dump
    def _compact(self, data, **_kw):
        # Fewer bytes on a metered link: leave out what is empty.
        return {k: v for k, v in data.items() if v not in (None, [], "")}


class DeviceSeqSchema(ma.Schema):
    highest = fields.Integer(metadata={"description": "Highest device_seq the server has seen from this device"})
    gaps = fields.List(
        fields.List(fields.Integer()), metadata={"description": "[first, last] runs of device_seq below the highest never received"}
    )


class PushResultSchema(ma.Schema):
    server_time = fields.AwareDateTime(required=True)
    results = fields.List(fields.Nested(RecordResultSchema), required=True)
    device_seq = fields.Nested(DeviceSeqSchema)


# ---------------------------------------------------------------------------------------------
# Pull — ``GET /api/v1/sync/pull?cursor=<opaque>&limit=<n>``
#
#     {"server_time": "2026-11-23T02:00:00+00:00", "cursor": "MS4z...", "more": false,
#      "reset_required": false,
#      "changes": [{"type": "post", "id": 7, "op": "upsert",
#                   "data": {"id": 7, "site_id": 2, "name": "液氨储罐区", "risk_level": "red",
#                            "location": "", "supervisor_id": 3, "qr_token": "Zq…"}},
#                  {"type": "schedule", "id": 12, "op": "delete"}]}
#
# * Without a cursor the answer is the first page of a snapshot: everything the user may keep
#   offline, type by type in :attr:`EntityType.ALL` order, then id. With one, it is what changed
#   after it. Either way the device applies the page, saves ``cursor`` and asks again while
#   ``more`` is true. The cursor is opaque: store it, send it back, never read it.
# * ``upsert`` carries the entity's whole current state (apply it idempotently: the same state may
#   come twice); ``delete`` is a tombstone: the entity is gone or no longer visible to this user
#   (a deactivated post or schedule, a retired checklist version, a removed site).
# * ``reset_required: true`` (a cursor of another enterprise or scope, or older than the server
#   keeps tombstones) comes with the first page of a new snapshot: drop every entity held,
#   then apply the page and go on paging.
# * A malformed cursor is a 400 ``invalid_cursor``; a ``limit`` outside 1..PULL_MAX_LIMIT a 422.
# ---------------------------------------------------------------------------------------------

# Imported here, not at the top, so that this section stays one appended block.
from sync.periods import Frequency  # noqa: E402
from sync.records import ItemSchema  # noqa: E402

PULL_DEFAULT_LIMIT = 500
PULL_MAX_LIMIT = 1000


class EntityType:
    """What a device keeps offline; a snapshot sends them in this order (what is pointed at first)."""

    ENTERPRISE = "enterprise"
    SITE = "site"
    POST = "post"
    CHECKLIST = "checklist"
    CHECKLIST_VERSION = "checklist_version"
    SCHEDULE = "schedule"
    ALL = (ENTERPRISE, SITE, POST, CHECKLIST, CHECKLIST_VERSION, SCHEDULE)


class Op:
    UPSERT = "upsert"
    DELETE = "delete"
    ALL = (UPSERT, DELETE)


class EnterpriseEntitySchema(ma.Schema):
    """The device's own enterprise: its zone and shifts name periods offline."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    timezone = fields.String(required=True, metadata={"description": "IANA zone, e.g. Asia/Shanghai"})
    shifts = fields.List(fields.String(), required=True, metadata={"description": "Shift start times, HH:MM local"})


class SiteEntitySchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    parent_id = fields.Integer(allow_none=True)


class PostEntitySchema(ma.Schema):
    """An active post with its QR token, so that a scan resolves with no network."""

    id = fields.Integer(required=True)
    site_id = fields.Integer(required=True)
    name = fields.String(required=True)
    risk_level = fields.String(
        required=True, validate=validate.OneOf(("red", "orange", "yellow", "blue")), metadata={"description": "red 重大 / orange 较大 / yellow 一般 / blue 低"}
    )
    location = fields.String()
    supervisor_id = fields.Integer(allow_none=True)
    qr_token = fields.String(required=True)


class ChecklistEntitySchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String()
    current_version_id = fields.Integer(required=True, metadata={"description": "The version checks are made with now"})


class ChecklistVersionEntitySchema(ma.Schema):
    """A checklist's current published version; immutable, so its id names its content for good."""

    id = fields.Integer(required=True)
    checklist_id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    title = fields.String(required=True)
    items = fields.List(fields.Nested(ItemSchema), required=True)
    published_at = fields.AwareDateTime(required=True)


class ScheduleEntitySchema(ma.Schema):
    """An active schedule: which checklist is due at which post, how often, in which window."""

    id = fields.Integer(required=True)
    post_id = fields.Integer(required=True)
    checklist_id = fields.Integer(required=True)
    frequency = fields.Enum(Frequency, by_value=True, required=True)
    due_start_minutes = fields.Integer(required=True)
    due_end_minutes = fields.Integer(allow_none=True)
    responsible_id = fields.Integer(allow_none=True)


ENTITY_SCHEMAS: dict[str, type[ma.Schema]] = {
    EntityType.ENTERPRISE: EnterpriseEntitySchema,
    EntityType.SITE: SiteEntitySchema,
    EntityType.POST: PostEntitySchema,
    EntityType.CHECKLIST: ChecklistEntitySchema,
    EntityType.CHECKLIST_VERSION: ChecklistVersionEntitySchema,
    EntityType.SCHEDULE: ScheduleEntitySchema,
}


class PullQuerySchema(ma.Schema):
    # No length rule here: whatever is not a cursor this server made is one 400 invalid_cursor.
    cursor = fields.String(metadata={"description": "The cursor of the last page applied; none for a first snapshot"})
    limit = fields.Integer(
        load_default=PULL_DEFAULT_LIMIT,
        validate=validate.Range(1, PULL_MAX_LIMIT),
        metadata={"description": f"Most changes in the page (default {PULL_DEFAULT_LIMIT}, at most {PULL_MAX_LIMIT})"},
    )


class ChangeSchema(ma.Schema):
    type = fields.String(required=True, validate=validate.OneOf(EntityType.ALL))
    id = fields.Integer(required=True)
    op = fields.String(required=True, validate=validate.OneOf(Op.ALL))
    data = fields.Dict(
        metadata={
            "description": "upsert only: the entity's current state, shaped by its type "
            "(EnterpriseEntity, SiteEntity, PostEntity, ChecklistEntity, ChecklistVersionEntity, ScheduleEntity)"
        }
    )


class PullPageSchema(ma.Schema):
    """One page of a pull."""

    server_time = fields.AwareDateTime(required=True, metadata={"description": "The server's clock now: a time anchor for the device"})
    cursor = fields.String(required=True, metadata={"description": "Opaque; send it with the next pull once this page is applied"})
    more = fields.Boolean(required=True, metadata={"description": "True: pull again at once, more is waiting"})
    reset_required = fields.Boolean(
        required=True, metadata={"description": "True: drop every entity held before applying this page (the first of a new snapshot)"}
    )
    changes = fields.List(fields.Nested(ChangeSchema), required=True)
