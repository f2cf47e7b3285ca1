"""The notification channels' pages: admins only (as the API), masked secrets, edit and
deactivate, and "send test" through the outbox to a real HTTP receiver on 127.0.0.1."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from server.extensions import db
from server.notifications.models import Channel, OutboxEntry
from tests.notifications.conftest import WEBHOOK_SECRET, channel_body, create_channel, receiver, run_delivery  # noqa: F401 (fixture)

LIST = "/manage/channels"


def text(response) -> str:
    return response.get_data(as_text=True)


def follow(browser, response):
    assert response.status_code == 303, text(response)
    return browser.get(response.headers["Location"])


def channel_row(app, channel_id: int) -> dict:
    with app.app_context():
        row = dict(db.session.execute(sa.select(Channel.__table__).where(Channel.id == channel_id)).one()._mapping)
        db.session.remove()
        return row


def outbox(app, channel_id: int) -> list[dict]:
    with app.app_context():
        rows = [dict(r._mapping) for r in db.session.execute(sa.select(OutboxEntry.__table__).where(OutboxEntry.channel_id == channel_id).order_by(OutboxEntry.seq))]
        db.session.remove()
        return rows


def channel_count(app) -> int:
    with app.app_context():
        n = db.session.scalar(sa.select(sa.func.count()).select_from(Channel))
        db.session.remove()
        return n


@pytest.fixture
def channels(client, world, receiver):  # noqa: F811
    """A signed webhook and a WeCom robot in enterprise a, a webhook in b, all aimed at the receiver."""
    return {
        "webhook": create_channel(client, world.a, "webhook", receiver, name="安全群 Webhook"),
        "wecom": create_channel(client, world.a, "wecom", receiver, name="企业微信安全群"),
        "b": create_channel(client, world.b, "webhook", receiver, name="乙企业渠道"),
    }


# --------------------------------------------------------------------------- roles and tenancy


@pytest.mark.parametrize("role", ["supervisor", "safety_manager"])
def test_only_admins_open_or_change_channels_as_in_the_api(app, browser_for, channels, role):
    browser = browser_for(role)
    cid = channels["webhook"]
    for url in (LIST, f"{LIST}/{cid}"):
        r = browser.get(url)
        assert r.status_code == 403 and "无权访问" in text(r), url
    before = channel_row(app, cid)
    for url, data in ((LIST, {"kind": "wecom", "name": "x", "url": "https://example.cn/?key=k"}), (f"{LIST}/{cid}", {"active": "false"}), (f"{LIST}/{cid}/test", {})):
        assert browser.post(url, data).status_code == 403, url
    assert channel_row(app, cid) == before and outbox(app, cid) == [] and channel_count(app) == 3


def test_another_enterprises_channel_is_a_404_page_and_untouched(app, browser_for, channels):
    browser = browser_for("admin")
    cid = channels["b"]
    before = channel_row(app, cid)
    r = browser.get(f"{LIST}/{cid}")
    assert r.status_code == 404 and "未找到" in text(r)
    for url, data in ((f"{LIST}/{cid}", {"name": "改掉", "active": "false"}), (f"{LIST}/{cid}/test", {})):
        r = browser.post(url, data)
        assert r.status_code == 404 and "未找到" in text(r), url
    assert channel_row(app, cid) == before and outbox(app, cid) == []
    assert "乙企业渠道" not in text(browser.get(LIST))


# --------------------------------------------------------------------------- the list and secrets


def test_the_list_shows_each_channel_with_its_secrets_masked(browser_for, channels, receiver):  # noqa: F811
    html = text(browser_for("admin").get(LIST))
    assert "安全群 Webhook" in html and "企业微信安全群" in html
    assert "通用 Webhook（签名）" in html and "企业微信群机器人" in html
    assert f"{receiver.base}/…" in html and "已设置" in html and "尚未发送" in html
    for secret in (WEBHOOK_SECRET, "wecom-key-693a91f6", f"{receiver.base}/webhook", f"{receiver.base}/wecom"):
        assert secret not in html
    assert 'action="/manage/channels"' in html and "添加渠道" in html


def test_an_empty_list_says_so(browser_for, world):
    assert "还没有通知渠道" in text(browser_for("admin").get(LIST))


def test_an_admin_adds_a_webhook_and_its_secret_is_never_shown_again(app, browser_for, world, receiver):  # noqa: F811
    browser = browser_for("admin")
    browser.get(LIST)
    body = channel_body("webhook", receiver, name="调度室 Webhook", language="en")
    page = follow(browser, browser.post(LIST, {**body, "back": LIST}))
    html = text(page)
    assert "已添加渠道 调度室 Webhook" in html and "发送测试" in html and "English" in html
    assert WEBHOOK_SECRET not in html and receiver.url("/webhook") not in html
    with app.app_context():
        row = db.session.scalar(sa.select(Channel).where(Channel.name == "调度室 Webhook"))
        assert (row.url, row.secret, row.language, row.enterprise_id) == (receiver.url("/webhook"), WEBHOOK_SECRET, "en", world.a.enterprise_id)
        db.session.remove()


@pytest.mark.parametrize(
    "body, complaint",
    [
        ({"kind": "webhook", "name": "无密钥", "url": "https://hooks.example.cn/zicha"}, "签名密钥"),
        ({"kind": "wecom", "name": "无地址"}, "必填"),
        ({"kind": "dingtalk", "name": "坏地址", "url": "ftp://example.cn"}, "http(s)"),
        ({"kind": "email", "name": "邮件", "recipients": "anquan@example.cn"}, "服务器未配置邮件发送"),
        ({"kind": "email", "name": "坏邮箱", "recipients": "not-an-address"}, "recipients"),
        ({"kind": "fax", "name": "传真"}, "kind"),
    ],
)
def test_a_bad_channel_is_refused_with_the_reason_and_nothing_stored(app, browser_for, world, body, complaint):
    browser = browser_for("admin")
    browser.get(LIST)
    page = follow(browser, browser.post(LIST, {**body, "back": LIST}))
    assert "flash-error" in text(page) and complaint in text(page)
    assert channel_count(app) == 0


# --------------------------------------------------------------------------- editing


def test_editing_keeps_the_stored_url_and_secret_unless_new_ones_are_typed(app, browser_for, channels):
    browser = browser_for("admin")
    cid = channels["webhook"]
    url = f"{LIST}/{cid}"
    html = text(browser.get(url))
    assert 'name="url" type="url"' in html and WEBHOOK_SECRET not in html and "留空则保持不变" in html
    before = channel_row(app, cid)
    page = follow(browser, browser.post(url, {"name": "改名后的渠道", "language": "en", "url": "", "secret": "", "back": url}))
    assert "渠道 改名后的渠道 已保存" in text(page)
    after = channel_row(app, cid)
    assert (after["name"], after["language"], after["url"], after["secret"]) == ("改名后的渠道", "en", before["url"], before["secret"])
    follow(browser, browser.post(url, {"name": "改名后的渠道", "secret": "a-new-signing-secret", "back": url}))
    assert channel_row(app, cid)["secret"] == "a-new-signing-secret"
    assert "a-new-signing-secret" not in text(browser.get(url))
    page = follow(browser, browser.post(url, {"url": "javascript:alert(1)", "back": url}))
    assert "flash-error" in text(page) and channel_row(app, cid)["url"] == before["url"]


def test_deactivating_stops_tests_and_activating_again_allows_them(app, browser_for, channels):
    browser = browser_for("admin")
    cid = channels["wecom"]
    url = f"{LIST}/{cid}"
    browser.get(url)
    page = follow(browser, browser.post(url, {"active": "false", "back": url}))
    html = text(page)
    assert "渠道 企业微信安全群 已停用" in html and "重新启用" in html and 'id="send-test"' not in html
    assert channel_row(app, cid)["active"] is False
    page = follow(browser, browser.post(f"{url}/test", {"back": url}))
    assert "该通知渠道已停用" in text(page) and outbox(app, cid) == []
    page = follow(browser, browser.post(url, {"active": "true", "back": url}))
    assert "已重新启用" in text(page) and 'id="send-test"' in text(page)


# --------------------------------------------------------------------------- send test


def test_send_test_goes_through_the_outbox_and_the_page_shows_it_delivered(app, browser_for, channels, receiver):  # noqa: F811
    browser = browser_for("admin")
    cid = channels["webhook"]
    url = f"{LIST}/{cid}"
    assert "尚未发送过消息" in text(browser.get(url))
    page = follow(browser, browser.post(f"{url}/test", {"back": url}))
    html = text(page)
    assert "测试消息 #1 已排队" in html and "自查测试通知" in html and "等待发送" in html
    report = run_delivery(app)
    assert report.delivered == 1
    html = text(browser.get(url))
    assert "已送达" in html and "2026-11-23 10:00" in html and "等待发送" not in html
    (request,) = receiver.at("/webhook")
    assert receiver.problems == [] and request.json["kind"] == "test" and "安全群 Webhook" in request.json["text"]
    assert "已送达" in text(browser.get(LIST))


def test_a_failed_test_shows_the_receivers_error_on_the_page(app, browser_for, channels, receiver):  # noqa: F811
    browser = browser_for("admin")
    url = f"{LIST}/{channels['wecom']}"
    browser.get(url)
    receiver.fail["/wecom"] = 1
    follow(browser, browser.post(f"{url}/test", {"back": url}))
    run_delivery(app)
    html = text(browser.get(url))
    # Retried 30 s later (10:00:30 in Shanghai), with the robot's own refusal shown.
    assert "发送失败，将于 10:00:30 重试" in html and "wecom refused: code=310000 sign not match" in html
    assert "wecom refused" in text(browser.get(LIST))
    # The retry succeeds: the page says so and the error is gone.
    run_delivery(app, now=outbox(app, channels["wecom"])[0]["next_attempt_at"])
    html = text(browser.get(url))
    assert "已送达" in html and "wecom refused" not in html


def test_a_test_given_up_on_is_shown_with_its_last_error(app, browser_for, channels, receiver, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "NOTIFY_MAX_ATTEMPTS", 1)
    browser = browser_for("admin")
    url = f"{LIST}/{channels['webhook']}"
    browser.get(url)
    receiver.fail["/webhook"] = 1
    follow(browser, browser.post(f"{url}/test", {"back": url}))
    assert run_delivery(app).dead == 1
    html = text(browser.get(url))
    assert "已放弃发送" in html and "HTTP 503" in html and 'class="failed"' in html
