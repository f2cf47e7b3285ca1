"""Bulk rows for the benchmarks' synthetic enterprises: Core inserts in chunks, on the session's
connection (so they stay in its transaction), optionally giving back the new ids in order."""
from __future__ import annotations

import sqlalchemy as sa

from server.extensions import db


def insert_rows(table: sa.Table, rows: list[dict], returning: bool = False, chunk: int = 2000) -> list[int]:
    ids: list[int] = []
    connection = db.session.connection()
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        if returning:
            ids += connection.execute(sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), part).scalars().all()
        else:
            connection.execute(sa.insert(table), part)
    return ids
