"""The database plumbing's fast paths write exactly what the slow ones would."""
import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from server.jsontext import json_text
from server.extensions import UTCDateTime

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
