"""The public side: the form's facts, a submission, its receipt, and what a receipt may learn."""
from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from server.extensions import db
from server.reports import receipts
from server.reports.models import FamilyReport, FamilyReportEvent
from tests.reports.conftest import API


def _reports(app) -> list[FamilyReport]:
    with app.app_context():
        rows = db.session.scalars(sa.select(FamilyReport).order_by(FamilyReport.id)).all()
        db.session.remove()
    return rows


def test_the_form_names_the_enterprise_and_its_sites(client, world, public):
    r = client.get(f"{API}/public/reports/{public.token}")
    assert r.status_code == 200
    assert r.json["enterprise_name"] == "甲企业"
    assert {s["id"] for s in r.json["sites"]} == {world.a.site_id, world.a.other_site_id}
    assert r.json["max_photos"] == 5
    assert r.headers["Cache-Control"] == "no-store" and r.headers["Referrer-Policy"] == "no-referrer"


def test_submit_then_follow_the_receipt(app, public, world, clock):
    r = public.submit(site_id=world.a.site_id, contact="微信 wx_zhang")
    assert r.status_code == 201, r.json
    receipt = r.json["receipt"]
    assert receipts.normalise(receipt) is not None and r.json["submitted_at"] == clock.now().isoformat()
    assert r.headers["Cache-Control"] == "no-store"
    [report] = _reports(app)
    assert report.enterprise_id == world.a.enterprise_id and report.site_id == world.a.site_id
    assert report.receipt_hash == hashlib.sha256(receipts.normalise(receipt).encode()).hexdigest()
    assert report.location == "3号仓库东门" and not report.anonymous and report.contact_sealed
    clock.advance(days=2)
    s = public.status(receipt.lower().replace("-", " "))
    assert s.status_code == 200, s.json
    assert s.json == {
        "enterprise_name": "甲企业", "status": "received", "status_zh": "已受理", "status_en": "Received", "reply": "",
        "replied_at": None, "submitted_at": r.json["submitted_at"], "updated_at": r.json["submitted_at"], "rewards": [],
    }
    assert s.headers["Cache-Control"] == "no-store" and s.headers["Referrer-Policy"] == "no-referrer"


def test_the_receipt_is_stored_only_as_its_hash(app, public):
    receipt = public.receipt()
    with app.app_context():
        conn = db.session.connection()
        for table in db.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                text = " ".join(str(v) for v in row)
                assert receipt not in text and receipts.normalise(receipt) not in text, table.name
        db.session.remove()


@pytest.mark.parametrize("wrong", ["0000-0000-0000-0000", "JB7K-3QXM", "not a code", "", "x" * 500, "乙乙乙乙-0000-0000-0000"])
def test_a_wrong_receipt_reveals_nothing(public, wrong):
    public.receipt()
    r = public.status(wrong)
    assert r.status_code == 404
    assert r.json == {"error": {"code": "not_found", "message": "未找到", "details": None}}


def test_a_receipt_off_by_one_symbol_is_simply_not_found(public):
    receipt = public.receipt()
    last = receipt[-1]
    other = receipt[:-1] + ("0" if last != "0" else "1")
    assert public.status(other).json == public.status("0000-0000-0000-0000").json


def test_an_unknown_or_rotated_link_is_not_found_and_receipts_keep_working(app, client, world, public):
    receipt = public.receipt()
    assert client.get(f"{API}/public/reports/{'x' * 22}").status_code == 404
    r = client.post(f"{API}/report-settings/rotate-link", headers=world.a.auth("admin"))
    assert r.status_code == 200 and r.json["link_token"] != public.token
    assert r.json["public_url"] == f"https://zicha.example.cn/r/{r.json['link_token']}"
    assert client.get(f"{API}/public/reports/{public.token}").status_code == 404
    refused = public.submit()
    assert refused.status_code == 404 and refused.json["error"]["code"] == "not_found"
    assert public.status(receipt).status_code == 200
    assert len(_reports(app)) == 1


def test_anonymous_wins_over_a_typed_contact(app, public):
    assert public.submit(anonymous=True, contact="13800000000").status_code == 201
    [report] = _reports(app)
    assert report.anonymous and report.contact_sealed is None


def test_what_the_form_may_not_set_is_ignored(app, public, world):
    r = public.submit(status="fixed", hazard_id=1, enterprise_id=world.b.enterprise_id, reply="已整改", csrf_token="abc", site_id="")
    assert r.status_code == 201, r.json
    [report] = _reports(app)
    assert report.status.value == "received" and report.hazard_id is None and report.reply == ""
    assert report.enterprise_id == world.a.enterprise_id and report.site_id is None
    assert public.status(r.json["receipt"]).json["status"] == "received"


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"description": ""}, "description"),
        ({"description": "x" * 2001}, "description"),
        ({"location": "x" * 301}, "location"),
        ({"contact": "x" * 201}, "contact"),
        ({"description": "通道\x00堵塞"}, "description"),
        ({"site_id": "abc"}, "site_id"),
    ],
)
def test_bad_input_is_refused_with_nothing_stored(app, public, fields, field):
    r = public.submit(**fields)
    assert r.status_code == 422 and field in r.json["error"]["details"], r.json
    assert _reports(app) == []


def test_another_enterprises_site_is_refused(app, public, world):
    r = public.submit(site_id=world.b.site_id)
    assert r.status_code == 422 and r.json["error"]["details"] == {"site_id": ["not a site of this enterprise"]}
    assert _reports(app) == []


def test_a_report_lands_with_its_first_history_step(app, public):
    public.receipt()
    with app.app_context():
        [event] = db.session.scalars(sa.select(FamilyReportEvent)).all()
        assert (event.action, event.actor_id) == ("received", None)
        db.session.remove()
