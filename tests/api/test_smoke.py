def test_world_builds(world, client):
    r = client.get(f"/api/v1/scan/{world.a.post_token}", headers=world.a.auth())
    assert r.status_code == 200, r.json
    assert [s["frequency"] for s in r.json["schedules"]] == ["daily", "weekly", "monthly"]
