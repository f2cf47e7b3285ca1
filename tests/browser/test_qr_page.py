"""The page a plain phone camera opens from a post's QR code, in a real browser."""
from __future__ import annotations


def test_qr_page_names_the_post_on_a_phone(phone, live_server, world, artifacts):
    response = phone.goto(f"{live_server}/q/{world.a.post_token}")
    assert response.status == 200
    assert response.headers["cache-control"] == "no-store"
    assert phone.locator("h1").inner_text() == "液氨储罐区"
    band = phone.locator(".band")
    assert band.inner_text() == "重大风险"
    assert band.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(230, 0, 18)"  # 红 #E60012
    assert "危化品仓库" in phone.locator("main").inner_text()
    # Nothing a passer-by should not see: no checklist, no records, no link into the API.
    assert "api/v1" not in phone.content() and phone.locator("a").count() == 0
    # Fits a 360 px wide screen without sideways scrolling.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    phone.screenshot(path=str(artifacts / "qr-page-phone.png"), full_page=True)


def test_rotated_or_unknown_token_shows_a_plain_refusal(phone, live_server, world, client, artifacts):
    old = world.a.post_token
    client.post(f"/api/v1/posts/{world.a.post_id}/rotate-token", headers=world.a.auth("admin"))
    for token in (old, "no-such-token"):
        response = phone.goto(f"{live_server}/q/{token}")
        assert response.status == 404
        assert phone.locator("h1").inner_text() == "二维码无效"
        assert "液氨储罐区" not in phone.content()
    phone.screenshot(path=str(artifacts / "qr-page-invalid.png"), full_page=True)
