"""Database plumbing shared by every package: durability pragmas, the commit boundary, tenancy look-ups."""
from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.dialects import postgresql, sqlite

from server.errors import ZichaError
from server.jsontext import json_text
from server.extensions import db

M = TypeVar("M")


def sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers run beside the writer; synchronous=FULL because NORMAL may lose a
    # committed transaction on power loss, and an acknowledged check must never be lost.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def engine_options(database_url: str) -> dict:
    """Engine options per database: a server connection may die between requests (restart,
    failover), so check it on checkout; a SQLite file cannot, and the check would cost a query
    on every request. JSON columns are written by :func:`server.jsontext.json_text` on both."""
    options: dict[str, Any] = {"json_serializer": json_text}
    if not database_url.startswith("sqlite"):
        options["pool_pre_ping"] = True
    return options


def configure_engine(app: Flask) -> None:
    """Attach per-dialect connection settings to the app's engine."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", sqlite_pragmas)


def commits(view):
    """Commit the session when a write view returns; any exception leaves it to be rolled back.

    Services only flush. This decorator is the request's single commit point, so a view either
    stores everything it did or nothing (the session is removed — rolled back — at teardown).
    """

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        result = view(*args, **kwargs)
        db.session.commit()
        return result

    return wrapper


def dialect_insert(table: sa.Table):
    """An ``INSERT`` in the session's dialect, for its ``ON CONFLICT … DO NOTHING``.

    Both databases speak it (SQLite ≥ 3.24, PostgreSQL ≥ 9.5), but SQLAlchemy builds the clause
    per dialect. It is how idempotent writes here survive a concurrent writer: the loser's row
    is skipped instead of failing the transaction. (With psycopg the rowcount of such an insert
    is not reliable; use ``RETURNING`` to learn what went in.)
    """
    module = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return module.insert(table)


def insert_new(table: sa.Table, rows: list[dict], key: str = "id") -> set:
    """Insert each of ``rows`` whose ``key`` is not taken yet; the keys of those that went in.

    ``INSERT … ON CONFLICT (key) DO NOTHING``: a row whose key exists — stored before, or by a
    concurrent request a moment ago — is skipped instead of failing the transaction, and the
    answer says which rows were new. On PostgreSQL that is one multi-row statement with
    ``RETURNING`` (SQLAlchemy Core): one round trip. On SQLite there is no round trip to save,
    only Python: each row is executed on the driver's cursor, its values converted by the
    columns' own bind processors (exactly what SQLAlchemy would send), and the cursor's rowcount
    says whether it went in — ~30 % less time than building, converting and reading back the
    multi-row statement, for the largest write of every sync push. Driver errors are raised as
    SQLAlchemy's (a locked database is still an ``OperationalError``). All rows must carry the
    same keys, including every column with a Python-side default (SQLite raises ``ValueError``
    otherwise). Writes inside the session's transaction; commits nothing.
    """
    if not rows:
        return set()
    connection = db.session.connection()
    dialect = connection.dialect
    if dialect.name != "sqlite":
        statement = postgresql.insert(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
        return set(connection.execute(statement, rows).scalars())
    sql, names, processors = _sqlite_insert_new(dialect, table, tuple(rows[0]), key)
    parameters = [[row[n] if p is None else p(row[n]) for n, p in zip(names, processors)] for row in rows]
    inserted = set()
    cursor = connection.connection.cursor()
    events = connection.dispatch
    # Listeners of SQLAlchemy's cursor events (SQL logs, tests, profilers) see the statement
    # once, as the executemany it amounts to.
    if events.before_cursor_execute:
        events.before_cursor_execute(connection, cursor, sql, parameters, None, True)
    try:
        for row, values in zip(rows, parameters):
            cursor.execute(sql, values)
            if cursor.rowcount == 1:
                inserted.add(row[key])
    except dialect.loaded_dbapi.Error as error:
        raise sa.exc.DBAPIError.instance(sql, parameters, error, dialect.loaded_dbapi.Error, dialect=dialect, ismulti=True) from error
    finally:
        cursor.close()
    if events.after_cursor_execute:
        events.after_cursor_execute(connection, cursor, sql, parameters, None, True)
    return inserted


@functools.lru_cache(maxsize=32)
def _sqlite_insert_new(dialect, table: sa.Table, columns: tuple[str, ...], key: str):
    """The SQL of :func:`insert_new` on SQLite, its parameters' order and their converters."""
    compiled = sqlite.insert(table).on_conflict_do_nothing(index_elements=[key]).compile(dialect=dialect, column_keys=list(columns))
    names = tuple(compiled.positiontup)
    if set(names) != set(columns):
        raise ValueError(f"insert_new: {table.name} would need {sorted(set(names) - set(columns))} too")
    processors = tuple(table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
    return str(compiled), names, processors


def insert_returning_ids(table: sa.Table, rows: list[dict]) -> list[int]:
    """Insert ``rows`` into ``table`` with SQLAlchemy Core and give back their new ids, in the
    rows' order. SQLAlchemy sends them as one multi-row ``INSERT … RETURNING`` when it can pair
    ids with rows: on PostgreSQL by itself, on SQLite thanks to the table's ``insert_sentinel``
    column (without one it falls back to a statement per row). Only flushes."""
    if not rows:
        return []
    return list(db.session.scalars(sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), rows))


IN_CHUNK = 2000  # values per IN (…): well below SQLite's and PostgreSQL's bound-parameter limits


def chunks(values: Sequence, size: int = IN_CHUNK) -> Iterator[Sequence]:
    """``values`` in slices of ``size``, for ``IN (…)`` look-ups over sets of any size."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def page_of(model, query: sa.Select, clauses: list, page: int, page_size: int) -> tuple[list, int]:
    """One page of ``query`` (already ordered) under ``clauses``, and how many rows match in all
    — what every paginated listing answers (flask-smorest puts the total in ``X-Pagination``)."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*clauses))
    rows = db.session.scalars(query.where(*clauses).limit(page_size).offset((page - 1) * page_size))
    return list(rows), total


def one_or_not_found(query: sa.Select, lock: type | None = None) -> Any:
    """The row ``query`` finds (the id, and the caller's visibility rule, in its WHERE), or
    ``not_found`` — the same for a row that does not exist and one the caller may not see.
    ``lock``: the model whose row to hold (``FOR UPDATE OF``) until the transaction ends, so two
    steps at once on one row are taken one after the other and the second sees the first's work."""
    if lock is not None:
        query = query.with_for_update(of=lock)
    row = db.session.scalar(query)
    if row is None:
        raise ZichaError("not_found")
    return row


def get_owned(model: type[M], ident: Any, enterprise_id: int) -> M:
    """Load ``model`` by primary key inside one enterprise, or raise ``not_found``.

    Every id that arrives in a URL goes through here: another tenant's id is indistinguishable
    from an id that does not exist (404, never 403).
    """
    obj = db.session.get(model, ident)
    if obj is None or getattr(obj, "enterprise_id") != enterprise_id:
        raise ZichaError("not_found")
    return obj
