"""A device simulator on top of the reference client, and payload builders for benchmarks.

:func:`simulate` runs N devices against a live server: each signs in as its own worker (made
through the admin API), pulls, then works offline for D simulated days — every day it checks the
posts it covers, answering whatever is due there with photos (small generated JPEGs) — and then
syncs, optionally over a link that drops requests on purpose. It returns a :class:`Summary`.

Simulated days end *now* (the server's clock decides what "now" is): the devices' clocks are
driven along a virtual timeline from ``now - days`` to ``now``, and they sync at ``now``, so the
server dates every check from the devices' monotonic clocks exactly as it would for a real phone
that was offline that long. A device never checks with a checklist version published after the
moment it is simulating (it could not have had it): against a server whose checklists were
published a minute ago, a week offline is mostly empty, and the summary says so.

:func:`sample_answers`, :func:`make_jpeg`, :func:`synthetic_records` and :func:`push_bodies`
build realistic records and push bodies without a server (the ingest benchmark uses them).
"""
from __future__ import annotations

import io
import json
import random
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sync.client import Device, DeviceStats, EncodedPush, encode_push
from sync.device_clock import SimulatedDeviceClock, Timeline
from sync.protocol import MAX_BATCH, RecordType
from sync.records import ItemKind, record_id
from sync.timing import Reading
from sync.transport import Fault, FaultInjectingAdapter, InjectedFault, Transport
from sync.windows import DueState

# ---------------------------------------------------------------------- records without a server


def make_jpeg(rng: random.Random, width: int = 320, height: int = 240, quality: int = 70) -> bytes:
    """A small, valid, unique JPEG (a few KB): coloured blocks from ``rng``."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(width), rng.randrange(height)
        draw.rectangle((x, y, x + rng.randrange(8, width // 3), y + rng.randrange(8, height // 3)), fill=tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def sample_answers(
    items: Sequence[dict], rng: random.Random, photo: Callable[[], bytes | str] | None = None, *, fail_rate: float = 0.05
) -> list[dict]:
    """Answers a careful worker would give: valid for every item, now and then a failed one.

    ``photo()`` returns a photo (bytes, or a SHA-256 the device holds) for items that require
    one, and for failed items (evidence of what is wrong); without it those get none.
    """
    answers = []
    for item in items:
        kind = ItemKind(item["kind"])
        failing = rng.random() < fail_rate
        if kind is ItemKind.YES_NO:
            expected = item.get("expected", True)
            value: Any = (not expected) if failing else expected
        elif kind is ItemKind.NUMBER:
            low = item.get("min") if item.get("min") is not None else item.get("valid_min", 0) or 0
            high = item.get("max") if item.get("max") is not None else item.get("valid_max", low + 100)
            if failing and item.get("max") is not None and (item.get("valid_max") is None or item["valid_max"] > item["max"]):
                top = item.get("valid_max", item["max"] * 2 + 1)
                value = round(rng.uniform(item["max"] + 0.1, top), 1) if top > item["max"] + 0.1 else item["max"]
            else:
                value = round(rng.uniform(low, high), 1)
        elif kind is ItemKind.CHOICE:
            options = item["options"]
            pool = [o for o in options if o.get("ok", True) != failing] or options
            value = rng.choice(pool)["value"]
        else:
            if not item.get("required", True) and rng.random() < 0.8:
                continue
            value = "正常" if not failing else "有异常，已上报"
        answer: dict[str, Any] = {"item_id": item["id"], "value": value}
        ok_failed = failing and kind is not ItemKind.TEXT
        if photo is not None and (item.get("photo_required") or ok_failed):
            answer["photos"] = [photo()]
        answers.append(answer)
    return answers


def synthetic_records(
    n: int,
    *,
    schedule_id: int,
    version: dict,
    start: datetime,
    boot_id: str | None = None,
    uptime_start_ms: int = 3_600_000,
    spacing: timedelta = timedelta(minutes=10),
    seed: int = 0,
    first_seq: int = 1,
    photo_digests: bool = True,
    fail_rate: float = 0.05,
) -> list[dict]:
    """``n`` check records as one device would send them, made ``spacing`` apart from ``start``
    on one boot, numbered from ``first_seq``. Photo-required (and failed) items name a random
    SHA-256 — the photo itself is not made. With ``photo_digests`` False no photo is named, so
    the records are valid only for a version without photo-required items. Each item fails with
    probability ``fail_rate`` (see :func:`sample_answers`)."""
    rng = random.Random(seed)
    boot_id = boot_id or f"{seed:016x}"[-16:]
    digest = (lambda: "%064x" % rng.getrandbits(256)) if photo_digests else None
    records = []
    for i in range(n):
        made = start + spacing * i
        record: dict[str, Any] = {
            "type": RecordType.CHECK,
            "id": record_id(made, rng.getrandbits(74)),
            "device_seq": first_seq + i,
            "schedule_id": schedule_id,
            "checklist_version_id": version["id"],
            "performed_at": made.isoformat(timespec="seconds"),
            "boot_id": boot_id,
            "uptime_ms": uptime_start_ms + int((made - start) / timedelta(milliseconds=1)),
            "answers": sample_answers(version["items"], rng, digest, fail_rate=fail_rate),
        }
        records.append(record)
    return records


def push_bodies(records: Sequence[dict], *, sent: Reading, batch: int = MAX_BATCH, compress: bool = True) -> list[EncodedPush]:
    """The push bodies (≤ ``batch`` records each) a device would send for ``records``."""
    return [encode_push(records[i : i + batch], sent, compress=compress) for i in range(0, len(records), batch)]


def push_bodies_for(
    n: int,
    *,
    schedule_id: int,
    version: dict,
    now: datetime,
    seed: int = 0,
    first_seq: int = 1,
    batch: int = MAX_BATCH,
    spacing: timedelta = timedelta(minutes=1),
    photo_digests: bool = True,
    compress: bool = True,
) -> list[EncodedPush]:
    """What one device offline for ``n × spacing`` sends at ``now``: ``n`` checks of one
    schedule made on one boot, in push bodies of ``batch``, ready to POST (for benchmarks).

    ``version`` is the checklist version as pulled (``id`` and ``items``); it must have been
    published before ``now - n × spacing`` or the server dates the checks at receipt (flagged).
    Use a new ``seed`` (and ``first_seq`` after the last one) for each device or run: ids are
    drawn from it, and the same ids again are duplicates. With ``photo_digests`` each check names
    random photo digests and is stored ``awaiting_photos``.
    """
    start = now - spacing * n
    boot_id = f"bench{seed:011x}"[-16:]
    records = synthetic_records(
        n, schedule_id=schedule_id, version=version, start=start, boot_id=boot_id, seed=seed, first_seq=first_seq,
        spacing=spacing, photo_digests=photo_digests,
    )
    sent = Reading(boot_id, 3_600_000 + int((now - start) / timedelta(milliseconds=1)), now)
    return push_bodies(records, sent=sent, batch=batch, compress=compress)


# ---------------------------------------------------------------------- the simulator


class RandomFaults(FaultInjectingAdapter):
    """A link that drops a share ``rate`` of requests, half before sending, half after the
    server answered (seeded, so a run can be repeated)."""

    def __init__(self, rate: float, seed: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = rate
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def _take(self, request):  # type: ignore[override]
        fault = super()._take(request)
        if fault is not None or self.rate <= 0:
            return fault
        with self._lock:
            roll = self._rng.random()
        if roll >= self.rate:
            return None
        fault = Fault.DROP_BEFORE_SEND if roll < self.rate / 2 else Fault.DROP_AFTER_COMMIT
        self.injected.append(InjectedFault(fault, request.method or "", urlsplit(request.url or "").path))
        return fault


@dataclass
class SimulationConfig:
    server: str
    enterprise: str
    admin_username: str
    admin_password: str
    devices: int = 5
    days: int = 7
    workdir: str | None = None
    drop_rate: float = 0.0
    concurrency: int = 8
    batch_size: int = MAX_BATCH
    tus_threshold: int = 2 * 1024 * 1024
    photo_size: tuple[int, int] = (320, 240)
    fail_rate: float = 0.05
    reboot_every_days: int = 3
    seed: int = 1
    user_prefix: str | None = None
    pull_limit: int = 500


@dataclass
class Summary(DeviceStats):
    """Every device's :class:`DeviceStats` added up, and what only the simulator knows."""

    devices: int
    days: int
    checks_made: int = 0
    checks_skipped_unpublished: int = 0
    photos_made: int = 0
    push_bytes: int = 0
    wire_bytes: int = 0
    faults_injected: int = 0
    network_errors: int = 0
    outbox_left: int = 0
    seq_gaps: int = 0
    offline_seconds: float = 0.0
    sync_seconds: float = 0.0

    @property
    def sync_errors(self) -> list[str]:
        return self.errors

    @property
    def push_bytes_per_check(self) -> float:
        return self.push_bytes / self.checks_made if self.checks_made else 0.0

    @property
    def wire_bytes_per_check(self) -> float:
        return self.wire_bytes / self.checks_made if self.checks_made else 0.0

    def as_dict(self) -> dict:
        data = asdict(self)
        data["sync_errors"] = data.pop("errors")
        data["push_bytes_per_check"] = round(self.push_bytes_per_check, 1)
        data["wire_bytes_per_check"] = round(self.wire_bytes_per_check, 1)
        return data

    def text(self) -> str:
        r = self.results
        lines = [
            f"devices {self.devices}, {self.days} days offline",
            f"checks made            {self.checks_made}"
            + (f"  (skipped {self.checks_skipped_unpublished}: checklist not yet published at that time)" if self.checks_skipped_unpublished else ""),
            f"  accepted             {r.get('accepted', 0)}",
            f"  awaiting photos      {r.get('awaiting_photos', 0)}",
            f"  duplicates           {r.get('duplicate', 0)}",
            f"  conflicts            {r.get('conflict', 0)}",
            f"  rejected             {r.get('rejected', 0)}",
            f"time quality           {json.dumps(self.time_quality, ensure_ascii=False)}",
            f"flags                  {json.dumps(self.flags, ensure_ascii=False)}",
            f"photos made            {self.photos_made}: uploaded {self.photos_uploaded} (resumable {self.photos_resumable}), "
            f"already there {self.photos_already_there}, refused {self.photos_refused}, {self.photo_bytes / 1024:.0f} KiB",
            f"push bytes per check   {self.push_bytes_per_check:.0f}  (all HTTP incl. photos and pull: {self.wire_bytes_per_check:.0f})",
            f"faults injected        {self.faults_injected}, network errors seen {self.network_errors}",
            f"left in outboxes       {self.outbox_left}; device_seq gaps open {self.seq_gaps}",
            f"time                   offline work {self.offline_seconds:.1f} s, sync {self.sync_seconds:.1f} s"
            + (f" ({self.checks_made / self.sync_seconds:.0f} checks/s)" if self.sync_seconds and self.checks_made else ""),
        ]
        if self.sync_errors:
            lines.append("errors: " + "; ".join(self.sync_errors[:5]))
        return "\n".join(lines)


def _system_now() -> datetime:
    return datetime.now(timezone.utc)


def create_workers(config: SimulationConfig, count: int, prefix: str, sleep: Callable[[float], None] = time.sleep) -> list[tuple[str, str]]:
    """Worker users for the devices, made through the admin API: ``(username, password)``."""
    admin = Transport(config.server, sleep=sleep)
    try:
        body = admin.request(
            "POST", "/api/v1/auth/sign-in",
            json_body={"enterprise": config.enterprise, "username": config.admin_username, "password": config.admin_password},
        ).json()
        admin.token = body["token"]
        users = []
        for i in range(count):
            username, password = f"{prefix}{i + 1:03d}", secrets.token_urlsafe(12)
            admin.request(
                "POST", "/api/v1/users",
                json_body={"username": username, "display_name": f"模拟员工{i + 1}", "role": "worker", "password": password},
            )
            users.append((username, password))
        return users
    finally:
        admin.close()


def simulate(
    config: SimulationConfig,
    *,
    now: Callable[[], datetime] = _system_now,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = lambda _m: None,
) -> Summary:
    """Run the simulation described by ``config`` (see the module docstring).

    ``now`` is the server's clock as the devices should believe it (the real time by default;
    a test passes the server's FrozenClock). ``sleep`` waits between retries.
    """
    rng = random.Random(config.seed)
    prefix = config.user_prefix or f"sim{secrets.token_hex(3)}-"
    workdir = Path(config.workdir or tempfile.mkdtemp(prefix="zicha-sim-"))
    summary = Summary(config.devices, config.days)
    users = create_workers(config, config.devices, prefix, sleep)
    log(f"{len(users)} workers created ({prefix}001…); device databases in {workdir}")

    # Sign in and pull at "now", on a setup boot of each phone.
    setup_time = Timeline(now())
    adapter_seed = rng.randrange(2**32)
    devices: list[Device] = []
    for i, (username, password) in enumerate(users):
        adapter = RandomFaults(config.drop_rate, seed=adapter_seed + i) if config.drop_rate else None
        transport = Transport(config.server, adapter=adapter, sleep=sleep)
        device = Device(
            config.server, str(workdir / f"device-{i + 1:03d}.db"),
            clock=SimulatedDeviceClock(setup_time.now), transport=transport,
            batch_size=config.batch_size, tus_threshold=config.tus_threshold, pull_limit=config.pull_limit,
            name=f"sim phone {i + 1}", platform="simulator",
        )
        device.sign_in(config.enterprise, username, password)
        pulled = device.pull()
        if pulled.error:
            raise RuntimeError(f"device {i + 1}: pull failed: {pulled.error}")
        devices.append(device)
    posts = [p for p in devices[0].posts() if devices[0].store.reference_all("schedule", p["id"])]
    if not posts:
        raise RuntimeError("the enterprise has no post with an active schedule to check")
    coverage = _cover(len(devices), [p["id"] for p in posts])
    log(f"{len(posts)} posts with schedules; each device covers {min(len(c) for c in coverage)}–{max(len(c) for c in coverage)}")

    # Offline: a virtual timeline from now - days to now; each phone boots anew when it starts.
    end = now()
    start = end - timedelta(days=config.days)
    timeline = Timeline(start)
    clocks = []
    for device in devices:
        clock = SimulatedDeviceClock(timeline.now, uptime_at_start=timedelta(minutes=rng.randrange(5, 600)))
        device.clock = clock
        clocks.append(clock)
    zone = ZoneInfo(devices[0].calendar()[0])
    events = []
    first_day = start.astimezone(zone).date()
    for day in range(config.days + 1):
        for index in range(len(devices)):
            local = datetime.combine(first_day + timedelta(days=day), datetime.min.time(), zone) + timedelta(
                hours=8, minutes=(index * 7) % 480 + rng.randrange(0, 30)
            )
            moment = local.astimezone(timezone.utc)
            if start <= moment < end:
                events.append((moment, index, day))
    # The last round is at the moment of sync: what is due now is checked before sending.
    events.extend((end, index, config.days) for index in range(len(devices)))
    events.sort()
    offline_started = time.perf_counter()
    photo_rng = random.Random(rng.randrange(2**32))
    rebooted_on = [0] * len(devices)
    for moment, index, day in events:
        timeline.set(moment)
        device, clock = devices[index], clocks[index]
        # Phones get switched off now and then: a new boot, uptime from zero.
        if config.reboot_every_days and day and day % config.reboot_every_days == 0 and rebooted_on[index] != day:
            clock.reboot()
            rebooted_on[index] = day
        for post_id in coverage[index]:
            for due in device.due(post_id):
                if due.state not in (DueState.DUE, DueState.OVERDUE) or due.version is None:
                    continue
                published = datetime.fromisoformat(due.version["published_at"])
                if published > moment:
                    summary.checks_skipped_unpublished += 1
                    continue

                def photo() -> bytes:
                    summary.photos_made += 1
                    return make_jpeg(photo_rng, *config.photo_size)

                answers = sample_answers(due.version["items"], photo_rng, photo, fail_rate=config.fail_rate)
                device.make_check(due.schedule["id"], answers)
                summary.checks_made += 1
    summary.offline_seconds = time.perf_counter() - offline_started
    log(f"offline: {summary.checks_made} checks, {summary.photos_made} photos")

    # Back online: every phone syncs at the server's now.
    lock = threading.Lock()
    sync_started = time.perf_counter()

    def sync_one(device: Device) -> None:
        with lock:
            timeline.set(max(timeline.now(), now()))
        for _attempt in range(5):
            report = device.sync()
            if not report.outbox["records"] - report.outbox["problems"]:
                break
        with lock:
            _tally(summary, device, report)

    with ThreadPoolExecutor(max_workers=max(1, config.concurrency)) as pool:
        list(pool.map(sync_one, devices))
    summary.sync_seconds = time.perf_counter() - sync_started
    for device in devices:
        device.close()
    return summary


def _tally(summary: Summary, device: Device, report) -> None:
    stats = device.transport.stats
    summary.push_bytes += stats.by_path.get("sync/push", 0)
    summary.wire_bytes += stats.total
    summary.network_errors += stats.network_errors
    adapter = device.transport.adapter
    if isinstance(adapter, FaultInjectingAdapter):
        summary.faults_injected += len(adapter.injected)
    counts = device.outbox()
    summary.outbox_left += counts["records"]
    summary.add(device.stats)
    seq = json.loads(device.store.get_meta("server_device_seq", "{}") or "{}")
    summary.seq_gaps += len(seq.get("gaps") or [])


def _cover(devices: int, posts: list[int]) -> list[list[int]]:
    """Which posts each device checks: posts dealt out round-robin; with fewer posts than
    devices, devices share posts (several workers on one post)."""
    if devices <= len(posts):
        return [posts[i::devices] for i in range(devices)]
    return [[posts[i % len(posts)]] for i in range(devices)]


__all__ = [
    "RandomFaults",
    "SimulationConfig",
    "Summary",
    "create_workers",
    "make_jpeg",
    "push_bodies",
    "push_bodies_for",
    "sample_answers",
    "simulate",
    "synthetic_records",
]
