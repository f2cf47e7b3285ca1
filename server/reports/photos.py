"""Photos of family reports: the photo pipeline, keeping nothing of the phone's file.

Each file goes through :func:`server.photos.images.process` — real type sniffed, polyglots and
truncation refused, bytes and pixels capped, every pixel decoded, orientation applied — exactly
as a device's photo does. Unlike a device's photo, the original is then dropped: only the two
copies re-encoded from pixels are stored (display ≤ ``PHOTO_DISPLAY_PX``, thumbnail), so the
stored bytes carry no EXIF, GPS, XMP, maker notes or ICC profile naming the device. The GPS
position and capture time the pipeline reads are thrown away with the original.

A photo is named by the SHA-256 of its stored display copy; that is the digest the hazard names
when the report is confirmed (:func:`as_evidence` makes it one of the enterprise's photos).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from flask import current_app

from server import clock
from server.accounts.auth import Principal
from server.errors import ZichaError
from server.extensions import db
from server.photos import images
from server.photos import services as photo_services
from server.photos.models import Photo
from server.photos.storage import get_storage
from server.reports.models import FamilyReport, FamilyReportPhoto


@dataclass(frozen=True)
class CleanPhoto:
    """A report photo as it will be stored: re-encoded copies only."""

    sha256: str
    width: int
    height: int
    display: bytes
    thumb: bytes


def clean(files: Iterable[Any]) -> list[CleanPhoto]:
    """Run each of ``files`` (werkzeug ``FileStorage`` objects or binary streams) through the
    photo pipeline; the re-encoded copies, in order. Empty files — an unused file input of a
    form — are skipped. More than ``REPORT_MAX_PHOTOS`` photos is ``validation_failed``; a file
    over ``PHOTO_MAX_BYTES`` is ``image_too_large``; one that is not a JPEG, PNG, WebP or HEIC
    photo ``unsupported_media_type``; a broken one ``image_invalid``. Nothing is stored here, so
    a refusal leaves no trace."""
    config = current_app.config
    cleaned: list[CleanPhoto] = []
    for file in files:
        stream: IO[bytes] = getattr(file, "stream", file)
        with photo_services.received_body(stream, None) as path:
            if path.stat().st_size == 0:
                continue
            if len(cleaned) >= config["REPORT_MAX_PHOTOS"]:
                raise ZichaError("validation_failed", {"photos": [f"at most {config['REPORT_MAX_PHOTOS']} photos"]})
            processed = images.process(path, photo_services.limits(config))
        cleaned.append(CleanPhoto(hashlib.sha256(processed.display).hexdigest(), processed.width, processed.height, processed.display, processed.thumb))
    return cleaned


def storage_keys(enterprise_id: int, sha256: str) -> tuple[str, str]:
    """Display and thumbnail keys of a report photo (apart from the devices' photos)."""
    base = f"reports/{enterprise_id}/{sha256[:2]}/{sha256}"
    return f"{base}/display.jpg", f"{base}/thumb.jpg"


def store(report: FamilyReport, photos: Sequence[CleanPhoto]) -> None:
    """Write the copies durably, then add their rows (a crash between leaves only a harmless
    orphan under a hash key). Only flushes."""
    storage = get_storage()
    for position, photo in enumerate(dict((p.sha256, p) for p in photos).values()):
        display_key, thumb_key = storage_keys(report.enterprise_id, photo.sha256)
        storage.put_bytes(display_key, photo.display)
        storage.put_bytes(thumb_key, photo.thumb)
        db.session.add(FamilyReportPhoto(
            report_id=report.id, enterprise_id=report.enterprise_id, position=position, sha256=photo.sha256,
            width=photo.width, height=photo.height, byte_size=len(photo.display), display_key=display_key, thumb_key=thumb_key,
        ))
    db.session.flush()


def served_copy(photo: FamilyReportPhoto, variant: str) -> bytes:
    """The bytes of a report photo's ``display`` copy or ``thumb``."""
    return get_storage().get_bytes(photo.display_key if variant == "display" else photo.thumb_key)


def as_evidence(principal: Principal, report: FamilyReport) -> list[str]:
    """The report's photos as photos of the enterprise (what a hazard's ``photos_before`` names);
    their digests. Brought in by ``principal`` (the confirming manager): no device, no capture
    time, no position — the reporter's phone left none. The rows point at the report's stored
    copies; the re-encoded display copy stands as the original."""
    digests = []
    for photo in report.photos:
        if photo_services.find_photo(report.enterprise_id, photo.sha256) is None:
            db.session.add(Photo(
                enterprise_id=report.enterprise_id, sha256=photo.sha256, content_type=images.SERVED_TYPE, byte_size=photo.byte_size,
                width=photo.width, height=photo.height, uploaded_by_id=principal.user_id, received_at=clock.now(),
                original_key=photo.display_key, display_key=photo.display_key, thumb_key=photo.thumb_key,
            ))
        digests.append(photo.sha256)
    db.session.flush()
    return digests
