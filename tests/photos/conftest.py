"""Fixtures for photo tests: per-test storage folders, image makers, a real HTTP server, S3.

Every test gets its own ``PHOTO_DIR`` and ``PHOTO_TEMP_DIR`` under pytest's tmp_path, so "nothing
was stored" is checked by listing real folders. The live server (for tuspy, a real tus client)
and the S3 endpoint (moto's server) both listen on 127.0.0.1 only, on a free port.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import ExifTags, Image





def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_image(
    fmt: str = "JPEG",
    size: tuple[int, int] = (400, 300),
    *,
    orientation: int | None = None,
    taken: str | None = None,
    offset: str | None = None,
    gps: tuple[float, float] | None = None,
    noise: bool = False,
    mode: str = "RGB",
    **save,
) -> bytes:
    """An image in ``fmt`` with optional EXIF evidence; the left half red, the right half blue,
    so tests can see where the pixels went after orientation."""
    width, height = size
    if noise:
        im = Image.merge("RGB", [Image.effect_noise(size, 40 + 10 * i).point(lambda v: v // 2 + 64) for i in range(3)])
    else:
        im = Image.new("RGB", size, (220, 20, 20))
        im.paste((20, 20, 220), (width // 2, 0, width, height))
    if mode != "RGB":
        im = im.convert(mode)
    exif = Image.Exif()
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if taken:
        ifd = exif.get_ifd(ExifTags.IFD.Exif)
        ifd[ExifTags.Base.DateTimeOriginal] = taken
        if offset:
            ifd[ExifTags.Base.OffsetTimeOriginal] = offset
    if gps:
        ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
        for value, ref_tag, tag, signs in ((gps[0], ExifTags.GPS.GPSLatitudeRef, ExifTags.GPS.GPSLatitude, "NS"), (gps[1], ExifTags.GPS.GPSLongitudeRef, ExifTags.GPS.GPSLongitude, "EW")):
            whole = abs(value)
            degrees, minutes = int(whole), int(whole * 60) % 60
            seconds = round((whole * 3600) % 60, 2)
            ifd[ref_tag] = signs[0] if value >= 0 else signs[1]
            ifd[tag] = (float(degrees), float(minutes), seconds)
    out = io.BytesIO()
    if orientation or taken or gps:
        save["exif"] = exif
    im.save(out, fmt, **save)
    return out.getvalue()





@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3 endpoint on 127.0.0.1 (moto's server), for the whole session."""
    pytest.importorskip("moto", reason="pip install -e '.[dev]' (moto[server])")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def _own_photo_dirs(photo_dirs):
    """Every test here gets its own photo folders (see tests/conftest.py)."""
    return photo_dirs
