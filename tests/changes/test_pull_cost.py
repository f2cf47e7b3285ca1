"""A pull with nothing new costs the same for an enterprise of ten posts or thousands.

The SQL statements of each pull are counted with an engine event: a pull at the head of the log
is the token look-up and one primary-key read of the counter row, whatever the enterprise holds.
"""
from __future__ import annotations

import contextlib
import secrets

import sqlalchemy as sa

from server import clock
from server.changes.log import log_changes
from server.extensions import db
from server.posts.models import Post
from tests.changes.device import Device

API = "/api/v1"


def add_posts(app, tenant, count: int) -> list[int]:
    """``count`` more posts, inserted with Core (as a bulk import would) and logged alike."""
    posts = Post.__table__
    with app.app_context():
        now = clock.now()
        rows = [
            {
                "enterprise_id": tenant.enterprise_id, "site_id": tenant.site_id, "name": f"岗位{i}", "location": "",
                "risk_level": "blue", "qr_token": secrets.token_urlsafe(32), "active": True, "created_at": now,
            }
            for i in range(count)
        ]
        connection = db.session.connection()
        ids = list(connection.execute(sa.insert(posts).returning(posts.c.id, sort_by_parameter_order=True), rows).scalars())
        log_changes(connection, tenant.enterprise_id, [("post", i) for i in ids])
        db.session.commit()
        db.session.remove()
    return ids


@contextlib.contextmanager
def statements(app):
    """Collect the SQL statements run inside the block."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(_conn, _cursor, statement, _params, _context, _executemany):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def test_an_empty_pull_costs_the_same_at_10_and_2000_posts(app, client, world):
    small, large = world.a, world.b
    add_posts(app, small, 10 - 2)
    add_posts(app, large, 2000 - 2)
    counts, pages = {}, {}
    for name, tenant in (("small", small), ("large", large)):
        device = Device(client, tenant.auth("worker"))
        device.sync(limit=1000)
        assert sum(1 for (t, _) in device.store if t == "post") == (10 if tenant is small else 2000)
        with statements(app) as seen:
            page = device.pull()
        assert page["changes"] == [] and page["more"] is False
        counts[name] = list(seen)
        # one new change: the log read and one look-up of the changed entity, whatever the size
        r = client.patch(f"{API}/posts/{tenant.post_id}", json={"name": "新名"}, headers=tenant.auth("admin"))
        assert r.status_code == 200
        with statements(app) as seen:
            page = device.pull()
        assert [(c["type"], c["id"]) for c in page["changes"]] == [("post", tenant.post_id)]
        pages[name] = list(seen)
    assert len(counts["small"]) == len(counts["large"]) == 2, counts
    assert "change_counters" in counts["large"][1] and "changes " not in counts["large"][1]
    assert len(pages["small"]) == len(pages["large"]) == 4, pages


def test_a_snapshot_page_is_a_handful_of_queries(app, client, world):
    add_posts(app, world.b, 1500)
    device = Device(client, world.b.auth("worker"))
    device.pull()  # the first request of the day also records the device as seen
    device.cursor = None
    for _ in range(4):
        with statements(app) as seen:
            page = device.pull(limit=1000)
        # token, counter, and at most one query per entity type
        assert len(seen) <= 2 + 6, seen
        if not page["more"]:
            break
    assert page["more"] is False
