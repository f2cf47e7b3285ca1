"""Photo endpoints (HEAD/PUT/GET by SHA-256, served copies) and the tus 1.0 upload endpoints.

Every route needs a signed-in user of any role and looks the photo up inside the caller's
enterprise, so another tenant's digest is a 404 like one that was never sent. Writes answer only
after their commit: a device that got 200/201/204 may forget the photo.
"""
from __future__ import annotations

import click
from flask import Response, current_app, request, url_for
from flask.views import MethodView
from werkzeug.http import http_date

from server.accounts.auth import current, require
from server.errors import ZichaError
from server.extensions import Blueprint, db
from server.photos import services
from server.photos.schemas import PhotoOut

blp = Blueprint("photos", __name__, description="Photo evidence (照片证据), content-addressed by SHA-256")
uploads_blp = Blueprint("uploads", __name__, description="Resumable photo uploads: tus 1.0 core, creation, checksum, expiration, termination")

_IMAGE_BODY = {"schema": {"type": "string", "format": "binary"}}
_PUT_BODY = {
    "required": True,
    "description": "The photo's bytes, exactly as the device holds them (their SHA-256 must be the one in the URL)",
    "content": {kind: _IMAGE_BODY for kind in ("image/jpeg", "image/png", "image/webp", "image/heic", "application/octet-stream")},
}
_SERVED = {
    "200": {"description": "Re-encoded JPEG, no metadata", "content": {"image/jpeg": _IMAGE_BODY}},
    "304": {"description": "Not modified (If-None-Match)"},
}
_DIGEST_PARAM = {"in": "path", "name": "sha256", "required": True, "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}


@blp.route("/photos/<string:sha256>", parameters=[_DIGEST_PARAM], endpoint="photo")
class PhotoResource(MethodView):
    @require()
    @blp.response(200, description="This enterprise has the photo")
    @blp.alt_response(404, description="not_found: not (yet) received by this enterprise")
    def head(self, sha256: str):
        """Ask whether the photo has arrived (no body)."""
        services.get_photo(current().enterprise_id, sha256)
        return Response(status=200)

    @require()
    @blp.response(200, PhotoOut)
    @blp.alt_response(404, description="not_found")
    def get(self, sha256: str):
        """The photo's evidence fields."""
        return services.get_photo(current().enterprise_id, sha256)

    @require()
    @blp.doc(requestBody=_PUT_BODY)
    @blp.response(201, PhotoOut, description="Stored for the first time")
    @blp.alt_response(200, schema=PhotoOut, description="Already present: the stored photo")
    @blp.alt_response(413, description="image_too_large")
    @blp.alt_response(415, description="unsupported_media_type: not JPEG, PNG, WebP or HEIC")
    @blp.alt_response(422, description="hash_mismatch, image_invalid, image_too_many_pixels")
    def put(self, sha256: str):
        """Send a photo: the body is streamed to disk and hashed; a mismatch is refused.

        Idempotent: sending a photo the enterprise already has answers 200 with it. Checks that
        were waiting only for this photo become ``complete`` in the same transaction.
        """
        principal = current()
        digest = services.normalise_digest(sha256)
        if digest is None:
            raise ZichaError("validation_failed", {"sha256": ["64 hexadecimal digits"]})
        max_bytes = current_app.config["PHOTO_MAX_BYTES"]
        if (request.content_length or 0) > max_bytes:
            raise ZichaError("image_too_large", {"max_bytes": max_bytes})
        request.max_content_length = max_bytes  # this view's own cap, not the JSON one
        existing = services.find_photo(principal.enterprise_id, digest)
        if existing is not None:
            _drain(max_bytes)
            return existing, 200
        with services.received_body(request.stream, digest) as path:
            result = services.ingest(principal, digest, path)
        db.session.commit()
        return result.photo, 201 if result.created else 200


def _drain(max_bytes: int) -> None:
    """Read and drop an unneeded body, so a kept-alive connection stays in step."""
    sink = _Sink()
    try:
        services.copy_stream(request.stream, sink, max_bytes)
    except (ZichaError, services.Interrupted):
        pass


class _Sink:
    def write(self, _chunk: bytes) -> None:
        pass


def _served(sha256: str, variant: str) -> Response:
    photo = services.get_photo(current().enterprise_id, sha256)
    return jpeg_response(services.served_copy(photo, variant), photo.sha256, variant)


def jpeg_response(data: bytes, sha256: str, variant: str) -> Response:
    """A served copy (re-encoded JPEG) of a content-addressed photo, answered conditionally."""
    response = Response(data, mimetype="image/jpeg")
    # A content-addressed copy never changes; it may be cached, but only by the user's own browser.
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Content-Disposition"] = f'inline; filename="{sha256[:16]}-{variant}.jpg"'
    response.set_etag(f"{sha256}-{variant}")
    return response.make_conditional(request)


@blp.route("/photos/<string:sha256>/display", parameters=[_DIGEST_PARAM], endpoint="display")
@require()
@blp.doc(responses=_SERVED)
@blp.alt_response(404, description="not_found")
def display(sha256: str):
    """The display copy: JPEG, long side ≤ 1600 px, orientation applied, metadata stripped."""
    return _served(sha256, "display")


@blp.route("/photos/<string:sha256>/thumb", parameters=[_DIGEST_PARAM], endpoint="thumb")
@require()
@blp.doc(responses=_SERVED)
@blp.alt_response(404, description="not_found")
def thumb(sha256: str):
    """The thumbnail: JPEG, long side ≤ 320 px, metadata stripped."""
    return _served(sha256, "thumb")


@blp.cli.command("purge-uploads")
def purge_uploads_command():
    """Remove expired tus uploads and leftover temp files (run daily from cron or systemd)."""
    removed = services.purge_expired_uploads()
    db.session.commit()
    click.echo(f"{removed} expired uploads removed")


# --- tus 1.0 -----------------------------------------------------------------------------------

_TUS = {"Tus-Resumable": {"description": "1.0.0", "schema": {"type": "string"}}}
_OFFSET = {"Upload-Offset": {"schema": {"type": "integer"}}, "Upload-Expires": {"schema": {"type": "string"}}, **_TUS}


@uploads_blp.before_request
def _require_tus_version():
    # Every tus request but OPTIONS names the protocol version it speaks.
    if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != services.TUS_VERSION:
        raise ZichaError("tus_version_unsupported", {"Tus-Version": services.TUS_VERSION})


@uploads_blp.after_request
def _tus_headers(response: Response) -> Response:
    response.headers["Tus-Resumable"] = services.TUS_VERSION
    response.headers["Cache-Control"] = "no-store"
    if response.status_code == 412:
        response.headers["Tus-Version"] = services.TUS_VERSION
    return response


def _expires(upload) -> dict[str, str]:
    return {"Upload-Expires": http_date(upload.expires_at)} if upload.completed_at is None else {}


@uploads_blp.route("/uploads", endpoint="uploads")
class UploadsResource(MethodView):
    @uploads_blp.response(204, headers={"Tus-Version": {"schema": {"type": "string"}}, "Tus-Extension": {"schema": {"type": "string"}}, "Tus-Max-Size": {"schema": {"type": "integer"}}, "Tus-Checksum-Algorithm": {"schema": {"type": "string"}}})
    def options(self):
        """What this tus server supports (no sign-in needed)."""
        return Response(status=204, headers={
            "Tus-Version": services.TUS_VERSION,
            "Tus-Extension": services.TUS_EXTENSIONS,
            "Tus-Max-Size": str(current_app.config["PHOTO_MAX_BYTES"]),
            "Tus-Checksum-Algorithm": ",".join(services.CHECKSUMS),
        })

    @require()
    @uploads_blp.doc(parameters=[
        {"in": "header", "name": "Upload-Length", "required": True, "schema": {"type": "integer"}},
        {"in": "header", "name": "Upload-Metadata", "required": True, "schema": {"type": "string"}, "description": "must carry sha256 (hex digest of the whole file); may carry filename, filetype"},
        {"in": "header", "name": "Tus-Resumable", "required": True, "schema": {"type": "string", "enum": ["1.0.0"]}},
    ])
    @uploads_blp.response(201, description="Created; Location is the upload's URL", headers={"Location": {"schema": {"type": "string"}}, "Upload-Expires": {"schema": {"type": "string"}}, **_TUS})
    @uploads_blp.alt_response(412, description="tus_version_unsupported")
    @uploads_blp.alt_response(413, description="image_too_large: Upload-Length over Tus-Max-Size")
    def post(self):
        """Start a resumable upload of one photo (tus creation)."""
        length = _int_header("Upload-Length")
        upload = services.create_upload(current(), length, services.parse_metadata(request.headers.get("Upload-Metadata")))
        db.session.commit()
        headers = {"Location": url_for("uploads.upload", upload_id=upload.id), **_expires(upload)}
        return Response(status=201, headers=headers)


def _int_header(name: str) -> int:
    raw = request.headers.get(name, "")
    if not raw.isdigit():
        raise ZichaError("bad_request", {name: ["a non-negative integer is required"]})
    return int(raw)


_UPLOAD_ID = {"in": "path", "name": "upload_id", "required": True, "schema": {"type": "string"}}


@uploads_blp.route("/uploads/<string:upload_id>", parameters=[_UPLOAD_ID], endpoint="upload")
class UploadResource(MethodView):
    @require()
    @uploads_blp.response(200, description="How far the upload got", headers={"Upload-Length": {"schema": {"type": "integer"}}, **_OFFSET})
    @uploads_blp.alt_response(404, description="not_found")
    @uploads_blp.alt_response(410, description="upload_expired")
    def head(self, upload_id: str):
        """The upload's offset: where to resume."""
        upload = services.get_upload(current(), upload_id)
        return Response(status=200, headers={
            "Upload-Offset": str(upload.upload_offset),
            "Upload-Length": str(upload.upload_length),
            **_expires(upload),
        })

    @require()
    @uploads_blp.doc(
        requestBody={"required": True, "content": {"application/offset+octet-stream": _IMAGE_BODY}},
        parameters=[
            {"in": "header", "name": "Upload-Offset", "required": True, "schema": {"type": "integer"}},
            {"in": "header", "name": "Upload-Checksum", "required": False, "schema": {"type": "string"}, "description": "sha1 or sha256, then the base64 digest of this chunk"},
        ],
    )
    @uploads_blp.response(204, description="Chunk stored; the last one also stores the photo", headers=_OFFSET)
    @uploads_blp.alt_response(409, description="upload_offset_mismatch")
    @uploads_blp.alt_response(410, description="upload_expired")
    @uploads_blp.alt_response(413, description="upload_length_exceeded")
    @uploads_blp.alt_response(415, description="unsupported_media_type: Content-Type must be application/offset+octet-stream")
    @uploads_blp.alt_response(422, description="hash_mismatch / image_invalid / …: the finished file was refused; the upload is gone")
    @uploads_blp.alt_response(460, description="checksum_mismatch: the chunk was not stored")
    def patch(self, upload_id: str):
        """Append a chunk at Upload-Offset (tus core + checksum)."""
        if request.mimetype != "application/offset+octet-stream":
            raise ZichaError("unsupported_media_type", {"Content-Type": ["application/offset+octet-stream"]})
        offset = _int_header("Upload-Offset")
        checksum = services.parse_checksum(request.headers.get("Upload-Checksum"))
        request.max_content_length = current_app.config["PHOTO_MAX_BYTES"]
        principal = current()
        with services.locked_upload(principal, upload_id) as (upload, part):
            if offset + (request.content_length or 0) > upload.upload_length:
                raise ZichaError("upload_length_exceeded", {"remaining": upload.upload_length - upload.upload_offset})
            result = services.append_chunk(principal, upload, part, offset, request.stream, checksum)
            db.session.commit()
        if result.refused is not None:
            raise result.refused
        return Response(status=204, headers={"Upload-Offset": str(upload.upload_offset), **_expires(upload)})

    @require()
    @uploads_blp.response(204, description="The upload and its bytes are gone", headers=_TUS)
    @uploads_blp.alt_response(404, description="not_found")
    def delete(self, upload_id: str):
        """Abandon an upload (tus termination)."""
        with services.locked_upload(current(), upload_id) as (upload, _part):
            services.terminate_upload(upload)
            db.session.commit()
        return Response(status=204)
