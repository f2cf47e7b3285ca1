"""Request guards that hold for every route, before any view runs."""
from __future__ import annotations

import io
import zlib

from flask import Flask, current_app, request
from werkzeug.routing import IntegerConverter

from server.errors import ZichaError
from sync.records import ROW_ID_MAX


def refuse_nul_characters() -> None:
    """Refuse NUL anywhere in the path, the query or a JSON body.

    PostgreSQL cannot store NUL in text (SQLite can), so without this guard the same input
    would be a clean 4xx on one database and a 500 on the other. No legitimate input has one.
    """
    if "\x00" in request.path or any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
        raise ZichaError("bad_request", {"_": ["NUL characters are not allowed"]})
    # JSON cannot carry a raw NUL (control characters are invalid in its strings), only the
    # escape, so a byte search finds it anywhere in the body without walking the parsed tree.
    if request.content_length and request.is_json and b"\\u0000" in request.get_data(cache=True):
        raise ZichaError("bad_request", {"_": ["NUL characters are not allowed"]})


def decode_gzip_body() -> None:
    """Accept request bodies sent with ``Content-Encoding: gzip`` (devices on metered links do).

    The body is inflated once, before anything reads it, to at most ``MAX_CONTENT_LENGTH``
    bytes — a small body that inflates beyond that (a zip bomb) is refused with 413, as is an
    oversized plain body. Broken gzip is a 400. Views then read the plain body as usual.
    """
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if not encoding or encoding == "identity":
        return
    if encoding != "gzip":
        raise ZichaError("unsupported_media_type", {"Content-Encoding": ["only gzip is accepted"]})
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(request.get_data(cache=False), limit + 1)
    except zlib.error:
        raise ZichaError("bad_request", {"Content-Encoding": ["the body is not valid gzip"]}) from None
    if len(body) > limit or inflater.unconsumed_tail:
        raise ZichaError("payload_too_large")
    if not inflater.eof:
        raise ZichaError("bad_request", {"Content-Encoding": ["the gzip body is truncated"]})
    environ = request.environ
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_CONTENT_ENCODING", None)
    for cached in ("stream", "content_length"):  # cached properties; headers read environ live
        request.__dict__.pop(cached, None)


class RowIdConverter(IntegerConverter):
    """``<int:…>`` in every route: a row id, so at most ``ROW_ID_MAX`` (2**31 - 1: ids are
    PostgreSQL ``integer`` columns). A larger number matches no route — 404, as for any id with
    no row — instead of reaching the database, which cannot even compare it (PostgreSQL:
    ``integer out of range``; SQLite past 64 bits). A table keyed by ``bigint`` says so in its
    routes: ``<int(max=…):id>`` with ``INT64_MAX``."""

    def __init__(self, map, *args, max=ROW_ID_MAX, **kwargs):  # noqa: A002 - werkzeug's names
        super().__init__(map, *args, max=max, **kwargs)


def register_guards(app: Flask) -> None:
    app.before_request(decode_gzip_body)
    app.before_request(refuse_nul_characters)
