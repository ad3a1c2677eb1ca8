"""Run by ``bench.costs`` in its own process: the CPU one event costs at each stage.

``python -m bench.costs_probe WRITE_KEY REQUESTS FAKE_PID`` with the bench environment (a fresh
database holding one source and a six-preset destination, the fake Mixpanel at
``SEGMIX_MIXPANEL_API_URL``). Ingests ``REQUESTS`` 100-message ``/v1/batch`` requests through
Django's test client, then flushes every delivery they created, all in this process, and prints
one JSON object: CPU seconds of this process, of its PostgreSQL backend and of the fake Mixpanel
for each stage. In-process means no web server, no Celery, no load generator: what is left is
segmix's own work and the database's, which bounds what any deployment of it can do per core.
"""

from __future__ import annotations

import json
import sys
import time

from bench.stack import proc_cpu

WARM_UP_REQUESTS = 20
EVENTS_PER_REQUEST = 100


def main(write_key: str, requests: int, fake_pid: int) -> dict[str, float]:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from bench import loadgen
    from mappings.delivery.flush import flush
    from mappings.models import Destination

    template = loadgen.batch_template(EVENTS_PER_REQUEST)
    auth = loadgen.basic_auth(write_key)
    client = Client()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()

    def post(n: int) -> None:
        body = template.fill(f"costs-{n}-", time.time_ns())
        answer = client.post(
            "/v1/batch", body, content_type="application/json", HTTP_AUTHORIZATION=auth
        )
        if answer.status_code != 200:
            raise SystemExit(f"/v1/batch answered {answer.status_code}: {answer.content[:300]!r}")

    for n in range(WARM_UP_REQUESTS):
        post(n)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # what autovacuum would have done by now

    def measured(work) -> dict[str, float]:
        python, database, fake = time.process_time(), proc_cpu(backend), proc_cpu(fake_pid)
        started = time.perf_counter()
        count = work()
        return {
            "count": count,
            "python": time.process_time() - python,
            "postgres": proc_cpu(backend) - database,
            "fake": proc_cpu(fake_pid) - fake,
            "wall": time.perf_counter() - started,
        }

    def ingest() -> int:
        for n in range(WARM_UP_REQUESTS, WARM_UP_REQUESTS + requests):
            post(n)
        return requests * EVENTS_PER_REQUEST

    destination = Destination.objects.get()

    def deliver() -> int:
        claimed = 0
        while True:
            report = flush(destination)
            if report.paused or report.skipped:
                raise SystemExit(f"flush stopped: {report.paused or report.skipped}")
            claimed += report.claimed
            if not report.claimed:
                return claimed

    return {"ingest": measured(ingest), "delivery": measured(deliver)}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
