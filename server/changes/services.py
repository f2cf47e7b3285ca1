"""The pull (pages of what changed since a cursor, or of a snapshot) and tombstone pruning.

Why the log can be trusted: a writer takes its sequence numbers by updating the enterprise's
counter row, which it holds locked until it commits (:mod:`server.changes.log`). So commits
happen in seq order, every statement sees a prefix of the log, and the log of an enterprise is
always exactly the seqs ``(horizon, value]`` of its counter row, without gaps. A device that has
applied everything up to seq ``c`` can therefore be served iff ``horizon <= c <= value``.
"""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from server import clock
from server.accounts.auth import Principal
from server.changes.cursor import Cursor, InvalidCursor, decode, encode, scope_of
from server.changes.log import BY_TYPE, REGISTRY, Synced
from server.changes.models import Change, ChangeCounter
from server.errors import ZichaError
from server.extensions import db
from sync.protocol import Op

_counters = ChangeCounter.__table__
_changes = Change.__table__

# Built once: SQLAlchemy then only binds values (a pull with nothing new runs one of these).
_COUNTER = sa.select(_counters.c.value, _counters.c.horizon).where(_counters.c.enterprise_id == sa.bindparam("e"))
_CHANGES = (
    sa.select(_changes.c.seq, _changes.c.entity, _changes.c.entity_id)
    .where(_changes.c.enterprise_id == sa.bindparam("e"), _changes.c.seq > sa.bindparam("after"))
    .order_by(_changes.c.seq)
    .limit(sa.bindparam("n"))
)


def _snapshot_query(synced: Synced) -> sa.Select:
    return (
        sa.select(*synced.columns)
        .where(synced.tenant == sa.bindparam("e"), synced.visible, synced.id > sa.bindparam("after"))
        .order_by(synced.id)
        .limit(sa.bindparam("n"))
    )


def _state_query(synced: Synced) -> sa.Select:
    return sa.select(*synced.columns, synced.visible.label("visible_")).where(
        synced.tenant == sa.bindparam("e"), synced.id.in_(sa.bindparam("ids", expanding=True))
    )


_SNAPSHOT = {s.type: _snapshot_query(s) for s in REGISTRY}
_STATE = {s.type: _state_query(s) for s in REGISTRY}


def pull(principal: Principal, cursor_text: str | None, limit: int) -> dict:
    """One page for ``principal``'s device: at most ``limit`` changes after ``cursor_text``.

    No cursor: the first page of a snapshot. A cursor of another scope (enterprise, role or
    visibility rules), older than the tombstones kept, or ahead of the log (a database restored
    from a backup): ``reset_required`` and the first page of a snapshot. A malformed cursor:
    ``invalid_cursor``. When nothing is new this is one primary-key read of the counter row,
    whatever the size of the enterprise.
    """
    try:
        cursor = decode(cursor_text) if cursor_text is not None else None
    except InvalidCursor as exc:
        raise ZichaError("invalid_cursor", {"cursor": [str(exc)]}) from exc
    scope = scope_of(current_app.config["SECRET_KEY"], principal.enterprise_id, principal.role.value)
    connection = db.session.connection()
    enterprise_id = principal.enterprise_id
    value, horizon = connection.execute(_COUNTER, {"e": enterprise_id}).first() or (0, 0)
    fresh = Cursor(scope, value, (0, 0))
    if cursor is None:
        return _snapshot_page(connection, enterprise_id, fresh, value, limit, reset=False)
    if cursor.scope != scope or not horizon <= cursor.seq <= value:
        return _snapshot_page(connection, enterprise_id, fresh, value, limit, reset=True)
    if cursor.snapshot is not None:
        return _snapshot_page(connection, enterprise_id, cursor, value, limit, reset=False)
    if cursor.seq == value:
        return _page(cursor, [], more=False, reset=False)
    rows = connection.execute(_CHANGES, {"e": enterprise_id, "after": cursor.seq, "n": limit + 1}).all()
    if not rows or rows[0].seq != cursor.seq + 1:
        # A prune committed between the two reads: the changes this device needs are gone.
        return _snapshot_page(connection, enterprise_id, fresh, value, limit, reset=True)
    more = len(rows) > limit
    rows = rows[:limit]
    changes = _current_states(connection, enterprise_id, [(row.entity, row.entity_id) for row in rows])
    return _page(Cursor(scope, rows[-1].seq), changes, more, reset=False)


def _current_states(connection: sa.Connection, enterprise_id: int, entities: list[tuple[str, int]]) -> list[dict]:
    """Each entity once, in the order of its first change in the page, in its state now.

    The state now, not the state at the change: a later change to the same entity is in this
    page or a later one and would send the same state again, so sending the newest at once is
    both correct and smaller. Gone or no longer visible: a tombstone.
    """
    order = list(dict.fromkeys(entities))
    ids_by_type: dict[str, list[int]] = {}
    for entity_type, entity_id in order:
        ids_by_type.setdefault(entity_type, []).append(entity_id)
    found: dict[tuple[str, int], dict] = {}
    for entity_type, ids in ids_by_type.items():
        synced = BY_TYPE[entity_type]
        rows = [r for r in connection.execute(_STATE[entity_type], {"e": enterprise_id, "ids": ids}) if r.visible_]
        found.update(((entity_type, row.id), data) for row, data in zip(rows, synced.dump(rows)))
    changes = []
    for key in order:
        data = found.get(key)
        if data is None:
            changes.append({"type": key[0], "id": key[1], "op": Op.DELETE})
        else:
            changes.append({"type": key[0], "id": key[1], "op": Op.UPSERT, "data": data})
    return changes


def _snapshot_page(connection: sa.Connection, enterprise_id: int, cursor: Cursor, value: int, limit: int, reset: bool) -> dict:
    """The next ``limit`` visible entities after the cursor's snapshot position, by (type, id).

    The cursor keeps the seq the log stood at when the snapshot began; anything written while it
    is paged has a higher seq, so once the last type is done the device goes on from that seq
    and receives it then (maybe twice: upserts are idempotent). Nothing is missed.
    """
    type_index, after = cursor.snapshot
    changes: list[dict] = []
    while type_index < len(REGISTRY) and len(changes) < limit:
        synced = REGISTRY[type_index]
        wanted = limit - len(changes)
        rows = connection.execute(_SNAPSHOT[synced.type], {"e": enterprise_id, "after": after, "n": wanted}).all()
        changes += [
            {"type": synced.type, "id": row.id, "op": Op.UPSERT, "data": data} for row, data in zip(rows, synced.dump(rows))
        ]
        if len(rows) == wanted:
            after = rows[-1].id
        else:
            type_index, after = type_index + 1, 0
    if type_index < len(REGISTRY):
        return _page(Cursor(cursor.scope, cursor.seq, (type_index, after)), changes, more=True, reset=reset)
    return _page(Cursor(cursor.scope, cursor.seq), changes, more=value > cursor.seq, reset=reset)


def _page(cursor: Cursor, changes: list[dict], more: bool, reset: bool) -> dict:
    return {"server_time": clock.now(), "cursor": encode(cursor), "more": more, "reset_required": reset, "changes": changes}


def prune(retention_days: int | None = None) -> dict[int, int]:
    """Forget changes older than the retention (``CHANGE_RETENTION_DAYS``); return rows pruned per enterprise.

    Per enterprise a prefix of the log goes — every seq up to the newest one older than the
    cutoff — and the counter's ``horizon`` rises to it, so the log stays gap-free and a device
    whose cursor is below the horizon is told to start over (``reset_required``). Only flushes:
    the caller commits.
    """
    days = current_app.config["CHANGE_RETENTION_DAYS"] if retention_days is None else retention_days
    cutoff = clock.now() - timedelta(days=days)
    connection = db.session.connection()
    ends = connection.execute(
        sa.select(_changes.c.enterprise_id, sa.func.max(_changes.c.seq)).where(_changes.c.at < cutoff).group_by(_changes.c.enterprise_id)
    ).all()
    pruned: dict[int, int] = {}
    for enterprise_id, last in ends:
        deleted = connection.execute(sa.delete(_changes).where(_changes.c.enterprise_id == enterprise_id, _changes.c.seq <= last))
        connection.execute(
            sa.update(_counters).where(_counters.c.enterprise_id == enterprise_id, _counters.c.horizon < last).values(horizon=last)
        )
        pruned[enterprise_id] = deleted.rowcount
    return pruned
