"""Hazards raised on devices (上报隐患), arriving through the sync push with the checks.

A worker who finds a hazard — at a post, often offline, often from a failed item of the check
they are doing — records it on the phone with photos; it travels in the same push as the
checks, keyed by its client UUID (records of type ``hazard``, see
:class:`sync.protocol.SyncHazardRecordSchema`). The push stores the batch's checks first, so a
hazard naming a check of its own batch finds it and is linked to it.

Each record is judged on its own, inside a savepoint: one that is refused (an unknown post)
leaves nothing behind and never stops the others. When it was found is estimated the way a
check's time is (:func:`sync.timing.estimate_performed_at`: the device's monotonic clock and the
server time anchors first, its wall clock only when they cannot tell). The photos it names
travel on their own (``PUT /photos/<sha256>`` or tus); the answer lists those not arrived yet.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app

from server import clock
from server.accounts.auth import Principal
from server.checks import slots
from server.errors import ZichaError
from server.extensions import db
from server.hazards.models import Hazard, HazardSource, HazardType
from server.hazards.services import DeviceOutcome, create_from_device
from sync.timing import Anchor, Reading, TimeEstimate, estimate_performed_at


@dataclass
class HazardArrival:
    """What became of one hazard record: the outcome and the hazard, or the error that refused it."""

    outcome: DeviceOutcome | None
    hazard: Hazard | None = None
    estimate: TimeEstimate | None = None
    missing_photos: list[str] = field(default_factory=list)
    error: ZichaError | None = None


def ingest_hazards(
    principal: Principal, records: Sequence[dict], *, sent: Reading | None = None, anchors: Sequence[Anchor] = ()
) -> list[HazardArrival]:
    """Store ``records`` (loaded hazard records) exactly once each; one arrival per record, in order."""
    if not records:
        return []
    received_at = clock.now()
    tolerance = timedelta(seconds=current_app.config["CLOCK_SKEW_TOLERANCE_SECONDS"])
    arrived = slots.present(principal.enterprise_id, {d for r in records for d in r["photos"]})
    answers = []
    for record in records:
        made = Reading(record["boot_id"], record["uptime_ms"], record["found_at"]) if record.get("boot_id") and record.get("uptime_ms") is not None else None
        estimate = estimate_performed_at(record["found_at"], received_at, None, tolerance, made=made, sent=sent, anchors=anchors)
        try:
            with db.session.begin_nested():
                hazard, outcome = create_from_device(principal, _report_data(record, estimate.at))
        except ZichaError as error:
            answers.append(HazardArrival(None, error=error))
            continue
        missing = [d for d in dict.fromkeys(record["photos"]) if d not in arrived]
        answers.append(HazardArrival(outcome, hazard, estimate, missing))
    return answers


def _report_data(record: dict, found_at: datetime) -> dict:
    """The device's record in the shape :func:`server.hazards.services.report` takes."""
    return {
        "id": record["id"],
        "description": record["description"],
        "type": HazardType(record["hazard_type"]),
        "source": HazardSource(record["source"]),
        "post_id": record["post_id"],
        "site_id": record["site_id"],
        "location": record["location"],
        "basis": record["basis"],
        "found_at": found_at,
        "photos": record["photos"],
        "note": record["note"],
        "check_id": record["check_id"],
        "check_item_id": record["check_item_id"],
    }
