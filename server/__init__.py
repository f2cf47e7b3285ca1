"""Zicha server: the Flask application factory."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from server import config as config_module
from server import manage
from server.accesslog import hide_reporters_in_dev_server_log
from server.clock import SystemClock
from server.database import configure_engine, engine_options
from server.errors import register_error_handlers
from server.guards import RowIdConverter, register_guards
from server.extensions import COMPRESSION_DEFAULTS, Api, JSONProvider, compress, db, limiter, migrate
from server.ratelimits import DayKeys
from sync.protocol import SyncCheckRecordSchema, SyncHazardRecordSchema

MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build an app: settings from the environment, then ``overrides`` (tests, tools).

    ``overrides`` may carry ``CLOCK`` (a :class:`server.clock.Clock`) to replace the wall clock.
    """
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(config_module.from_environment())
    if overrides:
        app.config.update(overrides)
    config_module.check_production_safety(app.config)
    app.json = JSONProvider(app)
    app.extensions["zicha.clock"] = app.config.get("CLOCK") or SystemClock()
    app.url_map.converters["int"] = RowIdConverter  # before any route is added

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)

    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["SQLALCHEMY_DATABASE_URI"]))
    db.init_app(app)
    configure_engine(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    for key, value in COMPRESSION_DEFAULTS.items():
        app.config.setdefault(key, value)
    compress.init_app(app)
    limiter.init_app(app)
    app.extensions["zicha.client_keys"] = DayKeys.for_config(app.config)
    hide_reporters_in_dev_server_log()
    # flask-smorest keeps one OpenAPI spec per Api instance, so each app gets its own.
    api = Api(app, spec_kwargs={"info": {"description": _API_DESCRIPTION}})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    # A push's records are raw values in PushSchema (so one bad record is refused alone): their
    # two shapes are documented here, by name.
    api.spec.components.schema("SyncCheckRecord", schema=SyncCheckRecordSchema)
    api.spec.components.schema("SyncHazardRecord", schema=SyncHazardRecordSchema)
    app.extensions["zicha.api"] = api
    register_error_handlers(app)
    register_guards(app)
    _register_blueprints(app, api)
    manage.init_app(app, api)
    _register_cli(app)
    return app


_API_DESCRIPTION = (
    "Zicha (自查) safety self-check API. Every error is "
    '`{"error": {"code", "message", "details"}}` with a stable snake_case `code`; '
    "messages follow Accept-Language (zh default, en). Times are ISO 8601 with offsets, stored UTC."
)


def _register_blueprints(app: Flask, api: Api) -> None:
    from server.accounts.views import blp as accounts_blp
    from server.alerts.views import blp as alerts_blp
    from server.changes.views import blp as changes_blp
    from server.checklists.views import blp as checklists_blp
    from server.checks.views import blp as checks_blp
    from server.enterprises.views import blp as enterprises_blp
    from server.hazards.views import blp as hazards_blp
    from server.misses.views import blp as misses_blp
    from server.notifications.views import blp as notifications_blp
    from server.photos.views import blp as photos_blp
    from server.photos.views import uploads_blp
    from server.posts.views import blp as posts_blp
    from server.public.views import blp as public_blp
    from server.push.views import blp as push_blp
    from server.reports.views import blp as reports_blp
    from server.reports.pages import blp as report_pages_blp
    from server.reports.views import public_blp as public_reports_blp
    from server.scan.views import blp as scan_blp
    from server.schedules.views import blp as schedules_blp

    for blp in (accounts_blp, enterprises_blp, posts_blp, checklists_blp, schedules_blp, scan_blp, checks_blp, push_blp, changes_blp, photos_blp, uploads_blp, misses_blp, notifications_blp, alerts_blp, hazards_blp, reports_blp, public_reports_blp):
        api.register_blueprint(blp, url_prefix=f"/api/v1{blp.url_prefix or ''}")
    api.register_blueprint(public_blp)
    api.register_blueprint(report_pages_blp)


def _register_cli(app: Flask) -> None:
    from server.cli import register

    register(app)
