"""The image pipeline as pure functions: sniffing, structure, limits, orientation, copies, evidence."""
from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime, timezone

import pytest
from PIL import Image, ImageCms

from server.errors import ZichaError
from server.photos import images
from tests.photos.conftest import make_image


def process_bytes(tmp_path, data: bytes, **kwargs) -> images.ProcessedPhoto:
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    return images.process(path, **kwargs)


def refusal(tmp_path, data: bytes, **kwargs) -> ZichaError:
    with pytest.raises(ZichaError) as caught:
        process_bytes(tmp_path, data, **kwargs)
    return caught.value


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG whose header claims ``width`` × ``height`` 1-bit pixels."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + png_chunk(b"IEND", b"")


# --- sniffing ----------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt, kind", [("JPEG", "jpeg"), ("PNG", "png"), ("WEBP", "webp"), ("HEIF", "heif")])
def test_sniff_knows_the_allowed_kinds(fmt, kind):
    assert images.sniff(make_image(fmt, (32, 24))[: images.SNIFF_BYTES]) == kind


@pytest.mark.parametrize(
    "head, detected",
    [
        (make_image("GIF", (8, 8)), "gif"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "xml"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "svg"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n", "eps"),
        (b"%PDF-1.7\n", "pdf"),
        (b"PK\x03\x04\x14\x00", "zip"),
        (b"<!DOCTYPE html><script>alert(1)</script>", "html"),
        ("这不是照片，只是文字。".encode(), "text"),
        (b"", "empty"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", "isobmff:avif"),
        (make_image("BMP", (8, 8)), "bmp"),
        (make_image("TIFF", (8, 8)), "tiff"),
    ],
)
def test_sniff_refuses_everything_else(head, detected):
    with pytest.raises(ZichaError) as caught:
        images.sniff(head[: images.SNIFF_BYTES])
    assert caught.value.code == "unsupported_media_type"
    assert caught.value.details["detected"] == detected


# --- structure: truncation and polyglots -----------------------------------------------------------

@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_data_after_the_end_of_the_image_is_refused(tmp_path, fmt):
    error = refusal(tmp_path, make_image(fmt, (64, 48)) + b"PK\x03\x04 a zip archive would start here")
    assert error.code == "image_invalid"


def test_jpeg_with_a_zip_appended_is_refused(tmp_path):
    archive = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("shell.php", "<?php system($_GET['c']); ?>")
    error = refusal(tmp_path, make_image("JPEG") + archive.getvalue())
    assert (error.code, error.details["reason"]) == ("image_invalid", "data after the end of the image")


def test_zero_padding_after_the_image_is_tolerated(tmp_path):
    assert process_bytes(tmp_path, make_image("JPEG") + b"\x00" * 512).kind == "jpeg"


def test_multi_picture_jpeg_is_one_image_not_a_polyglot(tmp_path):
    first, second = Image.new("RGB", (64, 48), "red"), Image.new("RGB", (32, 24), "blue")
    out = io.BytesIO()
    first.save(out, "MPO", save_all=True, append_images=[second])
    result = process_bytes(tmp_path, out.getvalue())
    assert (result.kind, result.width, result.height) == ("jpeg", 64, 48)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
@pytest.mark.parametrize("keep", [0.5, 0.95])
def test_truncated_files_are_refused(tmp_path, fmt, keep):
    data = make_image(fmt, (200, 150), noise=True)
    assert refusal(tmp_path, data[: int(len(data) * keep)]).code == "image_invalid"


def test_garbage_after_a_valid_signature_is_refused(tmp_path):
    assert refusal(tmp_path, b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4).code == "image_invalid"
    assert refusal(tmp_path, b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + b"\xff" * 40).code == "image_invalid"


# --- limits --------------------------------------------------------------------------------------

def test_pixel_cap_is_checked_from_the_header(tmp_path):
    error = refusal(tmp_path, make_image("PNG", (300, 200)), limits=images.Limits(max_pixels=50_000))
    assert error.code == "image_too_many_pixels"
    assert error.details["pixels"] == 60_000


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    # 10 gigapixels claimed by a file of ~100 bytes: Pillow's own bomb check fires at open.
    assert refusal(tmp_path, png_claiming(100_000, 100_000)).code == "image_too_many_pixels"


def test_bomb_warning_counts_as_refusal(tmp_path):
    # Between Pillow's warning and error thresholds, with our own cap out of the way.
    side = 10_000  # 100 MP: above MAX_IMAGE_PIXELS (89.5 MP), below twice it
    error = refusal(tmp_path, png_claiming(side, side), limits=images.Limits(max_pixels=10**9))
    assert error.code == "image_too_many_pixels"


def test_a_real_compressed_bomb_is_refused(tmp_path):
    blank = io.BytesIO()
    Image.new("1", (9_000, 8_000)).save(blank, "PNG")  # 72 MP of nothing, ~10 KB on the wire
    assert len(blank.getvalue()) < 50_000
    assert refusal(tmp_path, blank.getvalue()).code == "image_too_many_pixels"


# --- orientation, copies, metadata -------------------------------------------------------------------

def test_orientation_is_applied_to_size_and_pixels(tmp_path):
    # Orientation 6: the camera was turned a quarter clockwise; the stored left (red) is the top.
    result = process_bytes(tmp_path, make_image("JPEG", (400, 300), orientation=6))
    assert (result.width, result.height) == (300, 400)
    display = Image.open(io.BytesIO(result.display))
    assert display.size == (300, 400)
    top, bottom = display.getpixel((150, 20)), display.getpixel((150, 380))
    assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]


def test_copies_are_bounded_jpegs_without_any_metadata(tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = make_image("JPEG", (2400, 1800), taken="2026:11:23 09:58:00", offset="+08:00", gps=(31.23, 121.47), icc_profile=icc, comment=b"secret")
    result = process_bytes(tmp_path, data, limits=images.Limits(display_px=1600, thumb_px=320))
    for copy, longest in ((result.display, 1600), (result.thumb, 320)):
        im = Image.open(io.BytesIO(copy))
        assert im.format == "JPEG" and im.mode == "RGB" and max(im.size) == longest
        assert not im.getexif() and "icc_profile" not in im.info and "comment" not in im.info and "exif" not in im.info
        assert b"Exif" not in copy and b"secret" not in copy


def test_small_photos_are_not_enlarged(tmp_path):
    result = process_bytes(tmp_path, make_image("PNG", (120, 90)))
    assert Image.open(io.BytesIO(result.display)).size == (120, 90)


def test_transparency_becomes_white(tmp_path):
    im = Image.new("RGBA", (40, 30), (0, 0, 0, 0))
    out = io.BytesIO()
    im.save(out, "PNG")
    display = Image.open(io.BytesIO(process_bytes(tmp_path, out.getvalue()).display))
    assert all(channel > 240 for channel in display.getpixel((20, 15)))


@pytest.mark.parametrize("mode, fmt", [("CMYK", "JPEG"), ("L", "JPEG"), ("I;16", "PNG"), ("P", "PNG"), ("LA", "PNG"), ("RGBA", "WEBP")])
def test_other_pixel_modes_are_served_as_rgb(tmp_path, mode, fmt):
    result = process_bytes(tmp_path, make_image(fmt, (64, 48), mode=mode))
    assert Image.open(io.BytesIO(result.display)).mode == "RGB"


def test_heic_from_an_iphone_is_accepted(tmp_path):
    result = process_bytes(tmp_path, make_image("HEIF", (320, 240), quality=70))
    assert (result.kind, result.content_type, result.width, result.height) == ("heif", "image/heic", 320, 240)


# --- JPEG draft mode ------------------------------------------------------------------------------

@pytest.mark.parametrize("draft, decoded", [(True, (2000, 1500)), (False, (4000, 3000))])
def test_draft_mode_decodes_a_big_jpeg_at_a_reduced_scale(tmp_path, monkeypatch, draft, decoded):
    seen = []
    original = images.ImageOps.exif_transpose
    monkeypatch.setattr(images.ImageOps, "exif_transpose", lambda im: seen.append(im.size) or original(im))
    result = process_bytes(tmp_path, make_image("JPEG", (4000, 3000)), draft=draft)
    assert seen == [decoded]  # 1/2 scale is the smallest still ≥ the 1600 × 1200 display copy
    assert (result.width, result.height) == (4000, 3000)
    assert Image.open(io.BytesIO(result.display)).size == (1600, 1200)


def test_draft_request_follows_orientation(tmp_path, monkeypatch):
    seen = []
    original = images.ImageOps.exif_transpose
    monkeypatch.setattr(images.ImageOps, "exif_transpose", lambda im: seen.append(im.size) or original(im))
    result = process_bytes(tmp_path, make_image("JPEG", (4000, 3000), orientation=8))
    assert seen == [(2000, 1500)] and (result.width, result.height) == (3000, 4000)
    assert Image.open(io.BytesIO(result.display)).size == (1200, 1600)


# --- evidence ----------------------------------------------------------------------------------------

def test_capture_time_with_offset_is_an_instant(tmp_path):
    result = process_bytes(tmp_path, make_image("JPEG", taken="2026:11:23 09:58:00", offset="+08:00"))
    assert result.captured_at == datetime(2026, 11, 23, 1, 58, tzinfo=timezone.utc)
    assert result.captured_local == "2026-11-23T09:58:00"


def test_capture_time_without_offset_keeps_only_the_wall_time(tmp_path):
    result = process_bytes(tmp_path, make_image("JPEG", taken="2026:11:23 09:58:00"))
    assert result.captured_at is None and result.captured_local == "2026-11-23T09:58:00"


@pytest.mark.parametrize("taken, offset", [("0000:00:00 00:00:00", None), ("yesterday", "+08:00"), ("2026:11:23 09:58:00", "+99:00")])
def test_unreadable_capture_times_are_dropped_not_errors(tmp_path, taken, offset):
    result = process_bytes(tmp_path, make_image("JPEG", taken=taken, offset=offset))
    assert result.captured_at is None


@pytest.mark.parametrize("position", [(31.2304, 121.4737), (-33.8688, -70.6693)])
def test_gps_position_is_kept_as_evidence(tmp_path, position):
    result = process_bytes(tmp_path, make_image("JPEG", gps=position))
    assert result.gps_lat == pytest.approx(position[0], abs=1e-4)
    assert result.gps_lon == pytest.approx(position[1], abs=1e-4)


def test_photo_without_exif_has_no_evidence_fields(tmp_path):
    result = process_bytes(tmp_path, make_image("PNG"))
    assert (result.captured_at, result.captured_local, result.gps_lat, result.gps_lon) == (None, None, None, None)


def test_fit_never_enlarges_and_keeps_the_aspect():
    assert images.fit(4000, 3000, 1600) == (1600, 1200)
    assert images.fit(3000, 4000, 320) == (240, 320)
    assert images.fit(100, 50, 1600) == (100, 50)
    assert images.fit(10000, 1, 320) == (320, 1)
