"""Fault cases of the sync contract that concern the pull (issue 3), on SQLite and PostgreSQL:

* two writers committing out of order while a pull pages;
* a deletion past tombstone retention.
"""
from __future__ import annotations

import threading

import sqlalchemy as sa

from server.accounts.auth import Principal
from server.accounts.models import Role
from server.changes import services
from server.changes.cursor import decode
from server.changes.models import Change
from server.enterprises import services as enterprises
from server.extensions import db
from server.posts import services as posts
from server.posts.models import Post
from tests.changes.device import Device, counter, fresh_store, log_rows, signed_in

API = "/api/v1"


# --- tombstone retention ---------------------------------------------------------------------------


def test_a_deletion_past_tombstone_retention(app, client, world, clock):
    a = world.a
    behind = Device(client, a.auth("worker"))  # last pulls before the deletion, then goes quiet
    behind.sync()
    assert ("post", a.other_post_id) in behind.store
    clock.advance(days=1)
    r = client.patch(f"{API}/posts/{a.other_post_id}", json={"active": False}, headers=a.auth("admin"))
    assert r.status_code == 200
    deletion = counter(app, a.enterprise_id)[0]
    current = Device(client, a.auth("worker"))  # pulls after the deletion
    current.sync()
    assert decode(current.cursor).seq == deletion

    clock.advance(days=30, minutes=1)  # the deletion is now older than the 30 days kept
    b_rows = len(log_rows(app, world.b.enterprise_id))
    with app.app_context():
        pruned = services.prune()
        db.session.commit()
    assert pruned == {a.enterprise_id: deletion, world.b.enterprise_id: b_rows}
    assert counter(app, a.enterprise_id) == (deletion, deletion)
    assert log_rows(app, a.enterprise_id) == []

    # the device that never saw the tombstone cannot be served from the log: it starts over
    headers = signed_in(app, a, "worker")
    behind.headers = current.headers = headers
    pages = behind.sync()
    assert pages[0]["reset_required"] is True
    assert ("post", a.other_post_id) not in behind.store
    assert behind.store == fresh_store(client, headers)
    # the device that saw it goes on as if nothing happened
    page = current.pull()
    assert (page["reset_required"], page["changes"]) == (False, [])
    # and the log goes on from the horizon
    r = client.patch(f"{API}/posts/{a.post_id}", json={"name": "新名"}, headers=signed_in(app, a, "admin"))
    assert r.status_code == 200
    assert [(c["type"], c["id"]) for c in current.pull()["changes"]] == [("post", a.post_id)]
    assert [(c["type"], c["id"]) for c in behind.pull()["changes"]] == [("post", a.post_id)]


def test_prune_keeps_what_is_younger_than_the_retention(app, client, world, clock):
    a = world.a  # built a week ago
    client.patch(f"{API}/posts/{a.post_id}", json={"name": "新名"}, headers=a.auth("admin"))
    before = log_rows(app, a.enterprise_id)
    with app.app_context():
        assert services.prune() == {}
        assert services.prune(retention_days=5) == {a.enterprise_id: 12, world.b.enterprise_id: 12}
        db.session.commit()
    assert log_rows(app, a.enterprise_id) == before[12:]
    assert counter(app, a.enterprise_id) == (13, 12)


def test_a_snapshot_overtaken_by_a_prune_starts_again(app, client, world, clock):
    a = world.a
    device = Device(client, a.auth("worker"))
    device.pull(limit=3)  # a snapshot pinned at seq 12, part way
    client.post(f"{API}/sites", json={"name": "新区域"}, headers=a.auth("admin"))
    clock.advance(days=31)
    with app.app_context():
        services.prune()
        db.session.commit()
    device.headers = signed_in(app, a, "worker")
    page = device.pull(limit=3)
    assert page["reset_required"] is True
    device.sync()
    assert device.store == fresh_store(client, device.headers)


def test_changes_pruned_between_the_reads_of_a_pull_are_noticed(app, client, world):
    """A prune may commit between the counter read and the log read; the log's first row then
    is not the one after the cursor, and the device must start over rather than skip."""
    a = world.a
    device = Device(client, a.auth("worker"))
    device.sync()
    for name in ("一", "二", "三"):
        client.post(f"{API}/sites", json={"name": name}, headers=a.auth("admin"))
    with app.app_context():  # what a racing prune leaves: rows gone, horizon not yet seen
        db.session.execute(sa.delete(Change).where(Change.enterprise_id == a.enterprise_id, Change.seq <= device.seq + 1))
        db.session.commit()
    page = device.pull()
    assert page["reset_required"] is True
    assert device.store == fresh_store(client, a.auth("worker"))


# --- two writers committing out of order while a pull pages ---------------------------------------


class Writer(threading.Thread):
    """Writes in its own session, then holds its transaction open until told to commit."""

    def __init__(self, app, action, then=None):
        super().__init__(daemon=True)
        self.app, self.action, self.then = app, action, then
        self.started = threading.Event()  # its connection is open (pid known)
        self.flushed = threading.Event()  # its writes, counter included, are flushed
        self.go = threading.Event()       # go on: run ``then``, commit
        self.pid = None
        self.error: BaseException | None = None

    def run(self):
        try:
            with self.app.app_context():
                try:
                    connection = db.session.connection()
                    if connection.dialect.name == "postgresql":
                        self.pid = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar()
                    self.started.set()
                    self.action()
                    self.flushed.set()
                    assert self.go.wait(timeout=60), "never told to go on"
                    if self.then is not None:
                        self.then()
                    db.session.commit()
                finally:
                    db.session.remove()
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.started.set()
            self.flushed.set()


def _wait_until_blocked_by(pid_waiting: int, pid_holding: int) -> None:
    """PostgreSQL: until ``pid_waiting`` waits for a lock ``pid_holding`` holds (no sleeping: poll)."""
    with db.engine.connect() as connection:
        for _ in range(100_000):
            blockers = connection.execute(sa.text("SELECT pg_blocking_pids(:pid)"), {"pid": pid_waiting}).scalar()
            if pid_holding in blockers:
                return
            connection.rollback()
    raise AssertionError("the second writer never waited for the first")


def test_two_writers_committing_out_of_order_while_a_pull_pages(app, world):
    """Writer A takes seqs and holds its transaction open; writer B starts later and must wait on
    the counter row until A commits, so B can never commit a smaller seq after a reader moved past
    it, nor a larger one before A's. Pulls in between page through exactly what is committed.

    On PostgreSQL the two writers are two real connections and the test sees B wait for A's lock.
    SQLite allows one writer at a time (B waits on the database lock): the same outcome holds.
    """
    a = world.a
    e = a.enterprise_id
    principal = Principal(a.users["worker"], e, Role.WORKER, None, 0, "Asia/Shanghai", ("00:00", "08:00", "16:00"))
    device = Device(None, {})

    def pull_all(limit=2) -> list[dict]:
        pages = []
        with app.app_context():
            while True:
                pages.append(services.pull(principal, device.cursor, limit))
                db.session.rollback()
                device.apply(pages[-1])
                if not pages[-1]["more"]:
                    db.session.remove()
                    return pages

    pull_all(limit=1000)
    start = device.seq
    made = {}

    def write_a():
        made["a"] = [enterprises.create_site(e, f"甲{i}").id for i in range(3)]

    def write_b():
        made["b_post"] = posts.update_post(e, a.post_id, {"name": "乙改名"}).id
        made["b_site"] = enterprises.create_site(e, "乙新区域").id

    writer_a, writer_b = Writer(app, write_a), Writer(app, write_b)
    try:
        writer_a.start()
        assert writer_a.flushed.wait(timeout=60) and writer_a.error is None, writer_a.error
        writer_b.start()
        assert writer_b.started.wait(timeout=60)
        if writer_b.pid is not None:
            with app.app_context():
                _wait_until_blocked_by(writer_b.pid, writer_a.pid)
                db.session.remove()
        assert not writer_b.flushed.is_set()

        # nothing is committed yet: the pull moves nowhere
        pages = pull_all()
        assert [p["changes"] for p in pages] == [[]] and device.seq == start

        writer_a.go.set()
        writer_a.join(timeout=60)
        assert writer_b.flushed.wait(timeout=60) and writer_b.error is None, writer_b.error
        # A committed, B has its seqs but has not committed: a paged pull sees all of A, none of B
        pages = pull_all(limit=2)
        assert [len(p["changes"]) for p in pages] == [2, 1]
        assert [c["id"] for p in pages for c in p["changes"]] == made["a"]
        assert device.seq == start + 3

        writer_b.go.set()
        writer_b.join(timeout=60)
        assert writer_b.error is None, writer_b.error
        pages = pull_all(limit=2)
        assert [(c["type"], c["id"]) for p in pages for c in p["changes"]] == [("post", a.post_id), ("site", made["b_site"])]
        assert device.store[("post", a.post_id)]["name"] == "乙改名"
    finally:
        for writer in (writer_a, writer_b):
            writer.go.set()
            writer.join(timeout=60)
    assert writer_a.error is None and writer_b.error is None

    rows = log_rows(app, e)
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    a_seqs = [seq for seq, t, i in rows if t == "site" and i in made["a"]]
    b_seqs = [seq for seq, t, i in rows if (t, i) in {("site", made["b_site"]), ("post", a.post_id)} and seq > start]
    assert max(a_seqs) < min(b_seqs)  # B began before A committed, yet numbers after all of A
    assert device.store == _store_now(app, principal)


def _store_now(app, principal) -> dict:
    fresh = Device(None, {})
    with app.app_context():
        while True:
            page = services.pull(principal, fresh.cursor, 1000)
            fresh.apply(page)
            if not page["more"]:
                break
        db.session.remove()
    return fresh.store


def test_writers_lock_the_counter_before_their_rows_so_they_cannot_deadlock(app, world):
    """Y logs a change (holding the counter) and will next update post P; X updates P. Were the
    counter locked only after the rows were written, X would hold P and wait for the counter
    while Y waits for P: a deadlock, one of them aborted. X waits for the counter first instead."""
    a = world.a
    e, post_id = a.enterprise_id, a.post_id
    y = Writer(app, lambda: enterprises.create_site(e, "乙区域"), then=lambda: posts.update_post(e, post_id, {"name": "Y改名"}))
    x = Writer(app, lambda: posts.update_post(e, post_id, {"location": "X东区"}))
    try:
        y.start()
        assert y.flushed.wait(timeout=60) and y.error is None, y.error
        x.start()
        assert x.started.wait(timeout=60)
        if x.pid is not None:
            with app.app_context():
                _wait_until_blocked_by(x.pid, y.pid)
                db.session.remove()
        y.go.set()
        y.join(timeout=60)
        assert y.error is None, y.error
        assert x.flushed.wait(timeout=60) and x.error is None, x.error
        x.go.set()
        x.join(timeout=60)
    finally:
        for writer in (x, y):
            writer.go.set()
            writer.join(timeout=60)
    assert x.error is None and y.error is None
    with app.app_context():
        post = db.session.get(Post, post_id)
        assert (post.name, post.location) == ("Y改名", "X东区")
        db.session.remove()
    rows = log_rows(app, e)
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    assert [(t, i) for _, t, i in rows[-3:]] == [("site", rows[-3][2]), ("post", post_id), ("post", post_id)]
