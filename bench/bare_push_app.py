"""The ceiling for push ingest: a bare Flask endpoint inserting the same rows with executemany.

``POST /bare/push`` takes the same (gzip) body as ``/api/v1/sync/push``, parses it, maps each
record onto a row of the same columns the ``checks`` table has, and inserts them all with one
``sqlite3`` ``executemany`` into ``bare_checks`` (same SQLite file, same pragmas as the server),
then answers one short result per record. No validation, no auth, no marshmallow, no ORM: what
the real push costs above this is the cost of Zicha's rules.

``bare_checks`` has the shape of ``checks`` — its primary key and its four indexes, copied from
the server's own table definition — but no foreign keys (its ids are placeholders). A table is
its keys and indexes: rows written without them cannot be found again by period, post or
user, and every index entry is a page the commit must write. ``POST /bare/push-heap`` inserts
the same rows into ``bare_heap``, a table with no key and no index at all — the figure earlier
runs compared against, kept so both can be read side by side.

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
HEAP = f"CREATE TABLE IF NOT EXISTS bare_heap ({', '.join(COLUMNS)})"


def _insert(table: str) -> str:
    return f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


def _shaped_like_checks() -> list[str]:
    """DDL for ``bare_checks``: the ``checks`` table's columns, key and indexes, no foreign keys."""
    import sqlalchemy as sa
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    from server.checks.models import Check

    metadata = sa.MetaData()
    table = sa.Table(
        "bare_checks", metadata,
        *(sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable) for c in Check.__table__.columns),
    )
    for index in Check.__table__.indexes:
        sa.Index(index.name.replace("ix_checks_", "ix_bare_checks_"), *(table.c[c.name] for c in index.columns))
    dialect = sqlite.dialect()
    create = str(CreateTable(table).compile(dialect=dialect)).replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1)
    indexes = [str(CreateIndex(i).compile(dialect=dialect)).replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1) for i in table.indexes]
    return [create, *indexes]

_local = threading.local()


def _connection(path: str) -> sqlite3.Connection:
    con = getattr(_local, "con", None)
    if con is None:
        con = sqlite3.connect(path, isolation_level=None)
        sqlite_pragmas(con, None)
        for ddl in [HEAP, *_shaped_like_checks()]:
            con.execute(ddl)
        _local.con = con
        _local.posts = dict(con.execute("SELECT id, post_id FROM schedules"))
    return con


def create_bare_app(database_url: str | None = None) -> Flask:
    app = Flask(__name__)
    path = (database_url or os.environ["ZICHA_DATABASE_URL"]).removeprefix("sqlite:///")

    @app.post("/bare/push", defaults={"table": "bare_checks"})
    @app.post("/bare/push-heap", defaults={"table": "bare_heap"})
    def bare_push(table):
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
        con.execute("COMMIT")
        return jsonify(results=[{"index": i, "id": r[0], "result": "accepted"} for i, r in enumerate(rows)])

    return app


app = create_bare_app() if "ZICHA_DATABASE_URL" in os.environ else None
gc.freeze()  # as server/wsgi.py does: the comparison is of the endpoints, not of their garbage collection
