"""Fixtures for the browser tests: one headless Chromium per session, a page per test, a staff
user, the fake Mixpanel, and screenshots on request.

* Chromium is Debian's (``/usr/bin/chromium``): ``playwright install`` cannot download browsers
  here. As root it needs ``--no-sandbox``; the other flags stop it from calling home
  (``/work/shared/notes.md``).
* The server is pytest-django's ``live_server`` (a thread of this process, on the test database
  with transactional access), so tests can also read and write rows directly.
* Playwright's sync API runs an event loop in this thread, and Django refuses ORM calls from a
  thread with a running loop. ``DJANGO_ALLOW_ASYNC_UNSAFE`` lifts that for these tests only: the
  loop only drives the browser, it never touches the database.
* ``SEGMIX_SCREENSHOTS=1`` saves PNGs of the main screens into ``docs/screenshots/``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from tests.fake_mixpanel import FakeMixpanel

CHROMIUM = os.environ.get("SEGMIX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "correct-horse-battery-staple-42"

import playwright.sync_api as playwright_api  # noqa: E402

# `make test` installs Debian's chromium (scripts/ensure_chromium.sh): a missing browser is a
# broken setup, not a reason to skip.
if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
    raise RuntimeError(f"no Chromium at {CHROMIUM}: run scripts/ensure_chromium.sh")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    """A fresh browser context (no cookies) at laptop size; console errors fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture(autouse=True)
def no_flush_hints(monkeypatch) -> list[int]:
    """Ingest hints a flush through Redis and Celery after commit: record it instead, so no
    task reaches a shared broker (the tests flush themselves)."""
    calls: list[int] = []
    monkeypatch.setattr(
        "mappings.delivery.schedule.schedule_flush", lambda pk: calls.append(pk) or True
    )
    return calls


@pytest.fixture
def mp(settings) -> Iterator[FakeMixpanel]:
    with FakeMixpanel() as fake:
        settings.SEGMIX_MIXPANEL_API_URL = fake.url
        settings.SEGMIX_MIXPANEL_TIMEOUT = 5.0
        yield fake


@pytest.fixture
def staff(transactional_db, settings):
    # A fast hasher: PBKDF2's million rounds would cost seconds per test for nothing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return get_user_model().objects.create_user(
        "grace", password=PASSWORD, is_staff=True, email="grace@example.org"
    )


@pytest.fixture
def signed_in(page, staff):
    """``page`` after signing in through the login form."""
    page.goto("/login/")
    page.get_by_label("Username").fill(staff.get_username())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    return page


@pytest.fixture
def shoot():
    """``shoot(page, name)`` saves ``docs/screenshots/<name>.png`` when SEGMIX_SCREENSHOTS=1."""
    enabled = os.environ.get("SEGMIX_SCREENSHOTS") == "1"

    def save(page, name: str, *, full_page: bool = True) -> None:
        if enabled:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)

    return save
