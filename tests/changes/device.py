"""A device as the pull sees it: a local store of entities, a cursor saved after each page."""
from __future__ import annotations

import sqlalchemy as sa

from server.changes.cursor import decode
from server.changes.models import Change, ChangeCounter
from server.extensions import db

PULL = "/api/v1/sync/pull"


class Device:
    """Applies pages the way the protocol says: reset clears, upsert replaces, delete removes."""

    def __init__(self, client, headers: dict):
        self.client = client
        self.headers = headers
        self.store: dict[tuple[str, int], dict] = {}
        self.cursor: str | None = None
        self.pages: list[dict] = []

    def pull(self, limit: int | None = None) -> dict:
        """One page, applied; its cursor is saved only after it is applied."""
        query = {}
        if self.cursor is not None:
            query["cursor"] = self.cursor
        if limit is not None:
            query["limit"] = limit
        r = self.client.get(PULL, query_string=query, headers=self.headers)
        assert r.status_code == 200, r.json
        page = r.json
        self.apply(page)
        return page

    def apply(self, page: dict) -> None:
        if page["reset_required"]:
            self.store.clear()
        for change in page["changes"]:
            key = (change["type"], change["id"])
            if change["op"] == "upsert":
                self.store[key] = change["data"]
            else:
                assert set(change) == {"type", "id", "op"}, change
                self.store.pop(key, None)
        self.cursor = page["cursor"]
        self.pages.append(page)

    def sync(self, limit: int | None = None, max_pages: int = 1000) -> list[dict]:
        """Pull until ``more`` is false; the pages of this round."""
        pages = []
        for _ in range(max_pages):
            pages.append(self.pull(limit))
            if not pages[-1]["more"]:
                return pages
        raise AssertionError("the pull never ended")

    def of_type(self, entity_type: str) -> dict[int, dict]:
        return {i: data for (t, i), data in self.store.items() if t == entity_type}

    @property
    def seq(self) -> int:
        return decode(self.cursor).seq


def fresh_store(client, headers: dict, limit: int | None = None) -> dict:
    """What a brand-new device holds after a full sync."""
    device = Device(client, headers)
    device.sync(limit)
    return device.store


def log_rows(app, enterprise_id: int) -> list[tuple[int, str, int]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Change.seq, Change.entity, Change.entity_id).where(Change.enterprise_id == enterprise_id).order_by(Change.seq)
        ).all()
        db.session.remove()
    return [tuple(r) for r in rows]


def counter(app, enterprise_id: int) -> tuple[int, int]:
    with app.app_context():
        row = db.session.get(ChangeCounter, enterprise_id)
        result = (row.value, row.horizon) if row else (0, 0)
        db.session.remove()
    return result


def signed_in(app, tenant, role: str) -> dict:
    """Fresh bearer headers (tokens expire: tests that move the clock by weeks sign in again)."""
    from server.accounts import services as accounts
    from tests.builders import PASSWORD

    with app.app_context():
        signed = accounts.sign_in(tenant.code, role, PASSWORD, None)
        db.session.commit()
        db.session.remove()
    return {"Authorization": f"Bearer {signed.token}"}
