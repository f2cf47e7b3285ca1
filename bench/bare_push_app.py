"""The ceiling for push ingest: a bare Flask endpoint inserting the same rows with executemany.

``POST /bare/push`` takes the same (gzip) body as ``/api/v1/sync/push``, parses it, maps each
record onto a row of the same columns the ``checks`` table has, and inserts them all with one
``sqlite3`` ``executemany`` into ``bare_checks`` (same SQLite file, same pragmas as the server),
then answers one short result per record. No validation, no auth, no marshmallow, no ORM: what
the real push costs above this is the cost of Zicha's rules.

Serve it like the server: ``gunicorn --workers N --pythonpath bench bare_push_app:app``.
"""
from __future__ import annotations

import gzip
import json
import os
import sqlite3
import threading

from flask import Flask, jsonify, request

from server.database import sqlite_pragmas

COLUMNS = (
    "id", "enterprise_id", "schedule_id", "post_id", "checklist_version_id", "user_id", "device_id", "device_seq",
    "frequency", "period_key", "performed_at", "device_time", "received_at", "time_quality", "flags", "ok",
    "failed_count", "answers", "note", "content_hash", "status",
)
TABLE = f"CREATE TABLE IF NOT EXISTS bare_checks ({', '.join(COLUMNS)})"
INSERT = f"INSERT INTO bare_checks ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"

_local = threading.local()


def _connection(path: str) -> sqlite3.Connection:
    con = getattr(_local, "con", None)
    if con is None:
        con = sqlite3.connect(path, isolation_level=None)
        sqlite_pragmas(con, None)
        con.execute(TABLE)
        _local.con = con
    return con


def create_bare_app(database_url: str | None = None) -> Flask:
    app = Flask(__name__)
    path = (database_url or os.environ["ZICHA_DATABASE_URL"]).removeprefix("sqlite:///")

    @app.post("/bare/push")
    def bare_push():
        body = request.get_data()
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        envelope = json.loads(body)
        rows = [
            (
                r["id"], 1, r["schedule_id"], 1, r["checklist_version_id"], 1, 1, r["device_seq"], "daily", "2026-11-23",
                r["performed_at"], r["performed_at"], r["performed_at"], "device", "[]", True, 0,
                json.dumps(r["answers"], ensure_ascii=False), r.get("note", ""), "", "complete",
            )
            for r in envelope["records"]
        ]
        con = _connection(path)
        con.execute("BEGIN")
        con.executemany(INSERT, rows)
        con.execute("COMMIT")
        return jsonify(results=[{"index": i, "id": r[0], "result": "accepted"} for i, r in enumerate(rows)])

    return app


app = create_bare_app() if "ZICHA_DATABASE_URL" in os.environ else None
