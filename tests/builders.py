"""Plain builder functions for test data, through the same services the API uses."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from server.accounts import services as accounts
from server.accounts.models import Role
from server.checklists import services as checklists
from server.enterprises import services as enterprises
from server.extensions import db
from server.posts import services as posts
from server.posts.models import RiskLevel
from server.schedules import services as schedules
from sync.periods import Frequency

PASSWORD = "correct horse battery"

ITEMS = [
    {"id": "extinguisher", "kind": "yes_no", "label": "消防器材在位有效", "label_en": "Extinguishers in place"},
    {"id": "exit_clear", "kind": "yes_no", "label": "安全出口畅通", "label_en": "Exits clear"},
    {
        "id": "gas_reading",
        "kind": "number",
        "label": "可燃气体报警器读数",
        "unit": "%LEL",
        "min": 0,
        "max": 20,
        "valid_min": 0,
        "valid_max": 100,
        "photo_required": True,
    },
    {
        "id": "pump_state",
        "kind": "choice",
        "label": "泵组状态",
        "options": [{"value": "normal", "label": "正常", "ok": True}, {"value": "abnormal", "label": "异常", "ok": False}],
    },
    {"id": "remarks", "kind": "text", "label": "其他情况", "required": False, "max_length": 200},
]

PHOTO = "a" * 64


def good_answers() -> list[dict]:
    return [
        {"item_id": "extinguisher", "value": True},
        {"item_id": "exit_clear", "value": True},
        {"item_id": "gas_reading", "value": 3.5, "photos": [PHOTO]},
        {"item_id": "pump_state", "value": "normal"},
    ]


def check_record(schedule_id: int, version_id: int, performed_at: datetime, answers: list[dict] | None = None, **extra) -> dict:
    """A check as a device sends it (JSON-ready)."""
    record = {
        "id": str(uuid.uuid4()),
        "schedule_id": schedule_id,
        "checklist_version_id": version_id,
        "performed_at": performed_at.isoformat(),
        "answers": answers if answers is not None else good_answers(),
    }
    record.update(extra)
    return record


@dataclass
class Tenant:
    enterprise_id: int
    code: str
    users: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    site_id: int = 0
    other_site_id: int = 0
    post_id: int = 0
    post_token: str = ""
    other_post_id: int = 0
    checklist_id: int = 0
    version_id: int = 0
    schedules: dict[str, int] = field(default_factory=dict)
    device_id: int = 0

    def auth(self, role: str = "worker") -> dict:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@dataclass
class World:
    a: Tenant
    b: Tenant


def build_tenant(code: str, name: str) -> Tenant:
    enterprise = enterprises.create_enterprise(code, name)
    tenant = Tenant(enterprise.id, code)
    for role in Role:
        user = accounts.create_user(enterprise.id, role.value, f"{name}{role.value}", role, PASSWORD)
        tenant.users[role.value] = user.id
    site = enterprises.create_site(enterprise.id, "危化品仓库")
    other_site = enterprises.create_site(enterprise.id, "配电室")
    tenant.site_id, tenant.other_site_id = site.id, other_site.id
    post = posts.create_post(enterprise.id, site.id, "液氨储罐区", RiskLevel.RED, supervisor_id=tenant.users["supervisor"])
    other = posts.create_post(enterprise.id, other_site.id, "1号高压配电柜", RiskLevel.YELLOW)
    tenant.post_id, tenant.post_token, tenant.other_post_id = post.id, post.qr_token, other.id
    checklist = checklists.create_checklist(enterprise.id, "危化品仓库日检", "", ITEMS, tenant.users["admin"])
    tenant.checklist_id, tenant.version_id = checklist.id, checklist.current_version_id
    for frequency in (Frequency.DAILY, Frequency.WEEKLY, Frequency.MONTHLY):
        schedule = schedules.create_schedule(
            enterprise.id, {"post_id": post.id, "checklist_id": checklist.id, "frequency": frequency}
        )
        tenant.schedules[frequency.value] = schedule.id
    tenant.schedules["other_post_daily"] = schedules.create_schedule(
        enterprise.id, {"post_id": other.id, "checklist_id": checklist.id, "frequency": Frequency.DAILY}
    ).id
    for role in Role:
        device = {"install_id": f"{code}-{role.value}-install", "name": "phone", "platform": "android"} if role is Role.WORKER else None
        signed = accounts.sign_in(code, role.value, PASSWORD, device)
        tenant.tokens[role.value] = signed.token
        if signed.device:
            tenant.device_id = signed.device.id
    return tenant


def build_world() -> World:
    world = World(a=build_tenant("acme", "甲企业"), b=build_tenant("bravo", "乙企业"))
    db.session.commit()
    return world


def run_job(app, name: str) -> str:
    """Run one periodic job now, through its lease as a runner's tick would (e.g.
    ``checks.follow_up``, which raises what failed checks owe); what it said."""
    from server.jobs.services import run_due
    from server.jobs.tasks import JOBS

    with app.app_context():
        return run_due([job for job in JOBS if job.name == name], "tests", force=True)[name]
