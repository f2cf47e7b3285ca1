"""Hostile uploads: each a clear 4xx with a stable code, nothing stored, memory bounded.

"Nothing stored" means: no photo row, no file in storage, no temp file left behind.
"""
from __future__ import annotations

import io
import random
import struct
import tracemalloc
import zipfile
import zlib

import pytest
import sqlalchemy as sa
from PIL import Image

from server.extensions import db
from server.photos.models import Photo
from tests.photos.conftest import files_under, make_image, sha
from tests.photos.test_images import png_claiming

URL = "/api/v1/photos/{}"


def assert_nothing_stored(app, photo_dirs):
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Photo)) == 0
    assert files_under(photo_dirs["PHOTO_DIR"]) == []
    assert files_under(photo_dirs["PHOTO_TEMP_DIR"]) == []


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("payload.html", "<script>alert(document.cookie)</script>")
    return out.getvalue()


def compressed_bomb() -> bytes:
    out = io.BytesIO()
    Image.new("1", (9_000, 8_000)).save(out, "PNG")
    return out.getvalue()


def png_with_huge_text_chunk() -> bytes:
    # A zTXt chunk that inflates far beyond Pillow's text limit.
    data = make_image("PNG", (16, 16))
    ztxt = b"Comment\x00\x00" + zlib.compress(b"A" * 50_000_000, 9)
    chunk = struct.pack(">I", len(ztxt)) + b"zTXt" + ztxt + struct.pack(">I", zlib.crc32(b"zTXt" + ztxt))
    return data[:33] + chunk + data[33:]


HOSTILE = [
    ("pixel bomb (10 gigapixels claimed)", lambda: png_claiming(100_000, 100_000), 422, "image_too_many_pixels"),
    ("compressed bomb (72 MP of nothing in a few KB)", compressed_bomb, 422, "image_too_many_pixels"),
    ("zTXt bomb", png_with_huge_text_chunk, 422, "image_invalid"),
    ("truncated JPEG", lambda: make_image("JPEG", (300, 200), noise=True)[:5000], 422, "image_invalid"),
    ("truncated PNG", lambda: make_image("PNG", (300, 200), noise=True)[:5000], 422, "image_invalid"),
    ("truncated HEIC", lambda: make_image("HEIF", (300, 200), noise=True)[:2000], 422, "image_invalid"),
    ("JPEG + ZIP polyglot", lambda: make_image("JPEG") + zip_bytes(), 422, "image_invalid"),
    ("PNG + HTML polyglot", lambda: make_image("PNG") + b"<html><script>alert(1)</script></html>", 422, "image_invalid"),
    ("ZIP with a JPEG inside", lambda: b"PK\x03\x04" + make_image("JPEG"), 415, "unsupported_media_type"),
    ("SVG with script", lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 415, "unsupported_media_type"),
    ("text named .jpg", lambda: "巡检照片.jpg 其实是文字".encode(), 415, "unsupported_media_type"),
    ("GIF", lambda: make_image("GIF", (20, 20)), 415, "unsupported_media_type"),
    ("EPS", lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n", 415, "unsupported_media_type"),
    ("PDF", lambda: b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", 415, "unsupported_media_type"),
    ("empty body", lambda: b"", 415, "unsupported_media_type"),
]


@pytest.mark.parametrize("label, make, status, code", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_upload_is_a_clean_4xx_and_stores_nothing(app, client, world, photo_dirs, label, make, status, code):
    data = make()
    r = client.put(URL.format(sha(data)), data=data, content_type="image/jpeg", headers=world.a.auth())
    assert (r.status_code, r.json["error"]["code"]) == (status, code), label
    assert r.json["error"]["message"]
    assert_nothing_stored(app, photo_dirs)


def test_wrong_hash_is_refused_and_nothing_stored(app, client, world, photo_dirs):
    data = make_image()
    wrong = sha(data + b"x")
    r = client.put(URL.format(wrong), data=data, content_type="image/jpeg", headers=world.a.auth())
    assert r.status_code == 422 and r.json["error"]["code"] == "hash_mismatch"
    assert r.json["error"]["details"] == {"expected": wrong, "received": sha(data)}
    assert_nothing_stored(app, photo_dirs)


def test_oversize_body_with_length_is_refused_before_reading(app, client, world, photo_dirs, monkeypatch):
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", 100_000)
    body = ReadCounter(300_000)
    r = client.put(URL.format("a" * 64), input_stream=body, content_length=300_000, content_type="image/jpeg", headers=world.a.auth())
    assert (r.status_code, r.json["error"]["code"]) == (413, "image_too_large")
    assert body.delivered == 0
    assert_nothing_stored(app, photo_dirs)


class ReadCounter(io.RawIOBase):
    """A body of ``size`` bytes made on demand, counting how much the server read."""

    def __init__(self, size: int):
        self.size, self.delivered = size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:  # the test client measures a body by seeking to its end
        return True

    def tell(self) -> int:
        return self.delivered

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.delivered = offset + (self.size if whence == io.SEEK_END else 0)
        return self.delivered

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.size - self.delivered)
        buffer[:n] = b"\xff" * n
        self.delivered += n
        return n


def test_oversize_streamed_body_is_cut_off_at_the_cap_with_bounded_memory(app, client, world, photo_dirs, monkeypatch):
    """A body without Content-Length (chunked) is refused as soon as it passes the cap, and the
    server's memory does not grow with the body: it never holds more than a read buffer."""
    cap = 8 * 1024 * 1024
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", cap)
    body = ReadCounter(64 * 1024 * 1024)
    tracemalloc.start()
    try:
        r = client.put(
            URL.format("a" * 64), input_stream=body, content_type="image/jpeg", headers=world.a.auth(),
            environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (r.status_code, r.json["error"]["code"]) == (413, "image_too_large")
    assert body.delivered < cap + 2 * 1024 * 1024  # stopped at the cap, not at 64 MiB
    assert peak < 4 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB while streaming"
    assert_nothing_stored(app, photo_dirs)


def test_a_big_photo_is_hashed_while_streaming_with_bounded_memory(app, client, world, photo_dirs):
    # 20 MB that fail the hash check: received and hashed in full, never held in memory.
    body = ReadCounter(20 * 1024 * 1024)
    tracemalloc.start()
    try:
        r = client.put(URL.format("a" * 64), input_stream=body, content_length=body.size, content_type="image/jpeg", headers=world.a.auth())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (r.status_code, r.json["error"]["code"]) == (422, "hash_mismatch")
    assert body.delivered == body.size and peak < 4 * 1024 * 1024
    assert_nothing_stored(app, photo_dirs)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_damaged_images_never_cause_a_500(app, client, world, photo_dirs, fmt):
    """Bytes flipped at random inside real images: whatever a decoder makes of them, the answer
    is 201 (a damaged but decodable image is still an image) or a catalogue 4xx — never a 500."""
    original = make_image(fmt, (120, 90), noise=True)
    rng = random.Random(fmt)  # seeded: the same damage every run
    for _ in range(12):
        damaged = bytearray(original)
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(12, len(damaged))
            damaged[position] = rng.randrange(256)
        data = bytes(damaged)
        r = client.put(URL.format(sha(data)), data=data, content_type="image/jpeg", headers=world.a.auth())
        assert r.status_code in (200, 201, 413, 415, 422), (r.status_code, r.json)
    assert files_under(photo_dirs["PHOTO_TEMP_DIR"]) == []
