"""Fixtures for console view tests: users of each kind, a source, a destination with secrets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from mappings.configuration import create_destination
from mappings.models import Destination, Source
from tests.fake_mixpanel import FakeMixpanel

API_SECRET = "sekrit-api-secret-0042"
SA_SECRET = "sekrit-service-account-0042"
TOKEN = "public-project-token-0042"
XSS = "<script>alert(1)</script>"
XSS_ESCAPED = b"&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture(autouse=True)
def no_redis(monkeypatch) -> list[int]:
    """Resume schedules a flush through Redis; record the call instead of waiting for Redis."""
    calls: list[int] = []
    monkeypatch.setattr(
        "mappings.delivery.schedule.schedule_flush", lambda pk: calls.append(pk) or True
    )
    return calls


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("grace", is_staff=True)


@pytest.fixture
def staff_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def csrf_client(staff) -> Client:
    """A signed-in staff client that, like a browser, must send the CSRF token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    return client


@pytest.fixture
def user_client(db) -> Client:
    """Signed in, but not staff."""
    user = get_user_model().objects.create_user("ada")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def htmx() -> dict[str, str]:
    return {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def source(db) -> Source:
    return Source.objects.create(name="Web App", write_key="wk_web_0123456789abcdef")


@pytest.fixture
def destination(source) -> Destination:
    """Enabled, with the six presets, authenticated by an API secret."""
    return create_destination(
        "Mixpanel prod",
        {"projectToken": TOKEN, "apiSecret": API_SECRET},
        sources=[source],
        enabled=True,
    )


@pytest.fixture
def mp(settings) -> Iterator[FakeMixpanel]:
    with FakeMixpanel() as fake:
        settings.SEGMIX_MIXPANEL_API_URL = fake.url
        settings.SEGMIX_MIXPANEL_TIMEOUT = 5.0
        yield fake


def body(response) -> str:
    return response.content.decode()
