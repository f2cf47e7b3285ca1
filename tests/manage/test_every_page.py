"""Every dashboard route, whatever its area: nothing without a session, the declared roles only,
and a worker's account never gets in. (Each area's own tests check content and tenancy.)"""
from __future__ import annotations

import re
import uuid

import pytest

from server.accounts.models import Role

_ARG = re.compile(r"<(?:(\w+):)?(\w+)>")


def dashboard_routes(app):
    """(rule, methods, view) of every /manage route but the public ones (sign-in, assets)."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/manage"):
            continue
        if rule.endpoint in ("manage.sign_in", "manage.sign_in_post", "manage.asset"):
            continue
        yield rule, rule.methods - {"HEAD", "OPTIONS"}, app.view_functions[rule.endpoint]


def example_url(rule) -> str:
    """The rule with made-up arguments (ids that exist nowhere)."""

    def fill(match):
        converter, name = match.groups()
        if converter == "uuid":
            return str(uuid.UUID(int=7))
        if converter == "int":
            return "999999"
        if name == "sha256":
            return "b" * 64
        return "thumb" if name == "variant" else "x"

    return _ARG.sub(fill, rule.rule)


def test_the_dashboard_has_its_pages(app):
    endpoints = {rule.endpoint for rule, _, _ in dashboard_routes(app)}
    assert {"manage.home", "manage.sign_out", "manage.language"} <= endpoints


def test_every_route_sends_a_stranger_to_sign_in_and_shows_nothing(app, client, world):
    for rule, methods, _view in dashboard_routes(app):
        url = example_url(rule)
        for method in methods:
            response = client.open(url, method=method, data={})
            assert response.status_code in (302, 303), (method, url, response.status_code)
            assert response.headers["Location"].startswith("/manage/sign-in"), (method, url)


def test_every_route_declares_its_roles_and_none_lets_a_worker_in(app):
    for rule, _methods, view in dashboard_routes(app):
        roles = getattr(view, "dashboard_roles", None)
        assert roles, f"{rule.rule} is not behind @signed_in"
        assert Role.WORKER not in roles, rule.rule


@pytest.mark.parametrize("role", ["supervisor", "safety_manager", "admin"])
def test_every_page_without_arguments_opens_for_its_roles_and_refuses_the_others(app, browser_for, role):
    browser = browser_for(role)
    for rule, methods, view in dashboard_routes(app):
        if "GET" not in methods or "<" in rule.rule:
            continue
        response = browser.get(rule.rule)
        if Role(role) in view.dashboard_roles:
            assert response.status_code in (200, 302), (rule.rule, response.status_code)
        else:
            assert response.status_code == 403, (rule.rule, response.status_code)
            assert "无权访问" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["supervisor", "safety_manager", "admin"])
def test_unknown_ids_are_a_404_page_never_a_500(app, browser_for, role):
    browser = browser_for(role)
    for rule, methods, view in dashboard_routes(app):
        if "GET" not in methods or "<" not in rule.rule or Role(role) not in view.dashboard_roles:
            continue
        response = browser.get(example_url(rule))
        assert response.status_code == 404, (rule.rule, response.status_code)


def test_a_dashboard_address_that_matches_no_page_is_a_404_page(browser_for, client):
    response = browser_for("admin").get("/manage/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "本企业没有这个页面" in response.get_data(as_text=True)
    assert client.get("/api/v1/no-such-thing").json["error"]["code"] == "not_found"
