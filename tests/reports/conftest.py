"""Helpers for family report tests: each enterprise's public link, a report sent as a phone's
browser sends it (multipart, from a distinctive address), photos that carry every kind of
metadata, and the queue driven through the API."""
from __future__ import annotations

import io
import re
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


# --------------------------------------------------------------------------- the HTML page

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_RECEIPT = re.compile(r'id="receipt-code">([^<]+)<')


def csrf_of(html: str) -> str:
    return _CSRF.search(html).group(1)


def receipt_on(response) -> str:
    """The receipt code a receipt page shows."""
    return _RECEIPT.search(response.get_data(as_text=True)).group(1)


@dataclass
class Page:
    """An enterprise's public report page (``/r/<token>``), used as a phone's browser without
    JavaScript uses it: open the form, fill it, send it as multipart. ``addr`` is the client."""

    client: object
    token: str

    def _environ(self, addr: str | None, lang: str | None, agent: str = REPORTER_AGENT) -> dict:
        headers = {"User-Agent": agent, **({"Accept-Language": lang} if lang else {})}
        return {"environ_base": {"REMOTE_ADDR": addr or REPORTER_ADDR}, "headers": headers}

    def open(self, addr: str | None = None, lang: str | None = None):
        return self.client.get(f"/r/{self.token}", **self._environ(addr, lang))

    def send(self, photos: tuple[bytes, ...] = (), csrf: str | None = "", addr: str | None = None, lang: str | None = None, **fields):
        """Open the form and send it (``csrf=None``: without the token; "": the form's)."""
        if csrf == "":
            csrf = csrf_of(self.open(addr, lang).get_data(as_text=True))
        form = {"description": "消防通道被货物堵死", "location": "3号仓库东门", "site_id": "", "anonymous": "true", "contact": "", "website": "", **fields}
        data = {k: ("true" if v is True else str(v)) for k, v in form.items() if v is not None and v is not False}
        if csrf is not None:
            data["csrf_token"] = csrf
        # Both file inputs, as a browser sends them: the camera's with the photos, the album's empty.
        data["photos"] = [(io.BytesIO(p), f"IMG_{i}.jpg", "image/jpeg") for i, p in enumerate(photos)] + [(io.BytesIO(b""), "", "application/octet-stream")]
        return self.client.post(f"/r/{self.token}", data=data, content_type="multipart/form-data", **self._environ(addr, lang))

    def look_up(self, code: str, addr: str | None = None, lang: str | None = None):
        form = self.client.get("/r/status", **self._environ(addr, lang))
        return self.client.post("/r/status", data={"receipt": code, "csrf_token": csrf_of(form.get_data(as_text=True))}, **self._environ(addr, lang))


@pytest.fixture
def page(app, client, world, photo_dirs) -> Page:
    """Enterprise A's public page."""
    return Page(client, link_token(app, world.a.enterprise_id))
