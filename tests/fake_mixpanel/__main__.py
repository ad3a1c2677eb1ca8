"""`python -m tests.fake_mixpanel`: run the fake as its own process until SIGTERM/SIGINT.

The first stdout line is the base URL (useful with `--port 0`); the control API under
`/_fake/` lets other processes inspect what arrived.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from . import FakeMixpanel, Project
from .store import (
    DEFAULT_API_SECRET,
    DEFAULT_PROJECT_ID,
    DEFAULT_SA_SECRET,
    DEFAULT_SA_USERNAME,
    DEFAULT_TOKEN,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_mixpanel", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--project-token", default=DEFAULT_TOKEN)
    parser.add_argument("--api-secret", default=DEFAULT_API_SECRET)
    parser.add_argument(
        "--service-account",
        default=f"{DEFAULT_SA_USERNAME}:{DEFAULT_SA_SECRET}",
        help="username:secret",
    )
    parser.add_argument("--project-id", default=DEFAULT_PROJECT_ID)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--record-bodies", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--max-body-bytes", type=int, default=10_000_000)
    args = parser.parse_args(argv)
    if ":" not in args.service_account:
        parser.error("--service-account must be username:secret")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    username, _, secret = args.service_account.partition(":")
    project = Project(
        token=args.project_token,
        api_secret=args.api_secret or None,
        project_id=args.project_id,
        service_accounts={username: secret},
    )
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    fake = FakeMixpanel(
        [project],
        host=args.host,
        port=args.port,
        latency_ms=args.latency_ms,
        record_bodies=args.record_bodies,
        max_body_bytes=args.max_body_bytes,
    )
    with fake:
        print(fake.url, flush=True)
        while not done.wait(0.2):
            pass  # short waits keep the main thread responsive to signals
    return 0


if __name__ == "__main__":
    sys.exit(main())
