"""Dashboard pages: checklists (检查表), their published versions, and the editor that publishes
a new version.

The same rules as the API (``server/checklists/views.py``): every dashboard role reads
checklists and every version; safety managers and admins create checklists and publish new
versions. A published version never changes: "editing" publishes version n+1 through
:func:`server.checklists.services.publish_version` (the old one is retired and stays readable),
with the items validated by the API's own ``VersionIn``/``ChecklistIn`` — which are
:class:`sync.records.ItemListSchema`, the rules a device checks against offline.

The editor is a plain form, no JavaScript: one block of fields per item (``items-<n>-<field>``),
the current items first and a few blank blocks to add new ones; an "advanced" form takes the
items as JSON instead. A refused publish shows the editor again with what was typed and the
complaints next to the rows they concern; nothing is stored.
"""
from __future__ import annotations

import json
import re

import marshmallow as ma
from flask import request, url_for
from flask_babel import gettext as _

from server.accounts.auth import current
from server.accounts.models import Role
from server.checklists import services
from server.checklists.models import Checklist
from server.checklists.schemas import ChecklistIn, VersionIn
from server.database import commits, get_owned
from server.errors import ZichaError
from server.jsontext import parse_json
from server.manage.pages import HTML, N_, done, error_text, page_blueprint, render
from server.manage.session import signed_in
from server.extensions import db
from sync.records import ItemKind

blp = page_blueprint("manage_checklists", __name__, "/manage/checklists", "checklists and their versions")

_EDITORS = (Role.ADMIN, Role.SAFETY_MANAGER)
BLANK_ROWS = 3

KIND_LABELS = {
    ItemKind.YES_NO.value: N_("Yes / no"),
    ItemKind.NUMBER.value: N_("Number (reading)"),
    ItemKind.CHOICE.value: N_("Choice"),
    ItemKind.TEXT.value: N_("Text"),
}

# --------------------------------------------------------------------------- the editor's rows ⇄ items

_ROW_FIELD = re.compile(r"^items-(\d+)-(\w+)$")
_TEXT_FIELDS = ("id", "label", "label_en", "help")
_NUMBER_FIELDS = ("unit", "min", "max", "valid_min", "valid_max")
# Fields that, when all empty, make a row a blank one (left out, not an error).
_CONTENT_FIELDS = (*_TEXT_FIELDS, *_NUMBER_FIELDS, "options", "max_length")
_FAIL_WORDS = {"fail", "failed", "bad", "x", "✗", "×", "不合格", "异常"}
_OK_WORDS = {"ok", "pass", "✓", "√", "合格", "正常"}


def options_text(options: list[dict] | None) -> str:
    """A choice item's options as the editor shows them: ``value | label | English | fail``."""
    lines = []
    for option in options or []:
        parts = [option["value"], option["label"]]
        if option.get("label_en"):
            parts.append(option["label_en"])
        if option.get("ok") is False:
            parts.append("fail")
        lines.append(" | ".join(parts))
    return "\n".join(lines)


def parse_options(text: str) -> list[dict]:
    """The editor's options text back into options: one a line, ``value | label`` then, in any
    order, an English label and ``fail`` (choosing it fails the item; ``ok`` is the default)."""
    options = []
    for line in text.splitlines():
        parts = [part.strip() for part in line.split("|")]
        if not any(parts):
            continue
        option = {"value": parts[0], "label": parts[1] if len(parts) > 1 and parts[1] else parts[0]}
        for extra in parts[2:]:
            if extra.lower() in _FAIL_WORDS:
                option["ok"] = False
            elif extra.lower() in _OK_WORDS:
                option["ok"] = True
            elif extra:
                option["label_en"] = extra
        options.append(option)
    return options


def row_of(item: dict, order: int) -> dict:
    """A published item as an editor row (every value as the form shows it)."""
    row = {name: "" if item.get(name) is None else str(item[name]) for name in (*_TEXT_FIELDS, "unit")}
    for name in ("min", "max", "valid_min", "valid_max"):
        value = item.get(name)
        row[name] = "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))
    row.update(
        kind=item["kind"],
        required="true" if item.get("required", True) else "false",
        photo_required="true" if item.get("photo_required") else "false",
        expected="false" if item.get("expected") is False else "true",
        options=options_text(item.get("options")),
        max_length=str(item.get("max_length") or ""),
        order=str(order),
        remove="",
        known="true",
    )
    return row


def blank_row(order: str = "") -> dict:
    row = {name: "" for name in _CONTENT_FIELDS}
    row.update(kind=ItemKind.YES_NO.value, required="true", photo_required="false", expected="true", order=order, remove="", known="")
    return row


def rows_of_form(form) -> list[dict]:
    """The editor's rows as posted, in the form's order, each with its form index ``n``
    (each field's last value, so a hidden "false" before a checkbox reads right)."""
    rows: dict[int, dict] = {}
    for key in form:
        match = _ROW_FIELD.match(key)
        if match:
            rows.setdefault(int(match[1]), blank_row() | {"required": "false"})[match[2]] = form.getlist(key)[-1]
    return [dict(row, n=n) for n, row in sorted(rows.items())]


def items_of_rows(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """The items the rows describe — blank rows and rows marked "remove" left out, sorted by
    their order number (rows without one keep their place after the numbered ones) — and the
    row each item came from. Only the fields of the item's kind are taken; numbers stay text
    for the schema to read (and to refuse with its own message)."""
    kept = [row for row in rows if row.get("remove") != "true" and any(row.get(name, "").strip() for name in _CONTENT_FIELDS)]

    def position(indexed):
        index, row = indexed
        try:
            return (0, float(row.get("order", "")), index)
        except ValueError:
            return (1, 0.0, index)

    kept = [row for _index, row in sorted(enumerate(kept), key=position)]
    items = []
    for row in kept:
        item = {name: row.get(name, "").strip() for name in ("id", "kind", "label")}
        for name in ("label_en", "help"):
            if row.get(name, "").strip():
                item[name] = row[name].strip()
        item["required"] = row.get("required") == "true"
        item["photo_required"] = row.get("photo_required") == "true"
        kind = item["kind"]
        if kind == ItemKind.YES_NO.value:
            if row.get("expected") == "false":
                item["expected"] = False  # "yes is ok" is the default, left out as the API's clients do
        elif kind == ItemKind.NUMBER.value:
            for name in _NUMBER_FIELDS:
                if row.get(name, "").strip():
                    item[name] = row[name].strip()
        elif kind == ItemKind.CHOICE.value:
            item["options"] = parse_options(row.get("options", ""))
        elif kind == ItemKind.TEXT.value and row.get("max_length", "").strip():
            item["max_length"] = row["max_length"].strip()
        items.append(item)
    return items, kept


def row_errors(messages, items: list[dict], kept: list[dict]) -> tuple[dict[int, str], list[str]]:
    """The schema's (or the service's) complaints about ``items`` put next to the rows they
    concern (by form index), and those about the list as a whole."""
    per_row: dict[int, list[str]] = {}
    general: list[str] = []
    by_id = {item.get("id"): kept[i]["n"] for i, item in enumerate(items)}
    complaints = messages.get("items", {}) if isinstance(messages, dict) else {}
    if isinstance(complaints, list):
        general.extend(str(c) for c in complaints)
        complaints = {}
    for key, complaint in complaints.items():
        n = kept[key]["n"] if isinstance(key, int) and key < len(kept) else by_id.get(key)
        text = _flatten(complaint)
        if n is None:
            general.append(f"{key}: {text}")
        else:
            per_row.setdefault(n, []).append(text)
    for name, complaint in (messages.items() if isinstance(messages, dict) else []):
        if name != "items":
            general.append(f"{name}: {_flatten(complaint)}")
    return {n: "; ".join(texts) for n, texts in per_row.items()}, general


def _flatten(complaint) -> str:
    if isinstance(complaint, dict):
        return "; ".join(f"{field}: {_flatten(value)}" for field, value in complaint.items())
    if isinstance(complaint, (list, tuple)):
        return "; ".join(_flatten(value) for value in complaint)
    return str(complaint)


# --------------------------------------------------------------------------- pages


@blp.route("/", methods=["GET"])
@signed_in()
@blp.response(200, description="Checklists with their current version", **HTML)
def checklists():
    """Every checklist of the enterprise."""
    return render("checklists/list.html", checklists=services.list_checklists(current().enterprise_id))


@blp.route("/<int:checklist_id>", methods=["GET"])
@signed_in()
@blp.response(200, description="A checklist: its current version's items and every version published", **HTML)
def checklist(checklist_id):
    """One checklist with its current items and its versions."""
    checklist = get_owned(Checklist, checklist_id, current().enterprise_id)
    return render("checklists/detail.html", checklist=checklist, version=checklist.current_version, kind_labels=KIND_LABELS)


@blp.route("/<int:checklist_id>/versions/<int:number>", methods=["GET"])
@signed_in()
@blp.response(200, description="One version by its number, current or retired, exactly as published", **HTML)
def version(checklist_id, number):
    """A version of a checklist (old checks were made against theirs)."""
    version = services.get_version_by_number(current().enterprise_id, checklist_id, number)
    return render("checklists/version.html", checklist=version.checklist, version=version, kind_labels=KIND_LABELS)


def _editor(status: int = 200, *, checklist: Checklist | None, rows: list[dict], values: dict, errors=None, general=(), error=None, items_json=""):
    return render(
        "checklists/editor.html",
        status,
        checklist=checklist,
        rows=rows,
        values=values,
        row_errors=errors or {},
        general=list(general),
        error=error,
        items_json=items_json,
        kinds=list(ItemKind),
        kind_labels=KIND_LABELS,
    )


def _with_blanks(rows: list[dict]) -> list[dict]:
    """The rows, numbered for the form, with a few blank ones at the end to add items."""
    last = max((int(float(r["order"])) for r in rows if _is_number(r.get("order"))), default=0)
    rows = rows + [blank_row(str(last + 10 * (i + 1))) for i in range(BLANK_ROWS)]
    return [dict(row, n=n) for n, row in enumerate(rows)]


def _is_number(text) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


@blp.route("/<int:checklist_id>/edit", methods=["GET"])
@signed_in(*_EDITORS)
@blp.response(200, description="The editor for the next version, filled with the current items (admin, safety manager)", **HTML)
def edit(checklist_id):
    """Edit the items and publish them as the next version."""
    checklist = get_owned(Checklist, checklist_id, current().enterprise_id)
    items = checklist.current_version.items if checklist.current_version else []
    rows = _with_blanks([row_of(item, 10 * (i + 1)) for i, item in enumerate(items)])
    return _editor(checklist=checklist, rows=rows, values={"title": checklist.name}, items_json=json.dumps(items, ensure_ascii=False, indent=2))


@blp.route("/new", methods=["GET"])
@signed_in(*_EDITORS)
@blp.response(200, description="The form for a new checklist and its first items (admin, safety manager)", **HTML)
def new():
    """A new checklist: name, description and its items (published as version 1)."""
    return _editor(checklist=None, rows=_with_blanks([blank_row("10"), blank_row("20")]), values={}, items_json="[]")


def _posted_items(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """The items posted — from the editor's rows, or from the JSON of the advanced form — and
    the row each came from (none for JSON)."""
    if request.form.get("mode") == "json":
        try:
            items = parse_json(request.form.get("items_json", ""))
        except ValueError as exc:
            raise ZichaError("validation_failed", {"items_json": [_("Not valid JSON: %(problem)s", problem=str(exc))]}) from None
        if not isinstance(items, list):
            raise ZichaError("validation_failed", {"items_json": [_("The JSON must be a list of items: [{…}, {…}].")]})
        return items, [{"n": None} for _item in items]
    return items_of_rows(rows)


def _load(schema: ma.Schema, data: dict) -> dict:
    try:
        return schema.load(data)
    except ma.ValidationError as error:
        raise ZichaError("validation_failed", error.messages) from None


def _refused(error: ZichaError, checklist: Checklist | None, rows: list[dict], items: list[dict], kept: list[dict]):
    """The editor again, as typed, with the complaints next to their rows; nothing stored
    (the session is rolled back, whatever the service had flushed)."""
    if error.status not in (409, 422):
        raise error
    db.session.rollback()
    per_row, general = row_errors(error.details if isinstance(error.details, dict) else {}, items, kept)
    if request.form.get("mode") == "json":
        # The advanced form sends no rows: show the current items in them, the typed JSON below.
        current_items = checklist.current_version.items if checklist is not None and checklist.current_version else []
        rows = _with_blanks([row_of(item, 10 * (i + 1)) for i, item in enumerate(current_items)])
    values = {name: request.form.get(name, "") for name in ("title", "name", "description")}
    return _editor(
        error.status, checklist=checklist, rows=rows, values=values, errors=per_row, general=general,
        error=error_text(ZichaError(error.code)) if per_row or general else error_text(error),
        items_json=request.form.get("items_json", ""),
    )


@blp.route("/<int:checklist_id>/versions", methods=["POST"])
@signed_in(*_EDITORS)
@blp.response(303, description="Published: to the checklist, showing the new version")
@blp.alt_response(422, description="Invalid items: the editor again as typed, with the complaints by row; nothing stored", **HTML)
@commits
def publish(checklist_id):
    """Publish the edited items as a new version (admin, safety manager); the current one is
    retired, not changed, and stays readable."""
    checklist = get_owned(Checklist, checklist_id, current().enterprise_id)
    rows, items, kept = rows_of_form(request.form), [], []
    try:
        items, kept = _posted_items(rows)
        data = {"items": items}
        if request.form.get("title", "").strip():
            data["title"] = request.form["title"].strip()
        data = _load(VersionIn(), data)
        version = services.publish_version(current().enterprise_id, checklist.id, data["items"], current().user_id, data.get("title"))
    except ZichaError as error:
        return _refused(error, checklist, rows, items, kept)
    return done(_("Version %(number)s published.", number=version.number), to=url_for("manage_checklists.checklist", checklist_id=checklist.id))


@blp.route("/", methods=["POST"])
@signed_in(*_EDITORS)
@blp.response(303, description="Created: to the new checklist (version 1)")
@blp.alt_response(422, description="Invalid input: the form again as typed, with the complaints by row; nothing stored", **HTML)
@commits
def create():
    """Create a checklist and publish its version 1 (admin, safety manager)."""
    rows, items, kept = rows_of_form(request.form), [], []
    try:
        items, kept = _posted_items(rows)
        data = _load(ChecklistIn(), {"items": items, "name": request.form.get("name", "").strip(), "description": request.form.get("description", "").strip()})
        checklist = services.create_checklist(current().enterprise_id, data["name"], data["description"], data["items"], current().user_id)
    except ZichaError as error:
        return _refused(error, None, rows, items, kept)
    return done(_("Checklist “%(name)s” created (version 1).", name=checklist.name), to=url_for("manage_checklists.checklist", checklist_id=checklist.id))
