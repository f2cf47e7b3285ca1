"""Reviewing a check's evidence (已审阅 / 存疑): one rule, two doors.

``POST /api/v1/checks/<id>/reviews`` and the form on ``/manage/checks/<id>`` both call
:func:`server.checks.services.review_check`: safety managers and admins only, inside their
enterprise, a note required for ``questionable``, append-only with the server's clock.
"""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from server.checks.models import CheckReview, ReviewVerdict
from server.extensions import db
from tests.manage.test_checks_pages import API, Checks, make_checks


@pytest.fixture
def checks(app, client, clock, world, photo_dirs) -> Checks:
    return make_checks(app, client, clock, world)


def reviews_in_db(app) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(CheckReview.enterprise_id, CheckReview.check_id, CheckReview.verdict, CheckReview.note, CheckReview.reviewer_id, CheckReview.at)
            .order_by(CheckReview.id)
        ).all()
        db.session.remove()
    return [tuple(row) for row in rows]


# --------------------------------------------------------------------------- the API door


@pytest.mark.parametrize("role", ["safety_manager", "admin"])
def test_a_manager_reviews_a_check_and_the_history_is_kept(app, client, clock, world, checks, role):
    a = world.a
    r = client.post(f"{API}/checks/{checks.pushed}/reviews", json={"verdict": "reviewed", "note": "  照片与读数一致 "}, headers=a.auth(role))
    assert r.status_code == 201, r.json
    first = r.json
    assert first["verdict"] == "reviewed" and first["note"] == "照片与读数一致" and first["check_id"] == checks.pushed
    assert first["reviewer"] == {"id": a.users[role], "display_name": f"甲企业{role}"}
    assert first["at"] == clock.now().isoformat()

    clock.advance(minutes=5)
    r = client.post(f"{API}/checks/{checks.pushed}/reviews", json={"verdict": "questionable", "note": "读数与昨日完全相同"}, headers=a.auth(role))
    assert r.status_code == 201

    listing = client.get(f"{API}/checks/{checks.pushed}/reviews", headers=a.auth("supervisor"))
    assert listing.status_code == 200
    assert [x["verdict"] for x in listing.json] == ["questionable", "reviewed"]  # newest first
    assert listing.json[1] == first
    rows = reviews_in_db(app)
    assert [(row[1], row[2], row[4]) for row in rows] == [
        (uuid.UUID(checks.pushed), ReviewVerdict.REVIEWED, a.users[role]),
        (uuid.UUID(checks.pushed), ReviewVerdict.QUESTIONABLE, a.users[role]),
    ]
    assert all(row[0] == a.enterprise_id for row in rows)


@pytest.mark.parametrize("role", ["supervisor", "worker"])
def test_supervisors_and_workers_may_not_review(app, client, world, checks, role):
    r = client.post(f"{API}/checks/{checks.failed}/reviews", json={"verdict": "reviewed"}, headers=world.a.auth(role))
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    assert reviews_in_db(app) == []


def test_workers_do_not_read_reviews_and_supervisors_only_of_their_posts(client, world, checks):
    a = world.a
    assert client.post(f"{API}/checks/{checks.other}/reviews", json={"verdict": "reviewed"}, headers=a.auth("admin")).status_code == 201
    assert client.get(f"{API}/checks/{checks.other}/reviews", headers=a.auth("worker")).status_code == 403
    r = client.get(f"{API}/checks/{checks.other}/reviews", headers=a.auth("supervisor"))
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    assert client.get(f"{API}/checks/{checks.pushed}/reviews", headers=a.auth("supervisor")).json == []


@pytest.mark.parametrize("note", ["", "   "])
def test_questionable_needs_a_note(app, client, world, checks, note):
    r = client.post(f"{API}/checks/{checks.pushed}/reviews", json={"verdict": "questionable", "note": note}, headers=world.a.auth("admin"))
    assert r.status_code == 422 and r.json["error"]["code"] == "review_note_required"
    assert "存疑" in r.json["error"]["message"]
    assert reviews_in_db(app) == []
    # Reviewed needs none.
    assert client.post(f"{API}/checks/{checks.pushed}/reviews", json={"verdict": "reviewed"}, headers=world.a.auth("admin")).status_code == 201


@pytest.mark.parametrize("body", [{}, {"verdict": "fine"}, {"verdict": "reviewed", "note": "x" * 2001}, {"verdict": "reviewed", "extra": 1}])
def test_bad_bodies_are_refused(app, client, world, checks, body):
    r = client.post(f"{API}/checks/{checks.pushed}/reviews", json=body, headers=world.a.auth("admin"))
    assert r.status_code == 422 and r.json["error"]["code"] == "validation_failed"
    assert reviews_in_db(app) == []


@pytest.mark.parametrize("role", ["safety_manager", "admin"])
def test_another_enterprises_check_is_not_found_and_nothing_is_stored(app, client, world, checks, role):
    for check_id in (checks.b_check, str(uuid.uuid4())):
        r = client.post(f"{API}/checks/{check_id}/reviews", json={"verdict": "reviewed", "note": "甲"}, headers=world.a.auth(role))
        assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
        r = client.get(f"{API}/checks/{check_id}/reviews", headers=world.a.auth(role))
        assert r.status_code == 404
    assert reviews_in_db(app) == []


def test_the_api_listing_filters_by_verdict_and_flagged(client, world, checks):
    a = world.a
    client.post(f"{API}/checks/{checks.pushed}/reviews", json={"verdict": "reviewed"}, headers=a.auth("admin"))
    ids = lambda q: [c["id"] for c in client.get(f"{API}/checks?{q}", headers=a.auth("admin")).json]  # noqa: E731
    assert ids("verdict=reviewed") == [checks.pushed]
    assert set(ids("verdict=unreviewed")) == {checks.failed, checks.other}
    assert set(ids("flagged=true")) == {checks.failed, checks.other}
    assert ids("flagged=false") == [checks.pushed]
    assert client.get(f"{API}/checks?verdict=maybe", headers=a.auth("admin")).status_code == 422


# --------------------------------------------------------------------------- the dashboard door


@pytest.mark.parametrize("role", ["safety_manager", "admin"])
def test_a_manager_marks_a_check_reviewed_on_its_page(app, clock, browser_for, world, checks, role):
    browser = browser_for(role)
    page = f"/manage/checks/{checks.pushed}"
    html = browser.get(page).get_data(as_text=True)
    assert "标记为已审阅" in html and "标记为存疑" in html
    r = browser.post(f"{page}/review", {"verdict": "reviewed", "note": "照片清晰，读数正常", "back": page})
    assert r.status_code == 303 and r.headers["Location"] == page
    assert reviews_in_db(app) == [(world.a.enterprise_id, uuid.UUID(checks.pushed), ReviewVerdict.REVIEWED, "照片清晰，读数正常", world.a.users[role], clock.now())]
    html = browser.get(page).get_data(as_text=True)
    assert "已标记为已审阅" in html  # the message
    history = html[html.index('class="reviews"'):]
    assert "照片清晰，读数正常" in history and f"甲企业{role}" in history and "已审阅" in history and "2026-11-23 10:00" in history


def test_a_manager_marks_a_check_questionable_and_it_supersedes(app, clock, browser_for, world, checks):
    browser = browser_for("safety_manager")
    page = f"/manage/checks/{checks.failed}"
    browser.get(page)
    assert browser.post(f"{page}/review", {"verdict": "reviewed", "back": page}).status_code == 303
    clock.advance(minutes=10)
    assert browser.post(f"{page}/review", {"verdict": "questionable", "note": "照片不是本岗位的", "back": page}).status_code == 303
    html = browser.get(page).get_data(as_text=True)
    assert "已标记为存疑" in html
    toolbar = html[html.index('class="toolbar"'):html.index("</div>", html.index('class="toolbar"'))]
    assert "存疑" in toolbar and "已审阅" not in toolbar  # the newest verdict
    history = html[html.index('class="reviews"'):]
    assert history.index("照片不是本岗位的") < history.index("已审阅")  # newest first, both kept
    assert [row[2] for row in reviews_in_db(app)] == [ReviewVerdict.REVIEWED, ReviewVerdict.QUESTIONABLE]


def test_questionable_without_a_note_says_so_and_stores_nothing(app, browser_for, checks):
    browser = browser_for("admin")
    page = f"/manage/checks/{checks.pushed}"
    browser.get(page)
    r = browser.post(f"{page}/review", {"verdict": "questionable", "note": "  ", "back": page})
    assert r.status_code == 303 and r.headers["Location"] == page
    assert "标记为存疑时须写明原因" in browser.get(page).get_data(as_text=True)
    assert reviews_in_db(app) == []


def test_a_form_without_a_verdict_says_so(app, browser_for, checks):
    browser = browser_for("admin")
    page = f"/manage/checks/{checks.pushed}"
    browser.get(page)
    r = browser.post(f"{page}/review", {"note": "x", "back": page})
    assert r.status_code == 303
    assert "输入校验失败" in browser.get(page).get_data(as_text=True)
    assert reviews_in_db(app) == []


def test_a_supervisor_gets_a_403_page_and_nothing_is_stored(app, browser_for, checks):
    browser = browser_for("supervisor")
    page = f"/manage/checks/{checks.failed}"
    assert browser.get(page).status_code == 200
    r = browser.post(f"{page}/review", {"verdict": "reviewed", "note": "我看过了", "back": page})
    assert r.status_code == 403 and "无权访问" in r.get_data(as_text=True)
    assert reviews_in_db(app) == []


def test_the_form_needs_its_csrf_token(app, browser_for, checks):
    browser = browser_for("admin")
    browser.token = "forged"
    r = browser.post(f"/manage/checks/{checks.pushed}/review", {"verdict": "reviewed"})
    assert r.status_code == 400
    assert reviews_in_db(app) == []


@pytest.mark.parametrize("role", ["safety_manager", "admin"])
def test_another_enterprises_check_cannot_be_reviewed_from_the_dashboard(app, browser_for, checks, role):
    browser = browser_for(role)
    browser.get("/manage/checks")
    for check_id in (checks.b_check, str(uuid.uuid4())):
        r = browser.post(f"/manage/checks/{check_id}/review", {"verdict": "reviewed", "note": "甲"})
        assert r.status_code == 404 and "未找到" in r.get_data(as_text=True)
    assert reviews_in_db(app) == []
