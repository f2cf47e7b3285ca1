"""Helpers for family report tests: each enterprise's public link, a report sent as a phone's
browser sends it (multipart, from a distinctive address), photos that carry every kind of
metadata, and the queue driven through the API."""
from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from PIL import ExifTags, Image, ImageCms

from server.extensions import db
from server.reports import services

API = "/api/v1"
# The address the test client's requests come from: it must end up in no row and no log line.
REPORTER_ADDR = "203.0.113.77"
REPORTER_AGENT = "Mozilla/5.0 (Linux; Android 8.1; SpyPhone Build/OPM1) ReporterAgent/1.0"
DEVICE_WORDS = (b"SpyPhone", b"SpyCam", b"SpyXMP", b"Shot on")


def metadata_jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    """A JPEG with EXIF (maker, model, GPS position), XMP, a comment and an ICC profile."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyPhone"
    exif[ExifTags.Base.Model] = "SpyCam 3000"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (31.0, 14.0, 9.0),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (121.0, 28.0, 30.0),
    }
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(
        out, "JPEG", exif=exif, icc_profile=icc, comment=b"Shot on SpyCam", xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">SpyXMP</x:xmpmeta>'
    )
    return out.getvalue()


@dataclass
class Public:
    """One enterprise's public side, as a reporter's phone reaches it."""

    client: object
    token: str

    def submit(self, photos: tuple[bytes, ...] = (), **fields):
        form = {"description": "消防通道被货物堵死", "location": "3号仓库东门", **fields}
        data = {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in form.items() if v is not None}
        data["photos"] = [(io.BytesIO(p), f"IMG_{i}.jpg", "image/jpeg") for i, p in enumerate(photos)]
        return self.client.post(
            f"{API}/public/reports/{self.token}", data=data, content_type="multipart/form-data",
            environ_base={"REMOTE_ADDR": REPORTER_ADDR}, headers={"User-Agent": REPORTER_AGENT, "X-Forwarded-For": REPORTER_ADDR},
        )

    def receipt(self, **fields) -> str:
        r = self.submit(**fields)
        assert r.status_code == 201, r.json
        return r.json["receipt"]

    def status(self, receipt: str):
        return self.client.post(f"{API}/public/report-status", json={"receipt": receipt}, environ_base={"REMOTE_ADDR": REPORTER_ADDR})


def link_token(app, enterprise_id: int) -> str:
    with app.app_context():
        token = services.settings_of(enterprise_id).link_token
        db.session.commit()
        db.session.remove()
    return token


@pytest.fixture
def public(app, client, world, photo_dirs) -> Public:
    """Enterprise A's public link."""
    return Public(client, link_token(app, world.a.enterprise_id))


@pytest.fixture
def public_b(app, client, world, photo_dirs) -> Public:
    return Public(client, link_token(app, world.b.enterprise_id))


class Queue:
    """One tenant's triage queue through the API."""

    def __init__(self, client, tenant):
        self.client, self.tenant = client, tenant

    def get(self, path: str, role: str = "safety_manager", **kw):
        return self.client.get(f"{API}{path}", headers=self.tenant.auth(role), **kw)

    def post(self, path: str, body=None, role: str = "safety_manager"):
        return self.client.post(f"{API}{path}", json=body, headers=self.tenant.auth(role))

    def ids(self, role: str = "safety_manager", query: str = "") -> list[int]:
        r = self.get(f"/reports{query}", role)
        assert r.status_code == 200, r.json
        return [row["id"] for row in r.json]

    def latest(self) -> dict:
        return self.get(f"/reports/{self.ids()[0]}").json

    def confirm(self, rid: int, role: str = "safety_manager", **body):
        return self.post(f"/reports/{rid}/confirm", {"type": "fire", **body}, role)


@pytest.fixture
def queue(client, world) -> Queue:
    return Queue(client, world.a)
