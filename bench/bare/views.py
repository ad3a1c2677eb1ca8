"""The one view of the bare endpoint, and its URL (this module is the ROOT_URLCONF)."""

from __future__ import annotations

import orjson
import redis
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path

QUEUE = "bench:bare"
# The list is trimmed in the same round trip so a long run can't fill Redis's memory.
KEEP = 1000

_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL)
    return _client


def batch(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405)
    body = request.body
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return HttpResponse(b'{"success":false}', status=400, content_type="application/json")
    pipe = _redis().pipeline(transaction=False)
    pipe.lpush(QUEUE, body)
    pipe.ltrim(QUEUE, 0, KEEP - 1)
    pipe.execute()
    return HttpResponse(b'{"success":true}', content_type="application/json")


urlpatterns = [path("v1/batch", batch)]
