"""Helpers for hazard tests: report through the API and walk a hazard along its closed loop."""
from __future__ import annotations

from datetime import timedelta

import pytest

PHOTO_BEFORE = "b" * 64
PHOTO_AFTER = "c" * 64
MAJOR_PLAN = {"measures": "更换泄漏阀门并加装检测仪", "funds": "12000.50", "emergency_measures": "设置警戒区，配备应急器材"}


class Loop:
    """Drives one tenant's hazards through the API (each step asserts nothing; tests do)."""

    def __init__(self, client, tenant, clock):
        self.client, self.tenant, self.clock = client, tenant, clock

    def post(self, path, body, role):
        return self.client.post(f"/api/v1/hazards{path}", json=body, headers=self.tenant.auth(role))

    def report(self, role="worker", **extra):
        body = {"description": "液氨储罐区阀门泄漏", "post_id": self.tenant.post_id, "type": "equipment", "photos": [PHOTO_BEFORE], **extra}
        r = self.post("", body, role)
        assert r.status_code == 201, r.json
        return r.json

    def confirm(self, hid, role="safety_manager", grade="general"):
        return self.post(f"/{hid}/confirm", {"grade": grade, "basis": "《危险化学品安全管理条例》"}, role)

    def reject(self, hid, role="safety_manager"):
        return self.post(f"/{hid}/reject", {"reason": "现场复核无泄漏"}, role)

    def assign(self, hid, role="safety_manager", responsible="worker", **extra):
        body = {"responsible_id": self.tenant.users[responsible], "deadline": (self.clock.now() + timedelta(days=3)).isoformat(), "responsible_department": "设备部", **extra}
        return self.post(f"/{hid}/assign", body, role)

    def rectify(self, hid, role="worker"):
        return self.post(f"/{hid}/rectify", {"description": "已更换阀门", "photos": [PHOTO_AFTER], "cost": "800.00"}, role)

    def verify(self, hid, role="safety_manager", passed=True, **extra):
        return self.post(f"/{hid}/verify", {"passed": passed, "note": "复查合格" if passed else "仍有渗漏", **extra}, role)

    def to(self, status, grade="general", **kw):
        """A new hazard brought to ``status`` by the usual people; its id."""
        hid = self.report()["id"]
        steps = {
            "reported": [],
            "confirmed": [lambda: self.confirm(hid, grade=grade)],
            "rejected": [lambda: self.reject(hid)],
            "assigned": [lambda: self.confirm(hid, grade=grade), lambda: self.assign(hid, **(MAJOR_PLAN if grade == "major" else {}))],
        }
        steps["rectified"] = steps["assigned"] + [lambda: self.rectify(hid)]
        steps["closed"] = steps["rectified"] + [lambda: self.verify(hid)]
        for step in steps[status]:
            r = step()
            assert r.status_code == 200, r.json
        return hid

    def get(self, hid, role="admin"):
        return self.client.get(f"/api/v1/hazards/{hid}", headers=self.tenant.auth(role))


@pytest.fixture
def loop(client, world, clock):
    return Loop(client, world.a, clock)
