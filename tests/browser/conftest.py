"""Browser tests: the real app served over HTTP on 127.0.0.1, driven by Debian's Chromium.

Playwright drives the system browser (``/usr/bin/chromium``, apt package ``chromium``); it never
downloads one. Screenshots go to ``tests/artifacts/`` for a person to look at.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return os.environ.get("ZICHA_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (apt-get install chromium)")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser):
    """A page the size of a cheap Android phone, Chinese first."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, locale="zh-CN", is_mobile=True)
    page = context.new_page()
    yield page
    context.close()





@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def tablet(browser):
    """A page the size of a tablet in landscape, Chinese first (the dashboard's smallest screen)."""
    context = browser.new_context(viewport={"width": 1024, "height": 768}, device_scale_factor=1, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, base_url: str, enterprise: str, username: str, password: str) -> None:
    """Sign in to the dashboard through its form, as a person would."""
    page.goto(f"{base_url}/manage/sign-in")
    page.fill("input[name=enterprise]", enterprise)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button.primary")
    page.wait_for_url(f"{base_url}/manage/**")
