"""End to end through Redis: a real Celery worker process runs ``flush_destination``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection

from mappings import tasks
from mappings.models import Delivery
from segmix_site.celery import app
from tests.delivery.conftest import store, track

TEST_REDIS = "redis://127.0.0.1:6379/15"  # not a developer's worker's database
BASE_DIR = Path(django_settings.BASE_DIR)
CELERY = Path(sys.executable).with_name("celery")


def database_url() -> str:
    """The test database, as a URL the worker's settings understand."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        name = str(db["NAME"])
        if ":memory:" in name or name.startswith("file:"):
            pytest.fail("the worker test needs a file database (segmix's settings use one)")
        return "sqlite:///" + str(Path(name).resolve())
    auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{auth}@{host}/{db['NAME']}"


def wait_for(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_delivers_a_flush_enqueued_through_redis(
    mp, source, destination, settings, tmp_path
):
    queue = f"segmix-test-{uuid.uuid4().hex}"  # only this test's worker listens to it
    env = {
        **os.environ,
        "PYTHONPATH": str(BASE_DIR),
        "DJANGO_SETTINGS_MODULE": "segmix_site.settings",
        "DEBUG": "1",
        "DATABASE_URL": database_url(),
        "REDIS_URL": TEST_REDIS,
        "SECRET_KEY": settings.SECRET_KEY,
        "SEGMIX_ENCRYPTION_KEY": ",".join(settings.SEGMIX_ENCRYPTION_KEYS),
        "SEGMIX_MIXPANEL_API_URL": mp.url,
    }
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen(
            [str(CELERY), "-A", "segmix_site", "worker", "--pool=solo", "-Q", queue,
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
            cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deliveries = [store(source, destination, track(f"Via worker {n}")) for n in range(2)]
        with app.connection_for_write(TEST_REDIS) as broker:
            tasks.flush_destination.apply_async(
                args=[destination.pk], queue=queue, connection=broker
            )

        assert wait_for(lambda: len(mp.records()) == 2), log.read_text()[-3000:]
        assert wait_for(
            lambda: set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}
        ), log.read_text()[-3000:]
        assert sorted(r["event"] for r in mp.records()) == ["Via worker 0", "Via worker 1"]
        assert len(mp.requests("/import")) == 1
        assert {d.pk for d in deliveries} == set(Delivery.objects.values_list("pk", flat=True))
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
