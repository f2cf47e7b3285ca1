"""The ceiling for push ingest: a bare Flask endpoint inserting the same rows with executemany.

``POST /bare/push`` takes the same (gzip) body as ``/api/v1/sync/push``, parses it, maps each
record onto a row of the same columns the ``checks`` table has, and each photo its answers name
onto a row of ``check_photos`` (the check's photo slots, which a real push writes in the same
transaction), and inserts them with two ``sqlite3`` ``executemany`` into ``bare_checks`` and
``bare_check_photos`` (same SQLite file, same pragmas as the server), then answers one short
result per record. No validation, no auth, no marshmallow, no ORM: what the real push costs
above this is the cost of Zicha's rules.

The bare tables have the shape of ``checks`` and ``check_photos`` — their primary keys and
indexes, copied from the server's own table definitions — but no foreign keys (their ids are
placeholders). A table is its keys and indexes: rows written without them cannot be found again
by period, post, user or photo, and every index entry is a page the commit must write. Two
cheaper readings are kept to be read side by side with earlier figures: ``POST
/bare/push-checks`` writes the checks rows alone (no photo slots: what the figures before the
README's "same rows" line compared with), and ``POST /bare/push-heap`` writes them into
``bare_heap``, a table with no key and no index at all (the earliest figures).

Serve it like the server: ``gunicorn --workers N --pythonpath bench bare_push_app:app``.
"""
from __future__ import annotations

import gc
import gzip
import json
import os
import sqlite3
import threading
from datetime import datetime, timezone

from flask import Flask, jsonify, request

from server.database import sqlite_pragmas

COLUMNS = (
    "id", "enterprise_id", "schedule_id", "post_id", "checklist_version_id", "user_id", "device_id", "device_seq",
    "frequency", "period_key", "performed_at", "device_time", "received_at", "time_quality", "flags", "ok",
    "failed_count", "answers", "note", "content_hash", "status", "follow_up",
)
INSERT_SLOT = "INSERT INTO bare_check_photos (check_id, sha256, enterprise_id) VALUES (?, ?, ?)"
HEAP = f"CREATE TABLE IF NOT EXISTS bare_heap ({', '.join(COLUMNS)})"


def _insert(table: str) -> str:
    return f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


def _shaped_like(model) -> list[str]:
    """DDL for ``bare_<name>``: the server table's (``model``, an ``sa.Table``) columns, key and
    indexes, no foreign keys."""
    import sqlalchemy as sa
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    metadata = sa.MetaData()
    table = sa.Table(
        f"bare_{model.name}", metadata,
        *(sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable) for c in model.columns),
    )
    dialect = sqlite.dialect()
    for index in model.indexes:
        where = index.dialect_options["sqlite"]["where"]  # a partial index stays partial
        sa.Index(
            index.name.replace(f"ix_{model.name}_", f"ix_bare_{model.name}_"), *(table.c[c.name] for c in index.columns),
            sqlite_where=None if where is None else sa.text(str(where.compile(dialect=dialect, compile_kwargs={"include_table": False}))),
        )
    create = str(CreateTable(table).compile(dialect=dialect)).replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1)
    indexes = [str(CreateIndex(i).compile(dialect=dialect)).replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1) for i in table.indexes]
    return [create, *indexes]

_local = threading.local()


def _connection(path: str) -> sqlite3.Connection:
    con = getattr(_local, "con", None)
    if con is None:
        con = sqlite3.connect(path, isolation_level=None)
        sqlite_pragmas(con, None)
        from server.checks.models import Check, CheckPhoto

        for ddl in [HEAP, *_shaped_like(Check.__table__), *_shaped_like(CheckPhoto.__table__)]:
            con.execute(ddl)
        _local.con = con
        _local.posts = dict(con.execute("SELECT id, post_id FROM schedules"))
    return con


def create_bare_app(database_url: str | None = None) -> Flask:
    app = Flask(__name__)
    path = (database_url or os.environ["ZICHA_DATABASE_URL"]).removeprefix("sqlite:///")

    @app.post("/bare/push", defaults={"table": "bare_checks", "slots": True})
    @app.post("/bare/push-checks", defaults={"table": "bare_checks", "slots": False})
    @app.post("/bare/push-heap", defaults={"table": "bare_heap", "slots": False})
    def bare_push(table, slots):
        body = request.get_data()
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        envelope = json.loads(body)
        con = _connection(path)
        posts, now = _local.posts, datetime.now(timezone.utc).isoformat()
        # The values a real push would store where they decide index placement (post, period,
        # received time); placeholders elsewhere.
        rows = [
            (
                r["id"], 1, r["schedule_id"], posts.get(r["schedule_id"], 1), r["checklist_version_id"], 1, 1, r["device_seq"],
                "daily", r["performed_at"][:10], r["performed_at"], r["performed_at"], now, "device", "[]", True, 0,
                json.dumps(r["answers"], ensure_ascii=False), r.get("note", ""), "", "complete", False,
            )
            for r in envelope["records"]
        ]
        con.execute("BEGIN")
        con.executemany(_insert(table), rows)
        if slots:
            con.executemany(INSERT_SLOT, [
                (r["id"], digest, 1)
                for r in envelope["records"]
                for digest in dict.fromkeys(d for a in r["answers"] for d in a.get("photos", ()))
            ])
        con.execute("COMMIT")
        return jsonify(results=[{"index": i, "id": r[0], "result": "accepted"} for i, r in enumerate(rows)])

    return app


app = None
if "ZICHA_DATABASE_URL" in os.environ:  # served by gunicorn
    app = create_bare_app()
    gc.freeze()  # as server/wsgi.py does: the comparison is of the endpoints, not of their garbage collection
