"""Writing the change log: which models are synced, and the flush listener that logs them.

Services do not log changes themselves. Listeners on the app's session see every flush; for
each object of a synced model that the flush inserts, changes (a column, not merely a
collection) or deletes, they raise the enterprise's counter row and write one change row, in the
flush's own transaction. So no service can forget, and a rolled-back transaction (or savepoint)
takes its change rows and its counter increase with it — the log has no gaps. A flush that
touches no synced object costs a loop over its own objects and nothing else.

Writes that bypass the ORM unit of work (Core ``insert``/``update`` statements, bulk loads) are
not seen by the listener: they must call :func:`log_changes` in the same transaction.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server import clock
from server.changes.models import Change, ChangeCounter
from server.checklists.models import Checklist, ChecklistVersion
from server.enterprises.models import Enterprise, Site
from server.extensions import db
from server.posts.models import Post
from server.schedules.models import Schedule
from sync.protocol import ENTITY_SCHEMAS, EntityType


@dataclass(frozen=True)
class Synced:
    """How one model travels to devices.

    ``tenant`` is the column naming the enterprise, ``visible`` the SQL condition under which a
    row is sent (an invisible or missing row travels as a tombstone), ``columns`` what is sent,
    shaped by the protocol's entity schema for ``type``. Visibility is decided by the row alone,
    so that a change to one row never has to log changes of others.
    """

    type: str
    model: type
    tenant: sa.ColumnElement
    visible: sa.ColumnElement[bool]
    columns: tuple[sa.ColumnElement, ...]

    @property
    def id(self) -> sa.ColumnElement:
        return self.model.id

    def dump(self, rows: Iterable) -> list[dict]:
        return _SCHEMAS[self.type].dump([row._mapping for row in rows])


def _as_text(column) -> sa.ColumnElement:
    # Enum columns come back as Python enums; the wire wants their values.
    return sa.type_coerce(column, sa.String).label(column.key)


# What a device keeps offline mirrors what a scan shows a user (server.scan.services): every
# site, active posts with their QR tokens, checklists with a published version and that version,
# active schedules. A retired version is no longer handed out for new checks, so it is tombstoned.
# Order matters: a snapshot sends the types in this order, what is pointed at before what points.
REGISTRY: tuple[Synced, ...] = (
    Synced(
        EntityType.ENTERPRISE, Enterprise, Enterprise.id, sa.true(),
        (Enterprise.id, Enterprise.name, Enterprise.timezone, Enterprise.shifts),
    ),
    Synced(EntityType.SITE, Site, Site.enterprise_id, sa.true(), (Site.id, Site.name, Site.parent_id)),
    Synced(
        EntityType.POST, Post, Post.enterprise_id, Post.active.is_(True),
        (Post.id, Post.site_id, Post.name, _as_text(Post.risk_level), Post.location, Post.supervisor_id, Post.qr_token),
    ),
    Synced(
        EntityType.CHECKLIST, Checklist, Checklist.enterprise_id, Checklist.current_version_id.is_not(None),
        (Checklist.id, Checklist.name, Checklist.description, Checklist.current_version_id),
    ),
    Synced(
        EntityType.CHECKLIST_VERSION, ChecklistVersion, ChecklistVersion.enterprise_id, ChecklistVersion.retired_at.is_(None),
        (
            ChecklistVersion.id, ChecklistVersion.checklist_id, ChecklistVersion.number, ChecklistVersion.title,
            ChecklistVersion.items, ChecklistVersion.published_at,
        ),
    ),
    Synced(
        EntityType.SCHEDULE, Schedule, Schedule.enterprise_id, Schedule.active.is_(True),
        (
            Schedule.id, Schedule.post_id, Schedule.checklist_id, Schedule.frequency, Schedule.due_start_minutes,
            Schedule.due_end_minutes, Schedule.responsible_id,
        ),
    ),
)
BY_TYPE: dict[str, Synced] = {s.type: s for s in REGISTRY}
_BY_MODEL: dict[type, Synced] = {s.model: s for s in REGISTRY}
_RANK: dict[str, int] = {s.type: i for i, s in enumerate(REGISTRY)}
_SCHEMAS = {name: schema(many=True) for name, schema in ENTITY_SCHEMAS.items()}
assert set(BY_TYPE) == set(EntityType.ALL), "every entity type of the protocol needs a registry entry"

_counters = ChangeCounter.__table__
_changes = Change.__table__
_BUMP = (
    sa.update(_counters)
    .where(_counters.c.enterprise_id == sa.bindparam("e"))
    .values(value=_counters.c.value + sa.bindparam("n"))
    .returning(_counters.c.value)
)
# Writes nothing new, but takes the row lock (PostgreSQL) or the write lock (SQLite).
_LOCK = sa.update(_counters).where(_counters.c.enterprise_id == sa.bindparam("e")).values(value=_counters.c.value)


def log_changes(connection: sa.Connection, enterprise_id: int, entities: Iterable[tuple[str, int]]) -> int:
    """Number ``(type, id)`` changes of one enterprise and write them; return the last seq used.

    Must run in the transaction that made the changes. The counter UPDATE locks the enterprise's
    counter row until that transaction commits or rolls back, which is what makes seq order
    commit order. An enterprise without a counter row (created before this log existed, or by a
    Core insert) gets one here.
    """
    entries = sorted(set(entities), key=lambda e: (_RANK[e[0]], e[1]))
    if not entries:
        return 0
    n = len(entries)
    last = connection.execute(_BUMP, {"e": enterprise_id, "n": n}).scalar()
    if last is None:
        connection.execute(sa.insert(_counters).values(enterprise_id=enterprise_id, value=n, horizon=0))
        last = n
    at = clock.now()
    first = last - n + 1
    connection.execute(
        sa.insert(_changes),
        [{"enterprise_id": enterprise_id, "seq": first + i, "entity": t, "entity_id": i_d, "at": at} for i, (t, i_d) in enumerate(entries)],
    )
    return last


def _synced_in_flush(session: Session) -> Iterator[tuple[Synced, object]]:
    """The synced objects the coming (before_flush) or just-run (after_flush) flush writes."""
    dirty = session.dirty
    for obj in chain(session.new, dirty, session.deleted):
        synced = _BY_MODEL.get(type(obj))
        if synced is None:
            continue
        if obj in dirty and not session.is_modified(obj, include_collections=False):
            continue  # only a collection changed: no column of this row is written
        yield synced, obj


def _lock_counters(session: Session, _flush_context, _instances) -> None:
    """before_flush: lock the counter row of every enterprise the flush will log, first.

    The lock is taken again when the flush is logged; taking it before any entity row is
    written means every writer of an enterprise locks the counter before its rows, never a row
    then the counter, so two writers cannot deadlock on "my row, your counter". A new
    enterprise has no id yet, and no one else can write to it.
    """
    enterprises = {getattr(obj, synced.tenant.key) for synced, obj in _synced_in_flush(session)} - {None}
    if enterprises:
        connection = session.connection()
        for enterprise_id in sorted(enterprises):  # one order for all, when a flush spans several
            connection.execute(_LOCK, {"e": enterprise_id})


def _log_flush(session: Session, _flush_context) -> None:
    """after_flush: log every synced object this flush wrote. Cheap when there is none."""
    touched: dict[int, set[tuple[str, int]]] = {}
    for synced, obj in _synced_in_flush(session):
        touched.setdefault(getattr(obj, synced.tenant.key), set()).add((synced.type, obj.id))
    if touched:
        connection = session.connection()
        for enterprise_id in sorted(touched):
            log_changes(connection, enterprise_id, touched[enterprise_id])


sa.event.listen(db.session, "before_flush", _lock_counters)
sa.event.listen(db.session, "after_flush", _log_flush)
