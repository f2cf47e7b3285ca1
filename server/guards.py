"""Request guards that hold for every route, before any view runs."""
from __future__ import annotations

from flask import Flask, request

from server.errors import ZichaError


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def refuse_nul_characters() -> None:
    """Refuse NUL anywhere in the path, the query or a JSON body.

    PostgreSQL cannot store NUL in text (SQLite can), so without this guard the same input
    would be a clean 4xx on one database and a 500 on the other. No legitimate input has one.
    """
    if "\x00" in request.path or any(_has_nul(k) or _has_nul(v) for k, v in request.args.items(multi=True)):
        raise ZichaError("bad_request", {"_": ["NUL characters are not allowed"]})
    if request.content_length and request.is_json:
        body = request.get_json(silent=True)  # cached: the view's parser reads the same bytes
        if _has_nul(body):
            raise ZichaError("bad_request", {"_": ["NUL characters are not allowed"]})


def register_guards(app: Flask) -> None:
    app.before_request(refuse_nul_characters)
