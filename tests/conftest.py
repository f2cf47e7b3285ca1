"""Test fixtures: one app per session on a migrated database, emptied after every test.

The database is SQLite in a temporary file, or the PostgreSQL server named by
``ZICHA_TEST_DATABASE_URL`` (``tests/run-all.sh`` starts one and runs the suite on both).
The schema always comes from the Alembic migrations, applied from empty — never create_all —
so what is tested is what ships. Time comes from a FrozenClock; no test reads the wall clock.
"""
from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from server import create_app
from server.clock import FrozenClock
from server.extensions import db
from werkzeug.serving import make_server

# 10:00 on Monday 2026-11-23 in Shanghai.
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing():
    # Argon2 at production cost takes ~50 ms a hash; tests create hundreds of users.
    from server.accounts import passwords

    original = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = original


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    return os.environ.get("ZICHA_TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'zicha-test.db'}"


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    from flask_migrate import upgrade

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "CLOCK": FrozenClock(T0),
            "PUBLIC_BASE_URL": "https://zicha.example.cn",
            # Photos never land in ./instance from a test run; photo_dirs gives a test its own.
            "PHOTO_STORAGE": "local",
            "PHOTO_DIR": str(tmp_path_factory.mktemp("photos")),
            "PHOTO_TEMP_DIR": str(tmp_path_factory.mktemp("photo-tmp")),
        }
    )
    with app.app_context():
        if database_url.startswith("postgresql"):
            # A previous run may have left tables behind; start from an empty schema.
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()  # close pooled connections before the interpreter does


@pytest.fixture
def clock(app) -> FrozenClock:
    clock = app.extensions["zicha.clock"]
    clock.set(T0)
    return clock


@pytest.fixture(autouse=True)
def _empty_database(request):
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    # The rows go, and ids restart: caches of immutable rows keyed by id must go with them.
    app.extensions.pop("zicha.version_payloads", None)
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in db.metadata.sorted_tables]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                conn.execute(sa.text("UPDATE checklists SET current_version_id = NULL"))
                for name in reversed(tables):
                    conn.execute(sa.text(f"DELETE FROM {name}"))


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request):
    """Every test starts with no request counted (the limiter's memory outlives a test)."""
    if "app" in request.fixturenames:
        from server.extensions import limiter

        request.getfixturevalue("app")
        limiter.reset()


@pytest.fixture
def ctx(app, clock):
    """An application context for calling services directly."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app, clock):
    return app.test_client()


@pytest.fixture
def world(app, clock):
    """Two enterprises, each fully set up, with a signed-in token per role (see tests/builders.py)."""
    from tests.builders import build_world

    # Set up a week earlier, as a real enterprise would be: checks made "yesterday" must not
    # predate the checklist version they answer.
    clock.set(T0 - timedelta(days=7))
    with app.app_context():
        result = build_world()
        db.session.remove()
    clock.set(T0)
    return result


@pytest.fixture
def photo_dirs(app, tmp_path, monkeypatch):
    """Fresh photo storage and temp folders for this test (so "nothing was stored" can be checked
    by listing real folders); the app's config points at them for the test's duration."""
    dirs = {"PHOTO_DIR": tmp_path / "photos", "PHOTO_TEMP_DIR": tmp_path / "photo-tmp"}
    for key, path in dirs.items():
        monkeypatch.setitem(app.config, key, str(path))
    monkeypatch.setitem(app.config, "PHOTO_STORAGE", "local")
    return dirs


@pytest.fixture
def live_server(app, clock):
    """The app on a real threaded HTTP server on 127.0.0.1, for this test (browsers, tus and
    sync clients talk to it as a phone would)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
