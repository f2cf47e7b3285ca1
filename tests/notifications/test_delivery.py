"""The delivery worker against real local receivers: formats, signatures, order, retries, leases."""
from __future__ import annotations

import email
import email.policy
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.extensions import db
from server.notifications import delivery
from server.notifications.delivery import LEASE, backoff
from server.notifications.models import OutboxEntry, OutboxStatus
from tests.conftest import T0
from tests.notifications.conftest import API, create_channel, message, notify, run_delivery


def _rows(app, channel_id):
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxEntry).where(OutboxEntry.channel_id == channel_id).order_by(OutboxEntry.seq)).all()
        db.session.remove()
        return rows


def _accepted_seqs(receiver, path, header="X-Zicha-Seq"):
    """The seqs the receiver accepted (it logs refused attempts too)."""
    return [int(r.headers[header]) for r in receiver.at(path)]


@pytest.mark.parametrize("kind", ["webhook", "wecom", "dingtalk", "feishu"])
def test_each_kind_arrives_in_its_own_format_and_signature(app, client, world, receiver, kind):
    channel = create_channel(client, world.a, kind, receiver)
    notify(app, world.a, message(1), message(2))
    report = run_delivery(app)
    assert (report.delivered, report.failed, report.dead) == (2, 0, 0)
    assert receiver.problems == []
    got = receiver.at(f"/{kind}")
    assert len(got) == 2
    rows = _rows(app, channel)
    assert [r.status for r in rows] == [OutboxStatus.DELIVERED] * 2
    assert all(r.delivered_at == T0 and r.attempts == 1 for r in rows)
    assert [r.headers["X-Zicha-Id"] for r in got] == [str(r.uuid) for r in rows]
    first = got[0].json
    if kind == "webhook":
        assert first["seq"] == 1 and first["enterprise"] == "acme" and first["channel"] == channel
        assert first["title"] == "漏检：液氨储罐区 第1条" and first["level"] == "red" and first["facts"] == {"n": 1, "schedule_id": 7}
        assert first["created_at"] == T0.isoformat()
    elif kind == "wecom":
        content = first["markdown"]["content"]
        assert "漏检：液氨储罐区 第1条" in content and "重大风险" in content and "[查看详情](https://zicha.example.cn/api/v1/alerts/1)" in content
    elif kind == "dingtalk":
        assert first["markdown"]["title"] == "漏检：液氨储罐区 第1条" and "请班组长立即处理。" in first["markdown"]["text"]
    else:
        post = first["content"]["post"]["zh_cn"]
        assert post["title"] == "漏检：液氨储罐区 第1条"
        assert {"tag": "a", "text": "查看详情", "href": "https://zicha.example.cn/api/v1/alerts/1"} in [c for row in post["content"] for c in row]


def test_english_channels_get_english(app, client, world, receiver):
    create_channel(client, world.a, "feishu", receiver, language="en")
    create_channel(client, world.a, "webhook", receiver, language="en")
    notify(app, world.a, message(1))
    run_delivery(app)
    assert receiver.problems == []
    post = receiver.at("/feishu")[0].json["content"]["post"]
    assert list(post) == ["en_us"] and post["en_us"]["title"] == "Missed check: ammonia tank area #1"
    assert "Level: Major risk" in str(post["en_us"]["content"])
    assert receiver.at("/webhook")[0].json["text"].startswith("The daily check")


def test_email_arrives_with_a_utf8_chinese_subject_and_body(app, client, world, smtp):
    channel = create_channel(client, world.a, "email")
    notify(app, world.a, message(1))
    report = run_delivery(app)
    assert report.delivered == 1
    (envelope,) = smtp.messages
    assert envelope.mail_from == "zicha@example.cn"
    assert sorted(envelope.rcpt_tos) == ["anquan@example.cn", "boss@example.cn"]
    mail = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert mail["Subject"] == "[重大风险] 漏检：液氨储罐区 第1条"
    assert mail["Message-ID"] == f"<{_rows(app, channel)[0].uuid}@zicha>"
    assert mail["X-Zicha-Seq"] == "1"
    assert mail.get_content_charset() == "utf-8"
    body = mail.get_content()
    assert "液氨储罐区日检未按时完成（第1条）。" in body and "查看详情: https://zicha.example.cn/api/v1/alerts/1" in body


@pytest.mark.parametrize("smtp", ["starttls", "ssl"], indirect=True)
def test_email_over_starttls_and_ssl_verifies_the_server(app, client, world, smtp):
    create_channel(client, world.a, "email")
    notify(app, world.a, message(1))
    assert run_delivery(app).delivered == 1
    mail = email.message_from_bytes(smtp.messages[0].original_content, policy=email.policy.default)
    assert mail["Subject"] == "[重大风险] 漏检：液氨储罐区 第1条"


def test_email_refuses_an_unknown_security_setting(app, client, world, smtp, monkeypatch):
    channel = create_channel(client, world.a, "email")
    notify(app, world.a, message(1))
    monkeypatch.setitem(app.config, "SMTP_SECURITY", "tls-ish")
    assert run_delivery(app).failed == 1
    assert smtp.messages == [] and "SMTP_SECURITY" in _rows(app, channel)[0].last_error


def test_email_fails_and_retries_when_the_smtp_server_is_down(app, client, world, smtp, monkeypatch):
    channel = create_channel(client, world.a, "email")
    notify(app, world.a, message(1))
    with socket_closed() as port:
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        report = run_delivery(app)
    assert (report.delivered, report.failed) == (0, 1)
    (row,) = _rows(app, channel)
    assert row.status is OutboxStatus.PENDING and row.last_error.startswith("SMTP ")


def socket_closed():
    """A port on 127.0.0.1 where nothing listens."""
    import contextlib
    import socket

    @contextlib.contextmanager
    def closed():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        yield port

    return closed()


def test_a_receiver_that_fails_three_times_gets_each_notification_once_and_in_order(app, client, world, receiver, clock):
    channel = create_channel(client, world.a, "webhook", receiver)
    notify(app, world.a, message(1), message(2), message(3))
    receiver.fail["/webhook"] = 3
    waits = []
    for _ in range(3):
        report = run_delivery(app)
        assert (report.delivered, report.failed) == (0, 1)  # the head failed; the rest waited behind it
        head = _rows(app, channel)[0]
        waits.append(head.next_attempt_at - clock.now())
        assert run_delivery(app).attempted == 0  # not before its time
        clock.set(head.next_attempt_at)
    assert waits == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    report = run_delivery(app)
    assert (report.delivered, report.failed) == (3, 0)
    seqs = _accepted_seqs(receiver, "/webhook")
    assert seqs == [1, 1, 1, 1, 2, 3]  # three refused attempts of #1, then each accepted once
    assert receiver.problems == []
    rows = _rows(app, channel)
    assert [(r.seq, r.status, r.attempts) for r in rows] == [(1, OutboxStatus.DELIVERED, 4), (2, OutboxStatus.DELIVERED, 1), (3, OutboxStatus.DELIVERED, 1)]
    assert rows[0].last_error is None
    assert len({r.headers["X-Zicha-Id"] for r in receiver.at("/webhook")[:4]}) == 1  # a retry keeps its id


def test_a_failing_channel_does_not_hold_up_the_others(app, client, world, receiver):
    hook = create_channel(client, world.a, "webhook", receiver)
    create_channel(client, world.a, "wecom", receiver)
    create_channel(client, world.a, "dingtalk", receiver)
    receiver.fail["/webhook"] = 99
    receiver.fail["/dingtalk"] = 1  # errcode ≠ 0 in an HTTP 200 is a refusal
    notify(app, world.a, message(1), message(2))
    report = run_delivery(app)
    assert (report.delivered, report.failed) == (2, 2)
    assert len(receiver.at("/wecom")) == 2
    assert len(receiver.at("/webhook")) == 1 and len(receiver.at("/dingtalk")) == 1
    head = _rows(app, hook)[0]
    assert head.attempts == 1 and head.last_error.startswith("HTTP 503")


def test_unreachable_receivers_are_retried(app, client, world, receiver):
    with socket_closed() as port:
        channel = create_channel(client, world.a, "webhook", receiver, url=f"http://127.0.0.1:{port}/hook")
        notify(app, world.a, message(1))
        assert run_delivery(app).failed == 1
    (row,) = _rows(app, channel)
    assert row.status is OutboxStatus.PENDING and "ConnectionError" in row.last_error


def test_dead_after_max_attempts_stays_visible_and_the_channel_moves_on_then_replay(app, client, world, receiver, clock, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_MAX_ATTEMPTS", 3)
    a = world.a
    channel = create_channel(client, a, "webhook", receiver)
    notify(app, a, message(1), message(2))
    receiver.fail["/webhook"] = 3
    for _ in range(3):
        run_delivery(app)
        clock.set(_rows(app, channel)[0].next_attempt_at)
    rows = _rows(app, channel)
    assert [(r.seq, r.status, r.attempts) for r in rows] == [(1, OutboxStatus.DEAD, 3), (2, OutboxStatus.DELIVERED, 1)]
    assert _accepted_seqs(receiver, "/webhook") == [1, 1, 1, 2]  # #2 went right after #1 died

    r = client.get(f"{API}/notification-channels/{channel}/outbox", query_string={"status": "dead"}, headers=a.auth("admin"))
    assert r.status_code == 200
    assert [(o["seq"], o["status"], o["attempts"]) for o in r.json] == [(1, "dead", 3)]
    assert r.json[0]["last_error"].startswith("HTTP 503") and r.json[0]["id"] == str(rows[0].uuid)

    # The receiver saw seq 2 without 1 and asks for a replay from 1: both again, in order, same ids.
    r = client.post(f"{API}/notification-channels/{channel}/replay", json={"from_seq": 1}, headers=a.auth("admin"))
    assert r.status_code == 202 and r.json == {"channel_id": channel, "from_seq": 1, "queued": 2, "last_seq": 2}
    assert run_delivery(app).delivered == 2
    replayed = receiver.at("/webhook")[4:]
    assert [int(x.headers["X-Zicha-Seq"]) for x in replayed] == [1, 2]
    assert [x.headers["X-Zicha-Id"] for x in replayed] == [str(row.uuid) for row in rows]
    assert [r.status for r in _rows(app, channel)] == [OutboxStatus.DELIVERED] * 2


def test_replay_from_a_later_seq_sends_only_from_there(app, client, world, receiver):
    a = world.a
    channel = create_channel(client, a, "webhook", receiver)
    notify(app, a, message(1), message(2), message(3))
    run_delivery(app)
    r = client.post(f"{API}/notification-channels/{channel}/replay", json={"from_seq": 3}, headers=a.auth("admin"))
    assert r.json["queued"] == 1
    run_delivery(app)
    assert _accepted_seqs(receiver, "/webhook") == [1, 2, 3, 3]


def test_two_workers_at_once_send_each_row_once(app, client, world, receiver):
    create_channel(client, world.a, "webhook", receiver)
    notify(app, world.a, message(1), message(2))
    receiver.hold = threading.Event()
    reports = []
    worker = threading.Thread(target=lambda: reports.append(run_delivery(app)))
    worker.start()
    assert receiver.arrived.wait(timeout=30)  # worker 1 is mid-send, holding the channel's lease
    second = run_delivery(app)
    assert second.attempted == 0 and second.channels == set()
    receiver.hold.set()
    worker.join(timeout=30)
    assert reports[0].delivered == 2
    assert _accepted_seqs(receiver, "/webhook") == [1, 2]


def test_a_claim_is_exclusive(app, client, world, receiver, clock):
    channel = create_channel(client, world.a, "webhook", receiver)
    with app.app_context():
        assert delivery._claim(channel, "worker-1", clock.now())
        assert not delivery._claim(channel, "worker-2", clock.now())
        assert delivery._claim(channel, "worker-2", clock.now() + LEASE)  # an expired lease is taken over
        db.session.remove()


def test_a_crash_between_send_and_commit_resends_with_the_same_id(app, client, world, receiver, clock, monkeypatch):
    channel = create_channel(client, world.a, "webhook", receiver)
    notify(app, world.a, message(1))

    def crash(*args, **kwargs):
        raise SystemExit("killed after the send, before the commit")

    with monkeypatch.context() as m:
        m.setattr(delivery, "_record", crash)
        m.setattr(delivery, "_release", lambda *a: None)  # a killed process releases nothing
        with pytest.raises(SystemExit):
            run_delivery(app)
    assert _rows(app, channel)[0].status is OutboxStatus.PENDING
    assert run_delivery(app).attempted == 0  # the dead worker's lease still holds
    clock.advance(seconds=LEASE.total_seconds())
    assert run_delivery(app).delivered == 1
    first, again = receiver.at("/webhook")
    assert first.headers["X-Zicha-Id"] == again.headers["X-Zicha-Id"] and first.body == again.body


def test_a_deactivated_channel_keeps_its_rows_until_it_is_active_again(app, client, world, receiver):
    a = world.a
    channel = create_channel(client, a, "webhook", receiver)
    notify(app, a, message(1))
    assert client.patch(f"{API}/notification-channels/{channel}", json={"active": False}, headers=a.auth("admin")).status_code == 200
    notify(app, a, message(2))  # not written to an inactive channel
    assert run_delivery(app).attempted == 0
    client.patch(f"{API}/notification-channels/{channel}", json={"active": True}, headers=a.auth("admin"))
    assert run_delivery(app).delivered == 1
    assert [r.seq for r in _rows(app, channel)] == [1]


def test_limit_bounds_the_attempts_of_one_run(app, client, world, receiver):
    create_channel(client, world.a, "webhook", receiver)
    notify(app, world.a, *(message(n) for n in range(1, 6)))
    assert run_delivery(app, limit=2).delivered == 2
    assert run_delivery(app, limit=10).delivered == 3
    assert _accepted_seqs(receiver, "/webhook") == [1, 2, 3, 4, 5]


def test_backoff_doubles_and_is_capped():
    settings = {"NOTIFY_BACKOFF_SECONDS": 30, "NOTIFY_BACKOFF_MAX_SECONDS": 3600}
    assert [backoff(n, settings).total_seconds() for n in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_cli_deliver_with_now(app, client, world, receiver, clock):
    channel = create_channel(client, world.a, "webhook", receiver)
    notify(app, world.a, message(1))
    receiver.fail["/webhook"] = 1
    runner = app.test_cli_runner()
    result = runner.invoke(args=["notifications", "deliver"])
    assert result.exit_code == 0, result.output
    assert "delivered 0, failed 1" in result.output
    retry_at = _rows(app, channel)[0].next_attempt_at
    result = runner.invoke(args=["notifications", "deliver", "--now", retry_at.astimezone().isoformat()])
    assert "delivered 1, failed 0" in result.output
    bad = runner.invoke(args=["notifications", "deliver", "--now", "2026-11-23T10:00"])
    assert bad.exit_code == 2 and "offset" in bad.output
