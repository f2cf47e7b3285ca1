"""Unbound extensions; :func:`server.create_app` wires them with ``init_app``."""
from __future__ import annotations

import enum
from datetime import datetime, timezone

import marshmallow as ma
import sqlalchemy as sa
from flask_compress import Compress
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api as _SmorestApi
from flask_smorest import Blueprint as _SmorestBlueprint
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, registry
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, is_json_request

from server.errors import ErrorSchema, http_exception_response
from server.jsontext import parse_json
from server.ratelimits import client_key
from sync.records import ROW_ID

# Stable constraint names so Alembic migrations read the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC and always read back as an aware UTC datetime.

    SQLite keeps no zone, PostgreSQL ``timestamptz`` keeps an offset; this type makes both give
    the same answer, and refuses naive datetimes so local time can never sneak in.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    @staticmethod
    def _in_utc(value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc)

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = self._in_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect):
        """On SQLite, :meth:`process_bind_param` and the dialect's own formatting in one step.

        Three timestamps go into every stored check; the two-step path costs ~2 µs each, this
        ~1.1 µs. The text is exactly what SQLAlchemy's SQLite ``DATETIME`` writes
        (``2026-11-24 03:25:07.000000``; ``tests/test_database.py`` holds them equal), so stored
        values keep sorting and comparing as text the same way."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        in_utc = self._in_utc

        def process(value):
            # In UTC, "+00:00" is the only thing after the microseconds: cut rather than replace().
            return None if value is None else in_utc(value).isoformat(" ", "microseconds")[:-6]

        return process

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def value_enum(cls: type[enum.Enum], length: int = 32) -> sa.Enum:
    """A Python enum stored by its values (``"reported"``, not ``"REPORTED"``) in a plain string
    column with no database enum type, so a new member needs no schema change on PostgreSQL."""
    return sa.Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class Api(_SmorestApi):
    """flask-smorest's Api, answering every HTTP error in the catalogue's envelope."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        from flask import request

        if request.path == "/manage" or request.path.startswith("/manage/"):
            # A dashboard address that matches no page (a mistyped or stale link): a page, not JSON.
            from server.manage.pages import http_error_page

            return http_error_page(error)
        return http_exception_response(error)


class JsonParser(FlaskParser):
    """webargs' Flask parser, reading JSON bodies with :func:`server.jsontext.parse_json`:
    the standard library's values, read faster (a push's body ~1.4×), lone surrogates made text."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return webargs_core.missing
        return parse_json(req.get_data(cache=True))


class Blueprint(_SmorestBlueprint):
    """flask-smorest's Blueprint with the :class:`JsonParser`; every API blueprint is one."""

    ARGUMENTS_PARSER = JsonParser()

    def arguments(self, schema, *args, **kwargs):
        """As flask-smorest's, with a schema class made into its instance once, here: given the
        class, webargs builds a new instance on every request (~55 µs for a push's envelope,
        nearly half of reading it). Loading does not change a schema, so one serves all.

        Its row ids are bounded on the way (:func:`bound_row_ids`)."""
        return super().arguments(bound_row_ids(schema() if isinstance(schema, type) else schema), *args, **kwargs)


def bound_row_ids(schema: ma.Schema) -> ma.Schema:
    """Bound every integer a request names a row by — a field ``…_id``, or each of ``…_ids`` —
    to 1‥``ROW_ID_MAX`` (nested schemas too), unless the field has a range of its own.

    Ids are PostgreSQL ``integer`` columns: a larger number names no row, and cannot even be
    compared with one (PostgreSQL: ``integer out of range``; SQLite past 64 bits). Bounded here,
    it is a 422 ``validation_failed`` naming the field, on both databases, before any query —
    also before a streamed export, which could no longer answer with an error. The bound is
    documented in the OpenAPI document. Changes ``schema`` in place; returns it."""
    for name, field in schema.fields.items():
        _bound_row_id(name, field)
    return schema


def _bound_row_id(name: str, field: ma.fields.Field) -> None:
    if isinstance(field, ma.fields.Nested) and isinstance(field.schema, ma.Schema):
        bound_row_ids(field.schema)
    elif isinstance(field, ma.fields.List):
        _bound_row_id(name.removesuffix("s"), field.inner)
    elif (
        isinstance(field, ma.fields.Integer) and name.endswith("_id") and not field.dump_only
        and not any(isinstance(v, ma.validate.Range) for v in field.validators)
    ):
        field.validators.append(ROW_ID)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON (``request.get_json``) reading as the API's blueprints do; Chinese written as itself."""

    ensure_ascii = False

    def loads(self, s, **kwargs):
        return parse_json(s) if not kwargs else super().loads(s, **kwargs)


# expire_on_commit=False: a view commits before its response is serialised; re-reading every
# attribute after the commit would double the queries for nothing.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()

# Only the routes that name a limit are limited (the public report pages and endpoints); the
# limiter knows a client only by a keyed hash of its address (server/ratelimits.py).
limiter = Limiter(key_func=client_key)

# Responses are compressed when the client accepts it: a sync answer shrinks ~5x on a metered link.
compress = Compress()

COMPRESSION_DEFAULTS = {
    "COMPRESS_ALGORITHM": ["gzip"],  # every phone and browser speaks it; no optional native modules
    "COMPRESS_MIMETYPES": ["application/json", "text/html", "text/css", "text/plain", "image/svg+xml"],
    "COMPRESS_LEVEL": 6,
    "COMPRESS_MIN_SIZE": 500,
    "COMPRESS_STREAMS": False,  # files (photos, PDFs) are sent as they are
}
