"""The reference client: a Python "device" that works offline and syncs when it can.

It does what the phone app must do, in the order the sync contract asks (DESIGN.md, "Sync
contract"), so that the server can be tested — and benchmarked — against a faithful device:

* **Offline work.** :meth:`Device.pull` keeps the reference data a user needs (the enterprise's
  calendar, sites, posts with their QR tokens, checklists, their current versions, schedules) in
  the device's own SQLite database (:mod:`sync.outbox`). :meth:`Device.resolve_qr` and
  :meth:`Device.due` then answer a scan with no network, and :meth:`Device.make_check` validates
  the answers with :func:`sync.records.evaluate_answers`, gives the check a UUID and the next
  ``device_seq``, stamps it with both device clocks and queues it with its photos.
* **Push.** :meth:`Device.push` sends the queue oldest first in gzip batches of at most
  :data:`sync.protocol.MAX_BATCH`, sealing each record as its first send starts. Every result
  acknowledges its record; ``rejected`` / ``conflict`` are kept for the user
  (:meth:`Device.problems`).
* **Photos.** :meth:`Device.upload_photos` asks (``HEAD``) and sends (``PUT``) each photo the
  server still needs, and uses the resumable tus upload for photos above ``tus_threshold``.
  A record and its photos are deleted locally only once the server holds the record and has
  confirmed every photo.
* **Time.** Every server answer carries ``server_time``; the device pins it to its monotonic
  clock as an anchor and sends the relevant anchors with each push.
* **Links that drop.** Everything is safe to retry; :class:`sync.transport.Transport` retries,
  and tests break requests on purpose with :class:`sync.transport.FaultInjectingAdapter`.

:func:`encode_push` builds the exact body a push sends (the ingest benchmark uses it).
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin

from sync.device_clock import DeviceClock, SystemDeviceClock
from sync.outbox import LocalStore, OutboxRecord, PendingPhoto
from sync.periods import Frequency, Period, parse_shifts, period_of
from sync.protocol import MAX_ANCHORS, MAX_BATCH, RecordType, Result
from sync.records import evaluate_answers, record_id
from sync.timing import Anchor, Reading
from sync.transport import HTTPError, Transport, TransportError, Unavailable
from sync.windows import DueState, due_state, due_window

API = "/api/v1"
PUSH_PATH = f"{API}/sync/push"
PULL_PATH = f"{API}/sync/pull"
PHOTOS_PATH = f"{API}/photos"
UPLOADS_PATH = f"{API}/uploads"
TUS_VERSION = "1.0.0"

DEFAULT_TUS_THRESHOLD = 2 * 1024 * 1024
DEFAULT_TUS_CHUNK = 512 * 1024
DEFAULT_PULL_LIMIT = 500



class ClientError(Exception):
    """A local rule refused the action (nothing was queued or changed)."""


class UnknownReference(ClientError):
    """The device does not hold the schedule / checklist / version named (pull first)."""


class InvalidCheck(ClientError):
    """The answers do not satisfy the checklist version; ``errors`` maps item id → problems."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__(f"invalid answers: {errors}")


# ---------------------------------------------------------------------- the push body


def reading_json(reading: Reading) -> dict:
    """A clock reading as the push's ``sent`` (:class:`sync.protocol.ClockReadingSchema`)."""
    assert reading.wall is not None
    return {"wall": _iso(reading.wall), "boot_id": reading.boot_id, "uptime_ms": reading.uptime_ms}


def anchor_json(anchor: Anchor) -> dict:
    """An anchor as a push carries it (:class:`sync.protocol.AnchorSchema`)."""
    return {"boot_id": anchor.boot_id, "uptime_ms": anchor.uptime_ms, "server_time": _iso(anchor.server_time)}


@dataclass(frozen=True)
class EncodedPush:
    """A push ready to send: ``body`` (gzip when ``headers`` say so) and its plain size."""

    body: bytes
    headers: dict[str, str]
    plain_size: int


def push_envelope(records: Sequence[dict], sent: Reading, anchors: Iterable[Anchor] = ()) -> dict:
    """The push envelope of :class:`sync.protocol.PushSchema` for ``records`` (sync records)."""
    if not 1 <= len(records) <= MAX_BATCH:
        raise ValueError(f"a push carries 1 to {MAX_BATCH} records")
    return {
        "protocol": 1,
        "sent": reading_json(sent),
        "anchors": [anchor_json(a) for a in list(anchors)[:MAX_ANCHORS]],
        "records": list(records),
    }


def encode_push(records: Sequence[dict], sent: Reading, anchors: Iterable[Anchor] = (), *, compress: bool = True) -> EncodedPush:
    """The exact bytes and headers of a push of ``records`` — what :meth:`Device.push` sends.

    Compact JSON, gzip level 6 (``Content-Encoding: gzip``) unless ``compress`` is False.
    """
    plain = json.dumps(push_envelope(records, sent, anchors), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if not compress:
        return EncodedPush(plain, headers, len(plain))
    headers["Content-Encoding"] = "gzip"
    return EncodedPush(gzip.compress(plain, compresslevel=6, mtime=0), headers, len(plain))


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")


# ---------------------------------------------------------------------- reports


@dataclass
class PushReport:
    batches: int = 0
    sent: int = 0
    results: dict[str, int] = field(default_factory=dict)
    device_seq: dict | None = None
    error: str | None = None


@dataclass
class PhotoReport:
    confirmed_present: int = 0  # HEAD said the server already had it
    uploaded: int = 0           # PUT
    uploaded_resumable: int = 0  # tus
    resumed: int = 0            # tus uploads that continued after a break
    bytes: int = 0
    refused: int = 0
    failed: int = 0
    error: str | None = None


@dataclass
class PullReport:
    pages: int = 0
    changes: int = 0
    resets: int = 0
    error: str | None = None


@dataclass
class SyncReport:
    push: PushReport
    photos: PhotoReport
    collected: int
    pull: PullReport | None
    outbox: dict[str, int]

    @property
    def ok(self) -> bool:
        return not (self.push.error or self.photos.error or (self.pull and self.pull.error))


@dataclass(kw_only=True)
class DeviceStats:
    """What happened to this device's work since it was opened (the simulator's summary adds
    up these of every device: it is one, see :meth:`add`)."""

    results: dict[str, int] = field(default_factory=dict)
    time_quality: dict[str, int] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)
    photos_uploaded: int = 0
    photos_resumable: int = 0
    photos_already_there: int = 0
    photos_refused: int = 0
    photo_bytes: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: "DeviceStats") -> None:
        """Count ``other``'s work into this one."""
        for mine, theirs in ((self.results, other.results), (self.time_quality, other.time_quality), (self.flags, other.flags)):
            for key, n in theirs.items():
                _bump(mine, key, n)
        self.photos_uploaded += other.photos_uploaded
        self.photos_resumable += other.photos_resumable
        self.photos_already_there += other.photos_already_there
        self.photos_refused += other.photos_refused
        self.photo_bytes += other.photo_bytes
        self.errors.extend(other.errors)

    def note_results(self, results: Iterable[dict]) -> None:
        for result in results:
            _bump(self.results, result.get("result", "?"))
            if result.get("time_quality"):
                _bump(self.time_quality, result["time_quality"])
            for flag in result.get("flags") or ():
                _bump(self.flags, flag)


def _bump(counter: dict[str, int], key: str, n: int = 1) -> None:
    counter[key] = counter.get(key, 0) + n


@dataclass(frozen=True)
class Due:
    """One schedule at a post as the device sees it offline."""

    schedule: dict
    checklist: dict | None
    version: dict | None
    period: Period
    opens_at: datetime
    closes_at: datetime
    state: DueState


# ---------------------------------------------------------------------- the device


class Device:
    """One phone: its database at ``path``, its clocks, its link to ``server_url``.

    ``transport`` defaults to a plain :class:`~sync.transport.Transport`; pass one built with a
    :class:`~sync.transport.FaultInjectingAdapter` (and ``sleep=lambda s: None``) in tests.
    Not thread-safe: one device, one thread (as on a phone's sync worker).
    """

    def __init__(
        self,
        server_url: str,
        path: str,
        *,
        clock: DeviceClock | None = None,
        transport: Transport | None = None,
        batch_size: int = MAX_BATCH,
        tus_threshold: int = DEFAULT_TUS_THRESHOLD,
        tus_chunk: int = DEFAULT_TUS_CHUNK,
        pull_limit: int = DEFAULT_PULL_LIMIT,
        name: str = "python reference client",
        platform: str = "python",
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be 1..{MAX_BATCH}")
        self.store = LocalStore(path)
        self.clock = clock or SystemDeviceClock()
        self.transport = transport or Transport(server_url)
        self.batch_size = batch_size
        self.tus_threshold = tus_threshold
        self.tus_chunk = tus_chunk
        self.pull_limit = pull_limit
        self.name = name
        self.platform = platform
        self.transport.token = self.store.get_meta("token")
        self.stats = DeviceStats()

    def close(self) -> None:
        self.transport.close()
        self.store.close()

    @property
    def install_id(self) -> str:
        return self.store.install_id

    # ------------------------------------------------------------------ online: account

    def sign_in(self, enterprise: str, username: str, password: str) -> dict:
        """Sign in as ``username`` on this device (bound to its install id); keep the token."""
        response = self.transport.request(
            "POST",
            f"{API}/auth/sign-in",
            json_body={
                "enterprise": enterprise,
                "username": username,
                "password": password,
                "device": {"install_id": self.install_id, "name": self.name, "platform": self.platform},
            },
        )
        body = response.json()
        self.transport.token = body["token"]
        self.store.set_meta("token", body["token"])
        self.store.set_meta("user", json.dumps(body.get("user") or {}, ensure_ascii=False))
        return body

    def scan_online(self, qr_token: str) -> dict:
        """``GET /scan/<token>`` with a network: the answer, whose post, schedules and versions
        are kept for offline use too (a device without pull data can still work offline)."""
        response = self.transport.request("GET", f"{API}/scan/{qr_token}")
        body = response.json()
        self._anchor(body.get("now"))
        post = dict(body["post"])
        post["qr_token"] = qr_token
        post["site_id"] = (post.get("site") or {}).get("id")
        self.store.put_reference("post", post)
        for due in body.get("schedules", []):
            version = due["version"]
            self.store.put_reference("checklist_version", version)
            self.store.put_reference(
                "checklist", {"id": due["checklist_id"], "name": due.get("checklist_name", ""), "current_version_id": version["id"]}
            )
            self.store.put_reference(
                "schedule",
                {
                    "id": due["schedule_id"], "post_id": post["id"], "checklist_id": due["checklist_id"],
                    "frequency": due["frequency"],
                    # The scan gives the window of the current period; keep it as offsets.
                    "due_start_minutes": _minutes(due["opens_at"], due["period"]["start"]),
                    "due_end_minutes": _minutes(due["closes_at"], due["period"]["start"]),
                },
            )
        return body

    def fetch_enterprise(self) -> dict:
        """The enterprise's calendar (zone, shifts) when pull does not carry it."""
        body = self.transport.request("GET", f"{API}/enterprise").json()
        self.store.put_reference("enterprise", body)
        return body

    # ------------------------------------------------------------------ offline: work

    def calendar(self) -> tuple[str, tuple]:
        enterprises = self.store.reference_all("enterprise")
        if not enterprises:
            raise UnknownReference("the enterprise's calendar is not known yet (pull or fetch_enterprise)")
        enterprise = enterprises[0]
        return enterprise["timezone"], parse_shifts(enterprise.get("shifts") or ["00:00", "08:00", "16:00"])

    def estimated_now(self) -> datetime:
        """The device's best idea of the true time: the latest anchor on this boot plus the
        monotonic time since, or the wall clock when this boot has no anchor."""
        return self._estimate(self.clock.reading())

    def resolve_qr(self, qr_token: str) -> dict | None:
        """The post a QR token names, from local data only."""
        return self.store.post_by_token(qr_token)

    def posts(self) -> list[dict]:
        """Every post the device holds, from local data only."""
        return self.store.reference_all("post")

    def schedule(self, schedule_id: int) -> tuple[dict, dict, dict]:
        """A schedule with its checklist and the version to check with now."""
        schedule = self.store.reference("schedule", schedule_id)
        if schedule is None:
            raise UnknownReference(f"schedule {schedule_id}")
        checklist = self.store.reference("checklist", schedule["checklist_id"])
        version = None
        if checklist is not None and checklist.get("current_version_id") is not None:
            version = self.store.reference("checklist_version", checklist["current_version_id"])
        if version is None:
            versions = self.store.reference_all("checklist_version", schedule["checklist_id"])
            version = max(versions, key=lambda v: v.get("number", 0)) if versions else None
        if version is None:
            raise UnknownReference(f"no checklist version for schedule {schedule_id}")
        return schedule, checklist or {"id": schedule["checklist_id"]}, version

    def due(self, post_id: int, now: datetime | None = None) -> list[Due]:
        """Every schedule of a post in its current period, as the device reckons it offline."""
        now = now or self.estimated_now()
        tz, shifts = self.calendar()
        out = []
        for schedule in self.store.reference_all("schedule", post_id):
            period = period_of(Frequency(schedule["frequency"]), now, tz, shifts)
            window = due_window(period, schedule.get("due_start_minutes") or 0, schedule.get("due_end_minutes"))
            done = period.key in self.store.periods_done(schedule["id"])
            checklist = self.store.reference("checklist", schedule["checklist_id"])
            version = self.store.reference("checklist_version", checklist["current_version_id"]) if checklist else None
            out.append(Due(schedule, checklist, version, period, window[0], window[1], due_state(window, now, done)))
        return out

    def make_check(self, schedule_id: int, answers: Sequence[dict], *, note: str = "") -> OutboxRecord:
        """Make a check offline and queue it.

        ``answers``: ``{"item_id", "value", "note"?, "photos"?}``; a photo is given as its bytes
        (stored with the check) or as the SHA-256 of a photo the device already holds. Refused
        with :class:`InvalidCheck` when the answers do not satisfy the version.
        """
        schedule, _checklist, version = self.schedule(schedule_id)
        wire_answers, photos = self._answers(version, answers)
        reading = self.clock.reading()
        assert reading.wall is not None
        tz, shifts = self.calendar()
        estimated = self._estimate(reading)
        period = period_of(Frequency(schedule["frequency"]), estimated, tz, shifts)
        record: dict[str, Any] = {
            "type": RecordType.CHECK,
            "id": record_id(estimated),
            "schedule_id": schedule["id"],
            "checklist_version_id": version["id"],
            "performed_at": _iso(reading.wall),
            "boot_id": reading.boot_id,
            "uptime_ms": reading.uptime_ms,
            "answers": wire_answers,
        }
        if note:
            record["note"] = note
        return self.store.add_record(record, photos=photos, period_key=period.key, made_wall=reading.wall)

    def report_hazard(
        self,
        description: str,
        *,
        photos: Sequence[bytes | str] = (),
        post_id: int | None = None,
        site_id: int | None = None,
        location: str = "",
        hazard_type: str = "other",
        source: str = "daily",
        basis: str = "",
        check_id: str | None = None,
        check_item_id: str | None = None,
        note: str = "",
    ) -> OutboxRecord:
        """Raise a hazard offline (上报隐患) and queue it; it goes with the next push.

        ``photos`` as in :meth:`make_check` (bytes, or the SHA-256 of a photo the device holds).
        From a failed item of a check: ``check_id`` (the check's record id) and ``check_item_id``.
        """
        shas, held = self._photos(photos)
        reading = self.clock.reading()
        assert reading.wall is not None
        record: dict[str, Any] = {
            "type": RecordType.HAZARD,
            "id": record_id(self._estimate(reading)),
            "found_at": _iso(reading.wall),
            "boot_id": reading.boot_id,
            "uptime_ms": reading.uptime_ms,
            "description": description,
            "hazard_type": hazard_type,
            "source": source,
            "photos": shas,
        }
        optional = {"post_id": post_id, "site_id": site_id, "location": location, "basis": basis,
                    "check_id": check_id, "check_item_id": check_item_id, "note": note}
        record.update({k: v for k, v in optional.items() if v not in (None, "")})
        return self.store.add_record(record, photos=held, made_wall=reading.wall)

    def edit_check(self, record_id: str, *, answers: Sequence[dict] | None = None, note: str | None = None) -> OutboxRecord:
        """Change a check not yet sent; a sealed one raises :class:`sync.outbox.SealedRecordError`."""
        current = self.store.get(record_id)
        changes: dict[str, Any] = {}
        photos: dict[str, bytes] = {}
        if answers is not None:
            version = self.store.reference("checklist_version", current.body["checklist_version_id"])
            if version is None:
                raise UnknownReference(f"checklist version {current.body['checklist_version_id']}")
            changes["answers"], photos = self._answers(version, answers)
        if note is not None:
            changes["note"] = note
        return self.store.update_record(record_id, changes, photos=photos)

    def problems(self) -> list[OutboxRecord]:
        """Checks the server rejected or found in conflict, with its answer, for the user."""
        return self.store.problems()

    def outbox(self) -> dict[str, int]:
        """How many records are drafts, sealed, stored (awaiting photos), problems; photos held."""
        return self.store.counts()

    def _photos(self, given: Sequence[bytes | str], held: dict[str, bytes] | None = None) -> tuple[list[str], dict[str, bytes]]:
        """Photos given as bytes or as the SHA-256 of one the device holds: their digests, and
        the bytes to store (added to ``held``)."""
        held = {} if held is None else held
        shas = []
        for photo in given or []:
            if isinstance(photo, (bytes, bytearray, memoryview)):
                data = bytes(photo)
                sha = hashlib.sha256(data).hexdigest()
                held[sha] = data
                shas.append(sha)
            elif isinstance(photo, str):
                if photo not in held and not self.store.has_photo(photo):
                    raise ClientError(f"photo {photo} is not on this device")
                shas.append(photo)
            else:
                raise ClientError("a photo is its bytes or its SHA-256")
        return shas, held

    def _answers(self, version: dict, answers: Sequence[dict]) -> tuple[list[dict], dict[str, bytes]]:
        photos: dict[str, bytes] = {}
        named = []
        for answer in answers:
            shas, _ = self._photos(answer.get("photos", []) or [], photos)
            named.append({**answer, "photos": shas})
        evaluation = evaluate_answers(version["items"], named)
        if evaluation.errors:
            raise InvalidCheck(evaluation.errors)
        wire = []
        for answer in evaluation.answers:  # checklist order; only what the wire needs
            item = {"item_id": answer["item_id"], "value": answer["value"]}
            if answer["photos"]:
                item["photos"] = answer["photos"]
            if answer.get("note"):
                item["note"] = answer["note"]
            wire.append(item)
        return wire, photos

    def _estimate(self, reading: Reading) -> datetime:
        anchors = self.store.anchors(reading.boot_id)
        if anchors:
            anchor = max(anchors, key=lambda a: a.uptime_ms)
            return anchor.server_time + timedelta(milliseconds=reading.uptime_ms - anchor.uptime_ms)
        assert reading.wall is not None
        return reading.wall

    # ------------------------------------------------------------------ online: sync

    def sync(self, *, pull: bool = True) -> SyncReport:
        """Push everything queued, upload the photos the server needs, forget what it has
        confirmed, then pull. Each step runs even if the one before hit a network problem."""
        push = self.push()
        photos = self.upload_photos()
        collected = self.store.collect()
        pulled = self.pull() if pull else None
        report = SyncReport(push, photos, collected, pulled, self.store.counts())
        self.stats.errors.extend(e for e in (push.error, photos.error, pulled.error if pulled else None) if e)
        return report

    def push(self) -> PushReport:
        """Send every record the server has not answered for, oldest first, in batches."""
        report = PushReport()
        batch_size = self.batch_size
        while True:
            batch = self.store.next_batch(batch_size)
            if not batch:
                return report
            self.store.seal([r.id for r in batch])
            anchors = self.store.anchors_for(batch, self.clock.reading().boot_id)
            bodies = [r.body for r in batch]
            try:
                response = self.transport.request(
                    "POST", PUSH_PATH, body=lambda: encode_push(bodies, self.clock.reading(), anchors), ok=(200,)
                )
            except HTTPError as error:
                if error.status == 413 and batch_size > 1:
                    batch_size = max(1, batch_size // 2)
                    continue
                report.error = str(error)
                return report
            except TransportError as error:
                report.error = str(error)
                return report
            # Read leniently (a newer server may add fields); results are matched one by one.
            answer = response.json()
            self._anchor(answer["server_time"])
            counts = self.store.apply_results(batch, answer["results"])
            self.stats.note_results(answer["results"])
            report.batches += 1
            report.sent += len(batch)
            for kind, n in counts.items():
                report.results[kind] = report.results.get(kind, 0) + n
            if answer.get("device_seq"):
                report.device_seq = answer["device_seq"]
                self.store.set_meta("server_device_seq", json.dumps(answer["device_seq"]))
            if not counts:
                report.error = "the server answered for none of the batch"
                return report

    def upload_photos(self) -> PhotoReport:
        """Send each photo the server still needs: ``HEAD`` to ask, ``PUT`` (or tus when large)
        to send. One photo's failure does not stop the others; a lost link does."""
        report = PhotoReport()
        link_failures = 0
        for photo in self.store.pending_photos():
            try:
                self._upload_photo(photo, report)
                link_failures = 0
            except Unavailable as error:
                report.failed += 1
                report.error = str(error)
                link_failures += 1
                if link_failures >= 2:
                    break
            except HTTPError as error:
                if error.status in (401, 403):
                    report.error = str(error)
                    break
                if 400 <= error.status < 500 and error.status not in (404, 408, 409, 423, 429):
                    self.store.refuse_photo(photo.sha256, {"status": error.status, **(error.body.get("error") or {})})
                    report.refused += 1
                else:
                    report.failed += 1
                    report.error = str(error)
        self.stats.photos_uploaded += report.uploaded + report.uploaded_resumable
        self.stats.photos_resumable += report.uploaded_resumable
        self.stats.photos_already_there += report.confirmed_present
        self.stats.photos_refused += report.refused
        self.stats.photo_bytes += report.bytes
        return report

    def _upload_photo(self, photo: PendingPhoto, report: PhotoReport) -> None:
        head = self.transport.request("HEAD", f"{PHOTOS_PATH}/{photo.sha256}", ok=(200, 404))
        if head.status_code == 200:
            self.store.confirm_photo(photo.sha256)
            report.confirmed_present += 1
            return
        data = self.store.photo_bytes(photo.sha256)
        if photo.size > self.tus_threshold:
            self._tus_upload(photo, data, report)
            report.uploaded_resumable += 1
        else:
            self.transport.request(
                "PUT", f"{PHOTOS_PATH}/{photo.sha256}", data=data, headers={"Content-Type": photo.content_type}, ok=(200, 201, 204)
            )
            report.uploaded += 1
        report.bytes += len(data)
        self.store.confirm_photo(photo.sha256)

    def _tus_upload(self, photo: PendingPhoto, data: bytes, report: PhotoReport, max_breaks: int = 20) -> None:
        """tus 1.0 (creation, checksum): create once, PATCH chunks, and after any break ask the
        server (``HEAD``) where it stands and go on from there."""
        tus = {"Tus-Resumable": TUS_VERSION}
        url = photo.upload_url
        offset = None
        if url:
            offset = self._tus_offset(url)
            if offset is None:
                url = None  # expired or gone: start again
            else:
                report.resumed += 1
        if url is None:
            metadata = ",".join(
                f"{k} {base64.b64encode(v.encode()).decode()}"
                for k, v in (("sha256", photo.sha256), ("filetype", photo.content_type), ("filename", f"{photo.sha256[:16]}.jpg"))
            )
            created = self.transport.request(
                "POST", UPLOADS_PATH, headers={**tus, "Upload-Length": str(len(data)), "Upload-Metadata": metadata}, ok=(201,)
            )
            url = urljoin(self.transport.url(UPLOADS_PATH), created.headers["Location"])
            self.store.set_upload_url(photo.sha256, url)
            offset = 0
        breaks = 0
        while offset < len(data):
            chunk = data[offset : offset + self.tus_chunk]
            checksum = base64.b64encode(hashlib.sha1(chunk).digest()).decode()
            try:
                response = self.transport.request(
                    "PATCH",
                    url,
                    data=chunk,
                    headers={
                        **tus,
                        "Upload-Offset": str(offset),
                        "Content-Type": "application/offset+octet-stream",
                        "Upload-Checksum": f"sha1 {checksum}",
                    },
                    ok=(204,),
                    retry=False,  # a blind retry may be at a stale offset: ask first
                )
                offset = int(response.headers["Upload-Offset"])
            except (Unavailable, HTTPError) as error:
                if isinstance(error, HTTPError) and error.status not in (409, 460, 502, 503, 504):
                    raise
                breaks += 1
                if breaks > max_breaks:
                    raise Unavailable(f"tus upload of {photo.sha256}: too many breaks") from error
                report.resumed += 1
                known = self._tus_offset(url)
                if known is None:
                    self.store.set_upload_url(photo.sha256, None)
                    # Gone: finished (the answer to the last chunk was lost) or expired.
                    head = self.transport.request("HEAD", f"{PHOTOS_PATH}/{photo.sha256}", ok=(200, 404))
                    if head.status_code == 200:
                        return
                    raise Unavailable(f"tus upload of {photo.sha256} expired during the upload") from error
                offset = known

    def _tus_offset(self, url: str) -> int | None:
        response = self.transport.request("HEAD", url, headers={"Tus-Resumable": TUS_VERSION}, ok=(200, 204, 404, 410))
        if response.status_code in (404, 410):
            return None
        return int(response.headers["Upload-Offset"])

    def pull(self) -> PullReport:
        """Page through the change log from the saved cursor; each page is applied and its
        cursor saved in one local transaction, so a break loses at most a page's work."""
        report = PullReport()
        while True:
            params: dict[str, Any] = {"limit": self.pull_limit}
            cursor = self.store.cursor
            if cursor:
                params["cursor"] = cursor
            try:
                response = self.transport.request("GET", PULL_PATH, params=params, ok=(200,))
            except HTTPError as error:
                if error.code == "invalid_cursor" and cursor:
                    # A cursor this server cannot read (another installation, a wiped server):
                    # start from a snapshot; reference data is replaced by it, the outbox stays.
                    self.store.set_meta("cursor", None)
                    continue
                report.error = str(error)
                return report
            except TransportError as error:
                report.error = str(error)
                return report
            page = response.json()
            self._anchor(page["server_time"])
            # A page sent without a cursor starts a snapshot too: whatever the device held before
            # (from an online scan, or under a cursor the server could not read) is replaced.
            reset = bool(page["reset_required"]) or not cursor
            report.changes += self.store.apply_page(page["changes"], page["cursor"], reset=reset)
            report.pages += 1
            report.resets += int(reset)
            if not page["more"]:
                return report

    def _anchor(self, server_time: datetime | str | None) -> None:
        """Pin the server's time to this moment of the monotonic clock."""
        if server_time is None:
            return
        if isinstance(server_time, str):
            server_time = datetime.fromisoformat(server_time)
        reading = self.clock.reading()
        self.store.add_anchor(Anchor(reading.boot_id, reading.uptime_ms, server_time))


def _minutes(later: str, earlier: str) -> int:
    delta = datetime.fromisoformat(later) - datetime.fromisoformat(earlier)
    return int(delta / timedelta(minutes=1))


__all__ = [
    "ClientError",
    "Device",
    "Due",
    "EncodedPush",
    "InvalidCheck",
    "PhotoReport",
    "PullReport",
    "PushReport",
    "Result",
    "SyncReport",
    "UnknownReference",
    "encode_push",
    "push_envelope",
]
