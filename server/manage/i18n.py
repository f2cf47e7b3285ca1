"""The dashboard's languages (Flask-Babel): Chinese by default, English on request.

Messages are written in English in templates and code (``{{ _("Overview") }}``, ``_("…")``) and
translated to Chinese in a ``messages.po`` next to the pages that use them: every package with
dashboard pages has ``translations/zh/LC_MESSAGES/messages.po``, and all of them are merged into
one catalogue. The ``.po`` files are read directly (compiled in memory once per process), so there
is no compiled ``.mo`` to forget to rebuild; ``tests/manage/test_i18n.py`` fails when a message
in a template has no Chinese.

The language: the one the signed-in user chose (kept in their session and their account), else
the browser's preference between ``zh`` and ``en``, else ``zh``. Dates and times are shown in the
enterprise's zone, never the server's.
"""
from __future__ import annotations

import io
from functools import cached_property
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, g, request, session
from flask_babel import Babel, Domain, get_locale

LANGUAGES = ("zh", "en")
SERVER = Path(__file__).resolve().parents[1]


def catalogue_files() -> list[Path]:
    """Every ``messages.po`` of the dashboard, in a stable order."""
    return sorted(SERVER.glob("*/translations/*/LC_MESSAGES/messages.po"))


class PoDomain(Domain):
    """A Flask-Babel domain that reads every package's ``.po`` and keeps the merge per locale."""

    def __init__(self):
        super().__init__()
        self._merged: dict[str, NullTranslations] = {}

    def get_translations(self):
        locale = str(get_locale() or "zh")
        merged = self._merged.get(locale)
        if merged is None:
            merged = self._merged[locale] = load(locale)
        return merged


def load(locale: str) -> NullTranslations:
    """The merged catalogue of ``locale`` (English is the messages themselves)."""
    merged = Translations()
    for path in catalogue_files():
        if path.parts[-3] != locale:
            continue
        with path.open("rb") as po:
            catalog = read_po(po, locale=locale)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        merged.merge(Translations(compiled))
    return merged


def select_locale() -> str:
    if not request.path.startswith("/manage"):
        return request.accept_languages.best_match(LANGUAGES, default="zh")
    asked = request.args.get("lang")
    if asked in LANGUAGES and request.method == "GET":
        session["lang"] = asked  # the sign-in page's language links
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES, default="zh")


def select_timezone() -> str:
    principal = g.get("principal")
    return principal.timezone if principal is not None else "Asia/Shanghai"


def _zone() -> ZoneInfo:
    return ZoneInfo(select_timezone())


def local_datetime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC timestamp as the enterprise's wall time (``2026-11-24 09:30``); blank for None."""
    if value is None:
        return ""
    return value.astimezone(_zone()).strftime(fmt)


def local_date(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(_zone()).date()
    return value.isoformat()


class _Babel(Babel):
    @cached_property
    def domain_instance(self) -> Domain:
        return PoDomain()


def init_app(app: Flask) -> None:
    _Babel(app, locale_selector=select_locale, timezone_selector=select_timezone, default_locale="zh")
    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["local_time"] = lambda value: local_datetime(value, "%H:%M")
