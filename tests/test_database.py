"""The database plumbing's fast paths write exactly what the slow ones would."""
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from server.jsontext import json_text
from server.extensions import UTCDateTime
from sync.periods import Frequency

MOMENTS = [
    datetime(2026, 11, 24, 3, 25, 7, tzinfo=timezone.utc),
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=8))),
    datetime(2017, 1, 1, 0, 0, 0, 1, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    datetime(1970, 1, 1, tzinfo=timezone.utc),
    datetime(9999, 12, 31, 15, 0, tzinfo=timezone(timedelta(hours=8))),
    datetime(1000, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=8))),
]


def test_utc_datetime_on_sqlite_writes_the_text_sqlalchemy_would():
    dialect = sqlite.dialect()
    fast = UTCDateTime().bind_processor(dialect)
    # The two steps it fuses: the decorator's own conversion, then SQLite DATETIME's formatting.
    slow_format = sa.DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect)
    for moment in MOMENTS:
        expected = slow_format(UTCDateTime().process_bind_param(moment, dialect))
        assert fast(moment) == expected
    assert fast(MOMENTS[0]) == "2026-11-24 03:25:07.000000"
    assert fast(None) is None
    with pytest.raises(ValueError, match="naive"):
        fast(datetime(2026, 11, 24, 3, 25))


def test_utc_datetime_round_trips(app):
    from server.extensions import db

    with app.app_context():
        for moment in MOMENTS[:4]:
            back = db.session.execute(sa.select(sa.literal(moment, UTCDateTime()).label("t"))).scalar_one()
            assert back == moment and back.tzinfo == timezone.utc


@pytest.mark.parametrize(
    "value",
    [
        [{"item_id": "exit", "value": True, "ok": True, "note": "", "photos": []}],
        [{"item_id": "gas", "value": 15.7, "ok": False, "note": "超标 0.3%", "photos": ["a" * 64]}],
        {"1": "one", "nested": {"list": [1, 2.5, -0.0, 1e-07, 1e16, None]}},
        [10**30, -(10**25)],  # wider than 64 bits: written by the standard library
        "中文 \"quoted\" \\ \n\t",
        [],
    ],
)
def test_json_columns_read_back_what_was_written(value):
    text = json_text(value)
    assert json.loads(text) == value
    if isinstance(value, list) and value and isinstance(value[0], dict) and "note" in value[0]:
        assert "\\u" not in text  # Chinese is stored as itself


def test_json_columns_take_integer_keys_as_the_standard_library_does():
    assert json.loads(json_text({1: "a", 2: ["b"]})) == json.loads(json.dumps({1: "a", 2: ["b"]}))


# --------------------------------------------------------------------------- insert_new

_SCRATCH = sa.MetaData()
_ROWS = sa.Table(
    "scratch_insert_new", _SCRATCH,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("at", UTCDateTime()),
    sa.Column("doc", sa.JSON),
    sa.Column("kind", sa.Enum(Frequency, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])),
    sa.Column("ok", sa.Boolean),
    sa.Column("n", sa.BigInteger),
    sa.Column("tag", sa.String(8), default="x"),
)


@pytest.fixture
def scratch(app):
    from server.extensions import db

    with app.app_context():
        _SCRATCH.create_all(db.engine)
        try:
            yield db
        finally:
            db.session.rollback()
            _SCRATCH.drop_all(db.engine)


def _row(i: int, **changes) -> dict:
    row = {
        "id": uuid.UUID(int=i + 1), "at": MOMENTS[i % len(MOMENTS)], "doc": [{"note": f"第{i}项", "value": 1.5 * i}],
        "kind": list(Frequency)[i % len(Frequency)], "ok": i % 2 == 0, "n": 2**40 + i, "tag": "t",
    }
    row.update(changes)
    return row


def test_insert_new_stores_what_a_core_insert_would_and_says_which_went_in(scratch):
    from server.database import insert_new

    db = scratch
    rows = [_row(i) for i in range(5)]
    assert insert_new(_ROWS, rows[:3]) == {r["id"] for r in rows[:3]}
    # Two already taken (one with other content, which stays as it was), two new.
    again = [_row(1, n=7), rows[2], rows[3], rows[4]]
    assert insert_new(_ROWS, again) == {rows[3]["id"], rows[4]["id"]}
    assert insert_new(_ROWS, []) == set()
    stored = {r.id: r._asdict() for r in db.session.execute(sa.select(_ROWS))}
    assert stored == {r["id"]: r for r in rows}  # typed values read back exactly, the first of id 2 kept

    # Byte for byte what SQLAlchemy's own INSERT writes.
    insert_new(_ROWS, [_row(11)])
    db.session.execute(sa.insert(_ROWS), [_row(11, id=uuid.UUID(int=99))])
    by_new, by_core = (
        db.session.execute(
            sa.select(sa.cast(_ROWS.c.at, sa.String), sa.cast(_ROWS.c.doc, sa.String), _ROWS.c.kind, _ROWS.c.tag).where(_ROWS.c.id == i)
        ).one()
        for i in (uuid.UUID(int=12), uuid.UUID(int=99))
    )
    assert by_new == by_core


def test_insert_new_refuses_rows_without_a_column_that_has_a_python_default(scratch, database_url):
    """SQLAlchemy would fill it in; the SQLite path sends only what the rows hold, so it says so."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the SQLite path")
    from server.database import insert_new

    row = _row(0)
    del row["tag"]
    with pytest.raises(ValueError, match="tag"):
        insert_new(_ROWS, [row])


def test_insert_new_on_a_locked_database_raises_sqlalchemys_operational_error(scratch, database_url):
    """A locked SQLite file must reach the error handler as the 503 it is, not as a driver error."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    import sqlite3

    from server.database import insert_new

    db = scratch
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        db.session.execute(sa.text("PRAGMA busy_timeout=0"))
        with pytest.raises(sa.exc.OperationalError, match="locked"):
            insert_new(_ROWS, [_row(0)])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        db.session.rollback()
        db.session.execute(sa.text("PRAGMA busy_timeout=10000"))


def test_insert_new_is_seen_by_cursor_event_listeners(scratch):
    from server.database import insert_new

    db = scratch
    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(("before", statement.split()[0], len(parameters) if executemany else 1))

    def after(conn, cursor, statement, parameters, context, executemany):
        seen.append(("after", statement.split()[0]))

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        insert_new(_ROWS, [_row(0), _row(1), _row(2)])
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)
    inserts = [s for s in seen if s[1] == "INSERT"]
    assert inserts[0][0] == "before" and inserts[-1] == ("after", "INSERT")
    if db.session.connection().dialect.name == "sqlite":
        assert inserts == [("before", "INSERT", 3), ("after", "INSERT")]  # the three rows as one executemany
