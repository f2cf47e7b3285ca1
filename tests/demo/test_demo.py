"""The demo enterprise: what it holds, its sign-in help, and a worker's next check on it.

Uses the suite's fixtures (tests/conftest.py): a migrated database emptied after every test and
a FrozenClock; nothing here reads the wall clock. ``plant`` is the set-up alone (fast);
``demo`` is what ``zicha serve --demo`` loads, five weeks of history included (its own tests
are in test_history.py).
"""
from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from server.accounts.models import Role
from server.accounts.services import list_users
from server.checklists.services import list_checklists
from server.demo.data import DEMO_CODE, DEMO_PASSWORD, demo_exists, load_demo, sign_in_help
from server.enterprises.services import list_sites
from server.errors import ZichaError
from server.extensions import db
from server.posts.models import Post, RiskLevel
from server.posts.services import list_posts
from server.schedules.services import list_schedules
from sync.periods import Frequency
from sync.records import ItemListSchema

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 09:00 on Monday 2026-11-23 in Shanghai: the demo's "now" in these tests.
MONDAY_9AM = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
# 14:05 and 20:05 that day: inside the 14:00–16:00 window of 2号低压配电柜, and the night shift's
# 30-minute handover window — both after the history, which ends at 09:00.
MONDAY_2PM = datetime(2026, 11, 23, 6, 5, tzinfo=timezone.utc)
MONDAY_8PM = datetime(2026, 11, 23, 12, 5, tzinfo=timezone.utc)
PHOTO = hashlib.sha256(b"demo photo bytes").hexdigest()
DEVICE = {"install_id": "demo-device-0001", "name": "演示手机", "platform": "android"}


@pytest.fixture
def plant(ctx, clock):
    clock.set(MONDAY_9AM)
    enterprise = load_demo(history=False)
    db.session.commit()
    return enterprise


@pytest.fixture
def demo(ctx, clock):
    clock.set(MONDAY_9AM)
    enterprise = load_demo()
    db.session.commit()
    return enterprise


def test_demo_is_a_realistic_plant(plant):
    eid = plant.id
    assert (plant.code, plant.name, plant.timezone) == (DEMO_CODE, "华东精细化工有限公司", "Asia/Shanghai")
    assert plant.shifts == ["08:00", "20:00"]

    sites = list_sites(eid)
    names = {s.name for s in sites}
    assert {"危化品仓库", "配电室", "消防泵房", "有限空间作业点", "生产车间"} <= names
    assert len(sites) == 7
    assert sum(1 for s in sites if s.parent_id is not None) == 2

    users = list_users(eid)
    assert len(users) == 7
    assert Counter(u.role for u in users) == {Role.ADMIN: 1, Role.SAFETY_MANAGER: 1, Role.SUPERVISOR: 2, Role.WORKER: 3}
    assert {u.username: u.role for u in users}["anquan"] is Role.SAFETY_MANAGER

    posts = list_posts(eid)
    assert len(posts) == 13
    assert {p.risk_level for p in posts} == set(RiskLevel)
    assert all(p.supervisor is not None and p.supervisor.role is Role.SUPERVISOR for p in posts)
    assert {"液氨储罐区", "1号高压配电柜", "消防泵组", "污水池有限空间入口", "反应釜A区"} <= {p.name for p in posts}
    assert len({p.qr_token for p in posts}) == 13

    schedules = list_schedules(eid)
    assert len(schedules) == 16
    assert {s.post_id for s in schedules} == {p.id for p in posts}, "every post has a schedule"
    assert {s.frequency for s in schedules} == set(Frequency), "every frequency is used"
    assert all(s.due_end_minutes is None or s.due_end_minutes > s.due_start_minutes for s in schedules)
    warehouse = next(s for s in schedules if s.post.name == "液氨储罐区" and s.frequency is Frequency.DAILY)
    assert (warehouse.due_start_minutes, warehouse.due_end_minutes) == (480, 600)

    checklists = list_checklists(eid)
    assert len(checklists) == 7
    assert {c.id for c in checklists} == {s.checklist_id for s in schedules}, "every checklist is scheduled"
    for checklist in checklists:
        items = checklist.current_version.items
        ItemListSchema().load({"items": items})  # what is stored is valid by the API's own rules
        assert all(item["label_en"] for item in items)
    daily = next(c for c in checklists if c.name == "危化品仓库日检").current_version.items
    gas = next(i for i in daily if i["id"] == "gas_detector_reading")
    assert (gas["kind"], gas["unit"], gas["min"], gas["max"], gas["valid_min"], gas["valid_max"], gas["photo_required"]) == (
        "number", "%LEL", 0, 20, 0, 100, False
    )
    photo_items = {i["id"] for c in checklists for i in c.current_version.items if i["photo_required"]}
    assert {"pump_test_run", "gas_detector_calibrated", "drill_held", "report_valid"} <= photo_items
    assert {"fire_extinguisher", "exit_clear", "static_grounding"} <= {i["id"] for i in daily}


def test_demo_exists_flips_and_a_second_load_is_refused(ctx, clock):
    assert demo_exists() is False
    load_demo(history=False)
    db.session.commit()
    assert demo_exists() is True
    with pytest.raises(ZichaError) as caught:
        load_demo(history=False)
    assert caught.value.code == "conflict"


def test_sign_in_help_names_everything_needed(plant, app):
    text = sign_in_help()
    base = app.config["PUBLIC_BASE_URL"]
    assert DEMO_CODE in text and DEMO_PASSWORD in text
    for user in list_users(plant.id):
        assert user.username in text and user.display_name in text
    assert f"{base}/api/v1/docs" in text
    assert f"{base}/api/v1/auth/sign-in" in text
    tokens = {p.qr_token for p in list_posts(plant.id)}
    qr = next(t for t in tokens if f"{base}/q/{t}" in text)
    assert f"{base}/api/v1/scan/{qr}" in text
    assert "企业代码" in text and "Enterprise code" in text
    assert text.count("\n") > 10


def passing_answer(item: dict) -> dict:
    """An answer that passes ``item``, with a photo where one is required."""
    kind = item["kind"]
    if kind == "yes_no":
        value = item.get("expected", True)
    elif kind == "number":
        value = item["min"] if item.get("min") is not None else item["max"]
    elif kind == "choice":
        value = next(o["value"] for o in item["options"] if o.get("ok", True))
    else:
        value = "正常"
    return {"item_id": item["id"], "value": value, "photos": [PHOTO] if item.get("photo_required") else []}


def sign_in(client, username: str) -> dict:
    r = client.post(
        "/api/v1/auth/sign-in",
        json={"enterprise": DEMO_CODE, "username": username, "password": DEMO_PASSWORD, "device": DEVICE},
    )
    assert r.status_code == 201, r.json
    return {"Authorization": f"Bearer {r.json['token']}"}


def post_token(name: str) -> str:
    return db.session.scalar(sa.select(Post.qr_token).where(Post.name == name))


def submit(client, auth, due: dict, answers: list[dict], at: datetime):
    return client.post(
        "/api/v1/checks",
        headers=auth,
        json={
            "id": str(uuid.uuid4()),
            "schedule_id": due["schedule_id"],
            "checklist_version_id": due["version"]["id"],
            "performed_at": at.astimezone(SHANGHAI).isoformat(),
            "answers": answers,
        },
    )


def test_worker_scans_a_demo_post_and_submits_a_check(demo, client, clock):
    auth = sign_in(client, "zhangwei")
    # This morning's round is in the history: the ammonia tanks are done, their lightning test too.
    r = client.get(f"/api/v1/scan/{post_token('液氨储罐区')}", headers=auth)
    assert r.status_code == 200, r.json
    assert {s["frequency"]: s["state"] for s in r.json["schedules"]} == {"daily": "done", "yearly": "done"}
    # The other yearly lightning test was never done: overdue.
    r = client.get(f"/api/v1/scan/{post_token('1号高压配电柜')}", headers=auth)
    assert {s["frequency"]: s["state"] for s in r.json["schedules"]}["yearly"] == "overdue"

    clock.set(MONDAY_2PM)
    token = post_token("2号低压配电柜")
    r = client.get(f"/api/v1/scan/{token}", headers=auth)
    assert r.status_code == 200, r.json
    assert r.json["post"]["name"] == "2号低压配电柜"
    (daily,) = r.json["schedules"]
    assert (daily["state"], daily["period"]["key"], daily["checklist_name"]) == ("due", "2026-11-23", "配电室巡检")

    performed = clock.now()
    clock.advance(minutes=1)
    answers = [passing_answer(item) for item in daily["version"]["items"]]
    r = submit(client, auth, daily, answers, performed)
    assert r.status_code == 201, r.json
    assert (r.json["outcome"], r.json["ok"], r.json["failed_count"], r.json["period_key"]) == ("accepted", True, 0, "2026-11-23")
    assert r.json["user"]["display_name"] == "张伟"

    r = client.get(f"/api/v1/scan/{token}", headers=auth)
    assert {s["frequency"]: s["state"] for s in r.json["schedules"]}["daily"] == "done"


def test_a_bad_shift_reading_is_a_failed_item_in_the_plant_shift(demo, client, clock):
    auth = sign_in(client, "zhaolei")
    r = client.get(f"/api/v1/scan/{post_token('反应釜A区')}", headers=auth)
    assert r.status_code == 200, r.json
    (shift,) = r.json["schedules"]
    # Shifts start 08:00 and 20:00; the day shift's handover check is in the history.
    assert (shift["frequency"], shift["period"]["key"], shift["state"]) == ("shift", "2026-11-23-S1", "done")

    clock.set(MONDAY_8PM)
    r = client.get(f"/api/v1/scan/{post_token('反应釜A区')}", headers=auth)
    (shift,) = r.json["schedules"]
    assert (shift["frequency"], shift["period"]["key"], shift["state"]) == ("shift", "2026-11-23-S2", "due")
    answers = [passing_answer(item) for item in shift["version"]["items"]]
    too_hot = next(a for a in answers if a["item_id"] == "reactor_temperature")
    too_hot["value"] = 92.5
    r = submit(client, auth, shift, answers, clock.now())
    assert r.status_code == 201, r.json
    assert (r.json["ok"], r.json["failed_count"], r.json["period_key"]) == (False, 1, "2026-11-23-S2")
