"""Small, real JPEG photos for the demo: what a worker's phone would have taken.

Each picture is a 640×480 JPEG (~15 KB) with a coloured panel, the post, what was photographed,
the reading and the phone's local time drawn on it in Chinese (the bundled WenQuanYi font, the
one QR labels use), and the EXIF a phone camera writes — make, model, ``DateTimeOriginal`` and
its offset — so the photo pipeline reads a capture time as it would from a real photo. The
same arguments always give the same bytes (the same SHA-256), so the demo stays deterministic.
"""
from __future__ import annotations

import functools
import io
from datetime import datetime
from pathlib import Path

from PIL import ExifTags, Image, ImageDraw, ImageFont

FONT = Path(__file__).resolve().parents[1] / "assets" / "fonts" / "wqy-microhei.ttf"
SIZE = (640, 480)


@functools.lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), size)


def evidence_jpeg(title: str, lines: list[str], taken_local: datetime, colour: tuple[int, int, int], camera: tuple[str, str]) -> bytes:
    """A photo of ``title`` (the post) with ``lines`` of detail, taken at ``taken_local`` (an aware
    datetime in the phone's zone, as its clock read) by the phone ``camera`` = (make, model)."""
    image = Image.new("RGB", SIZE, colour)
    draw = ImageDraw.Draw(image)
    dark = tuple(max(0, c - 70) for c in colour)
    draw.rectangle((24, 24, SIZE[0] - 24, SIZE[1] - 24), outline=(255, 255, 255), width=3)
    draw.rectangle((48, 120, SIZE[0] - 48, 330), fill=dark)
    draw.text((48, 44), title, font=_font(40), fill=(255, 255, 255))
    for index, line in enumerate(lines[:4]):
        draw.text((68, 138 + index * 46), line, font=_font(30), fill=(255, 255, 255))
    stamp = taken_local.strftime("%Y-%m-%d %H:%M")
    draw.text((48, 360), stamp, font=_font(34), fill=(255, 236, 160))
    draw.text((48, 410), "自查 Zicha 演示照片", font=_font(24), fill=(235, 235, 235))

    exif = Image.Exif()
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = camera
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.DateTimeOriginal] = taken_local.strftime("%Y:%m:%d %H:%M:%S")
    offset = taken_local.strftime("%z")
    details[ExifTags.Base.OffsetTimeOriginal] = f"{offset[:3]}:{offset[3:]}"
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70, exif=exif)
    return out.getvalue()
