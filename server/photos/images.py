"""The image pipeline: what a received file really is, whether it is safe, and the copies we serve.

Pure functions over a file on disk — no database, no app — so every rule here is unit-tested
with files the tests make. :func:`process` is the one entry point the ingest service calls.

The rules, in the order they run (each refusal is a :class:`ZichaError` with a stable code and
nothing is kept by the caller):

1. **Sniff the real type** from the leading bytes, whatever the client claims: JPEG, PNG, WebP
   and HEIC/HEIF are allowed; GIF, SVG, EPS, PDF, text and everything else are refused
   (``unsupported_media_type``, 415). An upload named ``.jpg`` that is text is text.
2. **Polyglots.** A file is accepted only if it is *one* image from its first byte to its last:
   it must begin with the image's own signature (so a ZIP, PDF or HTML page that merely contains
   a picture is refused by rule 1), and the image's container must end exactly where the file
   ends — walking JPEG markers to EOI, PNG chunks to IEND, the RIFF size of WebP, the ISO-BMFF
   boxes of HEIF. Bytes after the end are what makes a JPEG also a ZIP/JAR/PHAR (read from the
   end) or an HTML page, so they are refused (``image_invalid``). Two tolerated tails: zero
   padding (some camera HALs pad their buffers) and the extra JPEG images a Multi-Picture
   (MPF/MPO) file declares (depth maps, previews); a "motion photo" with a video appended is
   refused — the device should send the still. Payloads hidden *inside* an image's own segments
   (a JPEG comment, an mdat box) cannot be excluded by structure; they are harmless here because
   the original is never served: what is served is re-encoded from pixels.
3. **Limits.** Bytes are capped while streaming (by the caller). Pixels are capped from the
   header before any decoding (``image_too_many_pixels``); Pillow's own
   ``DecompressionBombWarning`` is turned into an error process-wide and refused the same way.
4. **Decode everything** (``load()``): a truncated or corrupt file fails here
   (``image_invalid``), never later while being served. Any exception a decoder raises is a 4xx.
5. **Orientation** from EXIF is applied; width/height are reported as a person sees the photo.
6. **Copies**: a display JPEG (long side ≤ ``display_px``) and a thumbnail (≤ ``thumb_px``),
   both built from pixels only, so no metadata (EXIF, GPS, XMP, comments, ICC) survives; colours
   are converted to sRGB first when the photo carries a profile (iPhones shoot Display P3).
   For JPEG, ``Image.draft`` lets libjpeg decode at 1/2, 1/4 or 1/8 scale (DCT scaling): a 12 MP
   photo is never expanded to full size just to be shrunk (``bench/bench_photos.py``). The whole
   entropy-coded stream is still decoded, so truncation and corruption are still caught.
7. **Evidence**: capture time (EXIF DateTimeOriginal, with OffsetTimeOriginal when present) and
   GPS position are read and returned; unreadable values are dropped, never an error.
"""
from __future__ import annotations

import codecs
import io
import math
import mmap
import re
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pillow_heif
from PIL import ExifTags, Image, ImageCms, ImageOps

from server.errors import ZichaError

pillow_heif.register_heif_opener()
# A bomb warning is a refusal, not a log line (Pillow's documented way to make it one).
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)

# kind → (Pillow formats allowed to open it, content type of the original)
KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "jpeg": (("JPEG", "MPO"), "image/jpeg"),
    "png": (("PNG",), "image/png"),
    "webp": (("WEBP",), "image/webp"),
    "heif": (("HEIF",), "image/heic"),
}
# ISO-BMFF major brands of HEIF stills (iPhone: heic; some Android: mif1/heix). AVIF is not here.
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
HEIF_TOP_BOXES = {b"ftyp", b"meta", b"mdat", b"moov", b"free", b"skip", b"wide"}
SNIFF_BYTES = 32

SERVED_TYPE = "image/jpeg"
DISPLAY_QUALITY = 82
THUMB_QUALITY = 75


@dataclass(frozen=True)
class Limits:
    max_pixels: int = 50_000_000
    display_px: int = 1600
    thumb_px: int = 320


@dataclass(frozen=True)
class ProcessedPhoto:
    kind: str
    content_type: str
    width: int
    height: int
    captured_at: datetime | None
    captured_local: str | None
    gps_lat: float | None
    gps_lon: float | None
    display: bytes
    thumb: bytes


class _Malformed(Exception):
    """The container's structure is broken or truncated (internal; becomes ``image_invalid``)."""


def _invalid(reason: str) -> ZichaError:
    return ZichaError("image_invalid", {"reason": reason})


# --- 1. sniffing -----------------------------------------------------------------------------

def sniff(head: bytes) -> str:
    """The kind of image ``head`` (the file's first bytes) starts, or ``unsupported_media_type``."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "heif"
    raise ZichaError("unsupported_media_type", {"detected": describe(head), "allowed": sorted(KINDS)})


def describe(head: bytes) -> str:
    """A name for what a refused file looks like, for the error's details (never trusted)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    for signature, name in (
        (b"gif8", "gif"), (b"%pdf", "pdf"), (b"%!ps", "eps"), (b"\xc5\xd0\xd3\xc6", "eps"),
        (b"pk\x03\x04", "zip"), (b"<svg", "svg"), (b"<?xml", "xml"), (b"<!doctype html", "html"),
        (b"<html", "html"), (b"bm", "bmp"), (b"ii*\x00", "tiff"), (b"mm\x00*", "tiff"),
    ):
        if text.startswith(signature):
            return name
    if head[4:8] == b"ftyp":
        return "isobmff:" + head[8:12].decode("ascii", "replace")
    if not head:
        return "empty"
    try:  # the head may end inside a multi-byte character: decode it as an unfinished stream
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "unknown"
    return "text"


# --- 2. container structure (polyglots, truncation) -----------------------------------------

# In entropy-coded JPEG data 0xFF is followed by 0x00 (stuffing), a restart marker or more
# 0xFF fill; anything else is the next marker.
_JPEG_MARKER_AFTER_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_NOT_ZERO = re.compile(rb"[^\x00]")


def jpeg_end(buf, start: int = 0) -> tuple[int, bool]:
    """Offset just past the EOI of the JPEG at ``start``, and whether it declares MPF images."""
    n = len(buf)
    if buf[start:start + 2] != b"\xff\xd8":
        raise _Malformed("not a JPEG")
    pos, has_mpf = start + 2, False
    while True:
        if pos >= n or buf[pos] != 0xFF:
            raise _Malformed("JPEG marker expected")
        while pos < n and buf[pos] == 0xFF:
            pos += 1
        if pos >= n:
            raise _Malformed("truncated JPEG")
        marker = buf[pos]
        pos += 1
        if marker == 0xD9:
            return pos, has_mpf
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            continue
        if marker in (0x00, 0xD8) or pos + 2 > n:
            raise _Malformed("bad JPEG marker")
        length = int.from_bytes(buf[pos:pos + 2], "big")
        if length < 2 or pos + length > n:
            raise _Malformed("truncated JPEG segment")
        if marker == 0xE2 and buf[pos + 2:pos + 6] == b"MPF\x00":
            has_mpf = True
        pos += length
        if marker == 0xDA:
            found = _JPEG_MARKER_AFTER_SCAN.search(buf, pos)
            if found is None:
                raise _Malformed("truncated JPEG scan")
            pos = found.start()


def png_end(buf) -> int:
    pos, n = 8, len(buf)
    while True:
        if pos + 12 > n:
            raise _Malformed("truncated PNG")
        length = int.from_bytes(buf[pos:pos + 4], "big")
        chunk = bytes(buf[pos + 4:pos + 8])
        pos += 12 + length
        if pos > n:
            raise _Malformed("truncated PNG chunk")
        if chunk == b"IEND":
            return pos


def webp_end(buf) -> int:
    size = int.from_bytes(buf[4:8], "little")
    end = 8 + size + (size & 1)
    if end > len(buf):
        raise _Malformed("truncated WebP")
    return end


def heif_end(buf) -> int:
    pos, n = 0, len(buf)
    while pos < n:
        if pos + 8 > n:
            raise _Malformed("truncated HEIF box")
        size, box = int.from_bytes(buf[pos:pos + 4], "big"), bytes(buf[pos + 4:pos + 8])
        if size == 1:
            if pos + 16 > n:
                raise _Malformed("truncated HEIF box")
            size = int.from_bytes(buf[pos + 8:pos + 16], "big")
        elif size == 0:
            size = n - pos
        if size < 8 or pos + size > n:
            raise _Malformed("truncated HEIF box")
        if (pos == 0) != (box == b"ftyp") or box not in HEIF_TOP_BOXES:
            raise _Malformed(f"unexpected HEIF box {box!r}")
        pos += size
    return pos


def image_end(buf, kind: str) -> int:
    """Where the image of ``kind`` ends in ``buf``: the end of its data, tolerated tails included.

    For JPEG, the further images a Multi-Picture file declares are part of it (they must each be
    whole JPEGs, back to back).
    """
    if kind == "jpeg":
        end, has_mpf = jpeg_end(buf)
        while has_mpf and buf[end:end + 2] == b"\xff\xd8":
            end, _ = jpeg_end(buf, end)
        return end
    return {"png": png_end, "webp": webp_end, "heif": heif_end}[kind](buf)


def check_structure(buf, kind: str) -> None:
    """Refuse a truncated container or any data after the image's end but zero padding."""
    try:
        end = image_end(buf, kind)
    except _Malformed as exc:
        raise _invalid(str(exc)) from None
    if end < len(buf) and _NOT_ZERO.search(buf, end):
        raise _invalid("data after the end of the image")


# --- 3–7. decoding, copies, evidence ---------------------------------------------------------

def process(path: str | Path, limits: Limits = Limits(), *, draft: bool = True) -> ProcessedPhoto:
    """Verify the photo at ``path`` and make its served copies and evidence fields.

    ``draft=False`` decodes JPEGs at full size (the benchmark's baseline); everything else is
    the same.
    """
    path = Path(path)
    with path.open("rb") as file:
        head = file.read(SNIFF_BYTES)
        kind = sniff(head)
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            check_structure(buf, kind)
    formats, content_type = KINDS[kind]
    try:
        with Image.open(path, formats=list(formats)) as im:
            return _decode(im, kind, content_type, limits, draft)
    except ZichaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ZichaError("image_too_many_pixels", {"max_pixels": limits.max_pixels}) from None
    except Exception as exc:  # any decoder failure on hostile input is the client's 4xx
        raise _invalid(f"cannot decode: {type(exc).__name__}") from None


def _decode(im: Image.Image, kind: str, content_type: str, limits: Limits, draft: bool) -> ProcessedPhoto:
    width, height = im.size
    if width * height > limits.max_pixels:
        raise ZichaError("image_too_many_pixels", {"pixels": width * height, "max_pixels": limits.max_pixels})
    exif = im.getexif()
    if exif.get(ExifTags.Base.Orientation, 1) in (5, 6, 7, 8):
        width, height = height, width  # rotated a quarter turn: as a person sees it
    captured_at, captured_local = capture_time(exif)
    gps_lat, gps_lon = gps_position(exif)

    display_size = fit(width, height, limits.display_px)
    if draft and im.format in ("JPEG", "MPO"):
        # Ask libjpeg for the smallest DCT scale still at least the display size (the size is
        # in stored orientation, so undo the quarter turn for the request).
        stored = display_size if (width, height) == im.size else display_size[::-1]
        im.draft("RGB", stored)
    im.load()
    icc = im.info.get("icc_profile")
    pixels = ImageOps.exif_transpose(im)
    pixels = to_srgb(flatten(pixels), icc)

    # Bicubic for the display copy: after draft the step is small (≤ 2×) and Lanczos costs twice
    # the time for no visible gain; the thumbnail's big step uses a reducing gap (box pre-shrink).
    display = pixels.resize(display_size, Image.Resampling.BICUBIC, reducing_gap=3.0) if pixels.size != display_size else pixels
    thumb = display.resize(fit(*display.size, limits.thumb_px), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return ProcessedPhoto(
        kind=kind,
        content_type=content_type,
        width=width,
        height=height,
        captured_at=captured_at,
        captured_local=captured_local,
        gps_lat=gps_lat,
        gps_lon=gps_lon,
        display=encode_jpeg(display, DISPLAY_QUALITY),
        thumb=encode_jpeg(thumb, THUMB_QUALITY),
    )


def fit(width: int, height: int, longest: int) -> tuple[int, int]:
    """(width, height) scaled so the long side is at most ``longest`` (never enlarged)."""
    scale = min(1.0, longest / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def flatten(im: Image.Image) -> Image.Image:
    """Any mode to RGB; transparency becomes white (a photo of a screenshot, a PNG sticker)."""
    if im.mode == "RGB":
        return im
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        im = im.point(lambda v: v / 256).convert("L")  # 16-bit grey to 8-bit
    return im.convert("RGB")


_SRGB = ImageCms.createProfile("sRGB")


def to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Convert to sRGB when an ICC profile came with the photo; a broken profile is ignored."""
    if not icc:
        return im
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(im, source, _SRGB, outputMode="RGB") or im
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return im


def encode_jpeg(im: Image.Image, quality: int) -> bytes:
    """A baseline JPEG of the pixels alone: a fresh image, so no info (EXIF, ICC, XMP) rides along."""
    clean = Image.new("RGB", im.size)
    clean.paste(im)
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=quality)
    return out.getvalue()


def capture_time(exif: Image.Exif) -> tuple[datetime | None, str | None]:
    """(instant in UTC if the offset is known, the camera's wall time as written)."""
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    raw = ifd.get(ExifTags.Base.DateTimeOriginal)
    if not isinstance(raw, str):
        return None, None
    try:
        local = datetime.strptime(raw.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None, None
    offset = ifd.get(ExifTags.Base.OffsetTimeOriginal)
    match = re.fullmatch(r"([+-])(\d\d):(\d\d)", offset.strip("\x00 ")) if isinstance(offset, str) else None
    captured_at = None
    if match and int(match[2]) <= 14 and int(match[3]) < 60:
        sign = 1 if match[1] == "+" else -1
        zone = timezone(sign * timedelta(hours=int(match[2]), minutes=int(match[3])))
        captured_at = local.replace(tzinfo=zone).astimezone(timezone.utc)
    return captured_at, local.isoformat()


def gps_position(exif: Image.Exif) -> tuple[float | None, float | None]:
    """(latitude, longitude) in decimal degrees, or (None, None) if absent or nonsense."""
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "S", 90)
    lon = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "W", 180)
    if lat is None or lon is None:
        return None, None
    return lat, lon


def _degrees(dms, ref, negative: str, bound: float) -> float | None:
    try:
        degrees, minutes, seconds = (float(part) for part in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = degrees + minutes / 60 + seconds / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    if isinstance(ref, str) and ref.strip("\x00 ").upper() == negative:
        value = -value
    if not math.isfinite(value) or abs(value) > bound:
        return None
    return round(value, 7)
