"""Site grants: a supervisor sees their own posts, plus every post of a site an admin granted."""
from __future__ import annotations

from datetime import timedelta

from tests.builders import check_record


def _check_on_the_unsupervised_post(client, world, clock):
    record = check_record(world.a.schedules["other_post_daily"], world.a.version_id, clock.now() - timedelta(hours=1))
    r = client.post("/api/v1/checks", json=record, headers=world.a.auth("worker"))
    assert r.status_code == 201, r.json
    return record["id"]


def _supervisor_sees(client, world, check_id) -> bool:
    r = client.get("/api/v1/checks", headers=world.a.auth("supervisor"))
    assert r.status_code == 200
    return check_id in {c["id"] for c in r.json}


def test_a_granted_site_widens_what_a_supervisor_sees_and_taking_it_back_narrows_it(client, world, clock):
    check_id = _check_on_the_unsupervised_post(client, world, clock)
    assert not _supervisor_sees(client, world, check_id)
    url = f"/api/v1/users/{world.a.users['supervisor']}/site-grants"
    r = client.put(url, json={"site_ids": [world.a.other_site_id]}, headers=world.a.auth("admin"))
    assert r.status_code == 200 and [s["id"] for s in r.json["sites"]] == [world.a.other_site_id]
    assert _supervisor_sees(client, world, check_id)
    assert client.get(f"/api/v1/checks/{check_id}", headers=world.a.auth("supervisor")).status_code == 200
    assert client.get(url, headers=world.a.auth("safety_manager")).json["sites"][0]["id"] == world.a.other_site_id
    assert client.put(url, json={"site_ids": []}, headers=world.a.auth("admin")).json == {"sites": []}
    assert not _supervisor_sees(client, world, check_id)


def test_only_admins_grant_and_only_supervisors_take_grants(client, world):
    url = f"/api/v1/users/{world.a.users['supervisor']}/site-grants"
    for role in ("worker", "supervisor", "safety_manager"):
        assert client.put(url, json={"site_ids": [world.a.site_id]}, headers=world.a.auth(role)).status_code == 403
    r = client.put(f"/api/v1/users/{world.a.users['worker']}/site-grants", json={"site_ids": [world.a.site_id]}, headers=world.a.auth("admin"))
    assert r.status_code == 422 and "site_ids" in r.json["error"]["details"]
    r = client.put(url, json={"site_ids": ["1"]}, headers=world.a.auth("admin"))
    assert r.status_code == 422


def test_grants_never_cross_enterprises(client, world):
    # another enterprise's site, and another enterprise's user: both look like nothing
    r = client.put(f"/api/v1/users/{world.a.users['supervisor']}/site-grants", json={"site_ids": [world.b.site_id]}, headers=world.a.auth("admin"))
    assert r.status_code == 404
    r = client.put(f"/api/v1/users/{world.b.users['supervisor']}/site-grants", json={"site_ids": []}, headers=world.a.auth("admin"))
    assert r.status_code == 404
    assert client.get(f"/api/v1/users/{world.b.users['supervisor']}/site-grants", headers=world.a.auth("admin")).status_code == 404
    assert client.get(f"/api/v1/users/{world.a.users['supervisor']}/site-grants", headers=world.a.auth("admin")).json == {"sites": []}


def test_the_dashboard_grants_sites_with_checkboxes(client, world, clock, browser_for):
    check_id = _check_on_the_unsupervised_post(client, world, clock)
    admin = browser_for("admin")
    page = admin.get(f"/manage/users/{world.a.users['supervisor']}").get_data(as_text=True)
    assert "授权查看的厂区" in page and "配电室" in page
    r = admin.post(f"/manage/users/{world.a.users['supervisor']}/site-grants", {"site_ids": str(world.a.other_site_id)})
    assert r.status_code == 303
    supervisor = browser_for("supervisor")
    assert check_id in supervisor.get("/manage/checks").get_data(as_text=True)
    assert "1号高压配电柜" in supervisor.get("/manage/overview?span=day").get_data(as_text=True)
    admin.post(f"/manage/users/{world.a.users['supervisor']}/site-grants", {})  # nothing checked: all taken back
    assert check_id not in supervisor.get("/manage/checks").get_data(as_text=True)
    # a safety manager reads users but may not grant
    assert browser_for("safety_manager").post(f"/manage/users/{world.a.users['supervisor']}/site-grants", {"site_ids": str(world.a.site_id)}).status_code == 403
