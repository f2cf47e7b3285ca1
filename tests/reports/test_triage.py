"""The triage queue: who sees which report (routing past the supervisor), confirming into the
hazard loop and a status page that follows the hazard, rejecting, replying, rewards."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from server.alerts.models import Alert, AlertRecipient
from server.extensions import db
from server.notifications.models import OutboxEntry
from server.photos.models import Photo
from server.reports.models import FamilyReport
from tests.api.test_tenancy import snapshot
from tests.hazards.conftest import Loop
from tests.reports.conftest import Queue, metadata_jpeg


def _alert_of(app, report_id: int) -> tuple[str, list[int], str]:
    with app.app_context():
        alert = db.session.get(Alert, db.session.get(FamilyReport, report_id).alert_id)
        people = sorted(db.session.scalars(sa.select(AlertRecipient.user_id).where(AlertRecipient.alert_id == alert.id)))
        result = (alert.kind, people, alert.status.value, alert.title_zh + alert.summary_zh)
        db.session.remove()
    return result


# --------------------------------------------------------------------------- who sees what


def test_supervisors_see_their_sites_reports_unless_routed_past_them(public, queue, world):
    public.receipt(site_id=world.a.site_id, description="普通举报")
    public.receipt(site_id=world.a.site_id, description="班组长违章指挥", concerns_supervisor=True)
    public.receipt(site_id=world.a.other_site_id, description="别处的举报")
    public.receipt(description="没选厂区")
    everything = queue.ids()
    assert len(everything) == 4 and queue.ids(role="admin") == everything
    normal, routed, elsewhere, nowhere = sorted(everything)
    assert queue.ids(role="supervisor") == [normal]  # the post on site_id is theirs; other_site's has none
    assert queue.get(f"/reports/{routed}", role="supervisor").status_code == 404
    assert queue.get(f"/reports/{elsewhere}", role="supervisor").status_code == 404
    assert queue.get(f"/reports/{normal}", role="supervisor").json["description"] == "普通举报"
    assert queue.ids(role="supervisor", query="?concerns_supervisor=true") == []
    assert queue.ids(query="?concerns_supervisor=true") == [routed]
    assert queue.get("/reports", role="worker").status_code == 403


def test_the_new_report_alert_reaches_managers_in_the_app_never_a_supervisor(app, client, public, queue, world):
    r = client.post(
        "/api/v1/notification-channels", json={"kind": "webhook", "name": "安全群", "url": "http://127.0.0.1:9/hook", "secret": "s" * 24},
        headers=world.a.auth("admin"),
    )
    assert r.status_code == 201, r.json
    public.receipt(site_id=world.a.site_id, concerns_supervisor=True, description="班组长李四违章")
    rid = queue.ids()[0]
    kind, people, status, text = _alert_of(app, rid)
    assert kind == "report" and status == "open"
    assert people == [world.a.users["safety_manager"]]
    assert "李四" not in text and "班组长" not in text  # the alert is bland: the words stay in the queue
    assert queue.get("/notifications", role="supervisor").json == []
    assert len(queue.get("/notifications", role="safety_manager").json) == 1
    with app.app_context():  # in the app only: nothing for a group robot, webhook or e-mail
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEntry)) == 0
        db.session.remove()


def test_status_filter_follows_the_hazard(public, queue, client, world, clock):
    for _ in range(3):
        public.receipt()
    first, second, third = sorted(queue.ids())
    assert queue.confirm(first).status_code == 200
    assert queue.post(f"/reports/{second}/reject", {"reply": "现场核实无此情况"}).status_code == 200
    assert queue.ids(query="?status=received") == [third]
    assert queue.ids(query="?status=confirmed") == [first]
    assert queue.ids(query="?status=not_hazard") == [second]
    hazard_id = queue.get(f"/reports/{first}").json["hazard_id"]
    Loop(client, world.a, clock).confirm(hazard_id)
    assert Loop(client, world.a, clock).assign(hazard_id).status_code == 200
    assert queue.ids(query="?status=fixing") == [first] and queue.ids(query="?status=confirmed") == []


# --------------------------------------------------------------------------- confirm → the hazard loop


def test_confirm_creates_a_hazard_from_the_report_and_the_status_follows_it(app, client, public, queue, world, clock):
    receipt = public.receipt(site_id=world.a.site_id, photos=(metadata_jpeg(),))
    report = queue.latest()
    clock.advance(hours=2)
    r = queue.confirm(report["id"], reply="感谢举报，已安排整改")
    assert r.status_code == 200, r.json
    confirmed = r.json
    assert confirmed["status"] == "confirmed" and confirmed["hazard_number"] == "YH-2026-0001"
    hazard = client.get(f"/api/v1/hazards/{confirmed['hazard_id']}", headers=world.a.auth("admin")).json
    assert hazard["source"] == "report" and hazard["source_zh"] == "举报" and hazard["type"] == "fire"
    assert hazard["found_by_id"] == world.a.users["safety_manager"] and hazard["found_at"] == report["created_at"]
    assert hazard["site_id"] == world.a.site_id and hazard["location"] == "3号仓库东门"
    assert hazard["description"] == report["description"] and hazard["status"] == "reported"
    assert hazard["photos_before"] == [p["sha256"] for p in report["photos"]]
    sha = hazard["photos_before"][0]
    assert client.get(f"/api/v1/photos/{sha}/display", headers=world.a.auth("admin")).status_code == 200
    with app.app_context():
        photo = db.session.scalar(sa.select(Photo).where(Photo.sha256 == sha))
        assert photo.gps_lat is None and photo.captured_local is None and photo.uploaded_by_id == world.a.users["safety_manager"]
        db.session.remove()
    assert _alert_of(app, report["id"])[2] == "resolved"

    status = lambda: public.status(receipt).json  # noqa: E731
    assert (status()["status"], status()["reply"]) == ("confirmed", "感谢举报，已安排整改")
    loop = Loop(client, world.a, clock)
    hid = confirmed["hazard_id"]
    assert loop.confirm(hid).status_code == 200 and status()["status"] == "confirmed"
    assert loop.assign(hid).status_code == 200
    assert status()["status"] == "fixing" and status()["status_zh"] == "整改中"
    assert loop.rectify(hid).status_code == 200 and status()["status"] == "fixing"
    clock.advance(days=1)
    assert loop.verify(hid).status_code == 200
    final = status()
    assert final["status"] == "fixed" and final["status_zh"] == "已整改" and final["updated_at"] == clock.now().isoformat()
    assert queue.get(f"/reports/{report['id']}").json["status"] == "fixed"
    assert set(final) == {"enterprise_name", "status", "status_zh", "status_en", "reply", "replied_at", "submitted_at", "updated_at", "rewards"}


def test_a_hazard_rejected_in_its_loop_reads_not_a_hazard(client, public, queue, world, clock):
    receipt = public.receipt()
    rid = queue.ids()[0]
    hid = queue.confirm(rid).json["hazard_id"]
    assert Loop(client, world.a, clock).reject(hid).status_code == 200
    assert public.status(receipt).json["status"] == "not_hazard"


def test_a_triaged_report_cannot_be_triaged_again(public, queue):
    public.receipt()
    public.receipt()
    confirmed, rejected = sorted(queue.ids())
    assert queue.confirm(confirmed).status_code == 200
    assert queue.post(f"/reports/{rejected}/reject", {"reply": "不属实"}).status_code == 200
    for rid in (confirmed, rejected):
        for step, body in (("confirm", {}), ("reject", {"reply": "x"})):
            r = queue.post(f"/reports/{rid}/{step}", body)
            assert r.status_code == 409 and r.json["error"]["code"] == "report_transition_invalid"
            assert r.json["error"]["details"]["allowed_from"] == ["received"]


def test_reject_and_reply_answer_the_reporter(app, public, queue, clock):
    receipt = public.receipt()
    rid = queue.ids()[0]
    clock.advance(hours=1)
    r = queue.post(f"/reports/{rid}/reject", {"reply": "经现场核实，通道已于昨日清理", "note": "王主任复核"})
    assert r.status_code == 200 and r.json["status"] == "not_hazard"
    seen = public.status(receipt).json
    assert seen["status"] == "not_hazard" and seen["status_zh"] == "不属实"
    assert seen["reply"] == "经现场核实，通道已于昨日清理" and seen["replied_at"] == clock.now().isoformat()
    assert "王主任" not in str(seen)
    clock.advance(hours=1)
    assert queue.post(f"/reports/{rid}/reply", {"reply": "补充：欢迎继续监督"}).status_code == 200
    assert public.status(receipt).json["reply"] == "补充：欢迎继续监督"
    events = queue.get(f"/reports/{rid}").json["events"]
    assert [(e["action"], e["note"]) for e in events] == [("received", ""), ("rejected", "王主任复核"), ("replied", "补充：欢迎继续监督")]
    assert _alert_of(app, rid)[2] == "resolved"


# --------------------------------------------------------------------------- rewards


def test_rewards_are_granted_for_confirmed_reports_and_shown_through_the_receipt(public, queue, world, clock):
    receipt = public.receipt()
    rid = queue.ids()[0]
    r = queue.post(f"/reports/{rid}/rewards", {"amount": "100"})
    assert r.status_code == 409 and r.json["error"]["code"] == "report_transition_invalid"
    queue.confirm(rid)
    r = queue.post(f"/reports/{rid}/rewards", {"amount": "500.5", "note": "安委会批准，财务张会计发放"})
    assert r.status_code == 201, r.json
    [reward] = r.json["rewards"]
    assert reward["amount"] == "500.50" and reward["status"] == "granted" and reward["granted_by_id"] == world.a.users["safety_manager"]
    shown = public.status(receipt).json["rewards"]
    assert shown == [{"amount": "500.50", "status": "granted", "status_zh": "已批准", "granted_at": clock.now().isoformat(), "paid_at": None}]
    clock.advance(days=3)
    r = queue.post(f"/reports/{rid}/rewards/{reward['id']}/pay", {"note": "现金发放"}, role="admin")
    assert r.status_code == 200 and r.json["rewards"][0]["status"] == "paid"
    shown = public.status(receipt).json["rewards"][0]
    assert shown["status"] == "paid" and shown["paid_at"] == clock.now().isoformat()
    assert "张会计" not in str(public.status(receipt).json)
    again = queue.post(f"/reports/{rid}/rewards/{reward['id']}/pay", {})
    assert again.status_code == 409 and again.json["error"]["code"] == "report_reward_paid"
    assert [e["action"] for e in queue.get(f"/reports/{rid}").json["events"]] == ["received", "confirmed", "reward_granted", "reward_paid"]


@pytest.mark.parametrize("amount", ["0", "-5", "abc", "1e12"])
def test_a_reward_needs_a_positive_amount(public, queue, amount):
    public.receipt()
    rid = queue.ids()[0]
    queue.confirm(rid)
    r = queue.post(f"/reports/{rid}/rewards", {"amount": amount})
    assert r.status_code == 422 and "amount" in r.json["error"]["details"]


def test_a_rejected_report_gets_no_reward(public, queue):
    public.receipt()
    rid = queue.ids()[0]
    queue.post(f"/reports/{rid}/reject", {"reply": "不属实"})
    assert queue.post(f"/reports/{rid}/rewards", {"amount": "10"}).status_code == 409


# --------------------------------------------------------------------------- roles and tenancy

ROLES = ["worker", "supervisor", "safety_manager", "admin"]
READERS = {"supervisor", "safety_manager", "admin"}
MANAGERS = {"safety_manager", "admin"}
# (method, path, body, roles admitted at the door)
ENDPOINTS = [
    ("GET", "/reports/{id}", None, READERS),
    ("GET", "/reports/{id}/photos/{sha}/display", None, READERS),
    ("GET", "/reports/{id}/photos/{sha}/thumb", None, READERS),
    ("POST", "/reports/{id}/reply", {"reply": "收到"}, MANAGERS),
    ("POST", "/reports/{id}/reject", {"reply": "不属实"}, MANAGERS),
    ("POST", "/reports/{id}/confirm", {}, MANAGERS),
    ("POST", "/reports/{id}/rewards", {"amount": "10"}, MANAGERS),
    ("POST", "/reports/{id}/rewards/{reward}/pay", {}, MANAGERS),
    ("POST", "/reports/{id}/contact", None, set(ROLES)),
]


@pytest.fixture
def b_report(public_b, world, client):
    """B's confirmed report with a photo, a reward and a contact, and B's admin its reader."""
    public_b.receipt(photos=(metadata_jpeg(),), contact="乙的电话", site_id=world.b.site_id, description="乙秘密举报")
    b_queue = Queue(client, world.b)
    rid = b_queue.ids()[0]
    sha = b_queue.get(f"/reports/{rid}").json["photos"][0]["sha256"]
    b_queue.confirm(rid)
    reward = b_queue.post(f"/reports/{rid}/rewards", {"amount": "50"}).json["rewards"][0]["id"]
    client.put("/api/v1/report-settings", json={"contact_reader_ids": [world.b.users["admin"]]}, headers=world.b.auth("admin"))
    return {"id": rid, "sha": sha, "reward": reward}


@pytest.mark.parametrize("method, path, body, roles", ENDPOINTS)
def test_another_enterprise_gets_404_for_every_report_id(app, client, world, b_report, method, path, body, roles):
    url = "/api/v1" + path.format(**b_report)
    ghost = "/api/v1" + path.format(id=990_070, sha="0" * 64, reward=990_071)
    client.put("/api/v1/report-settings", json={"contact_reader_ids": [world.a.users["admin"]]}, headers=world.a.auth("admin"))
    before = snapshot(app)
    for role in ROLES:
        r = client.open(url, method=method, json=body, headers=world.a.auth(role))
        if role not in roles:
            assert r.status_code == 403, (role, r.status_code)
            continue
        assert r.status_code == 404 and r.json["error"]["code"] == "not_found", (role, r.get_data(as_text=True)[:200])
        assert "乙" not in r.get_data(as_text=True)
        assert client.open(ghost, method=method, json=body, headers=world.a.auth(role)).json == r.json
    assert snapshot(app) == before


def test_another_enterprise_lists_none_of_them(client, world, b_report):
    for url, role in (("/reports", "admin"), ("/reports", "supervisor"), (f"/reports?site_id={world.b.site_id}", "safety_manager"), ("/report-contact-log", "admin")):
        r = client.get("/api/v1" + url, headers=world.a.auth(role))
        assert r.status_code == 200 and r.json == [], (url, r.json)


@pytest.mark.parametrize("method, path, body, roles", ENDPOINTS)
@pytest.mark.parametrize("role", ROLES)
def test_role_by_endpoint(client, public, queue, world, method, path, body, roles, role):
    """Each role at each endpoint on a report of its own enterprise: the door admits exactly the
    listed roles (what the service then says — 409, 403 for a non-reader — is tested above)."""
    public.receipt(photos=(metadata_jpeg(),), site_id=world.a.site_id)
    rid = queue.ids()[0]
    sha = queue.get(f"/reports/{rid}").json["photos"][0]["sha256"]
    reward = None
    if "rewards" in path and path.endswith("pay"):
        queue.confirm(rid)
        reward = queue.post(f"/reports/{rid}/rewards", {"amount": "10"}).json["rewards"][0]["id"]
    elif path.endswith("rewards"):
        queue.confirm(rid)
    r = client.open("/api/v1" + path.format(id=rid, sha=sha, reward=reward), method=method, json=body, headers=world.a.auth(role))
    if role not in roles:
        assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    elif path.endswith("contact"):
        assert r.status_code == 403 and r.json["error"]["code"] == "report_contact_forbidden"  # no reader named
    else:
        assert r.status_code in (200, 201), (r.status_code, r.get_data(as_text=True)[:200])


@pytest.mark.parametrize("path, roles", [("/report-settings", MANAGERS), ("/report-settings/qr.png", MANAGERS), ("/report-contact-log", MANAGERS)])
def test_settings_and_log_are_for_managers(client, world, path, roles):
    for role in ROLES:
        r = client.get("/api/v1" + path, headers=world.a.auth(role))
        assert r.status_code == (200 if role in roles else 403), (path, role)
    r = client.get("/api/v1/report-settings/qr.png", headers=world.a.auth("admin"))
    assert r.mimetype == "image/png" and r.data.startswith(b"\x89PNG")
    for role in ROLES:
        r = client.post("/api/v1/report-settings/rotate-link", headers=world.a.auth(role))
        assert r.status_code == (200 if role == "admin" else 403)
