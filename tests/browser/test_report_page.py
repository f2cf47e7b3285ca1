"""The public report page in a real Chromium at phone size: fill the form with a photo, send it,
read the receipt, follow it on the status page — in Chinese, in English, and with JavaScript
turned off. Screenshots go to tests/artifacts/report-*.png."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from PIL import Image

from server.extensions import db
from server.reports import receipts
from server.reports.models import FamilyReport, FamilyReportPhoto
from server.reports.texts import TEXTS
from tests.reports.conftest import link_token

PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True}
ZH, EN = TEXTS["zh"], TEXTS["en"]


@pytest.fixture
def form_url(app, live_server, world, photo_dirs, monkeypatch) -> str:
    # The server keeps photos up to 4000 px here, so the stored size shows what the phone sent.
    monkeypatch.setitem(app.config, "PHOTO_DISPLAY_PX", 4000)
    return f"{live_server}/r/{link_token(app, world.a.enterprise_id)}"


@pytest.fixture
def camera_photo(tmp_path):
    """A 2400 × 1800 JPEG, as a phone camera takes it."""
    path = tmp_path / "IMG_20261123_0958.jpg"
    Image.effect_noise((2400, 1800), 30).convert("RGB").save(path, "JPEG", quality=90)
    return path


def _stored(app) -> list[tuple[FamilyReport, list[FamilyReportPhoto]]]:
    with app.app_context():
        reports = db.session.scalars(sa.select(FamilyReport).order_by(FamilyReport.id)).all()
        result = [(r, db.session.scalars(sa.select(FamilyReportPhoto).where(FamilyReportPhoto.report_id == r.id)).all()) for r in reports]
        db.session.remove()
    return result


def _fits_the_screen(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def _follow(page, code: str) -> None:
    page.click("p.links a")  # the receipt's link to the status page
    page.fill("#receipt", code)
    page.click("#lookup button[type=submit]")
    page.wait_for_selector("#status")


def test_a_chinese_phone_reports_a_hazard_with_a_photo_and_follows_it(phone, app, form_url, camera_photo, artifacts):
    problems = []  # a script error, or anything the page's CSP blocked
    phone.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    phone.on("pageerror", lambda error: problems.append(str(error)))
    response = phone.goto(form_url)
    assert response.status == 200 and response.headers["cache-control"] == "no-store"
    assert phone.locator("h1").first.inner_text() == ZH["form_title"]
    assert phone.is_checked("#anonymous-yes")
    phone.fill("#description", "3号仓库东侧消防通道被货物堵死，叉车进不去")
    phone.select_option("#site_id", label="危化品仓库")
    phone.fill("#location", "3号仓库东门")
    phone.set_input_files("#photo-album", str(camera_photo))
    phone.fill("#contact", "13800000000")
    assert phone.is_checked("#anonymous-no")  # typing a contact picks "leave a contact"
    _fits_the_screen(phone)
    phone.screenshot(path=str(artifacts / "report-form-zh.png"), full_page=True)

    phone.click("#send")
    phone.wait_for_selector("#receipt-code")
    code = phone.inner_text("#receipt-code")
    assert receipts.normalise(code) is not None
    assert ZH["receipt_advice"] in phone.inner_text("#receipt") and ZH["receipt_contact"] in phone.inner_text("#receipt")
    assert phone.url == form_url  # sent by the page's script (fetch), the answer shown in place
    assert phone.evaluate("getComputedStyle(document.getElementById('receipt-code')).userSelect") == "all"
    lines = "(() => { const r = document.createRange(); r.selectNodeContents(document.getElementById('receipt-code')); return r.getClientRects().length; })()"
    assert phone.evaluate(lines) == 1  # the code is on one line, not broken mid-group
    _fits_the_screen(phone)
    phone.screenshot(path=str(artifacts / "report-receipt-zh.png"), full_page=True)
    [(report, [photo])] = _stored(app)
    assert report.receipt_hash == receipts.digest(code) and report.site_id is not None and report.contact_sealed
    assert (photo.width, photo.height) == (1600, 1200)  # shrunk in the browser before sending

    _follow(phone, code.lower())
    assert phone.inner_text("#status-now") == "已受理"
    assert "甲企业" in phone.inner_text("#status h1")
    _fits_the_screen(phone)
    phone.screenshot(path=str(artifacts / "report-status-zh.png"), full_page=True)
    assert problems == []


def test_an_english_phone_gets_the_page_in_english(browser, app, form_url, camera_photo, artifacts):
    context = browser.new_context(locale="en-US", **PHONE)
    page = context.new_page()
    try:
        page.goto(form_url)
        assert page.locator("h1").first.inner_text() == EN["form_title"]
        assert page.get_attribute("html", "lang") == "en"
        page.fill("#description", "Gas smell near the boiler room door")
        page.set_input_files("#photo-camera", str(camera_photo))
        page.check("#concerns-supervisor")
        _fits_the_screen(page)
        page.screenshot(path=str(artifacts / "report-form-en.png"), full_page=True)
        page.click("#send")
        page.wait_for_selector("#receipt-code")
        assert EN["receipt_anonymous"] in page.inner_text("#receipt")
        page.screenshot(path=str(artifacts / "report-receipt-en.png"), full_page=True)
        code = page.inner_text("#receipt-code")
        _follow(page, code)
        assert page.inner_text("#status-now") == EN["step_received"]
        page.screenshot(path=str(artifacts / "report-status-en.png"), full_page=True)
    finally:
        context.close()
    [(report, [photo])] = _stored(app)
    assert report.anonymous and report.contact_sealed is None and report.concerns_supervisor
    assert max(photo.width, photo.height) == 1600


def test_the_form_submits_with_javascript_turned_off(browser, app, form_url, camera_photo, artifacts):
    context = browser.new_context(locale="zh-CN", java_script_enabled=False, **PHONE)
    page = context.new_page()
    try:
        page.goto(form_url)
        page.fill("#description", "配电室门口积水，电缆泡在水里")
        page.select_option("#site_id", label="配电室")
        page.set_input_files("#photo-camera", str(camera_photo))
        with page.expect_navigation():
            page.click("#send")  # a plain multipart POST
        code = page.inner_text("#receipt-code")
        assert receipts.normalise(code) is not None and ZH["receipt_anonymous"] in page.inner_text("#receipt")
        page.screenshot(path=str(artifacts / "report-receipt-nojs.png"), full_page=True)
        _follow(page, code)
        assert page.inner_text("#status-now") == "已受理"
    finally:
        context.close()
    [(report, [photo])] = _stored(app)
    assert report.description == "配电室门口积水，电缆泡在水里"
    assert (photo.width, photo.height) == (2400, 1800)  # sent as taken: no script shrank it


def test_a_refused_photo_shows_the_form_again_and_the_corrected_report_goes_through(phone, app, form_url, camera_photo, tmp_path):
    gif = tmp_path / "animation.gif"
    Image.new("RGB", (40, 40), (200, 0, 0)).save(gif, "GIF")
    phone.goto(form_url)
    phone.fill("#description", "车间二楼护栏松动")
    phone.set_input_files("#photo-album", str(gif))
    phone.click("#send")
    phone.wait_for_selector("#errors")
    assert ZH["err_photo_type"] in phone.inner_text("#errors") and ZH["photos_again"] in phone.inner_text("#errors")
    assert phone.input_value("#description") == "车间二楼护栏松动"  # kept
    assert _stored(app) == []
    phone.set_input_files("#photo-album", str(camera_photo))
    phone.click("#send")  # the page's script took over the form shown again
    phone.wait_for_selector("#receipt-code")
    [(report, [photo])] = _stored(app)
    assert report.description == "车间二楼护栏松动" and (photo.width, photo.height) == (1600, 1200)
