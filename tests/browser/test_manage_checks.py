"""Evidence review in real Chromium on a tablet: a safety manager opens the checks list, opens a
check whose photo was sent through the API, sees its thumbnail, and marks it questionable with a
note. Screenshots: tests/artifacts/manage-checks-list.png, manage-check-evidence.png."""
from __future__ import annotations

import io
import math

import pytest
from PIL import Image, ImageDraw

from tests.browser.conftest import sign_in
from tests.builders import PASSWORD
from tests.manage.test_checks_pages import make_checks


def gauge_photo() -> bytes:
    """A small JPEG that looks like what a worker photographs: a gas detector's dial at 3.5 %LEL."""
    im = Image.new("RGB", (800, 600), (96, 110, 120))
    draw = ImageDraw.Draw(im)
    draw.rectangle((180, 60, 620, 540), fill=(235, 200, 40), outline=(40, 40, 40), width=8)
    draw.ellipse((250, 130, 550, 430), fill=(245, 245, 240), outline=(30, 30, 30), width=6)
    for step in range(11):
        angle = math.radians(225 - step * 27)
        x, y = 400 + 135 * math.cos(angle), 280 - 135 * math.sin(angle)
        draw.line((x, y, 400 + 115 * math.cos(angle), 280 - 115 * math.sin(angle)), fill=(30, 30, 30), width=4)
    angle = math.radians(225 - 3.5 * 2.7)
    draw.line((400, 280, 400 + 110 * math.cos(angle), 280 - 110 * math.sin(angle)), fill=(200, 30, 30), width=6)
    draw.ellipse((388, 268, 412, 292), fill=(30, 30, 30))
    draw.rectangle((300, 450, 500, 510), fill=(20, 40, 30))
    draw.text((330, 465), "3.5 %LEL", fill=(120, 255, 140))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=85)
    return out.getvalue()


@pytest.fixture
def checks(app, clock, world, photo_dirs):
    return make_checks(app, app.test_client(), clock, world, picture=gauge_photo())


def test_a_safety_manager_reviews_a_check_with_photos(tablet, live_server, checks, artifacts):
    page = tablet
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}") if response.status >= 400 and not response.url.endswith("/favicon.ico") else None)
    sign_in(page, live_server, "acme", "safety_manager", PASSWORD)

    page.goto(f"{live_server}/manage/checks")
    rows = page.locator("table.checks tbody tr")
    assert rows.count() == 3
    assert "failed" in (rows.nth(0).get_attribute("class") or "")
    assert "1 项不合格" in rows.nth(0).inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    page.screenshot(path=str(artifacts / "manage-checks-list.png"), full_page=True)

    page.click(f'tr[data-check="{checks.pushed}"] td:first-child a')
    page.wait_for_url(f"{live_server}/manage/checks/{checks.pushed}")
    thumb = page.locator(f'img[src$="/photos/{checks.photo}/thumb"]')
    thumb.wait_for()
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    assert thumb.evaluate("i => i.naturalWidth") == 320  # the server's thumbnail (long side 320 px)
    assert page.locator("tr[data-item=gas_reading]").inner_text().count("3.5 %LEL") == 1

    # The full display copy opens from the thumbnail's link.
    display = page.request.get(f"{live_server}/manage/checks/{checks.pushed}/photos/{checks.photo}/display")
    assert display.status == 200 and display.headers["content-type"] == "image/jpeg"

    page.fill("textarea[name=note]", "读数与昨日照片完全相同，请班组长核实")
    page.click("button[value=questionable]")
    page.wait_for_url(f"{live_server}/manage/checks/{checks.pushed}")
    assert "已标记为存疑" in page.locator(".flash-ok").inner_text()
    history = page.locator("table.reviews tbody tr")
    assert history.count() == 1
    assert "读数与昨日照片完全相同" in history.inner_text() and "存疑" in history.inner_text()
    assert "存疑" in page.locator(".toolbar").inner_text()
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    page.screenshot(path=str(artifacts / "manage-check-evidence.png"), full_page=True)

    # A failed check: the failed item highlighted, its photo still awaited, the hazard and alert it raised.
    page.goto(f"{live_server}/manage/checks/{checks.failed}")
    assert "failed" in page.locator("tr[data-item=gas_reading]").get_attribute("class")
    assert "等待上传" in page.locator("tr[data-item=gas_reading] .missing").inner_text()
    assert page.locator("table.hazards tbody tr").count() == 1
    page.screenshot(path=str(artifacts / "manage-check-failed.png"), full_page=True)
    assert [p for p in problems if not p.startswith("Failed to load resource")] == []
