"""The device's own database: the outbox, photos, reference data, cursor and time anchors.

One SQLite file per device, in WAL with ``synchronous=FULL`` and foreign keys on; every change
of state is one transaction (``BEGIN IMMEDIATE`` … ``COMMIT``), so a phone that dies at any
instant comes back with either the old state or the new one, never half of each.

The life of a record:

``draft``
    made offline, validated, numbered (``device_seq``), its photos stored with it. It may still
    be edited (:meth:`LocalStore.update_record`) or discarded.
``sealed``
    its first send has started (:meth:`LocalStore.seal`). From then on its content — and so its
    content hash — never changes: a retry must be byte-for-byte the same record, or the server
    would see the same id with other content. A trigger refuses any change to a sealed body.
``acknowledged``
    the server answered for it (:meth:`LocalStore.apply_results`); it is never sent again.
    ``accepted`` / ``duplicate`` / ``awaiting_photos`` mean the server stored it; ``rejected``
    and ``conflict`` are kept for the user to see until dismissed.
``gone``
    deleted by :meth:`LocalStore.collect` only once the server has stored it *and* confirmed
    every one of its photos (a result with status ``complete``, a ``HEAD`` answering 200, or an
    upload answering 2xx).

Reference data (sites, posts, checklists, versions, schedules) is what pull brings; it can be
wiped and rebuilt (``reset_required``) without touching the outbox. The pull cursor is written
in the same transaction as the page it follows.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sync.protocol import MAX_ANCHORS, RecordType, Result
from sync.records import CheckRecordSchema, content_hash
from sync.timing import Anchor

SCHEMA_VERSION = 1

# Results after which the server holds the record.
STORED = (Result.ACCEPTED, Result.AWAITING_PHOTOS, Result.DUPLICATE)
# Results the user must look at: the server did not take the record.
PROBLEMS = (Result.REJECTED, Result.CONFLICT)
COMPLETE = "complete"

# Anchors kept per boot, and boots kept when no record needs them any more.
ANCHORS_PER_BOOT = 4
RECENT_BOOTS = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    id            TEXT PRIMARY KEY,
    device_seq    INTEGER NOT NULL UNIQUE,
    type          TEXT NOT NULL,
    body          TEXT NOT NULL,      -- the record exactly as it travels (JSON)
    content_hash  TEXT NOT NULL,
    schedule_id   INTEGER,
    period_key    TEXT,               -- the device's own idea of the period, for its due list
    boot_id       TEXT,
    uptime_ms     INTEGER,
    made_wall     TEXT NOT NULL,
    sealed        INTEGER NOT NULL DEFAULT 0,
    sends         INTEGER NOT NULL DEFAULT 0,
    result        TEXT,               -- NULL until the server answered for it
    status        TEXT,               -- complete / awaiting_photos, for a stored record
    answer        TEXT                -- the server's whole result for it (JSON)
);
CREATE INDEX IF NOT EXISTS records_unacknowledged ON records (device_seq) WHERE result IS NULL;
CREATE TABLE IF NOT EXISTS photos (
    sha256        TEXT PRIMARY KEY,
    size          INTEGER NOT NULL,
    content_type  TEXT NOT NULL,
    data          BLOB NOT NULL,
    confirmed     INTEGER NOT NULL DEFAULT 0,   -- the server said it has these bytes
    upload_url    TEXT,                         -- an unfinished resumable upload
    error         TEXT                          -- the server refused these bytes (JSON)
);
CREATE TABLE IF NOT EXISTS record_photos (
    record_id  TEXT NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    sha256     TEXT NOT NULL REFERENCES photos (sha256),
    PRIMARY KEY (record_id, sha256)
);
CREATE INDEX IF NOT EXISTS record_photos_sha256 ON record_photos (sha256);
CREATE TABLE IF NOT EXISTS anchors (
    boot_id      TEXT NOT NULL,
    uptime_ms    INTEGER NOT NULL,
    server_time  TEXT NOT NULL,
    PRIMARY KEY (boot_id, uptime_ms)
);
CREATE TABLE IF NOT EXISTS reference (
    type       TEXT NOT NULL,
    id         TEXT NOT NULL,
    parent_id  TEXT,                  -- post of a schedule, checklist of a version, site of a post
    lookup     TEXT,                  -- a post's QR token
    data       TEXT NOT NULL,
    PRIMARY KEY (type, id)
);
-- Periods in which the device made a check, per schedule: its due list offline remembers
-- them after the records themselves are gone.
CREATE TABLE IF NOT EXISTS done_periods (
    schedule_id  INTEGER NOT NULL,
    period_key   TEXT NOT NULL,
    PRIMARY KEY (schedule_id, period_key)
);
CREATE INDEX IF NOT EXISTS reference_lookup ON reference (type, lookup);
CREATE INDEX IF NOT EXISTS reference_parent ON reference (type, parent_id);
-- A sealed record never changes and is never unsealed, whatever code runs against this file.
CREATE TRIGGER IF NOT EXISTS records_sealed_body BEFORE UPDATE OF body, content_hash, device_seq, id ON records
WHEN OLD.sealed = 1
BEGIN SELECT RAISE(ABORT, 'record is sealed'); END;
CREATE TRIGGER IF NOT EXISTS records_stay_sealed BEFORE UPDATE OF sealed ON records
WHEN OLD.sealed = 1 AND NEW.sealed = 0
BEGIN SELECT RAISE(ABORT, 'record is sealed'); END;
"""


class OutboxError(Exception):
    """A local rule of the outbox was broken."""


class SealedRecordError(OutboxError):
    """The record's first send has started: its content can no longer change."""


class UnknownRecordError(OutboxError):
    pass


class MissingPhotoError(OutboxError):
    """A record names a photo the device does not hold."""


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def sniff_content_type(data: bytes) -> str:
    """The image type by its magic bytes (what the server will sniff too)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis"):
        return "image/heic"
    return "application/octet-stream"


@dataclass(frozen=True)
class OutboxRecord:
    """A record as the outbox holds it."""

    id: str
    device_seq: int
    type: str
    body: dict
    content_hash: str
    sealed: bool
    sends: int
    result: str | None
    status: str | None
    answer: dict | None
    photos: tuple[str, ...]
    period_key: str | None


@dataclass(frozen=True)
class PendingPhoto:
    sha256: str
    size: int
    content_type: str
    upload_url: str | None


class LocalStore:
    """The device's SQLite database. One instance per device, used from one thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are opened explicitly, BEGIN IMMEDIATE, one per change.
        # One device is used by one thread at a time, not always the one that opened it.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        with self.transaction() as db:
            for statement in _split_sql(_SCHEMA):
                db.execute(statement)
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('device_seq', '0')")
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('install_id', ?)", (uuid.uuid4().hex,))

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------------ transactions, meta

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic change: committed when the block ends, rolled back if it raises."""
        if self._db.in_transaction:
            raise OutboxError("transactions do not nest")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str | None, db: sqlite3.Connection | None = None) -> None:
        """Set (or with None, remove) a meta value; inside ``db``'s transaction when given."""

        def write(conn: sqlite3.Connection) -> None:
            if value is None:
                conn.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

        if db is not None:
            write(db)
        else:
            with self.transaction() as conn:
                write(conn)

    @property
    def install_id(self) -> str:
        value = self.get_meta("install_id")
        assert value is not None
        return value

    @property
    def last_device_seq(self) -> int:
        return int(self.get_meta("device_seq", "0") or 0)

    # ------------------------------------------------------------------ photos

    def add_photo(self, data: bytes, db: sqlite3.Connection | None = None) -> str:
        """Keep a photo's bytes under their SHA-256 (the photo's name everywhere)."""
        if not data:
            raise OutboxError("empty photo")
        sha = hashlib.sha256(data).hexdigest()
        statement = "INSERT OR IGNORE INTO photos (sha256, size, content_type, data) VALUES (?, ?, ?, ?)"
        params = (sha, len(data), sniff_content_type(data), sqlite3.Binary(data))
        if db is not None:
            db.execute(statement, params)
        else:
            with self.transaction() as conn:
                conn.execute(statement, params)
        return sha

    def photo_bytes(self, sha256: str) -> bytes:
        row = self._db.execute("SELECT data FROM photos WHERE sha256 = ?", (sha256,)).fetchone()
        if row is None:
            raise MissingPhotoError(sha256)
        return bytes(row[0])

    def has_photo(self, sha256: str) -> bool:
        return self._db.execute("SELECT 1 FROM photos WHERE sha256 = ?", (sha256,)).fetchone() is not None

    def pending_photos(self) -> list[PendingPhoto]:
        """Photos the server has not confirmed that a stored or still-unsent record needs.

        Photos of records waiting on the server come first (it already holds those records),
        then photos of records not yet acknowledged; refused photos are left out.
        """
        rows = self._db.execute(
            """
            SELECT p.sha256, p.size, p.content_type, p.upload_url,
                   MIN(CASE WHEN r.result IS NULL THEN 1 ELSE 0 END) AS unsent_only
            FROM photos p
            JOIN record_photos rp ON rp.sha256 = p.sha256
            JOIN records r ON r.id = rp.record_id
            WHERE p.confirmed = 0 AND p.error IS NULL
              AND (r.result IS NULL OR r.result IN (?, ?, ?))
            GROUP BY p.sha256
            ORDER BY unsent_only, MIN(r.device_seq)
            """,
            STORED,
        ).fetchall()
        return [PendingPhoto(r["sha256"], r["size"], r["content_type"], r["upload_url"]) for r in rows]

    def confirm_photo(self, sha256: str) -> None:
        """The server has these bytes: no need to send them again."""
        with self.transaction() as db:
            db.execute("UPDATE photos SET confirmed = 1, upload_url = NULL WHERE sha256 = ?", (sha256,))

    def refuse_photo(self, sha256: str, error: dict) -> None:
        """The server refused these bytes for good; the user must see it (not retried)."""
        with self.transaction() as db:
            db.execute("UPDATE photos SET error = ?, upload_url = NULL WHERE sha256 = ?", (_json(error), sha256))

    def set_upload_url(self, sha256: str, url: str | None) -> None:
        with self.transaction() as db:
            db.execute("UPDATE photos SET upload_url = ? WHERE sha256 = ?", (url, sha256))

    def refused_photos(self) -> dict[str, dict]:
        rows = self._db.execute("SELECT sha256, error FROM photos WHERE error IS NOT NULL").fetchall()
        return {r["sha256"]: json.loads(r["error"]) for r in rows}

    # ------------------------------------------------------------------ records

    def add_record(
        self,
        record: dict,
        *,
        photos: dict[str, bytes] | None = None,
        period_key: str | None = None,
        made_wall: datetime,
    ) -> OutboxRecord:
        """Queue a new record, numbering it with the next ``device_seq``, in one transaction.

        ``record`` is the sync record without ``device_seq`` (added here). Every photo it names
        must be in ``photos`` (stored here with it) or already held by the device.
        """
        record = dict(record)
        if "device_seq" in record:
            raise OutboxError("device_seq is given by the outbox")
        names = _photo_names(record)
        with self.transaction() as db:
            for data in (photos or {}).values():
                self.add_photo(data, db)
            for sha in names:
                if db.execute("SELECT 1 FROM photos WHERE sha256 = ?", (sha,)).fetchone() is None:
                    raise MissingPhotoError(sha)
            seq = int(db.execute("SELECT value FROM meta WHERE key = 'device_seq'").fetchone()[0]) + 1
            db.execute("UPDATE meta SET value = ? WHERE key = 'device_seq'", (str(seq),))
            record["device_seq"] = seq
            body = _ordered(record)
            db.execute(
                """INSERT INTO records (id, device_seq, type, body, content_hash, schedule_id, period_key,
                                        boot_id, uptime_ms, made_wall)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    str(record["id"]), seq, record["type"], _json(body), record_hash(body), record.get("schedule_id"),
                    period_key, record.get("boot_id"), record.get("uptime_ms"), made_wall.isoformat(),
                ),
            )
            db.executemany("INSERT INTO record_photos (record_id, sha256) VALUES (?, ?)", [(str(record["id"]), s) for s in names])
            if period_key is not None and record.get("schedule_id") is not None:
                _note_done(db, record["schedule_id"], period_key)
        return self.get(str(record["id"]))

    def update_record(self, record_id: str, changes: dict, *, photos: dict[str, bytes] | None = None) -> OutboxRecord:
        """Change a draft (answers, note …). A sealed record is refused: :class:`SealedRecordError`."""
        forbidden = {"id", "device_seq", "type"} & changes.keys()
        if forbidden:
            raise OutboxError(f"cannot change {sorted(forbidden)}")
        with self.transaction() as db:
            row = db.execute("SELECT body, sealed FROM records WHERE id = ?", (record_id,)).fetchone()
            if row is None:
                raise UnknownRecordError(record_id)
            if row["sealed"]:
                raise SealedRecordError(record_id)
            body = _ordered({**json.loads(row["body"]), **changes})
            for data in (photos or {}).values():
                self.add_photo(data, db)
            names = _photo_names(body)
            for sha in names:
                if db.execute("SELECT 1 FROM photos WHERE sha256 = ?", (sha,)).fetchone() is None:
                    raise MissingPhotoError(sha)
            db.execute(
                "UPDATE records SET body = ?, content_hash = ?, schedule_id = ? WHERE id = ?",
                (_json(body), record_hash(body), body.get("schedule_id"), record_id),
            )
            db.execute("DELETE FROM record_photos WHERE record_id = ?", (record_id,))
            db.executemany("INSERT INTO record_photos (record_id, sha256) VALUES (?, ?)", [(record_id, s) for s in names])
        return self.get(record_id)

    def discard_draft(self, record_id: str) -> None:
        """Throw away a record never sent. Its number stays used: the server will see a gap
        only if a later record is sent, which is the truth (a check was started and dropped)."""
        with self.transaction() as db:
            row = db.execute("SELECT sealed FROM records WHERE id = ?", (record_id,)).fetchone()
            if row is None:
                raise UnknownRecordError(record_id)
            if row["sealed"]:
                raise SealedRecordError(record_id)
            db.execute("DELETE FROM records WHERE id = ?", (record_id,))
            self._drop_orphan_photos(db)

    def get(self, record_id: str) -> OutboxRecord:
        row = self._db.execute("SELECT * FROM records WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            raise UnknownRecordError(record_id)
        return self._record(row)

    def records(self, *, unacknowledged: bool | None = None) -> list[OutboxRecord]:
        """Records held, oldest first; only those awaiting an answer (True) or answered (False)."""
        where = "" if unacknowledged is None else ("WHERE result IS NULL" if unacknowledged else "WHERE result IS NOT NULL")
        return [self._record(r) for r in self._db.execute(f"SELECT * FROM records {where} ORDER BY device_seq")]

    def next_batch(self, limit: int) -> list[OutboxRecord]:
        """The oldest records the server has not answered for yet."""
        rows = self._db.execute("SELECT * FROM records WHERE result IS NULL ORDER BY device_seq LIMIT ?", (limit,))
        return [self._record(r) for r in rows]

    def seal(self, record_ids: Sequence[str]) -> None:
        """The first send of these records starts now: their content is fixed from here on."""
        with self.transaction() as db:
            db.executemany("UPDATE records SET sealed = 1, sends = sends + 1 WHERE id = ?", [(i,) for i in record_ids])

    def apply_results(self, batch: Sequence[OutboxRecord], results: Iterable[dict]) -> dict[str, int]:
        """Take the server's answer for a batch: every result acknowledges its record.

        A result is matched to its record by ``index`` (and must agree on ``id`` when it names
        one); a record with no result stays queued and goes again, sealed, next time. Photos the
        server says it holds (everything but ``missing_photos`` of a stored record) are
        confirmed. Returns how many records got each result.
        """
        counts: dict[str, int] = {}
        with self.transaction() as db:
            for result in results:
                index = result.get("index")
                if not isinstance(index, int) or not 0 <= index < len(batch):
                    continue
                record = batch[index]
                if result.get("id") not in (None, record.id) or result.get("result") not in Result.ALL:
                    continue
                kind = result["result"]
                counts[kind] = counts.get(kind, 0) + 1
                db.execute(
                    "UPDATE records SET result = ?, status = ?, answer = ? WHERE id = ? AND result IS NULL",
                    (kind, result.get("status"), _json(result), record.id),
                )
                if kind in STORED and result.get("period_key") and record.body.get("schedule_id") is not None:
                    _note_done(db, record.body["schedule_id"], result["period_key"])
                if kind in STORED:
                    missing = set(result.get("missing_photos") or ())
                    if result.get("status") == COMPLETE:
                        missing = set()
                    elif result.get("status") is not None and "missing_photos" not in result and record.photos:
                        # Stored but not complete, and the server did not say which are missing:
                        # confirm none; a HEAD per photo will tell.
                        missing = set(record.photos)
                    held = [(sha,) for sha in record.photos if sha not in missing]
                    db.executemany("UPDATE photos SET confirmed = 1, upload_url = NULL WHERE sha256 = ?", held)
        return counts

    def collect(self) -> int:
        """Delete what the server has fully confirmed: stored records whose every photo is
        confirmed, and photos no record needs any more. Returns how many records went."""
        with self.transaction() as db:
            done = db.execute(
                f"""SELECT r.id FROM records r
                    WHERE r.result IN ({",".join("?" * len(STORED))})
                      AND NOT EXISTS (SELECT 1 FROM record_photos rp JOIN photos p ON p.sha256 = rp.sha256
                                      WHERE rp.record_id = r.id AND p.confirmed = 0)""",
                STORED,
            ).fetchall()
            db.executemany("DELETE FROM records WHERE id = ?", [(r[0],) for r in done])
            self._drop_orphan_photos(db)
        return len(done)

    def problems(self) -> list[OutboxRecord]:
        """Records the server rejected or found in conflict: kept for the user to see."""
        rows = self._db.execute(
            "SELECT * FROM records WHERE result IN (?, ?) ORDER BY device_seq", PROBLEMS
        ).fetchall()
        return [self._record(r) for r in rows]

    def dismiss(self, record_id: str) -> None:
        """The user has seen a rejected or conflicting record: forget it."""
        with self.transaction() as db:
            row = db.execute("SELECT result FROM records WHERE id = ?", (record_id,)).fetchone()
            if row is None:
                raise UnknownRecordError(record_id)
            if row["result"] not in PROBLEMS:
                raise OutboxError("only a rejected or conflicting record can be dismissed")
            db.execute("DELETE FROM records WHERE id = ?", (record_id,))
            self._drop_orphan_photos(db)

    def counts(self) -> dict[str, int]:
        """How many records are in each state, and photos held."""
        row = self._db.execute(
            f"""SELECT
                  SUM(result IS NULL AND sealed = 0) AS drafts,
                  SUM(result IS NULL AND sealed = 1) AS sealed,
                  SUM(result IN ({",".join("?" * len(STORED))})) AS stored,
                  SUM(result IN (?, ?)) AS problems,
                  COUNT(*) AS records
                FROM records""",
            (*STORED, *PROBLEMS),
        ).fetchone()
        out = {k: int(row[k] or 0) for k in row.keys()}
        out["photos"] = self._db.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
        out["photos_unconfirmed"] = self._db.execute("SELECT COUNT(*) FROM photos WHERE confirmed = 0").fetchone()[0]
        return out

    def periods_done(self, schedule_id: int) -> set[str]:
        """Period keys (as the device reckoned them) in which it holds a check for a schedule."""
        rows = self._db.execute("SELECT period_key FROM done_periods WHERE schedule_id = ?", (schedule_id,))
        return {r[0] for r in rows}

    def _drop_orphan_photos(self, db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM photos WHERE NOT EXISTS (SELECT 1 FROM record_photos rp WHERE rp.sha256 = photos.sha256)")

    def _record(self, row: sqlite3.Row) -> OutboxRecord:
        photos = tuple(
            r[0] for r in self._db.execute("SELECT sha256 FROM record_photos WHERE record_id = ? ORDER BY sha256", (row["id"],))
        )
        return OutboxRecord(
            id=row["id"],
            device_seq=row["device_seq"],
            type=row["type"],
            body=json.loads(row["body"]),
            content_hash=row["content_hash"],
            sealed=bool(row["sealed"]),
            sends=row["sends"],
            result=row["result"],
            status=row["status"],
            answer=json.loads(row["answer"]) if row["answer"] else None,
            photos=photos,
            period_key=row["period_key"],
        )

    # ------------------------------------------------------------------ time anchors

    def add_anchor(self, anchor: Anchor) -> None:
        """Remember when the device learned the server's time; keep a few per boot."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO anchors (boot_id, uptime_ms, server_time) VALUES (?, ?, ?)",
                (anchor.boot_id, anchor.uptime_ms, anchor.server_time.isoformat()),
            )
            # Per boot: the first anchor (closest to old records) and the latest few.
            db.execute(
                """DELETE FROM anchors WHERE boot_id = ?1
                     AND uptime_ms > (SELECT MIN(uptime_ms) FROM anchors WHERE boot_id = ?1)
                     AND uptime_ms NOT IN (SELECT uptime_ms FROM anchors WHERE boot_id = ?1 ORDER BY uptime_ms DESC LIMIT ?2)""",
                (anchor.boot_id, ANCHORS_PER_BOOT - 1),
            )
            # Boots no held record was made on, other than the most recent ones, are no use.
            db.execute(
                """DELETE FROM anchors WHERE boot_id NOT IN (SELECT boot_id FROM records WHERE boot_id IS NOT NULL)
                     AND boot_id NOT IN (SELECT boot_id FROM anchors GROUP BY boot_id ORDER BY MAX(server_time) DESC LIMIT ?)""",
                (RECENT_BOOTS,),
            )

    def anchors(self, boot_id: str | None = None) -> list[Anchor]:
        query = "SELECT boot_id, uptime_ms, server_time FROM anchors"
        params: tuple = ()
        if boot_id is not None:
            query += " WHERE boot_id = ?"
            params = (boot_id,)
        rows = self._db.execute(query + " ORDER BY server_time, uptime_ms", params)
        return [Anchor(r[0], r[1], datetime.fromisoformat(r[2])) for r in rows]

    def anchors_for(self, records: Sequence[OutboxRecord], current_boot: str | None = None) -> list[Anchor]:
        """The anchors a batch needs, at most ``MAX_ANCHORS``: for each boot its records were
        made on, the anchors nearest them; then the latest of the current boot."""
        chosen: list[Anchor] = []
        boots: dict[str, list[int]] = {}
        for record in records:
            boot, uptime = record.body.get("boot_id"), record.body.get("uptime_ms")
            if boot is not None and uptime is not None:
                boots.setdefault(boot, []).append(uptime)
        for boot, uptimes in boots.items():
            held = self.anchors(boot)
            if not held:
                continue
            for target in (min(uptimes), max(uptimes)):
                best = min(held, key=lambda a: abs(a.uptime_ms - target))
                if best not in chosen:
                    chosen.append(best)
        if current_boot is not None:
            latest = self.anchors(current_boot)[-1:]
            chosen.extend(a for a in latest if a not in chosen)
        return chosen[:MAX_ANCHORS]

    # ------------------------------------------------------------------ reference data, cursor

    def apply_page(self, changes: Iterable[dict], cursor: str | None, *, reset: bool = False, extra_meta: dict | None = None) -> int:
        """Apply one pull page and save its cursor, in one transaction.

        With ``reset`` the reference data is wiped first (never the outbox). If any change
        cannot be applied, nothing of the page is, and the old cursor stays.
        """
        applied = 0
        with self.transaction() as db:
            if reset:
                db.execute("DELETE FROM reference")
            for change in changes:
                kind, ident, op = change["type"], str(change["id"]), change.get("op", "upsert")
                if op == "delete":
                    db.execute("DELETE FROM reference WHERE type = ? AND id = ?", (kind, ident))
                elif op == "upsert":
                    data = change["data"]
                    if not isinstance(data, dict):
                        raise OutboxError(f"{kind} {ident}: data must be an object")
                    parent, lookup = _reference_keys(kind, data)
                    db.execute(
                        """INSERT INTO reference (type, id, parent_id, lookup, data) VALUES (?, ?, ?, ?, ?)
                           ON CONFLICT (type, id) DO UPDATE SET parent_id = excluded.parent_id,
                               lookup = excluded.lookup, data = excluded.data""",
                        (kind, ident, parent, lookup, _json(data)),
                    )
                else:
                    raise OutboxError(f"{kind} {ident}: unknown op {op!r}")
                applied += 1
            self.set_meta("cursor", cursor, db)
            for key, value in (extra_meta or {}).items():
                self.set_meta(key, value, db)
        return applied

    @property
    def cursor(self) -> str | None:
        return self.get_meta("cursor")

    def put_reference(self, kind: str, data: dict) -> None:
        """Store one object learned outside pull (an online scan), without moving the cursor."""
        parent, lookup = _reference_keys(kind, data)
        with self.transaction() as db:
            db.execute(
                """INSERT INTO reference (type, id, parent_id, lookup, data) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (type, id) DO UPDATE SET parent_id = excluded.parent_id,
                       lookup = excluded.lookup, data = excluded.data""",
                (kind, str(data["id"]), parent, lookup, _json(data)),
            )

    def reference(self, kind: str, ident: Any) -> dict | None:
        row = self._db.execute("SELECT data FROM reference WHERE type = ? AND id = ?", (kind, str(ident))).fetchone()
        return json.loads(row[0]) if row else None

    def reference_all(self, kind: str, parent_id: Any = None) -> list[dict]:
        if parent_id is None:
            rows = self._db.execute("SELECT data FROM reference WHERE type = ? ORDER BY CAST(id AS INTEGER), id", (kind,))
        else:
            rows = self._db.execute(
                "SELECT data FROM reference WHERE type = ? AND parent_id = ? ORDER BY CAST(id AS INTEGER), id", (kind, str(parent_id))
            )
        return [json.loads(r[0]) for r in rows]

    def post_by_token(self, qr_token: str) -> dict | None:
        row = self._db.execute("SELECT data FROM reference WHERE type = 'post' AND lookup = ?", (qr_token,)).fetchone()
        return json.loads(row[0]) if row else None


# ---------------------------------------------------------------------- helpers

_RECORD = CheckRecordSchema()
_FIELD_ORDER = ("type", "id", "device_seq", "schedule_id", "checklist_version_id", "performed_at", "boot_id", "uptime_ms", "answers", "note")


_NOT_CONTENT = frozenset({"type", "device_seq", "boot_id", "uptime_ms"})


def record_hash(body: dict) -> str:
    """The content hash of a sync record: for a check the server's (see
    :func:`sync.records.content_hash`); for a hazard its fields but identity and clocks, as
    canonical JSON (the server compares a resent hazard by its fields)."""
    if body.get("type") == RecordType.HAZARD:
        blob = json.dumps({k: v for k, v in body.items() if k not in _NOT_CONTENT}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()
    core = {k: body[k] for k in ("id", "schedule_id", "checklist_version_id", "performed_at", "answers", "note") if k in body}
    return content_hash(_RECORD.load(core))


def _ordered(record: dict) -> dict:
    return {k: record[k] for k in (*_FIELD_ORDER, *sorted(set(record) - set(_FIELD_ORDER))) if k in record}


def _photo_names(record: dict) -> list[str]:
    """The photos a record names: its answers' (a check) and its own (a hazard), in order."""
    shas = [sha for answer in record.get("answers", []) for sha in answer.get("photos", []) or []]
    return list(dict.fromkeys([*shas, *(record.get("photos") or [])]))


DONE_PERIODS_KEPT = 16


def _note_done(db: sqlite3.Connection, schedule_id: int, period_key: str) -> None:
    db.execute("INSERT OR IGNORE INTO done_periods (schedule_id, period_key) VALUES (?, ?)", (schedule_id, period_key))
    db.execute(
        """DELETE FROM done_periods WHERE schedule_id = ?1 AND rowid NOT IN
             (SELECT rowid FROM done_periods WHERE schedule_id = ?1 ORDER BY rowid DESC LIMIT ?2)""",
        (schedule_id, DONE_PERIODS_KEPT),
    )


def _reference_keys(kind: str, data: dict) -> tuple[str | None, str | None]:
    parent_field = {"schedule": "post_id", "checklist_version": "checklist_id", "post": "site_id"}.get(kind)
    parent = data.get(parent_field) if parent_field else None
    lookup = data.get("qr_token") if kind == "post" else None
    return (None if parent is None else str(parent)), lookup


def _split_sql(script: str) -> list[str]:
    """Statements of the schema script (triggers contain ';' inside BEGIN … END)."""
    statements, current = [], []
    for line in script.splitlines():
        if line.strip().startswith("--") or not line.strip():
            continue
        current.append(line)
        text = "\n".join(current)
        if sqlite3.complete_statement(text):
            statements.append(text)
            current = []
    return statements
