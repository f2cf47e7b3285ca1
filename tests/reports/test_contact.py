"""Sealed contacts: encrypted at rest, opened only by the designated readers, every reading logged,
never in any other answer; and the key rules (derived in tests, required in production)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from server import create_app
from server.config import UnsafeConfiguration
from server.extensions import db
from server.reports import sealing
from server.reports.models import ContactAccess, FamilyReport

CONTACT = "张三 13800138000"
ROLES = ["worker", "supervisor", "safety_manager", "admin"]


@pytest.fixture
def reported(public, queue, world):
    """A report with a contact, and the enterprise head (alert settings) named: the default reader."""
    public.receipt(contact=CONTACT, site_id=world.a.site_id)
    r = queue.client.put("/api/v1/alert-settings", json={"head_user_id": world.a.users["supervisor"]}, headers=world.a.auth("admin"))
    assert r.status_code == 200, r.json
    return queue.ids()[0]


def _log(app) -> list[tuple]:
    with app.app_context():
        rows = [(a.action, a.report_id, a.user_id, a.at) for a in db.session.scalars(sa.select(ContactAccess).order_by(ContactAccess.id))]
        db.session.remove()
    return rows


def test_the_contact_is_ciphertext_at_rest(app, reported):
    with app.app_context():
        report = db.session.get(FamilyReport, reported)
        sealed = report.contact_sealed
        assert sealed and CONTACT not in sealed and "13800138000" not in sealed
        assert sealing.unseal(sealed) == CONTACT
        values = [str(v) for t in db.metadata.sorted_tables for row in db.session.connection().execute(sa.select(t)) for v in row]
        assert not [v for v in values if "13800138000" in v]
        db.session.remove()


def test_the_head_reads_it_by_default_and_each_reading_is_logged(app, client, world, queue, reported, clock):
    r = queue.post(f"/reports/{reported}/contact", role="supervisor")  # the head (a supervisor of the site, not routed past)
    assert r.status_code == 200, r.json
    assert r.json == {"report_id": reported, "contact": CONTACT, "read_at": clock.now().isoformat()}
    assert r.headers["Cache-Control"] == "no-store"
    first = clock.now()
    clock.advance(minutes=5)
    assert queue.post(f"/reports/{reported}/contact", role="supervisor").status_code == 200
    head = world.a.users["supervisor"]
    assert _log(app) == [("read", reported, head, first), ("read", reported, head, clock.now())]
    listed = queue.get("/report-contact-log", role="admin").json
    assert [(e["action"], e["report_id"], e["user_id"]) for e in listed] == [("read", reported, world.a.users["supervisor"])] * 2
    assert listed[0]["at"] == clock.now().isoformat()  # newest first


@pytest.mark.parametrize("role", ["worker", "safety_manager", "admin"])
def test_anyone_else_is_refused_with_nothing_logged(app, queue, reported, role):
    r = queue.post(f"/reports/{reported}/contact", role=role)
    assert r.status_code == 403 and r.json["error"]["code"] == "report_contact_forbidden"
    assert CONTACT not in r.get_data(as_text=True)
    assert _log(app) == []


def test_without_a_head_nobody_reads_until_an_admin_designates(app, public, queue, world):
    public.receipt(contact=CONTACT)
    rid = queue.ids()[0]
    for role in ROLES:
        assert queue.post(f"/reports/{rid}/contact", role=role).status_code == 403
    settings = queue.get("/report-settings").json
    assert settings["contact_reader_ids"] == [] and settings["readers_default"] is True
    r = queue.client.put("/api/v1/report-settings", json={"contact_reader_ids": [world.a.users["worker"]]}, headers=world.a.auth("admin"))
    assert r.status_code == 200 and r.json["contact_reader_ids"] == [world.a.users["worker"]] and r.json["readers_default"] is False
    assert queue.post(f"/reports/{rid}/contact", role="worker").json["contact"] == CONTACT  # e.g. the union officer
    assert queue.post(f"/reports/{rid}/contact", role="admin").status_code == 403
    log = queue.get("/report-contact-log", role="safety_manager").json
    assert [(e["action"], e["user_id"]) for e in log] == [("read", world.a.users["worker"]), ("readers_changed", world.a.users["admin"])]
    assert log[1]["details"] == {"from": [], "to": [world.a.users["worker"]], "default": False}
    r = queue.client.put("/api/v1/report-settings", json={"contact_reader_ids": None}, headers=world.a.auth("admin"))
    assert r.json["readers_default"] is True and r.json["contact_reader_ids"] == []


@pytest.mark.parametrize("role", ["worker", "supervisor", "safety_manager"])
def test_only_an_admin_names_the_readers(queue, world, role):
    r = queue.client.put("/api/v1/report-settings", json={"contact_reader_ids": [world.a.users[role]]}, headers=world.a.auth(role))
    assert r.status_code == 403


def test_readers_must_be_active_users_of_the_enterprise(queue, world):
    put = lambda ids: queue.client.put("/api/v1/report-settings", json={"contact_reader_ids": ids}, headers=world.a.auth("admin"))  # noqa: E731
    assert put([world.b.users["admin"]]).status_code == 404
    assert put([990_001]).status_code == 404
    assert put(["1"]).status_code == 422
    assert queue.get("/report-contact-log", role="admin").json == []


def test_no_answer_but_the_reading_carries_the_contact_or_its_ciphertext(app, public, queue, reported, world):
    with app.app_context():
        sealed = db.session.get(FamilyReport, reported).contact_sealed
        db.session.remove()
    answers = [
        queue.get("/reports"), queue.get(f"/reports/{reported}"), queue.get("/reports", role="supervisor"),
        queue.get("/report-contact-log"), queue.get("/report-settings"),
    ]
    for r in answers:
        text = r.get_data(as_text=True)
        assert r.status_code == 200 and CONTACT not in text and sealed not in text and sealed[:40] not in text
    assert queue.get(f"/reports/{reported}").json["has_contact"] is True


def test_a_report_without_contact_reads_as_none_and_is_still_logged(app, public, queue, world):
    queue.client.put("/api/v1/report-settings", json={"contact_reader_ids": [world.a.users["admin"]]}, headers=world.a.auth("admin"))
    public.receipt(anonymous=True)
    rid = queue.ids()[0]
    assert queue.post(f"/reports/{rid}/contact", role="admin").json["contact"] is None
    assert [a[0] for a in _log(app)] == ["readers_changed", "read"]


def test_keys_derive_from_the_secret_in_development_and_rotate_with_a_list(app):
    with app.app_context():
        derived = sealing.derived_key(app.config["SECRET_KEY"])
        assert sealing.keys_from(app.config) == [derived] and derived == sealing.derived_key(app.config["SECRET_KEY"])
        assert derived != sealing.derived_key("another secret")
        old = sealing.seal("旧联系方式")
        new_key = Fernet.generate_key().decode()
        app.config["REPORT_CONTACT_KEY"] = f"{new_key},{derived.decode()}"
        try:
            assert sealing.unseal(old) == "旧联系方式"  # the old key still opens
            fresh = sealing.seal("新")
            assert Fernet(new_key).decrypt(fresh.encode()).decode() == "新"  # the first key seals
            app.config["REPORT_CONTACT_KEY"] = Fernet.generate_key().decode()
            with pytest.raises(ValueError):
                sealing.unseal(old)
        finally:
            app.config["REPORT_CONTACT_KEY"] = None


@pytest.mark.parametrize("key", [None, "", "not-a-fernet-key", f"{Fernet.generate_key().decode()},short"])
def test_production_needs_its_own_contact_key(tmp_path, key):
    with pytest.raises(UnsafeConfiguration, match="REPORT_CONTACT_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "ZICHA_ENV": "production", "SECRET_KEY": "k" * 40, "REPORT_CONTACT_KEY": key})
