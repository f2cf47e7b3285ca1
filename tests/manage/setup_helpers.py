"""Small helpers shared by the set-up pages' tests (``test_setup_*.py``)."""
from __future__ import annotations

import sqlalchemy as sa

from server.extensions import db


def html(response) -> str:
    return response.get_data(as_text=True)


def load(app, model, ident):
    """One row as it is stored now (detached: read its columns after the session is gone)."""
    with app.app_context():
        obj = db.session.get(model, ident)
        db.session.expunge_all()
        return obj


def all_of(app, model, *where) -> list:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(model).where(*where).order_by(model.id)))
        db.session.expunge_all()
        return rows


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))
