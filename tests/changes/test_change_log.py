"""The change log: every service that changes what a device keeps offline logs it, in order, once.

Services never call the log; a session listener does it for them (server/changes/log.py). These
tests go through each mutating service and read the change rows it left behind.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from server import clock
from server.accounts import services as accounts
from server.accounts.models import Role
from server.changes.log import log_changes
from server.changes.models import Change, ChangeCounter
from server.checklists import services as checklists
from server.enterprises import services as enterprises
from server.enterprises.models import Site
from server.extensions import db
from server.posts import services as posts
from server.posts.models import Post, RiskLevel
from server.schedules import services as schedules
from sync.periods import Frequency
from tests.builders import ITEMS, PASSWORD
from tests.changes.device import Device, counter, log_rows

NEW_ITEMS = [{"id": "guard", "kind": "yes_no", "label": "防护罩完好"}]


def _logged(enterprise_id: int, action) -> tuple[object, set[tuple[str, int]]]:
    """Run ``action`` and commit: what it returned and the (type, id) pairs it logged, checking
    that the seqs go on from the counter without a gap."""
    before = db.session.scalar(sa.select(ChangeCounter.value).where(ChangeCounter.enterprise_id == enterprise_id)) or 0
    result = action()
    db.session.commit()
    rows = _rows(enterprise_id, after=before)
    assert [r.seq for r in rows] == list(range(before + 1, before + 1 + len(rows)))
    assert db.session.get(ChangeCounter, enterprise_id).value == before + len(rows)
    return result, {(r.entity, r.entity_id) for r in rows}


def _rows(enterprise_id: int, after: int = 0):
    return db.session.execute(
        sa.select(Change.seq, Change.entity, Change.entity_id)
        .where(Change.enterprise_id == enterprise_id, Change.seq > after)
        .order_by(Change.seq)
    ).all()


def test_every_mutating_service_logs_its_changes(ctx):
    e = enterprises.create_enterprise("gamma", "丙企业").id
    db.session.commit()
    assert [(r.seq, r.entity, r.entity_id) for r in _rows(e)] == [(1, "enterprise", e)]
    admin = accounts.create_user(e, "admin", "管理员", Role.ADMIN, PASSWORD).id

    site, logged = _logged(e, lambda: enterprises.create_site(e, "仓库"))
    assert logged == {("site", site.id)}
    child, logged = _logged(e, lambda: enterprises.create_site(e, "配电室", parent_id=site.id))
    assert logged == {("site", child.id)}
    assert _logged(e, lambda: enterprises.update_site(e, site.id, {"name": "一号仓库"}))[1] == {("site", site.id)}

    post, logged = _logged(e, lambda: posts.create_post(e, site.id, "储罐区", RiskLevel.RED))
    assert logged == {("post", post.id)}
    assert _logged(e, lambda: posts.update_post(e, post.id, {"name": "液氨储罐区"}))[1] == {("post", post.id)}
    assert _logged(e, lambda: posts.rotate_qr_token(e, post.id))[1] == {("post", post.id)}
    assert _logged(e, lambda: posts.update_post(e, post.id, {"active": False}))[1] == {("post", post.id)}

    checklist, logged = _logged(e, lambda: checklists.create_checklist(e, "日检", "", ITEMS, admin))
    first = checklist.current_version_id
    assert logged == {("checklist", checklist.id), ("checklist_version", first)}
    second, logged = _logged(e, lambda: checklists.publish_version(e, checklist.id, NEW_ITEMS, admin))
    assert logged == {("checklist", checklist.id), ("checklist_version", first), ("checklist_version", second.id)}  # first: retired

    schedule, logged = _logged(
        e, lambda: schedules.create_schedule(e, {"post_id": post.id, "checklist_id": checklist.id, "frequency": Frequency.DAILY})
    )
    assert logged == {("schedule", schedule.id)}
    assert _logged(e, lambda: schedules.update_schedule(e, schedule.id, {"due_start_minutes": 60}))[1] == {("schedule", schedule.id)}
    assert _logged(e, lambda: schedules.update_schedule(e, schedule.id, {"active": False}))[1] == {("schedule", schedule.id)}

    def remove_site():
        db.session.delete(db.session.get(Site, child.id))
        db.session.flush()

    assert _logged(e, remove_site)[1] == {("site", child.id)}


def test_what_devices_do_not_keep_logs_nothing(ctx, world):
    e = world.a.enterprise_id
    # a user, a device sign-in and a check change nothing a device keeps offline
    assert _logged(e, lambda: accounts.create_user(e, "new", "新人", Role.WORKER, PASSWORD))[1] == set()
    assert _logged(e, lambda: accounts.sign_in("acme", "new", PASSWORD, {"install_id": "x-1", "name": "p", "platform": "ios"}))[1] == set()
    # assigning the same value is no change
    assert _logged(e, lambda: posts.update_post(e, world.a.post_id, {"name": "液氨储罐区"}))[1] == set()


def test_one_change_per_entity_per_flush_ordered_parents_first(ctx):
    e = enterprises.create_enterprise("delta", "丁企业").id
    site = Site(enterprise_id=e, name="甲", created_at=clock.now())
    db.session.add(site)
    db.session.flush()
    post = Post(enterprise_id=e, site_id=site.id, name="岗", risk_level=RiskLevel.BLUE, qr_token="t" * 43, created_at=site.created_at)
    site.name = "乙"
    db.session.add(post)
    db.session.flush()
    db.session.commit()
    # flush 1: enterprise + site; flush 2: the post and the renamed site, the site first
    assert [(t, i) for _, t, i in _rows(e)] == [("enterprise", e), ("site", site.id), ("site", site.id), ("post", post.id)]


def test_a_rolled_back_transaction_leaves_no_change_and_no_gap(ctx, world):
    e = world.a.enterprise_id
    value = db.session.get(ChangeCounter, e).value
    enterprises.create_site(e, "回滚的区域")
    db.session.rollback()
    assert db.session.get(ChangeCounter, e).value == value
    with db.session.begin_nested():
        enterprises.create_site(e, "保存点内")
        nested = db.session.get(ChangeCounter, e).value
        assert nested == value + 1
    savepoint = db.session.begin_nested()
    enterprises.create_site(e, "保存点回滚")
    savepoint.rollback()
    enterprises.create_site(e, "提交的区域")
    db.session.commit()
    seqs = [r.seq for r in _rows(e)]
    assert seqs == list(range(1, len(seqs) + 1)) and seqs[-1] == value + 2


def test_log_changes_serves_core_writes_and_creates_a_missing_counter(ctx, world):
    e = world.a.enterprise_id
    db.session.execute(sa.delete(ChangeCounter).where(ChangeCounter.enterprise_id == e))
    db.session.execute(sa.delete(Change).where(Change.enterprise_id == e))
    last = log_changes(db.session.connection(), e, [("post", 2), ("site", 1), ("post", 2)])
    db.session.commit()
    assert last == 2
    assert [(r.seq, r.entity, r.entity_id) for r in _rows(e)] == [(1, "site", 1), (2, "post", 2)]
    assert log_changes(db.session.connection(), e, []) == 0


def test_each_enterprise_numbers_its_own_log(app, world):
    for tenant in (world.a, world.b):
        rows = log_rows(app, tenant.enterprise_id)
        assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
        assert counter(app, tenant.enterprise_id) == (len(rows), 0)


def test_api_writes_are_logged_and_pulled(client, world):
    a = world.a
    device = Device(client, a.auth("worker"))
    device.sync()
    r = client.patch(f"/api/v1/posts/{a.post_id}", json={"name": "新名字"}, headers=a.auth("admin"))
    assert r.status_code == 200, r.json
    page = device.pull()
    assert [(c["type"], c["id"], c["op"], c["data"]["name"]) for c in page["changes"]] == [("post", a.post_id, "upsert", "新名字")]


@pytest.mark.parametrize("days, pruned", [(None, 0), ("3", 12)])
def test_prune_command(app, world, days, pruned):
    # the world was built a week ago: the default retention (30 days) keeps it, 3 days do not
    args = ["changes", "prune"] + (["--days", days] if days else [])
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    assert f"pruned {2 * pruned} change(s) in {2 if pruned else 0} enterprise(s)" in result.output
    assert counter(app, world.a.enterprise_id) == (12, pruned)
    assert len(log_rows(app, world.a.enterprise_id)) == 12 - pruned
