import marshmallow as ma
from flask import url_for
from marshmallow import fields


class PhotoOut(ma.Schema):
    """A photo's evidence fields. Storage keys stay inside the server."""

    sha256 = fields.String(metadata={"description": "SHA-256 (hex) of the bytes the device sent: the photo's name"})
    content_type = fields.String(metadata={"description": "The original's real type, sniffed: image/jpeg, image/png, image/webp or image/heic"})
    byte_size = fields.Integer()
    width = fields.Integer(metadata={"description": "As seen, EXIF orientation applied"})
    height = fields.Integer()
    captured_at = fields.AwareDateTime(allow_none=True, metadata={"description": "EXIF DateTimeOriginal, when the camera also wrote its UTC offset"})
    captured_local = fields.String(allow_none=True, metadata={"description": "EXIF DateTimeOriginal as the camera wrote it (its wall time)"})
    gps_lat = fields.Float(allow_none=True)
    gps_lon = fields.Float(allow_none=True)
    uploaded_by_id = fields.Integer()
    device_id = fields.Integer(allow_none=True)
    received_at = fields.AwareDateTime()
    display_url = fields.Method("_display_url", metadata={"description": "JPEG, long side ≤ 1600 px, metadata stripped"})
    thumb_url = fields.Method("_thumb_url", metadata={"description": "JPEG, long side ≤ 320 px, metadata stripped"})

    def _display_url(self, photo) -> str:
        return url_for("photos.display", sha256=photo.sha256)

    def _thumb_url(self, photo) -> str:
        return url_for("photos.thumb", sha256=photo.sha256)
