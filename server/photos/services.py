"""Photo rules: receive bytes safely, ingest a photo exactly once, and run tus uploads.

Two ways in, one way through: a ``PUT`` streams the body to a temp file (:func:`received_body`),
a tus upload appends chunks to a part file (:func:`append_chunk`); both end in :func:`ingest`,
which runs the image pipeline, stores the files, adds the row and completes the checks that were
waiting for this photo — in the caller's transaction. Services only flush; the views commit and
answer after the commit.
"""
from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from server import clock
from server.accounts.auth import Principal
from server.checks import slots
from server.errors import ZichaError
from server.extensions import db
from server.photos import images
from server.photos.models import Photo, Upload
from server.photos.storage import get_storage

READ_CHUNK = 256 * 1024
_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


def normalise_digest(value: str) -> str | None:
    """A SHA-256 as 64 lowercase hex digits, or None if ``value`` is not one."""
    return value.lower() if _DIGEST.fullmatch(value or "") else None


def find_photo(enterprise_id: int, sha256: str) -> Photo | None:
    return db.session.scalar(sa.select(Photo).where(Photo.enterprise_id == enterprise_id, Photo.sha256 == sha256))


def get_photo(enterprise_id: int, sha256: str) -> Photo:
    """This enterprise's photo, or ``not_found`` — also for another tenant's digest."""
    photo = find_photo(enterprise_id, normalise_digest(sha256) or "")
    if photo is None:
        raise ZichaError("not_found")
    return photo


def photos_of(enterprise_id: int, digests) -> dict[str, Photo]:
    """This enterprise's photos among ``digests``, by digest; those not (yet) received are absent."""
    wanted = {d for d in digests if d}
    if not wanted:
        return {}
    rows = db.session.scalars(sa.select(Photo).where(Photo.enterprise_id == enterprise_id, Photo.sha256.in_(wanted)))
    return {photo.sha256: photo for photo in rows}


def served_copy(photo: Photo, variant: str) -> bytes:
    """The bytes of the display copy or thumbnail (``variant``: ``display`` or ``thumb``)."""
    key = photo.display_key if variant == "display" else photo.thumb_key
    return get_storage().get_bytes(key)


# --- receiving bytes -------------------------------------------------------------------------

class Interrupted(Exception):
    """The client went away mid-body; ``received`` bytes were written before it did."""

    def __init__(self, received: int):
        super().__init__(received)
        self.received = received


def copy_stream(source: IO[bytes], out: IO[bytes], limit: int, hashers=(), too_long: str = "image_too_large") -> int:
    """Copy ``source`` to ``out`` in bounded chunks, feeding ``hashers``; return the byte count.

    Memory stays at one chunk whatever the body's size. More than ``limit`` bytes raises
    ``too_long`` (a catalogue code) as soon as the limit is passed, not after reading it all.
    A dropped connection raises :class:`Interrupted` with what had been written.
    """
    count = 0
    while True:
        try:
            chunk = source.read(READ_CHUNK)
        except ClientDisconnected:
            raise Interrupted(count) from None
        except RequestEntityTooLarge:  # werkzeug's own cap on a body without Content-Length
            raise ZichaError(too_long, {"max_bytes": limit}) from None
        if not chunk:
            return count
        count += len(chunk)
        if count > limit:
            raise ZichaError(too_long, {"max_bytes": limit})
        out.write(chunk)
        for hasher in hashers:
            hasher.update(chunk)


def temp_dir(*parts: str) -> Path:
    path = Path(current_app.config["PHOTO_TEMP_DIR"], *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def received_body(stream: IO[bytes], sha256: str | None) -> Iterator[Path]:
    """Stream a request body to a temp file, hashing as it goes; yield the file's path.

    Refuses a body larger than ``PHOTO_MAX_BYTES`` (``image_too_large``, without reading the
    rest) and one whose SHA-256 is not ``sha256`` (``hash_mismatch``; ``None``: no digest was
    announced, as for a photo of the public report form). The temp file is removed when the block
    ends, whatever happens.
    """
    limit = current_app.config["PHOTO_MAX_BYTES"]
    fd, name = tempfile.mkstemp(dir=temp_dir("incoming"), suffix=".part")
    path = Path(name)
    try:
        hasher = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            try:
                copy_stream(stream, out, limit, (hasher,))
            except Interrupted:
                raise ZichaError("bad_request", {"body": ["the connection closed before the whole body arrived"]}) from None
        if sha256 is not None and hasher.hexdigest() != sha256:
            raise ZichaError("hash_mismatch", {"expected": sha256, "received": hasher.hexdigest()})
        yield path
    finally:
        path.unlink(missing_ok=True)


# --- ingest: the one way a photo is stored ---------------------------------------------------

@dataclass
class Ingested:
    photo: Photo
    created: bool


def limits(config) -> images.Limits:
    return images.Limits(config["PHOTO_MAX_PIXELS"], config["PHOTO_DISPLAY_PX"], config["PHOTO_THUMB_PX"])


def storage_keys(enterprise_id: int, sha256: str) -> tuple[str, str, str]:
    """Original, display and thumbnail keys: per enterprise, by digest (never by a client's name)."""
    base = f"{enterprise_id}/{sha256[:2]}/{sha256}"
    return f"{base}/original", f"{base}/display.jpg", f"{base}/thumb.jpg"


def ingest(principal: Principal, sha256: str, path: Path) -> Ingested:
    """Store the verified bytes at ``path`` as this enterprise's photo ``sha256``, exactly once.

    The caller has already checked that the bytes hash to ``sha256``. A photo already present
    is returned as it is (``created`` false). Otherwise the image pipeline runs first — a
    refusal raises before anything is written anywhere — then the files are stored durably,
    then the row is added and flushed, then every check waiting only for this photo becomes
    ``complete`` (:func:`server.checks.slots.photo_arrived`), all in the caller's transaction.
    Two requests racing with the same photo both succeed: the loser of the unique constraint
    answers with the winner's row.
    """
    enterprise_id = principal.enterprise_id
    existing = find_photo(enterprise_id, sha256)
    if existing is not None:
        return Ingested(existing, False)
    processed = images.process(path, limits(current_app.config))
    original_key, display_key, thumb_key = storage_keys(enterprise_id, sha256)
    storage = get_storage()
    storage.put_file(original_key, path)
    storage.put_bytes(display_key, processed.display)
    storage.put_bytes(thumb_key, processed.thumb)
    photo = Photo(
        enterprise_id=enterprise_id,
        sha256=sha256,
        content_type=processed.content_type,
        byte_size=path.stat().st_size,
        width=processed.width,
        height=processed.height,
        captured_at=processed.captured_at,
        captured_local=processed.captured_local,
        gps_lat=processed.gps_lat,
        gps_lon=processed.gps_lon,
        uploaded_by_id=principal.user_id,
        device_id=principal.device_id,
        received_at=clock.now(),
        original_key=original_key,
        display_key=display_key,
        thumb_key=thumb_key,
    )
    try:
        with db.session.begin_nested():
            db.session.add(photo)
    except IntegrityError:
        winner = find_photo(enterprise_id, sha256)
        if winner is None:
            raise
        return Ingested(winner, False)
    slots.photo_arrived(enterprise_id, sha256)
    return Ingested(photo, True)


# --- tus 1.0 uploads -------------------------------------------------------------------------

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,checksum,expiration,termination"
CHECKSUMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs (value optional)."""
    metadata: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in (header or "").split(","))):
        key, _, encoded = pair.partition(" ")
        try:
            metadata[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ZichaError("bad_request", {"Upload-Metadata": [f"{key}: not base64 UTF-8"]}) from None
    return metadata


def parse_checksum(header: str | None) -> tuple[str, bytes] | None:
    """``Upload-Checksum: <algorithm> <base64 digest>`` → (algorithm, digest), or None if absent."""
    if not header:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm not in CHECKSUMS:
        raise ZichaError("bad_request", {"Upload-Checksum": [f"supported algorithms: {', '.join(CHECKSUMS)}"]})
    try:
        return algorithm, base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise ZichaError("bad_request", {"Upload-Checksum": ["the digest is not base64"]}) from None


def part_path(upload_id: str) -> Path:
    return temp_dir("tus") / f"{upload_id}.part"


def create_upload(principal: Principal, length: int, metadata: dict[str, str]) -> Upload:
    """Open a tus upload for one photo of ``length`` bytes whose SHA-256 is ``metadata['sha256']``.

    The digest is required up front: it is what the bytes are checked against at the end and
    what names the photo. A user may hold at most ``PHOTO_MAX_OPEN_UPLOADS`` unfinished uploads
    (each reserves disk) — finishing or abandoning one frees its place.
    """
    config = current_app.config
    if length > config["PHOTO_MAX_BYTES"]:
        raise ZichaError("image_too_large", {"max_bytes": config["PHOTO_MAX_BYTES"]})
    sha256 = normalise_digest(metadata.get("sha256", ""))
    if sha256 is None:
        raise ZichaError("bad_request", {"Upload-Metadata": ["sha256 (64 hex digits, base64-encoded) is required"]})
    now = clock.now()
    open_uploads = db.session.scalar(
        sa.select(sa.func.count()).select_from(Upload).where(
            Upload.user_id == principal.user_id, Upload.completed_at.is_(None), Upload.expires_at > now
        )
    )
    if open_uploads >= config["PHOTO_MAX_OPEN_UPLOADS"]:
        raise ZichaError("rate_limited", {"open_uploads": open_uploads})
    upload = Upload(
        id=secrets.token_hex(16),
        enterprise_id=principal.enterprise_id,
        user_id=principal.user_id,
        device_id=principal.device_id,
        sha256=sha256,
        upload_length=length,
        upload_offset=0,
        meta={k: v for k, v in metadata.items() if k in ("sha256", "filename", "filetype")},
        created_at=now,
        expires_at=now + timedelta(hours=config["PHOTO_UPLOAD_TTL_HOURS"]),
    )
    part_path(upload.id).touch(exist_ok=False)
    db.session.add(upload)
    db.session.flush()
    return upload


def get_upload(principal: Principal, upload_id: str) -> Upload:
    """The caller's own upload; another user's or tenant's id is ``not_found``; a lapsed one
    ``upload_expired`` (410) until :func:`purge_expired_uploads` removes it."""
    upload = db.session.get(Upload, upload_id) if re.fullmatch(r"[0-9a-f]{32}", upload_id) else None
    if upload is None or upload.enterprise_id != principal.enterprise_id or upload.user_id != principal.user_id:
        raise ZichaError("not_found")
    if upload.expires_at <= clock.now():
        raise ZichaError("upload_expired", {"expired_at": upload.expires_at.isoformat()})
    return upload


@contextlib.contextmanager
def locked_upload(principal: Principal, upload_id: str) -> Iterator[tuple[Upload, IO[bytes] | None]]:
    """The caller's upload and its part file, held under an exclusive lock until the block ends.

    Two PATCHes of one upload (a client retrying while its first request still runs, two
    gunicorn workers) are serialised here; the row is re-read inside the lock so the second sees
    the first's offset. The caller commits inside the block. A finished upload has no part file
    (``None``); an unfinished one whose file is gone cannot go on and is ``upload_expired``.
    """
    upload = get_upload(principal, upload_id)
    if upload.completed_at is not None:
        yield upload, None
        return
    try:
        part = open(part_path(upload.id), "r+b")
    except FileNotFoundError:
        raise ZichaError("upload_expired", {"reason": "the uploaded bytes are gone"}) from None
    with part:
        fcntl.flock(part.fileno(), fcntl.LOCK_EX)
        try:
            db.session.refresh(upload)
            yield upload, part
        finally:
            fcntl.flock(part.fileno(), fcntl.LOCK_UN)


@dataclass
class Appended:
    upload: Upload
    ingested: Ingested | None = None
    # Set when the upload finished but its photo was refused: the upload is gone (the caller
    # commits that) and this is the answer.
    refused: ZichaError | None = None


def append_chunk(principal: Principal, upload: Upload, part: IO[bytes] | None, offset: int, stream: IO[bytes], checksum: tuple[str, bytes] | None) -> Appended:
    """Apply one PATCH: bytes at ``offset``, verified by ``checksum`` when given.

    * ``offset`` must be the server's (``upload_offset_mismatch``, 409).
    * With a checksum the chunk is kept only if it matches (``checksum_mismatch``, 460, and the
      offset stays). Without one, a connection that drops mid-chunk keeps what arrived — the
      resume starts from there, and the whole-file SHA-256 still guards the result.
    * Bytes past the declared length are refused (``upload_length_exceeded``).
    * When the last byte arrives the whole file's SHA-256 must be the declared one; the photo is
      then ingested like a ``PUT``. A refused photo (wrong hash, not an image …) ends the upload:
      its bytes and row go, nothing is stored, and :attr:`Appended.refused` says why.
    Each accepted chunk is fsynced before the new offset is flushed, and the expiry moves on.
    """
    if offset != upload.upload_offset:
        raise ZichaError("upload_offset_mismatch", {"offset": upload.upload_offset})
    if part is None:  # finished already; an empty PATCH at the end is a harmless retry
        return Appended(upload)
    part.truncate(offset)  # drop bytes a crashed or refused earlier PATCH left unacknowledged
    part.seek(offset)
    chunk_hasher = CHECKSUMS[checksum[0]]() if checksum else None
    try:
        received = copy_stream(stream, part, upload.upload_length - offset, [chunk_hasher] if chunk_hasher else [], "upload_length_exceeded")
    except Interrupted as gone:
        if checksum:
            part.truncate(offset)
            raise ZichaError("bad_request", {"body": ["the connection closed mid-chunk"]}) from None
        received = gone.received
    except ZichaError:
        part.truncate(offset)
        raise
    if chunk_hasher is not None and chunk_hasher.digest() != checksum[1]:
        part.truncate(offset)
        raise ZichaError("checksum_mismatch", {"algorithm": checksum[0]})
    part.flush()
    os.fsync(part.fileno())
    now = clock.now()
    upload.upload_offset = offset + received
    upload.expires_at = now + timedelta(hours=current_app.config["PHOTO_UPLOAD_TTL_HOURS"])
    result = Appended(upload)
    if upload.upload_offset == upload.upload_length:
        try:
            result.ingested = _finish(principal, upload)
        except ZichaError as refused:
            _discard(upload)
            result.refused = refused
    db.session.flush()
    return result


def _finish(principal: Principal, upload: Upload) -> Ingested:
    path = part_path(upload.id)
    digest = hashlib.sha256()
    with path.open("rb") as whole:
        for block in iter(lambda: whole.read(READ_CHUNK), b""):
            digest.update(block)
    if digest.hexdigest() != upload.sha256:
        raise ZichaError("hash_mismatch", {"expected": upload.sha256, "received": digest.hexdigest()})
    ingested = ingest(principal, upload.sha256, path)
    upload.completed_at = clock.now()
    path.unlink(missing_ok=True)
    return ingested


def _discard(upload: Upload) -> None:
    part_path(upload.id).unlink(missing_ok=True)
    db.session.delete(upload)


def terminate_upload(upload: Upload) -> None:
    """tus termination: the client gives up; the bytes and the row go."""
    _discard(upload)
    db.session.flush()


def purge_expired_uploads(now: datetime | None = None) -> int:
    """Remove every upload past its expiry (finished or not) and its bytes; return how many.

    Also removes temp files nobody owns any more — tus part files without a row, bodies of
    ``PUT``s whose process was killed — once they are an hour old (younger ones may belong to a
    request still running). Run it from cron or systemd (``zicha photos purge-uploads``).
    """
    now = now or clock.now()
    expired = list(db.session.scalars(sa.select(Upload).where(Upload.expires_at <= now)))
    for upload in expired:
        _discard(upload)
    db.session.flush()
    known = set(db.session.scalars(sa.select(Upload.id)))
    settled = (now - timedelta(hours=1)).timestamp()
    for leftover in [*temp_dir("tus").glob("*.part"), *temp_dir("incoming").glob("*.part")]:
        if leftover.stem not in known and leftover.stat().st_mtime < settled:
            leftover.unlink(missing_ok=True)
    return len(expired)
