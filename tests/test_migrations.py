"""The migrations are the schema: applied from empty they must match the models exactly."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from server.extensions import db


def test_models_match_migrations(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_sync_package_imports_nothing_from_server():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[1] / "sync"
    offenders = [p.name for p in root.rglob("*.py") if re.search(r"^\s*(from|import)\s+server\b", p.read_text(), re.M)]
    assert offenders == []
