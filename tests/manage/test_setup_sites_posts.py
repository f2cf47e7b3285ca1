"""Dashboard set-up pages, part 1: sites and posts (QR rotation, labels).

Roles mirror the API: every dashboard role reads sites and posts; only an admin creates, edits,
moves or rotates; admins and safety managers download labels. Another enterprise's ids are a
404 page; refused input shows the form again and stores nothing.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from server.enterprises.models import Site
from server.extensions import db
from server.posts.models import Post, RiskLevel
from tests.manage.setup_helpers import count, html, load

READERS = ["supervisor", "safety_manager", "admin"]
NOT_ADMIN = ["supervisor", "safety_manager"]


# --------------------------------------------------------------------------- sites


@pytest.mark.parametrize("role", READERS)
def test_every_role_reads_the_site_tree(browser_for, world, role):
    page = browser_for(role).get("/manage/sites/")
    assert page.status_code == 200
    text = html(page)
    assert "危化品仓库" in text and "配电室" in text
    assert "乙企业" not in text
    assert ("新建厂区" in text) is (role == "admin")


def test_the_tree_shows_children_under_their_parent_with_post_counts(app, browser_for, world):
    browser = browser_for("admin")
    assert browser.post("/manage/sites/", {"name": "储罐区东侧", "parent_id": str(world.a.site_id)}).status_code == 303
    page = html(browser.get("/manage/sites/"))
    table = page[page.index("<table"):page.index("</table>")]
    assert table.index("危化品仓库") < table.index("储罐区东侧") < table.index("配电室")
    assert "└ " in table
    with app.app_context():
        child = db.session.scalar(sa.select(Site).where(Site.name == "储罐区东侧"))
        assert child.parent_id == world.a.site_id and child.enterprise_id == world.a.enterprise_id


def test_an_admin_creates_a_site_and_sees_the_message(app, browser_for, world):
    browser = browser_for("admin")
    response = browser.post("/manage/sites/", {"name": "锅炉房", "back": "/manage/sites/"})
    assert response.status_code == 303 and response.headers["Location"] == "/manage/sites/"
    assert "已创建厂区“锅炉房”" in html(browser.get("/manage/sites/"))
    assert count(app, Site, Site.name == "锅炉房", Site.enterprise_id == world.a.enterprise_id) == 1


@pytest.mark.parametrize("role", NOT_ADMIN)
def test_only_an_admin_creates_or_changes_a_site(app, browser_for, world, role):
    browser = browser_for(role)
    assert browser.post("/manage/sites/", {"name": "锅炉房"}).status_code == 403
    assert browser.post(f"/manage/sites/{world.a.site_id}", {"name": "改名"}).status_code == 403
    assert count(app, Site, Site.name.in_(["锅炉房", "改名"])) == 0


def test_a_blank_site_name_shows_the_form_again_and_stores_nothing(app, browser_for, world):
    before = count(app, Site)
    response = browser_for("admin").post("/manage/sites/", {"name": "", "parent_id": str(world.a.site_id)})
    assert response.status_code == 422
    text = html(response)
    assert "输入校验失败" in text and "name" in text
    assert f'<option value="{world.a.site_id}" selected' in text  # what was chosen is still chosen
    assert count(app, Site) == before


@pytest.mark.parametrize("role", READERS)
def test_a_site_page_lists_its_posts(browser_for, world, role):
    page = browser_for(role).get(f"/manage/sites/{world.a.site_id}")
    assert page.status_code == 200
    text = html(page)
    assert "液氨储罐区" in text and "1号高压配电柜" not in text
    assert ("重命名或移动" in text) is (role == "admin")
    assert ("打印标签页" in text) is (role != "supervisor")


def test_an_admin_renames_and_moves_a_site_then_back_to_the_top(app, browser_for, world):
    browser = browser_for("admin")
    url = f"/manage/sites/{world.a.other_site_id}"
    assert browser.post(url, {"name": "1号配电室", "parent_id": str(world.a.site_id)}).status_code == 303
    site = load(app, Site, world.a.other_site_id)
    assert (site.name, site.parent_id) == ("1号配电室", world.a.site_id)
    assert browser.post(url, {"name": "1号配电室", "parent_id": ""}).status_code == 303
    assert load(app, Site, world.a.other_site_id).parent_id is None


def test_a_site_cannot_move_inside_its_own_child(app, browser_for, world):
    browser = browser_for("admin")
    browser.post(f"/manage/sites/{world.a.other_site_id}", {"name": "配电室", "parent_id": str(world.a.site_id)})
    response = browser.post(f"/manage/sites/{world.a.site_id}", {"name": "危化品仓库（新）", "parent_id": str(world.a.other_site_id)})
    assert response.status_code == 422
    text = html(response)
    assert "a site cannot be inside itself" in text and 'value="危化品仓库（新）"' in text
    site = load(app, Site, world.a.site_id)
    assert (site.name, site.parent_id) == ("危化品仓库", None)


def test_another_enterprises_site_is_a_404_page(app, browser_for, world):
    browser = browser_for("admin")
    assert browser.get(f"/manage/sites/{world.b.site_id}").status_code == 404
    assert browser.post(f"/manage/sites/{world.b.site_id}", {"name": "被改了"}).status_code == 404
    assert browser.post("/manage/sites/", {"name": "子厂区", "parent_id": str(world.b.site_id)}).status_code == 404
    assert load(app, Site, world.b.site_id).name == "危化品仓库"
    assert count(app, Site, Site.name == "子厂区") == 0


# --------------------------------------------------------------------------- posts


@pytest.mark.parametrize("role", READERS)
def test_every_role_reads_the_posts_with_risk_supervisor_and_state(browser_for, world, role):
    page = browser_for(role).get("/manage/posts/")
    assert page.status_code == 200
    text = html(page)
    assert "液氨储罐区" in text and "1号高压配电柜" in text
    assert "risk-red" in text and "risk-yellow" in text
    assert "甲企业supervisor" in text  # the red post's supervisor
    assert "从未轮换" in text
    assert ("新建岗位" in text) is (role == "admin")


def test_posts_filter_by_site(browser_for, world):
    text = html(browser_for("safety_manager").get(f"/manage/posts/?site_id={world.a.other_site_id}"))
    assert "1号高压配电柜" in text and "液氨储罐区" not in text
    assert "打印标签页" in text


def test_another_enterprises_site_filter_is_a_404_page(browser_for, world):
    assert browser_for("admin").get(f"/manage/posts/?site_id={world.b.site_id}").status_code == 404


@pytest.mark.parametrize("role", READERS)
def test_a_post_page_shows_its_facts_and_schedules(browser_for, world, role):
    page = browser_for(role).get(f"/manage/posts/{world.a.post_id}")
    assert page.status_code == 200
    text = html(page)
    assert "液氨储罐区" in text and "危化品仓库日检" in text and "日检" in text and "周检" in text
    assert ("编辑岗位" in text) is (role == "admin")
    assert ("轮换二维码" in text) is (role == "admin")
    assert ("下载标签" in text) is (role != "supervisor")


def test_an_admin_creates_a_post_with_a_supervisor(app, browser_for, world):
    browser = browser_for("admin")
    form = browser.get(f"/manage/posts/new?site_id={world.a.site_id}")
    assert form.status_code == 200 and "甲企业supervisor" in html(form)
    response = browser.post("/manage/posts/", {
        "name": "甲醇储罐区", "location": "北侧", "site_id": str(world.a.site_id), "risk_level": "orange",
        "supervisor_id": str(world.a.users["supervisor"]),
    })
    assert response.status_code == 303
    with app.app_context():
        post = db.session.scalar(sa.select(Post).where(Post.name == "甲醇储罐区"))
        assert (post.enterprise_id, post.site_id, post.risk_level, post.location, post.supervisor_id) == (
            world.a.enterprise_id, world.a.site_id, RiskLevel.ORANGE, "北侧", world.a.users["supervisor"])
        assert len(post.qr_token) >= 43
    assert response.headers["Location"] == f"/manage/posts/{post.id}"
    assert "已创建岗位“甲醇储罐区”" in html(browser.get(response.headers["Location"]))


@pytest.mark.parametrize("role", NOT_ADMIN)
def test_only_an_admin_creates_edits_or_rotates_a_post(app, browser_for, world, role):
    browser = browser_for(role)
    token = load(app, Post, world.a.post_id).qr_token
    assert browser.get("/manage/posts/new").status_code == 403
    assert browser.post("/manage/posts/", {"name": "甲醇储罐区", "site_id": str(world.a.site_id), "risk_level": "red"}).status_code == 403
    assert browser.post(f"/manage/posts/{world.a.post_id}", {"name": "改名"}).status_code == 403
    assert browser.post(f"/manage/posts/{world.a.post_id}/rotate-token").status_code == 403
    post = load(app, Post, world.a.post_id)
    assert (post.name, post.qr_token) == ("液氨储罐区", token)
    assert count(app, Post, Post.name == "甲醇储罐区") == 0


def test_a_post_without_a_risk_level_shows_the_form_again_and_stores_nothing(app, browser_for, world):
    before = count(app, Post)
    response = browser_for("admin").post("/manage/posts/", {"name": "甲醇储罐区", "site_id": str(world.a.site_id), "location": "北侧"})
    assert response.status_code == 422
    text = html(response)
    assert "输入校验失败" in text and "risk_level" in text
    assert 'value="甲醇储罐区"' in text and 'value="北侧"' in text
    assert count(app, Post) == before


def test_an_admin_edits_a_post_clears_its_supervisor_and_switches_it_off(app, browser_for, world):
    browser = browser_for("admin")
    response = browser.post(f"/manage/posts/{world.a.post_id}", {
        "name": "液氨储罐区（一期）", "location": "东门", "site_id": str(world.a.other_site_id), "risk_level": "orange",
        "supervisor_id": "", "active": ["false"],
    })
    assert response.status_code == 303
    post = load(app, Post, world.a.post_id)
    assert (post.name, post.location, post.site_id, post.risk_level, post.supervisor_id, post.active) == (
        "液氨储罐区（一期）", "东门", world.a.other_site_id, RiskLevel.ORANGE, None, False)
    browser.post(f"/manage/posts/{world.a.post_id}", {"active": ["false", "true"]})  # hidden false, then the ticked box
    assert load(app, Post, world.a.post_id).active is True


def test_an_edit_with_a_too_long_name_stores_nothing(app, browser_for, world):
    response = browser_for("admin").post(f"/manage/posts/{world.a.post_id}", {"name": "长" * 201, "risk_level": "blue"})
    assert response.status_code == 422 and "name" in html(response)
    post = load(app, Post, world.a.post_id)
    assert (post.name, post.risk_level) == ("液氨储罐区", RiskLevel.RED)


def test_rotating_the_qr_token_kills_the_old_label(app, client, browser_for, world):
    old = load(app, Post, world.a.post_id).qr_token
    assert client.get(f"/q/{old}").status_code == 200
    browser = browser_for("admin")
    page = html(browser.get(f"/manage/posts/{world.a.post_id}"))
    assert "旧标签" in page and "失效" in page  # the confirmation says what happens
    response = browser.post(f"/manage/posts/{world.a.post_id}/rotate-token")
    assert response.status_code == 303 and response.headers["Location"] == f"/manage/posts/{world.a.post_id}"
    post = load(app, Post, world.a.post_id)
    assert post.qr_token != old and post.qr_rotated_at is not None
    assert client.get(f"/q/{old}").status_code == 404
    assert client.get(f"/q/{post.qr_token}").status_code == 200
    after = html(browser.get(f"/manage/posts/{world.a.post_id}"))
    assert "已为“液氨储罐区”生成新二维码" in after and "2026-11-23 10:00" in after  # rotated at, local time


@pytest.mark.parametrize("role", ["safety_manager", "admin"])
def test_managers_download_a_posts_label_and_a_sites_sheet(client, browser_for, world, role):
    browser = browser_for(role)
    png = browser.get(f"/manage/posts/{world.a.post_id}/label.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.headers["Content-Disposition"] == f"inline; filename=post-{world.a.post_id}.png"
    pdf = browser.get(f"/manage/posts/sites/{world.a.site_id}/labels.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data[:4] == b"%PDF"
    assert pdf.headers["Content-Disposition"] == f"inline; filename=site-{world.a.site_id}-labels.pdf"
    # the same answers as the API's door, headers and all
    api = client.get(f"/api/v1/sites/{world.a.site_id}/labels.pdf", headers=world.a.auth(role))
    for header in ("Content-Type", "Content-Disposition", "Cache-Control", "X-Content-Type-Options"):
        assert pdf.headers[header] == api.headers[header], header
    api_png = client.get(f"/api/v1/posts/{world.a.post_id}/label.png", headers=world.a.auth(role))
    assert png.data == api_png.data


def test_a_supervisor_gets_no_labels(browser_for, world):
    browser = browser_for("supervisor")
    assert browser.get(f"/manage/posts/{world.a.post_id}/label.png").status_code == 403
    assert browser.get(f"/manage/posts/sites/{world.a.site_id}/labels.pdf").status_code == 403


def test_another_enterprises_post_is_a_404_page_everywhere(app, browser_for, world):
    browser = browser_for("admin")
    token = load(app, Post, world.b.post_id).qr_token
    assert browser.get(f"/manage/posts/{world.b.post_id}").status_code == 404
    assert browser.post(f"/manage/posts/{world.b.post_id}", {"name": "被改了"}).status_code == 404
    assert browser.post(f"/manage/posts/{world.b.post_id}/rotate-token").status_code == 404
    assert browser.get(f"/manage/posts/{world.b.post_id}/label.png").status_code == 404
    assert browser.get(f"/manage/posts/sites/{world.b.site_id}/labels.pdf").status_code == 404
    assert browser.post("/manage/posts/", {"name": "越界", "site_id": str(world.b.site_id), "risk_level": "red"}).status_code == 404
    post = load(app, Post, world.b.post_id)
    assert (post.name, post.qr_token) == ("液氨储罐区", token)
    assert count(app, Post, Post.name == "越界") == 0
