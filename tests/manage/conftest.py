"""Fixtures for the dashboard: a test client signed in as a given role of tenant ``a`` (or ``b``)."""
from __future__ import annotations

import re

import pytest

from tests.builders import PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


class Browser:
    """A Flask test client that signs in through the dashboard's own form and posts forms with
    the CSRF token of the page they came from, as a browser would."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def sign_in(self, enterprise: str, username: str, password: str = PASSWORD):
        page = self.client.get("/manage/sign-in")
        return self.client.post(
            "/manage/sign-in",
            data={"enterprise": enterprise, "username": username, "password": password, "csrf_token": csrf_of(page.get_data(as_text=True))},
        )

    def get(self, url: str, **kwargs):
        response = self.client.get(url, **kwargs)
        match = CSRF.search(response.get_data(as_text=True)) if response.mimetype == "text/html" else None
        if match:
            self.token = match.group(1)
        return response

    def post(self, url: str, data: dict | None = None, **kwargs):
        """POST a form with the CSRF token of the last page read (one is fetched if none was)."""
        if self.token is None:
            self.get("/manage/sign-in")
        return self.client.post(url, data={"csrf_token": self.token, **(data or {})}, **kwargs)


@pytest.fixture
def browser_for(app, clock, world):
    """``browser_for("admin")`` → a :class:`Browser` signed in as tenant a's admin
    (``browser_for("supervisor", tenant="bravo")`` for tenant b)."""

    def make(role: str, tenant: str = "acme") -> Browser:
        browser = Browser(app.test_client())
        response = browser.sign_in(tenant, role)
        assert response.status_code == 303, response.get_data(as_text=True)
        browser.get("/manage/", follow_redirects=True)  # a page with forms: its CSRF token
        return browser

    return make
