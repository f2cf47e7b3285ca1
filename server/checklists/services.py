"""Checklist rules: publishing immutable versions with stable item ids."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import attributes

from server import clock
from server.checklists.models import Checklist, ChecklistVersion
from server.database import get_owned
from server.errors import ZichaError
from server.extensions import db
import marshmallow as ma

from sync.records import ItemListSchema, ItemSchema

_ITEMS = ItemSchema(many=True)
_ITEM_LIST = ItemListSchema()
_IMMUTABLE = ("checklist_id", "enterprise_id", "number", "title", "items", "published_at", "published_by_id")


class ImmutableVersionError(RuntimeError):
    """A published checklist version was about to be changed in place: a programming error."""


@sa.event.listens_for(ChecklistVersion, "before_update")
def _refuse_changes(_mapper, _connection, version: ChecklistVersion) -> None:
    # Checks already made point at this version; changing it would rewrite what they answered.
    for name in _IMMUTABLE:
        if attributes.get_history(version, name).has_changes():
            raise ImmutableVersionError(f"checklist version {version.id} is published; {name} cannot change")


def create_checklist(enterprise_id: int, name: str, description: str, items: list[dict], user_id: int | None) -> Checklist:
    """Create a checklist and publish its first version."""
    checklist = Checklist(enterprise_id=enterprise_id, name=name, description=description, created_at=clock.now())
    db.session.add(checklist)
    db.session.flush()
    publish_version(enterprise_id, checklist.id, items, user_id, title=name)
    return checklist


def publish_version(enterprise_id: int, checklist_id: int, items: list[dict], user_id: int | None, title: str | None = None) -> ChecklistVersion:
    """Publish a new immutable version; the previous current version is retired, not changed.

    An item id carried over from earlier versions must keep its kind, so answers to "the same
    item" stay comparable across versions; a changed question needs a new id.
    """
    checklist = get_owned(Checklist, checklist_id, enterprise_id)
    known_kinds: dict[str, str] = {}
    for version in checklist.versions:
        for item in version.items:
            known_kinds.setdefault(item["id"], item["kind"])
    try:
        # Views have validated already; the CLI and the demo call this directly, so check here too.
        stored = _ITEMS.dump(_ITEM_LIST.load({"items": items})["items"])
    except ma.ValidationError as exc:
        raise ZichaError("validation_failed", exc.messages) from exc
    clashes = {i["id"]: [f"was {known_kinds[i['id']]}, now {i['kind']}: use a new item id"] for i in stored if known_kinds.get(i["id"], i["kind"]) != i["kind"]}
    if clashes:
        raise ZichaError("validation_failed", {"items": clashes})
    now = clock.now()
    previous = checklist.current_version
    number = max((v.number for v in checklist.versions), default=0) + 1
    version = ChecklistVersion(
        enterprise_id=enterprise_id,
        checklist=checklist,  # through the relationship, so checklist.versions includes it at once
        number=number,
        title=title or checklist.name,
        items=stored,
        published_at=now,
        published_by_id=user_id,
    )
    db.session.add(version)
    db.session.flush()
    if previous is not None:
        previous.retired_at = now
    checklist.current_version = version
    if title:
        checklist.name = title
    db.session.flush()
    return version


def list_checklists(enterprise_id: int) -> list[Checklist]:
    return list(db.session.scalars(sa.select(Checklist).where(Checklist.enterprise_id == enterprise_id).order_by(Checklist.id)))


def get_version(enterprise_id: int, checklist_id: int, version_id: int) -> ChecklistVersion:
    version = get_owned(ChecklistVersion, version_id, enterprise_id)
    if version.checklist_id != checklist_id:
        raise ZichaError("not_found")
    return version


def get_version_by_number(enterprise_id: int, checklist_id: int, number: int) -> ChecklistVersion:
    """A checklist's version by its number (1, 2, …), current or retired; ``not_found`` for a
    number it never had or another enterprise's checklist."""
    checklist = get_owned(Checklist, checklist_id, enterprise_id)
    version = db.session.scalar(sa.select(ChecklistVersion).where(ChecklistVersion.checklist_id == checklist.id, ChecklistVersion.number == number))
    if version is None:
        raise ZichaError("not_found")
    return version


_PAYLOADS_MAX = 4096


def version_payload(version_id: int) -> dict:
    """A published version's content, serialised once per process and then served from memory.

    Safe because a published version never changes (see ``_refuse_changes``), version rows are
    never deleted, and the cache (one per app, so per database) is keyed by the version's own id;
    callers reach an id only through rows already filtered by enterprise. Retirement is not part
    of the payload — it is the one thing about a version that can change.
    """
    payloads = current_app.extensions.setdefault("zicha.version_payloads", {})
    payload = payloads.get(version_id)
    if payload is None:
        from server.checklists.schemas import VersionContentOut

        payload = VersionContentOut().dump(db.session.get(ChecklistVersion, version_id))
        if len(payloads) >= _PAYLOADS_MAX:
            payloads.clear()  # rare: a plain reset keeps the bound without LRU bookkeeping
        payloads[version_id] = payload
    return payload
