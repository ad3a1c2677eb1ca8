"""Optional sampling profiles of the web and worker processes while a benchmark runs (py-spy).

``python -m bench ingest e2e --profile`` records each process for the measured window with
``py-spy record --format raw`` (collapsed stacks) and prints where the time went: the functions
most often on top of the stack (self) and the segmix functions most often anywhere on it
(inclusive). py-spy is not a dependency of segmix: install it into the venv for a session
(``.venv/bin/pip install py-spy``) and remove it afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

VENV_BIN = Path(__file__).resolve().parent.parent / ".venv" / "bin"


def py_spy() -> str | None:
    local = VENV_BIN / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (gunicorn's and Celery's worker processes)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry))
    return sorted(found)


@dataclass
class Recording:
    label: str
    pid: int
    output: Path
    popen: subprocess.Popen


def start(label: str, pids: list[int], seconds: float, workdir: Path) -> list[Recording]:
    """Start one ``py-spy record`` per pid (nothing when py-spy is not installed)."""
    binary = py_spy()
    if binary is None:
        return []
    recordings = []
    for pid in pids:
        output = workdir / f"profile-{label}-{pid}.txt"
        argv = [
            binary,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, int(seconds))),
            "--rate",
            "50",
            "--format",
            "raw",
            "--output",
            str(output),
            "--nonblocking",
        ]
        popen = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        recordings.append(Recording(label, pid, output, popen))
    return recordings


def finish(recordings: list[Recording], top: int = 15) -> str:
    """Wait for the recordings and summarise them (one block per label)."""
    by_label: dict[str, list[Recording]] = {}
    for rec in recordings:
        try:
            rec.popen.wait(timeout=120)
        except subprocess.TimeoutExpired:
            rec.popen.kill()
        by_label.setdefault(rec.label, []).append(rec)
    blocks = []
    for label, recs in by_label.items():
        stacks: Counter[str] = Counter()
        for rec in recs:
            if rec.output.exists():
                for line in rec.output.read_text(errors="replace").splitlines():
                    frames, _, count = line.rpartition(" ")
                    if count.isdigit():
                        stacks[frames] += int(count)
        blocks.append(summarise(label, stacks, top, [r.output for r in recs]))
    return "\n".join(blocks)


def summarise(label: str, stacks: Counter[str], top: int, files: list[Path]) -> str:
    total = sum(stacks.values()) or 1
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in stacks.items():
        parts = frames.split(";")
        short = [_short(f) for f in parts]
        own[short[-1]] += count
        for frame in {f for f in short if _is_ours(f)}:
            inclusive[frame] += count
    lines = [
        f"--- profile: {label} ({total} samples; raw stacks: {', '.join(str(f) for f in files)})",
        "self (top of stack):",
    ]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    lines.append("segmix functions, inclusive:")
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines)


def _is_ours(short_frame: str) -> bool:
    return "(mappings/" in short_frame or "(segmix_site/" in short_frame


def _short(frame: str) -> str:
    """``func (path/to/module.py:123)`` → ``func (module.py)`` so lines of a function merge."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    if path.startswith(("mappings/", "segmix_site/", "bench/")):
        return f"{name} ({path})"
    for marker in ("/site-packages/", "/work/main/", "/lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


class PgSampler:
    """What the bench database's sessions are doing, sampled every 100 ms (``--profile``).

    Counts (state, wait event, statement prefix) over the non-idle sessions of ``database``: a
    poor man's ``pg_stat_statements`` that needs no server configuration.
    """

    def __init__(self, url: str, database: str) -> None:
        import threading

        self.url = url
        self.database = database
        self.samples: Counter[str] = Counter()
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> PgSampler:
        self._thread.start()
        return self

    def _run(self) -> None:
        import psycopg

        sql = (
            "SELECT state, coalesce(wait_event_type || ':' || wait_event, 'cpu'), "
            "left(regexp_replace(query, '\\s+', ' ', 'g'), 70) FROM pg_stat_activity "
            "WHERE datname = %s AND state <> 'idle' AND pid <> pg_backend_pid()"
        )
        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            while not self._stop.wait(0.1):
                self.rounds += 1
                for state, wait, query in conn.execute(sql, [self.database]).fetchall():
                    self.samples[f"{state:<20} {wait:<22} {query}"] += 1

    def finish(self, label: str, top: int = 12) -> str:
        self._stop.set()
        self._thread.join(timeout=5)
        rounds = self.rounds or 1
        lines = [
            f"--- PostgreSQL sessions of {self.database} during {label} "
            f"(average sessions in each state over {self.rounds} samples):"
        ]
        lines += [f"  {n / rounds:5.2f}  {key}" for key, n in self.samples.most_common(top)]
        return "\n".join(lines)
