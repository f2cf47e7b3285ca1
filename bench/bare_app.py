"""The framework's ceiling: a bare Flask + Flask-SQLAlchemy app doing ONE primary-key read.

``GET /bare/<int:id>`` loads one row of the ``posts`` table by primary key and returns a few
fields as JSON. No flask-smorest, no authentication, no marshmallow: whatever the scan endpoint
costs above this is the cost of Zicha's own code. It opens the same SQLite file as the server
(``ZICHA_DATABASE_URL``), with the same pragmas and the same engine options, so the database
plumbing is identical on both sides of the comparison.

Serve it like the server: ``gunicorn --workers N --pythonpath bench bare_app:app``.
"""
from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, abort, jsonify
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from server.database import engine_options, sqlite_pragmas


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


class Post(db.Model):
    """A tiny mapping of the few ``posts`` columns the route returns."""

    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    location: Mapped[str]
    risk_level: Mapped[str]
    active: Mapped[bool]


def create_bare_app(database_url: str | None = None) -> Flask:
    app = Flask(__name__)
    app.json.ensure_ascii = False  # as the server: Chinese text stays UTF-8, not \u escapes
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url or os.environ["ZICHA_DATABASE_URL"]
    # The same engine options and pragmas as the server, taken from it.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            sa.event.listen(db.engine, "connect", sqlite_pragmas)

    @app.get("/bare/<int:id>")
    def bare(id: int):
        post = db.session.get(Post, id)
        if post is None:
            abort(404)
        return jsonify(id=post.id, name=post.name, location=post.location, risk_level=post.risk_level, active=post.active)

    return app


app = create_bare_app() if os.environ.get("ZICHA_DATABASE_URL") else None
