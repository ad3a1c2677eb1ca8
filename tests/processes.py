"""Helpers for the servers that tests and benchmarks start: loopback ports and parent-death
signals. Used by ``tests/e2e``, ``tests/ingest`` and ``bench``."""

from __future__ import annotations

import ctypes
import random
import socket
from collections.abc import Callable
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A free loopback port, below the kernel's ephemeral range where there is room.

    A port from that range (what binding port 0 gives) can become some outbound connection's
    source port while a killed server is down, or before a server chosen for it binds it, and
    the server then fails with "address already in use"; ports below it are only ever taken by
    an explicit bind.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    candidates = list(range(max(1024, low - 10_000), low))
    random.shuffle(candidates)
    for port in [*candidates, 0]:  # 0: the kernel's choice, when nothing below is free
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError("no free loopback port")


def die_with_parent(signum: int) -> Callable[[], None]:
    """A ``preexec_fn`` asking the kernel to send ``signum`` to the child when its parent dies
    (``PR_SET_PDEATHSIG``), so a crashed harness leaves no server behind."""

    def preexec() -> None:
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signum)
        except OSError:
            pass

    return preexec
