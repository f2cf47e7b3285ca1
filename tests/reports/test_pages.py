"""The public report page (``/r/…``) through the test client, as a browser without JavaScript
uses it: the form in Chinese and English, a report with a photo, its receipt, the status page,
and what keeps it safe — headers, CSRF, the honeypot and the rate limits."""
from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from PIL import Image

from server.extensions import db
from server.reports import receipts, sealing
from server.reports.models import FamilyReport, FamilyReportPhoto
from server.reports.texts import TEXTS
from tests.reports.conftest import API, REPORTER_ADDR, Page, csrf_of, link_token, metadata_jpeg, receipt_on

OTHER_ADDR = "198.51.100.23"
ZH, EN = TEXTS["zh"], TEXTS["en"]


def _reports(app) -> list[FamilyReport]:
    with app.app_context():
        rows = db.session.scalars(sa.select(FamilyReport).order_by(FamilyReport.id)).all()
        db.session.remove()
    return rows


def _count(app, model) -> int:
    with app.app_context():
        n = db.session.scalar(sa.select(sa.func.count()).select_from(model))
        db.session.remove()
    return n


def _text(response) -> str:
    return response.get_data(as_text=True)


# --------------------------------------------------------------------------- the form


def test_the_form_speaks_chinese_by_default_and_english_when_the_browser_prefers_it(page, world):
    html = _text(page.open())
    assert '<html lang="zh-CN">' in html and ZH["form_title"] in html and ZH["form_intro"].format(enterprise="甲企业") in html
    assert "危化品仓库" in html and "配电室" in html and f'value="{world.a.site_id}"' in html
    # Camera or album, several photos; the contact, the anonymous choice, the supervisor box.
    assert 'accept="image/*" multiple capture="environment"' in html and html.count('type="file"') == 2
    assert 'enctype="multipart/form-data"' in html and 'name="anonymous" value="true" checked' in html
    assert 'name="contact"' in html and 'name="concerns_supervisor"' in html and 'name="website"' in html
    english = _text(page.open(lang="en-US,en;q=0.9"))
    assert '<html lang="en">' in english and EN["form_title"] in english and EN["anonymous_yes"] in english
    assert ZH["form_title"] not in english
    assert ZH["form_title"] in _text(page.open(lang="zh-CN,zh;q=0.9,en;q=0.8"))
    assert ZH["form_title"] in _text(page.open(lang="fr-FR"))


def test_every_text_exists_in_both_languages():
    assert set(TEXTS["zh"]) == set(TEXTS["en"])
    assert all(value.strip() for lang in TEXTS.values() for value in lang.values())


def test_an_unknown_or_rotated_link_is_a_plain_page(app, client, page, world):
    assert page.open().status_code == 200
    client.post(f"{API}/report-settings/rotate-link", headers=world.a.auth("admin"))
    for token in (page.token, "x" * 22, "x" * 200):
        r = client.get(f"/r/{token}")
        assert r.status_code == 404 and ZH["link_invalid_title"] in _text(r) and "甲企业" not in _text(r)
    r = page.send(csrf=csrf_of(_text(client.get("/r/status"))))  # a valid token, a dead link
    assert r.status_code == 404 and ZH["link_invalid_title"] in _text(r) and _reports(app) == []


def _assert_protected(response):
    headers = response.headers
    assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    csp = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'none'" and csp["frame-ancestors"] == "'none'" and csp["form-action"] == "'self'"
    [nonce] = re.findall(r"'nonce-([^']+)'", csp["script-src"])
    assert csp["script-src"] == f"'nonce-{nonce}'"  # no 'unsafe-inline' for scripts, no host
    html = response.get_data(as_text=True)
    # Every script and style on the page carries this response's nonce; nothing is loaded from elsewhere.
    assert re.findall(r"<(?:script|style)[^>]*>", html) and all(f'nonce="{nonce}"' in tag for tag in re.findall(r"<(?:script|style)[^>]*>", html))
    assert not re.search(r"""(?:src|href)=["']https?:""", html) and "<link" not in html


def test_every_page_is_uncached_unframed_and_runs_only_its_own_script(page, client, monkeypatch, app):
    _assert_protected(page.open())
    _assert_protected(client.get("/r/no-such-link"))
    _assert_protected(client.get("/r/status"))
    sent = page.send()
    _assert_protected(sent)
    _assert_protected(page.look_up(receipt_on(sent)))
    _assert_protected(page.look_up("0000-0000-0000-0000"))
    _assert_protected(page.send(csrf=None))
    monkeypatch.setitem(app.config, "REPORT_LIMIT_FORM_PER_CLIENT", "1 per minute")
    assert page.open().status_code == 200
    limited = page.open()
    assert limited.status_code == 429
    _assert_protected(limited)
    assert client.get("/r/status").headers["Content-Security-Policy"] != limited.headers["Content-Security-Policy"]  # a nonce per response


# --------------------------------------------------------------------------- sending, the receipt


def test_a_report_with_a_photo_without_javascript_gets_its_receipt(app, page, world, photo_dirs, clock):
    r = page.send(photos=(metadata_jpeg((800, 600)),), site_id=world.a.site_id, anonymous="false", contact="微信 wx_li", concerns_supervisor=True)
    assert r.status_code == 200, _text(r)
    html = _text(r)
    code = receipt_on(r)
    assert receipts.normalise(code) is not None and html.count(code) == 1  # shown once, on the page
    assert ZH["receipt_advice"] in html and ZH["receipt_contact"] in html and 'href="/r/status"' in html
    assert "2026-11-23 10:00" in html  # sent at, in the enterprise's zone
    [report] = _reports(app)
    assert (report.enterprise_id, report.site_id, report.location, report.anonymous, report.concerns_supervisor) == (
        world.a.enterprise_id, world.a.site_id, "3号仓库东门", False, True)
    assert report.description == "消防通道被货物堵死" and report.created_at == clock.now()
    with app.app_context():
        assert sealing.unseal(report.contact_sealed) == "微信 wx_li"
        [photo] = db.session.scalars(sa.select(FamilyReportPhoto)).all()
        db.session.remove()
    assert (photo.width, photo.height) == (800, 600)
    assert report.receipt_hash == receipts.digest(code)


def test_staying_anonymous_keeps_no_contact_even_if_one_was_typed(app, page):
    r = page.send(anonymous="true", contact="13900000000")
    assert r.status_code == 200 and ZH["receipt_anonymous"] in _text(r)
    [report] = _reports(app)
    assert report.anonymous and report.contact_sealed is None


def test_the_receipt_page_in_english(page):
    r = page.send(lang="en")
    assert r.status_code == 200 and EN["receipt_title"] in _text(r) and EN["receipt_advice"] in _text(r)


@pytest.mark.parametrize(
    "fields, photos, status, message",
    [
        ({"description": "   "}, (), 422, "err_description"),
        ({"description": "x" * 2001}, (), 422, "err_too_long"),
        ({"site_id": "999999"}, (), 422, "err_site"),
        ({}, ("gif",), 415, "err_photo_type"),
        ({}, (b"\xff\xd8\xff\xe0 broken",), 422, "err_photo_invalid"),
    ],
)
def test_a_refused_report_shows_the_form_again_with_the_text_kept(app, page, world, photo_dirs, fields, photos, status, message):
    if photos == ("gif",):
        gif = io.BytesIO()
        Image.new("RGB", (8, 8)).save(gif, "GIF")
        photos = (gif.getvalue(),)
    typed = {"location": "二号车间<北门>", "anonymous": "false", "contact": "老李 139", "concerns_supervisor": True, **fields}
    r = page.send(photos=photos, site_id=fields.get("site_id", world.a.other_site_id), **{k: v for k, v in typed.items() if k != "site_id"})
    assert r.status_code == status
    html = _text(r)
    assert ZH["error_title"] in html and ZH[message].format(n=5) in html
    assert "二号车间&lt;北门&gt;" in html and 'value="老李 139"' in html  # kept, and escaped
    assert 'name="anonymous" value="false" checked' in html and 'name="concerns_supervisor" value="true" checked' in html
    if "site_id" not in fields:
        assert f'value="{world.a.other_site_id}" selected' in html
    if "description" not in fields:
        assert "消防通道被货物堵死</textarea>" in html
    if photos:
        assert ZH["photos_again"] in html
    assert csrf_of(html)  # a fresh token: it can be sent again as it is
    assert _reports(app) == [] and not list(photo_dirs["PHOTO_DIR"].rglob("*.jpg"))


def test_too_many_photos_and_too_large_a_body_are_refused_kindly(app, page, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_MAX_PHOTOS", 1)
    r = page.send(photos=(metadata_jpeg(), metadata_jpeg((30, 30))))
    assert r.status_code == 422 and ZH["err_photo_count"].format(n=1) in _text(r) and "消防通道被货物堵死" in _text(r)
    monkeypatch.setitem(app.config, "REPORT_MAX_CONTENT_LENGTH", 2000)
    r = page.send(photos=(b"\xff\xd8\xff" + b"0" * 5000,))
    assert r.status_code == 413 and ZH["err_photo_large"] in _text(r) and csrf_of(_text(r))
    assert _reports(app) == []


# --------------------------------------------------------------------------- following the receipt


def test_the_status_page_follows_the_report_and_never_names_who_handled_it(app, page, queue, world, clock):
    code = receipt_on(page.send())
    r = page.look_up(code)
    assert r.status_code == 200
    assert ZH["status_of"].format(enterprise="甲企业") in _text(r) and '<li class="current">已受理</li>' in _text(r)
    assert ZH["status_no_reply"] in _text(r)
    clock.advance(days=1)
    rid = queue.ids()[0]
    assert queue.confirm(rid, reply="感谢举报，已安排整改", note="王主任复核").status_code == 200
    assert queue.post(f"/reports/{rid}/rewards", {"amount": "200", "note": "财务张会计发放"}).status_code == 201
    r = page.look_up(code.lower().replace("-", " "))  # as a person may type it
    html = _text(r)
    assert r.status_code == 200 and '<p class="big" id="status-now">已确认</p>' in html
    assert '<li class="done">已受理</li>' in html and '<li class="current">已确认</li>' in html and '<li class="todo">已整改</li>' in html
    assert "感谢举报，已安排整改" in html and "200.00 元" in html and ZH["reward_granted"] in html
    assert "2026-11-24 10:00" in html  # replied, in the enterprise's zone
    for secret in ("王主任", "张会计", "甲企业safety_manager", "甲企业admin", "甲企业supervisor", "YH-"):
        assert secret not in html
    english = _text(page.look_up(code, lang="en"))
    assert EN["step_confirmed"] in english and "¥200.00" in english and EN["reward_granted"] in english


def test_a_report_found_not_to_be_a_hazard(page, queue):
    code = receipt_on(page.send())
    assert queue.post(f"/reports/{queue.ids()[0]}/reject", {"reply": "经现场核实，通道已于昨日清理"}).status_code == 200
    html = _text(page.look_up(code))
    assert '<li class="done">已受理</li>' in html and f'<li class="current">{ZH["step_not_hazard"]}</li>' in html
    assert "已确认" not in html and "经现场核实，通道已于昨日清理" in html


def _neutral(html: str) -> str:
    """A page without what differs between any two responses: the nonce and the CSRF token."""
    return re.sub(r'nonce="[^"]+"|value="[^"]+"', "", html)


@pytest.mark.parametrize("wrong", ["0000-0000-0000-0000", "JB7K-3QXM", "not a code", "", "x" * 500, "乙乙乙乙-0000-0000-0000"])
def test_a_wrong_code_shows_the_same_neutral_page(page, wrong):
    code = receipt_on(page.send())
    unknown = page.look_up("0000-0000-0000-0000")
    r = page.look_up(wrong)
    assert r.status_code == 404 and ZH["not_found_text"] in _text(r)
    assert _neutral(_text(r)) == _neutral(_text(unknown))
    assert "甲企业" not in _text(r) and code not in _text(r)


def test_the_code_travels_only_in_the_body(page):
    html = _text(page.client.get("/r/status"))
    assert 'method="post" action="/r/status"' in html
    assert page.client.get("/r/status?receipt=0000-0000-0000-0000").status_code == 200  # a query is ignored, never looked up


# --------------------------------------------------------------------------- honeypot, CSRF


def test_a_filled_honeypot_gets_a_plausible_receipt_and_nothing_is_stored(app, page, photo_dirs):
    r = page.send(photos=(metadata_jpeg(),), website="http://spam.example")
    assert r.status_code == 200 and ZH["receipt_title"] in _text(r)
    code = receipt_on(r)
    assert receipts.normalise(code) is not None
    assert _reports(app) == [] and _count(app, FamilyReportPhoto) == 0 and not list(photo_dirs["PHOTO_DIR"].rglob("*.jpg"))
    assert page.look_up(code).status_code == 404


def test_without_a_csrf_token_the_form_is_refused_and_shown_again(app, page):
    for csrf in (None, "forged-token"):
        r = page.send(csrf=csrf, location="锅炉房", contact="wx_abc", anonymous="false")
        assert r.status_code == 400
        html = _text(r)
        assert ZH["err_csrf"] in html and "消防通道被货物堵死</textarea>" in html and "锅炉房" in html and 'value="wx_abc"' in html
        again = page.client.post(f"/r/{page.token}", data={"description": "再试一次", "csrf_token": csrf_of(html)}, content_type="multipart/form-data")
        assert again.status_code == 200  # the re-rendered form's own token works
    assert [r.description for r in _reports(app)] == ["再试一次", "再试一次"]


def test_a_token_from_another_browser_is_refused(app, client, page):
    stolen = csrf_of(_text(page.open()))
    other = app.test_client()  # another cookie jar
    r = other.post(f"/r/{page.token}", data={"description": "伪造", "csrf_token": stolen}, content_type="multipart/form-data")
    assert r.status_code == 400 and _reports(app) == []


def test_reloading_the_receipt_page_does_not_send_the_report_twice(app, page):
    html = _text(page.open())
    form = {"description": "电线裸露", "csrf_token": csrf_of(html)}
    first = page.client.post(f"/r/{page.token}", data=form, content_type="multipart/form-data")
    assert first.status_code == 200
    again = page.client.post(f"/r/{page.token}", data=form, content_type="multipart/form-data")  # the browser's "resend"
    assert again.status_code == 400 and "电线裸露" in _text(again)
    assert len(_reports(app)) == 1


def test_the_status_form_needs_its_token_too(page):
    code = receipt_on(page.send())
    r = page.client.post("/r/status", data={"receipt": code})
    assert r.status_code == 400 and ZH["status_expired"] in _text(r) and "甲企业" not in _text(r)


def test_the_bearer_api_needs_no_csrf_token(client, world):
    r = client.post(f"{API}/sites", json={"name": "新厂区"}, headers=world.a.auth("admin"))
    assert r.status_code == 201


# --------------------------------------------------------------------------- rate limits


def test_a_client_over_its_limit_is_refused_and_another_client_is_served(app, page, client, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_LIMIT_SUBMIT_PER_CLIENT", "2 per minute")
    assert page.send().status_code == 200 and page.send().status_code == 200
    r = page.send()
    assert r.status_code == 429 and ZH["limited_title"] in _text(r) and int(r.headers["Retry-After"]) > 0
    assert EN["limited_title"] in _text(page.send(lang="en"))
    # The JSON endpoint shares the budget: switching door does not help.
    j = client.post(f"{API}/public/reports/{page.token}", data={"description": "x"}, content_type="multipart/form-data", environ_base={"REMOTE_ADDR": REPORTER_ADDR})
    assert j.status_code == 429 and j.json["error"]["code"] == "rate_limited"
    assert page.send(addr=OTHER_ADDR).status_code == 200
    assert len(_reports(app)) == 3


def test_the_json_endpoints_are_limited_per_client_too(app, public, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_LIMIT_SUBMIT_PER_CLIENT", "1 per minute")
    monkeypatch.setitem(app.config, "REPORT_LIMIT_STATUS_PER_CLIENT", "1 per minute")
    monkeypatch.setitem(app.config, "REPORT_LIMIT_FORM_PER_CLIENT", "1 per minute")
    receipt = public.receipt()
    r = public.submit()
    assert r.status_code == 429 and r.json == {"error": {"code": "rate_limited", "message": "请求过于频繁", "details": None}}
    assert public.status(receipt).status_code == 200 and public.status(receipt).status_code == 429
    form = lambda: public.client.get(f"{API}/public/reports/{public.token}", environ_base={"REMOTE_ADDR": REPORTER_ADDR})  # noqa: E731
    assert form().status_code == 200 and form().status_code == 429


def test_status_look_ups_are_limited_per_client(app, page, monkeypatch):
    code = receipt_on(page.send())
    monkeypatch.setitem(app.config, "REPORT_LIMIT_STATUS_PER_CLIENT", "3 per minute")
    assert [page.look_up(c).status_code for c in ("0000-0000-0000-0001", "0000-0000-0000-0002", code)] == [404, 404, 200]
    assert page.look_up(code).status_code == 429
    assert page.look_up(code, addr=OTHER_ADDR).status_code == 200


def test_the_enterprise_cap_counts_only_stored_reports(app, client, page, world, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_LIMIT_SUBMIT_PER_CLIENT", "2 per minute")
    monkeypatch.setitem(app.config, "REPORT_LIMIT_SUBMIT_PER_LINK", "3 per hour")
    # A spammer over its own limit, and a bot caught by the honeypot, spend nothing of the enterprise's.
    for _ in range(4):
        page.send(addr="192.0.2.1", website="spam")
    assert page.send(addr="192.0.2.1").status_code == 429
    assert page.send(csrf=None, addr="192.0.2.2").status_code == 400  # refused: not counted either
    for n in range(3):
        assert page.send(addr=f"192.0.2.{10 + n}").status_code == 200
    r = page.send(addr="192.0.2.20")  # a fresh client, but the enterprise's cap is reached
    assert r.status_code == 429 and ZH["limited_title"] in _text(r)
    assert len(_reports(app)) == 3
    # Another enterprise's link is not touched by this one's flood.
    other = Page(client, link_token(app, world.b.enterprise_id))
    assert other.send(addr="192.0.2.20").status_code == 200


def test_a_new_day_forgets_yesterdays_counts(app, page, clock, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_LIMIT_SUBMIT_PER_CLIENT", "1 per day")
    assert page.send().status_code == 200 and page.send().status_code == 429
    clock.advance(days=1)  # a new day key: the client is a stranger to yesterday's counters
    assert page.send().status_code == 200
