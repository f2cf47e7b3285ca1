"""The notification API: channels (admin), the outbox, the caller's inbox — roles, tenancy, secrets."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from server.extensions import db
from server.notifications.models import Channel, Notification
from tests.notifications.conftest import API, ROBOT_SECRET, WEBHOOK_SECRET, channel_body, create_channel, message, notify, run_delivery

ROLES = ("admin", "safety_manager", "supervisor", "worker")


def _endpoints(channel_id: int, notification_id: int) -> list[tuple[str, str, dict | None, tuple[str, ...]]]:
    """Every endpoint: method, path, body, the roles allowed."""
    ch = f"{API}/notification-channels/{channel_id}"
    return [
        ("GET", f"{API}/notifications", None, ROLES),
        ("POST", f"{API}/notifications/{notification_id}/read", None, ROLES),
        ("GET", f"{API}/notification-channels", None, ("admin",)),
        ("POST", f"{API}/notification-channels", {"kind": "wecom", "name": "x", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"}, ("admin",)),
        ("GET", ch, None, ("admin",)),
        ("PATCH", ch, {"name": "改名"}, ("admin",)),
        ("POST", f"{ch}/test", None, ("admin",)),
        ("POST", f"{ch}/replay", {"from_seq": 1}, ("admin",)),
        ("GET", f"{ch}/outbox", None, ("admin",)),
    ]


@pytest.fixture
def setup(app, client, world, receiver):
    """A webhook channel in each enterprise, and a notification in each user's inbox."""
    channels = {t: create_channel(client, getattr(world, t), "webhook", receiver) for t in ("a", "b")}
    for t in ("a", "b"):
        notify(app, getattr(world, t), message(1), recipients=ROLES)
    with app.app_context():
        inbox = {
            (t, role): db.session.scalar(sa.select(Notification.id).where(Notification.user_id == getattr(world, t).users[role]))
            for t in ("a", "b") for role in ROLES
        }
        db.session.remove()
    return channels, inbox


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(client, world, setup, role):
    channels, inbox = setup
    for method, path, body, allowed in _endpoints(channels["a"], inbox[("a", role)]):
        r = client.open(path, method=method, json=body, headers=world.a.auth(role))
        if role in allowed:
            assert r.status_code < 300, (method, path, r.json)
        else:
            assert (r.status_code, r.json["error"]["code"]) == (403, "forbidden"), (method, path)


def test_every_endpoint_needs_a_token(client, setup):
    channels, inbox = setup
    for method, path, body, _ in _endpoints(channels["a"], inbox[("a", "worker")]):
        r = client.open(path, method=method, json=body)
        assert (r.status_code, r.json["error"]["code"]) == (401, "unauthorized"), (method, path)


def test_another_enterprises_ids_are_404_and_change_nothing(app, client, world, setup):
    channels, inbox = setup
    with app.app_context():
        before = [dict(r._mapping) for r in db.session.execute(sa.select(Channel.__table__).order_by(Channel.id))]
        db.session.remove()
    for role in ROLES:
        for method, path, body, allowed in _endpoints(channels["b"], inbox[("b", role)]):
            if role not in allowed or "{" in path or path.endswith(("/notifications", "/notification-channels")):
                continue
            r = client.open(path, method=method, json=body, headers=world.a.auth(role))
            assert (r.status_code, r.json["error"]["code"]) == (404, "not_found"), (method, path, role)
    with app.app_context():
        after = [dict(r._mapping) for r in db.session.execute(sa.select(Channel.__table__).order_by(Channel.id))]
    assert after == before
    # Lists show only A's own.
    r = client.get(f"{API}/notification-channels", headers=world.a.auth("admin"))
    assert [c["id"] for c in r.json] == [channels["a"]]
    r = client.get(f"{API}/notifications", headers=world.a.auth("worker"))
    assert [n["id"] for n in r.json] == [inbox[("a", "worker")]]


def test_a_colleagues_notification_is_404_too(client, world, setup):
    _, inbox = setup
    r = client.post(f"{API}/notifications/{inbox[('a', 'supervisor')]}/read", headers=world.a.auth("worker"))
    assert (r.status_code, r.json["error"]["code"]) == (404, "not_found")


def test_inbox_unread_filter_and_read(client, world, setup, clock):
    _, inbox = setup
    auth = {**world.a.auth("supervisor"), "Accept-Language": "en"}
    r = client.get(f"{API}/notifications", query_string={"unread": "true"}, headers=auth)
    (n,) = r.json
    assert n["title"] == "Missed check: ammonia tank area #1" and n["title_zh"] == "漏检：液氨储罐区 第1条"
    assert n["level"] == "red" and n["kind"] == "missed_check" and n["alert_id"] == 1 and n["read_at"] is None
    r = client.post(f"{API}/notifications/{n['id']}/read", headers=auth)
    assert r.status_code == 200 and r.json["read_at"] == clock.now().isoformat()
    clock.advance(minutes=5)
    again = client.post(f"{API}/notifications/{n['id']}/read", headers=auth)
    assert again.json["read_at"] == r.json["read_at"]  # the first reading counts
    assert client.get(f"{API}/notifications", query_string={"unread": "true"}, headers=auth).json == []
    assert len(client.get(f"{API}/notifications", headers=auth).json) == 1
    zh = client.get(f"{API}/notifications", headers=world.a.auth("supervisor")).json[0]
    assert zh["title"] == "漏检：液氨储罐区 第1条"


def test_inbox_pages_newest_first(app, client, world):
    notify(app, world.a, *(message(n) for n in range(1, 6)))
    auth = world.a.auth("supervisor")
    first = client.get(f"{API}/notifications", query_string={"limit": 2}, headers=auth).json
    assert [n["facts"]["n"] for n in first] == [5, 4]
    rest = client.get(f"{API}/notifications", query_string={"before_id": first[-1]["id"]}, headers=auth).json
    assert [n["facts"]["n"] for n in rest] == [3, 2, 1]
    bad = client.get(f"{API}/notifications", query_string={"limit": 0}, headers=auth)
    assert (bad.status_code, bad.json["error"]["code"]) == (422, "validation_failed")


@pytest.mark.parametrize("kind", ["webhook", "wecom", "dingtalk", "feishu", "email"])
def test_secrets_and_urls_never_come_back(client, world, receiver, smtp, kind):
    a = world.a
    body = channel_body(kind, receiver)
    answers = [client.post(f"{API}/notification-channels", json=body, headers=a.auth("admin"))]
    channel = answers[0].json["id"]
    answers += [
        client.get(f"{API}/notification-channels", headers=a.auth("admin")),
        client.get(f"{API}/notification-channels/{channel}", headers=a.auth("admin")),
        client.patch(f"{API}/notification-channels/{channel}", json={"name": "新名字"}, headers=a.auth("admin")),
        client.post(f"{API}/notification-channels/{channel}/test", headers=a.auth("admin")),
        client.get(f"{API}/notification-channels/{channel}/outbox", headers=a.auth("admin")),
        client.post(f"{API}/notification-channels/{channel}/replay", json={"from_seq": 1}, headers=a.auth("admin")),
    ]
    secrets = [s for s in (WEBHOOK_SECRET, ROBOT_SECRET, "wecom-key-693a91f6", "dt-token") if s in json.dumps(body, ensure_ascii=False)]
    for r in answers:
        assert r.status_code < 300, r.json
        text = r.get_data(as_text=True)
        assert not any(s in text for s in secrets), text
        assert "secret" not in (r.json if isinstance(r.json, dict) else {})
    out = answers[2].json
    assert out["has_secret"] is (kind in ("webhook", "dingtalk", "feishu"))
    if kind != "email":
        assert out["url_hint"] == f"{receiver.base}/…"
    else:
        assert out["url_hint"] is None and out["recipients"] == ["anquan@example.cn", "boss@example.cn"]


def test_create_and_update_a_channel(client, world, receiver):
    a = world.a
    r = client.post(f"{API}/notification-channels", json=channel_body("dingtalk", receiver, language="en"), headers=a.auth("admin"))
    assert r.status_code == 201
    created = r.json
    assert {k: created[k] for k in ("kind", "name", "language", "active", "last_seq", "has_secret")} == {
        "kind": "dingtalk", "name": "dingtalk 渠道", "language": "en", "active": True, "last_seq": 0, "has_secret": True,
    }
    r = client.patch(f"{API}/notification-channels/{created['id']}", json={"secret": None, "active": False}, headers=a.auth("admin"))
    assert r.status_code == 200 and r.json["has_secret"] is False and r.json["active"] is False
    r = client.post(f"{API}/notification-channels/{created['id']}/test", headers=a.auth("admin"))
    assert (r.status_code, r.json["error"]["code"]) == (422, "channel_inactive")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "webhook", "name": "w", "url": "https://example.cn/hook"}, "secret"),
        ({"kind": "webhook", "name": "w", "secret": "s"}, "url"),
        ({"kind": "wecom", "name": "w", "url": "https://qyapi.weixin.qq.com/x?key=k", "secret": "s"}, "secret"),
        ({"kind": "feishu", "name": "w", "url": "ftp://example.cn/hook"}, "url"),
        ({"kind": "feishu", "name": "w", "url": "javascript:alert(1)"}, "url"),
        ({"kind": "dingtalk", "name": "", "url": "https://oapi.dingtalk.com/robot/send"}, "name"),
        ({"kind": "dingtalk", "name": "d", "url": "https://oapi.dingtalk.com/robot/send", "language": "fr"}, "language"),
        ({"kind": "sms", "name": "d"}, "kind"),
        ({"kind": "email", "name": "e", "recipients": ["not-an-address"]}, "recipients"),
        ({"kind": "email", "name": "e", "recipients": []}, "recipients"),
        ({"kind": "email", "name": "e", "recipients": ["a@example.cn"], "url": "https://example.cn"}, "url"),
        ({"kind": "wecom", "name": "w", "url": "https://qyapi.weixin.qq.com/x?key=k", "recipients": ["a@example.cn"]}, "recipients"),
        ({"kind": "webhook", "name": "w", "url": "https://example.cn/hook", "secret": "s", "enterprise_id": 2}, "enterprise_id"),
    ],
)
def test_bad_channels_are_refused_with_the_field_named(client, world, smtp, body, field):
    r = client.post(f"{API}/notification-channels", json=body, headers=world.a.auth("admin"))
    assert (r.status_code, r.json["error"]["code"]) == (422, "validation_failed"), r.json
    assert field in r.json["error"]["details"]


def test_a_patch_is_checked_against_the_channels_kind(client, world, receiver):
    channel = create_channel(client, world.a, "webhook", receiver)
    r = client.patch(f"{API}/notification-channels/{channel}", json={"secret": None}, headers=world.a.auth("admin"))
    assert (r.status_code, r.json["error"]["code"]) == (422, "validation_failed") and "secret" in r.json["error"]["details"]
    r = client.patch(f"{API}/notification-channels/{channel}", json={"kind": "email"}, headers=world.a.auth("admin"))
    assert r.status_code == 422  # a channel's kind is fixed


def test_email_channels_need_the_servers_smtp_relay(client, world, app, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_HOST", None)
    r = client.post(f"{API}/notification-channels", json=channel_body("email"), headers=world.a.auth("admin"))
    assert (r.status_code, r.json["error"]["code"]) == (422, "smtp_not_configured")


def test_send_test_goes_through_the_outbox(app, client, world, receiver):
    a = world.a
    channel = create_channel(client, a, "webhook", receiver)
    notify(app, a, message(1))
    r = client.post(f"{API}/notification-channels/{channel}/test", headers=a.auth("admin"))
    assert r.status_code == 202 and r.json["seq"] == 2 and r.json["status"] == "pending" and r.json["kind"] == "test"
    run_delivery(app)
    test = receiver.at("/webhook")[1].json
    assert test["kind"] == "test" and test["seq"] == 2 and "webhook 渠道" in test["text"]
    assert client.get(f"{API}/notification-channels/{channel}", headers=a.auth("admin")).json["last_seq"] == 2
    with app.app_context():  # a test is for the channel, not for anybody's inbox
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 1


def test_replay_and_outbox_refuse_bad_input(client, world, receiver):
    channel = create_channel(client, world.a, "webhook", receiver)
    auth = world.a.auth("admin")
    for body in ({"from_seq": 0}, {"from_seq": "1"}, {}, {"from_seq": 1, "extra": 1}):
        r = client.post(f"{API}/notification-channels/{channel}/replay", json=body, headers=auth)
        assert (r.status_code, r.json["error"]["code"]) == (422, "validation_failed"), body
    r = client.get(f"{API}/notification-channels/{channel}/outbox", query_string={"status": "lost"}, headers=auth)
    assert (r.status_code, r.json["error"]["code"]) == (422, "validation_failed")
    r = client.post(f"{API}/notification-channels/{channel}/replay", json={"from_seq": 99}, headers=auth)
    assert r.status_code == 202 and r.json["queued"] == 0


def test_every_notification_route_is_documented(client):
    spec = client.get(f"{API}/openapi.json").json
    paths = spec["paths"]
    for path, methods in {
        "/api/v1/notifications": {"get"},
        "/api/v1/notifications/{notification_id}/read": {"post"},
        "/api/v1/notification-channels": {"get", "post"},
        "/api/v1/notification-channels/{channel_id}": {"get", "patch"},
        "/api/v1/notification-channels/{channel_id}/test": {"post"},
        "/api/v1/notification-channels/{channel_id}/replay": {"post"},
        "/api/v1/notification-channels/{channel_id}/outbox": {"get"},
    }.items():
        assert methods <= set(paths[path]), path
    channel_out = spec["components"]["schemas"]["ChannelOut"]["properties"]
    assert "secret" not in channel_out and "url" not in channel_out
