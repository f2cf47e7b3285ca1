"""Storing checks in bulk, exactly once: the one path every check takes (sync push and ``POST /checks``).

For a batch of loaded check records this

1. reads, in one query each, the schedules and the versions the records name (inside the
   caller's enterprise);
2. judges each record on its own — a bad one becomes a ``rejected`` outcome with a catalogue
   code and never stops the others;
3. writes the checks with ``INSERT … ON CONFLICT (id) DO NOTHING``, learning which went in
   (:func:`server.database.insert_new`: no ORM objects, which are ~20× slower here; one
   multi-row statement on PostgreSQL, the driver's cursor row by row on SQLite). It does not first ask which ids
   exist — resends are rare, and the insert answers that anyway: an id that did not go in was
   stored before, by an earlier send or by a concurrent request a moment ago, and is then read
   back (with the ids of refused records, in case they are resends) to answer ``duplicate`` or
   ``conflict`` instead of an error;
4. writes the photo slots, and the conflicting newcomers aside for review.

Rules for a repeated id: same content (canonical hash) → ``duplicate`` with the first result;
other content → ``conflict``, the newcomer kept in ``check_conflicts`` and the first unchanged.
An id first used by another enterprise is a ``conflict`` that leaves no trace in either.

It only flushes; the caller commits, and answers only after the commit.
"""
from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from server import clock
from server.accounts.auth import Principal
from server.checklists.models import ChecklistVersion
from server.checklists.services import version_payload
from server.checks import slots
from server.checks.models import Check, CheckConflict, CheckPhoto
from server.enterprises.calendar import enterprise_period
from server.alerts.services import misses_done_late
from server.database import insert_new
from server.errors import ZichaError
from server.extensions import db
from server.misses.services import Arrival, checks_arrived
from server.schedules.models import Schedule
from sync.records import CheckRecordSchema, content_hash, evaluate_answers
from sync.timing import Anchor, Reading, estimate_performed_at


class Outcome(str, enum.Enum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    REJECTED = "rejected"


@dataclass
class Stored:
    """What the server decided about a stored check: enough to answer the device."""

    id: uuid.UUID
    status: str
    period_key: str
    performed_at: datetime
    time_quality: str
    flags: list[str]
    missing_photos: list[str] = field(default_factory=list)


@dataclass
class CheckOutcome:
    outcome: Outcome
    stored: Stored | None = None
    error: ZichaError | None = None


_RECORD = CheckRecordSchema()

# The statements every push runs, built once: a statement object keeps its cache key, so each
# execution skips rebuilding and re-keying it, and they run on the session's connection (Core:
# the ORM layer adds nothing to rows that are not objects).
_SCHEDULES = sa.select(Schedule.id, Schedule.post_id, Schedule.checklist_id, Schedule.frequency, Schedule.active).where(
    Schedule.enterprise_id == sa.bindparam("enterprise_id"), Schedule.id.in_(sa.bindparam("ids", expanding=True))
)
_VERSIONS = sa.select(ChecklistVersion.id, ChecklistVersion.checklist_id, ChecklistVersion.retired_at).where(
    ChecklistVersion.enterprise_id == sa.bindparam("enterprise_id"), ChecklistVersion.id.in_(sa.bindparam("ids", expanding=True))
)
_INSERT_SLOTS = sa.insert(CheckPhoto.__table__)

_STORED_COLUMNS = (
    Check.id, Check.enterprise_id, Check.content_hash, Check.status, Check.period_key,
    Check.performed_at, Check.time_quality, Check.flags,
)


def ingest_checks(
    principal: Principal,
    records: Sequence[dict],
    *,
    sent: Reading | None = None,
    anchors: Sequence[Anchor] = (),
) -> list[CheckOutcome]:
    """Judge and store ``records`` (loaded check records); one outcome per record, in order."""
    if not records:
        return []
    enterprise_id = principal.enterprise_id
    received_at = clock.now()
    tolerance = timedelta(seconds=current_app.config["CLOCK_SKEW_TOLERANCE_SECONDS"])
    digests = [content_hash(r) for r in records]

    connection = db.session.connection()
    schedules = {
        row.id: row for row in connection.execute(_SCHEDULES, {"enterprise_id": enterprise_id, "ids": list({r["schedule_id"] for r in records})})
    }
    versions = {
        row.id: row
        for row in connection.execute(_VERSIONS, {"enterprise_id": enterprise_id, "ids": list({r["checklist_version_id"] for r in records})})
    }

    outcomes: list[CheckOutcome | None] = [None] * len(records)
    new_rows: list[dict] = []
    new_slots: dict[uuid.UUID, list[str]] = {}
    first_in_batch: dict[uuid.UUID, int] = {}
    refused: dict[int, ZichaError] = {}
    for index, (record, digest) in enumerate(zip(records, digests)):
        if record["id"] in first_in_batch:
            continue  # sent twice in one batch: settled below as a repeat of the first
        first_in_batch[record["id"]] = index
        try:
            row, photos = _judge(principal, record, digest, schedules, versions, received_at, tolerance, sent, anchors)
        except ZichaError as error:
            refused[index] = error
            continue
        new_rows.append(row)
        new_slots[row["id"]] = photos

    arrived = slots.present(enterprise_id, {d for photos in new_slots.values() for d in photos})
    missing: dict[uuid.UUID, list[str]] = {}
    for row in new_rows:
        missing[row["id"]] = [d for d in new_slots[row["id"]] if d not in arrived]
        row["status"] = slots.AWAITING_PHOTOS if missing[row["id"]] else slots.COMPLETE

    inserted: set[uuid.UUID] = set()
    if new_rows:
        inserted = insert_new(Check.__table__, new_rows)
        _consequences([row for row in new_rows if row["id"] in inserted])
        slot_rows = [
            {"check_id": check_id, "sha256": digest, "enterprise_id": enterprise_id}
            for check_id, photos in new_slots.items()
            if check_id in inserted
            for digest in photos
        ]
        if slot_rows:
            connection.execute(_INSERT_SLOTS, slot_rows)

    # Ids that did not go in were stored before (a resend, or a concurrent request a moment
    # ago), as were perhaps some refused ones: a resend of a stored check is answered as the
    # repeat it is even if, say, its schedule has since been removed.
    stored_before = _stored_rows({row["id"] for row in new_rows} - inserted | {records[i]["id"] for i in refused})
    new_by_id = {row["id"]: row for row in new_rows}
    conflicts: list[dict] = []
    # In index order, so that the first of an id sent twice in one batch is settled before its repeat.
    for index, (record, digest) in enumerate(zip(records, digests)):
        first = first_in_batch[record["id"]]
        if first != index:
            outcomes[index] = _repeat_in_batch(principal, record, digest, digests[first], outcomes[first], received_at, conflicts)
        elif record["id"] in stored_before:
            outcomes[index] = _repeat(principal, record, digest, stored_before[record["id"]], received_at, conflicts)
        elif index in refused:
            outcomes[index] = CheckOutcome(Outcome.REJECTED, error=refused[index])
        else:
            outcomes[index] = CheckOutcome(Outcome.ACCEPTED, _stored_from_row(new_by_id[record["id"]], missing[record["id"]]))

    if conflicts:
        db.session.execute(sa.insert(CheckConflict.__table__), conflicts)
    _fill_missing_photos(enterprise_id, [o.stored for o in outcomes if o.outcome is Outcome.DUPLICATE and o.stored.status == slots.AWAITING_PHOTOS])
    return outcomes  # type: ignore[return-value]


def _consequences(stored: list[dict]) -> None:
    """What newly stored checks set off at once, in the same transaction: a check for a period
    already recorded as missed corrects that record (done late, synced late) and tells whoever
    its alert reached. (A failed item's alert and hazard drafts are owed by the check's own
    ``follow_up`` mark and raised by :mod:`server.checks.follow_up` moments later.)"""
    if not stored:
        return
    enterprise_id = stored[0]["enterprise_id"]
    arrivals = [Arrival(r["schedule_id"], r["period_key"], r["id"], r["performed_at"], r["received_at"]) for r in stored]
    corrected = checks_arrived(enterprise_id, arrivals)
    if corrected:
        misses_done_late(corrected)


def _stored_rows(ids) -> dict:
    if not ids:
        return {}
    return {row.id: row for row in db.session.execute(sa.select(*_STORED_COLUMNS).where(Check.id.in_(ids)))}


def _stored_from_row(row, missing: list[str] | None = None) -> Stored:
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    return Stored(
        id=get("id"), status=get("status"), period_key=get("period_key"), performed_at=get("performed_at"),
        time_quality=get("time_quality"), flags=list(get("flags") or []), missing_photos=list(missing or []),
    )


def _judge(principal, record, digest, schedules, versions, received_at, tolerance, sent, anchors) -> tuple[dict, list[str]]:
    """Validate and date one new record; the row to insert and the photos its answers name."""
    schedule = schedules.get(record["schedule_id"])
    if schedule is None:
        raise ZichaError("not_found", {"schedule_id": ["unknown schedule"]})
    version = versions.get(record["checklist_version_id"])
    if version is None:
        raise ZichaError("validation_failed", {"checklist_version_id": ["unknown checklist version"]})
    if version.checklist_id != schedule.checklist_id:
        raise ZichaError("version_mismatch", {"checklist_version_id": ["belongs to another checklist"]})
    content = version_payload(version.id)
    evaluation = evaluate_answers(content["items"], record["answers"])
    if evaluation.errors:
        raise ZichaError("answers_invalid", evaluation.errors)

    made = None
    if record.get("boot_id") is not None and record.get("uptime_ms") is not None:
        made = Reading(record["boot_id"], record["uptime_ms"], record["performed_at"])
    published_at = datetime.fromisoformat(content["published_at"])
    estimate = estimate_performed_at(
        record["performed_at"], received_at, published_at, tolerance, made=made, sent=sent, anchors=anchors
    )
    flags = list(estimate.flags)
    if version.retired_at is not None:
        flags.append("version_retired")
    if not schedule.active:
        flags.append("schedule_inactive")
    period = enterprise_period(principal.timezone, principal.shifts, schedule.frequency, estimate.at)
    photos = list(dict.fromkeys(d for a in evaluation.answers for d in a["photos"]))
    row = {
        "id": record["id"],
        "enterprise_id": principal.enterprise_id,
        "schedule_id": schedule.id,
        "post_id": schedule.post_id,
        "checklist_version_id": version.id,
        "user_id": principal.user_id,
        "device_id": principal.device_id,
        "device_seq": record.get("device_seq"),
        "frequency": schedule.frequency,
        "period_key": period.key,
        "performed_at": estimate.at,
        "device_time": record["performed_at"],
        "received_at": received_at,
        "time_quality": estimate.quality,
        "flags": flags,
        "ok": evaluation.ok,
        "failed_count": evaluation.failed_count,
        "answers": evaluation.answers,
        "note": record.get("note", ""),
        "content_hash": digest,
        "follow_up": not evaluation.ok,  # its failed items' alert and drafts are owed (see server.checks.follow_up)
    }
    return row, photos


def _conflict_row(principal, record, digest, check_id, received_at) -> dict:
    return {
        "enterprise_id": principal.enterprise_id,
        "check_id": check_id,
        "user_id": principal.user_id,
        "device_id": principal.device_id,
        "content_hash": digest,
        "payload": _RECORD.dump(record),
        "received_at": received_at,
    }


def _repeat(principal, record, digest, prior, received_at, conflicts) -> CheckOutcome:
    if prior.enterprise_id != principal.enterprise_id:
        # Refused without a trace: nothing of another tenant's check is revealed or stored.
        return CheckOutcome(Outcome.CONFLICT)
    if prior.content_hash == digest:
        return CheckOutcome(Outcome.DUPLICATE, _stored_from_row(prior))
    conflicts.append(_conflict_row(principal, record, digest, prior.id, received_at))
    return CheckOutcome(Outcome.CONFLICT)


def _repeat_in_batch(principal, record, digest, first_digest, first_outcome, received_at, conflicts) -> CheckOutcome:
    if first_outcome.stored is None:
        return CheckOutcome(first_outcome.outcome, error=first_outcome.error)
    if digest == first_digest:
        return CheckOutcome(Outcome.DUPLICATE, first_outcome.stored)
    conflicts.append(_conflict_row(principal, record, digest, first_outcome.stored.id, received_at))
    return CheckOutcome(Outcome.CONFLICT)


def _fill_missing_photos(enterprise_id: int, stored: list[Stored]) -> None:
    """For repeats of checks still awaiting photos: which photos the device should (re)send."""
    # Repeats within one batch share the first's result, which already knows what is missing.
    by_id = {s.id: s for s in stored if not s.missing_photos}
    if not by_id:
        return
    from server.photos.models import Photo

    rows = db.session.execute(
        sa.select(CheckPhoto.check_id, CheckPhoto.sha256)
        .where(CheckPhoto.check_id.in_(by_id))
        .where(~sa.exists().where(Photo.enterprise_id == enterprise_id, Photo.sha256 == CheckPhoto.sha256))
        .order_by(CheckPhoto.check_id, CheckPhoto.sha256)
    )
    for check_id, digest in rows:
        by_id[check_id].missing_photos.append(digest)
