"""The sync push: judge a batch of offline records one by one, store them once, answer each.

The envelope (protocol, clocks, anchors) is checked as a whole — a malformed envelope is the
client's bug and the whole request is refused. Records are then loaded one by one, so a record
that is malformed, unknown or invalid is ``rejected`` with its own catalogue code while the rest
go in; every record gets a result, which acknowledges it. Checks go through
:func:`server.checks.ingest.ingest_checks`, the same path as ``POST /checks``; hazards raised on
the device then go through :func:`server.hazards.device.ingest_hazards` (after the checks, so a
hazard finds the check of its own batch it was raised from).

The device's ``device_seq`` counter is tracked in :class:`~server.push.models.DeviceSeq`. Its
row is locked and updated last, after the records are written (a row lock on PostgreSQL, the
database's write lock on SQLite), so the gap bookkeeping never loses an update while the
write lock is held only for the writes: everything before them — reading what exists, judging
each record — runs before the transaction takes it, and two workers can judge side by side.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import marshmallow as ma
import sqlalchemy as sa

from server import clock
from server.accounts.auth import Principal
from server.accounts.models import Device, MANAGERS
from server.checks import slots
from server.checks.ingest import CheckOutcome, Outcome, ingest_checks
from server.errors import ZichaError, error_payload
from server.database import dialect_insert
from server.extensions import db
from server.hazards.device import HazardArrival, ingest_hazards
from server.hazards.services import DeviceOutcome
from server.push.models import DeviceSeq
from sync.protocol import RecordType, Result, load_record
from sync.timing import Anchor, Reading

@dataclass
class PushAnswer:
    server_time: datetime
    results: list[dict]
    device_seq: dict | None


def push(principal: Principal, envelope: dict) -> PushAnswer:
    """Store what can be stored of one batch and say, per record, what became of it."""
    now = clock.now()
    raw_records = envelope["records"]

    results: list[dict | None] = [None] * len(raw_records)
    checks, check_indexes, hazards, hazard_indexes, seqs = [], [], [], [], []
    for index, raw in enumerate(raw_records):
        seq = raw.get("device_seq") if isinstance(raw, dict) else None
        if isinstance(seq, int) and not isinstance(seq, bool) and 0 < seq <= 2**62:
            seqs.append(seq)  # counted as received even if the record itself is refused
        try:
            record = load_record(raw)
        except ma.ValidationError as error:
            results[index] = _rejected(index, raw, ZichaError("validation_failed", error.messages))
            continue
        if record["type"] == RecordType.CHECK:
            checks.append(record)
            check_indexes.append(index)
        else:
            hazards.append(record)
            hazard_indexes.append(index)

    sent = Reading(envelope["sent"]["boot_id"], envelope["sent"]["uptime_ms"], envelope["sent"]["wall"])
    anchors = [Anchor(a["boot_id"], a["uptime_ms"], a["server_time"]) for a in envelope["anchors"]]
    outcomes = ingest_checks(principal, checks, sent=sent, anchors=anchors)
    for index, record, outcome in zip(check_indexes, checks, outcomes):
        results[index] = _result(index, str(record["id"]), outcome)
    # After the checks: a hazard raised from a failed item finds its check even in the same batch.
    for index, record, arrival in zip(hazard_indexes, hazards, ingest_hazards(principal, hazards, sent=sent, anchors=anchors)):
        results[index] = _hazard_result(index, str(record["id"]), arrival)

    device_seq = None
    if principal.device_id is not None:
        device_seq = _advance_in_step(principal, seqs, now)
        if device_seq is None:
            seq_row = _lock_device_seq(principal, now)
            _note_seqs(seq_row, seqs, now)
            device_seq = {"highest": seq_row.highest, "gaps": [[first, last] for first, last, _ in seq_row.gaps]}
    return PushAnswer(now, results, device_seq)  # type: ignore[arg-type]


def _result(index: int, record_id: str, outcome: CheckOutcome) -> dict:
    if outcome.outcome is Outcome.REJECTED:
        return _rejected(index, {"id": record_id}, outcome.error)
    result = {"index": index, "id": record_id}
    if outcome.outcome is Outcome.CONFLICT:
        result.update(result=Result.CONFLICT, code="id_conflict")
        return result
    stored = outcome.stored
    if outcome.outcome is Outcome.DUPLICATE:
        result["result"] = Result.DUPLICATE
    else:
        result["result"] = Result.AWAITING_PHOTOS if stored.missing_photos else Result.ACCEPTED
    # Empty fields are left out: fewer bytes on a metered link.
    result.update(status=stored.status, period_key=stored.period_key, performed_at=stored.performed_at.isoformat(), time_quality=stored.time_quality)
    if stored.missing_photos:
        result["missing_photos"] = stored.missing_photos
    if stored.flags:
        result["flags"] = stored.flags
    return result


_HAZARD_RESULTS = {
    DeviceOutcome.NEW: Result.ACCEPTED, DeviceOutcome.MERGED: Result.ACCEPTED,
    DeviceOutcome.DUPLICATE: Result.DUPLICATE, DeviceOutcome.CONFLICT: Result.CONFLICT,
}


def _hazard_result(index: int, record_id: str, arrival: HazardArrival) -> dict:
    if arrival.error is not None:
        return _rejected(index, {"id": record_id}, arrival.error)
    result = {"index": index, "id": record_id, "result": _HAZARD_RESULTS[arrival.outcome]}
    if arrival.outcome is DeviceOutcome.CONFLICT:
        result["code"] = "id_conflict"
        return result
    if result["result"] == Result.ACCEPTED and arrival.missing_photos:
        result["result"] = Result.AWAITING_PHOTOS
    hazard = arrival.hazard
    result.update(
        status=slots.AWAITING_PHOTOS if arrival.missing_photos else slots.COMPLETE, number=hazard.number, hazard_id=hazard.id,
        performed_at=hazard.found_at.isoformat(), time_quality=arrival.estimate.quality,
    )
    if arrival.missing_photos:
        result["missing_photos"] = arrival.missing_photos
    if arrival.estimate.flags:
        result["flags"] = list(arrival.estimate.flags)
    return result


def _rejected(index: int, raw, error: ZichaError) -> dict:
    """A ``rejected`` result for the record at ``index``; ``raw`` is what was sent (not
    necessarily an object), its id repeated when it had a readable one."""
    body = error_payload(error.code, error.details, error.message)["error"]
    record_id = raw.get("id") if isinstance(raw, dict) else None
    result = {"index": index, "result": Result.REJECTED, "code": body["code"], "message": body["message"]}
    if body["details"] is not None:
        result["details"] = body["details"]
    if isinstance(record_id, str) and len(record_id) <= 64:
        result["id"] = record_id
    return result


def _advance_in_step(principal: Principal, seqs: list[int], now: datetime) -> dict | None:
    """The usual push in one statement: numbers that carry straight on from the highest seen,
    with no gap open. One conditional ``UPDATE`` raises the highest only if the row is exactly in
    that state — atomic on both databases, so a concurrent push of the same device cannot slip
    between a read and a write. None when it is not the usual push (a new device, a gap, a
    number seen before): then the row is locked and worked out in full."""
    unique = sorted(set(seqs))
    if not unique or unique[-1] - unique[0] + 1 != len(unique):
        return None
    result = db.session.connection().execute(
        _IN_STEP, {"device": principal.device_id, "before": unique[0] - 1, "to": unique[-1], "now": now}
    )
    return {"highest": unique[-1], "gaps": []} if result.rowcount == 1 else None


_IN_STEP = (
    sa.update(DeviceSeq.__table__)
    .where(DeviceSeq.device_id == sa.bindparam("device"), DeviceSeq.highest == sa.bindparam("before"), DeviceSeq.open_gaps == 0)
    .values(highest=sa.bindparam("to"), updated_at=sa.bindparam("now"))
)


def _lock_device_seq(principal: Principal, now: datetime) -> DeviceSeq:
    """The device's counter row, created if new, locked until the transaction ends."""
    db.session.execute(
        dialect_insert(DeviceSeq.__table__)
        .values(device_id=principal.device_id, enterprise_id=principal.enterprise_id, highest=0, gaps=[], open_gaps=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["device_id"])
    )
    return db.session.scalar(sa.select(DeviceSeq).where(DeviceSeq.device_id == principal.device_id).with_for_update())


def _note_seqs(row: DeviceSeq, seqs: list[int], now: datetime) -> None:
    """Raise the highest seen and open or close gaps for the numbers in this batch."""
    if not seqs:
        return
    highest = row.highest
    gaps = [list(g) for g in row.gaps]
    for seq in sorted(set(seqs)):
        if seq > highest:
            if seq > highest + 1:
                gaps.append([highest + 1, seq - 1, now.isoformat()])
            highest = seq
            continue
        for position, (first, last, opened) in enumerate(gaps):
            if first <= seq <= last:
                pieces = [[a, b, opened] for a, b in ((first, seq - 1), (seq + 1, last)) if a <= b]
                gaps[position : position + 1] = pieces
                break
    row.highest = highest
    row.gaps = gaps
    row.open_gaps = len(gaps)
    row.updated_at = now
    db.session.flush()


def devices_with_gaps(principal: Principal, opened_before: datetime | None) -> list[dict]:
    """Devices of the enterprise with runs of ``device_seq`` never received (managers' view).

    ``opened_before`` keeps only runs missing since before that moment — a run that stays open
    for a day is almost certainly a record lost on the device, not one still on its way.
    """
    if principal.role not in MANAGERS:
        raise ZichaError("forbidden")
    rows = db.session.execute(
        sa.select(DeviceSeq, Device)
        .join(Device, Device.id == DeviceSeq.device_id)
        .where(DeviceSeq.enterprise_id == principal.enterprise_id, DeviceSeq.open_gaps > 0)
        .order_by(DeviceSeq.device_id)
    )
    answer = []
    for seq_row, device in rows:
        gaps = [
            {"first": first, "last": last, "count": last - first + 1, "opened_at": datetime.fromisoformat(opened)}
            for first, last, opened in seq_row.gaps
            if opened_before is None or datetime.fromisoformat(opened) < opened_before
        ]
        if gaps:
            answer.append({"device": device, "user_id": device.user_id, "highest": seq_row.highest, "gaps": gaps})
    return answer
