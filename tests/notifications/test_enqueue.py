"""enqueue: the transactional outbox, written in the caller's transaction."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from server.extensions import db
from server.notifications.models import Notification, OutboxEntry, OutboxStatus
from server.notifications.services import enqueue, message_from_json, message_to_json
from tests.notifications.conftest import create_channel, message


def _outbox(app, channel_id):
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxEntry).where(OutboxEntry.channel_id == channel_id).order_by(OutboxEntry.seq)).all()
        db.session.remove()
        return rows


def test_one_inbox_row_per_recipient_and_one_outbox_row_per_active_channel(app, client, world, receiver):
    a = world.a
    hook = create_channel(client, a, "webhook", receiver)
    robot = create_channel(client, a, "wecom", receiver)
    off = create_channel(client, a, "feishu", receiver, active=False)
    with app.app_context():
        users = [a.users["supervisor"], a.users["safety_manager"], a.users["supervisor"]]  # a repeat counts once
        enqueue(a.enterprise_id, message(1), users, alert_id=41)
        db.session.commit()
        inbox = db.session.scalars(sa.select(Notification).order_by(Notification.user_id)).all()
        assert [(n.user_id, n.alert_id) for n in inbox] == sorted([(a.users["supervisor"], 41), (a.users["safety_manager"], 41)])
        assert message_from_json(inbox[0].message) == message(1)
        rows = db.session.scalars(sa.select(OutboxEntry).order_by(OutboxEntry.channel_id)).all()
        assert [(r.channel_id, r.seq, r.status, r.alert_id) for r in rows] == [
            (hook, 1, OutboxStatus.PENDING, 41), (robot, 1, OutboxStatus.PENDING, 41),
        ]
        assert rows[0].uuid != rows[1].uuid
        assert rows[0].message == message_to_json(message(1))
    assert _outbox(app, off) == []


def test_numbers_have_no_holes_when_a_transaction_rolls_back(app, client, world, receiver):
    a = world.a
    hook = create_channel(client, a, "webhook", receiver)
    with app.app_context():
        enqueue(a.enterprise_id, message(1), [])
        db.session.commit()
        enqueue(a.enterprise_id, message(2), [])
        db.session.rollback()  # the alert that wanted it was rolled back: its number comes back
        enqueue(a.enterprise_id, message(3), [])
        db.session.commit()
        db.session.remove()
    assert [(r.seq, r.message["facts"]["n"]) for r in _outbox(app, hook)] == [(1, 1), (2, 3)]


def test_push_false_stays_in_the_app(app, client, world, receiver):
    a = world.a
    hook = create_channel(client, a, "webhook", receiver)
    with app.app_context():
        enqueue(a.enterprise_id, message(1, "blue"), [a.users["supervisor"]], push=False)
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 1
    assert _outbox(app, hook) == []


def test_recipients_of_another_enterprise_are_a_programming_error(app, ctx, world):
    with pytest.raises(ValueError):
        enqueue(world.a.enterprise_id, message(1), [world.b.users["supervisor"]])


def test_inactive_users_get_no_inbox_row(app, ctx, world):
    from server.accounts.models import User

    a = world.a
    db.session.get(User, a.users["worker"]).active = False
    enqueue(a.enterprise_id, message(1), [a.users["worker"], a.users["supervisor"]])
    assert db.session.scalars(sa.select(Notification.user_id)).all() == [a.users["supervisor"]]


def test_channels_of_other_enterprises_are_not_written(app, client, world, receiver):
    hook_b = create_channel(client, world.b, "webhook", receiver)
    with app.app_context():
        enqueue(world.a.enterprise_id, message(1), [world.a.users["supervisor"]])
        db.session.commit()
        db.session.remove()
    assert _outbox(app, hook_b) == []
