"""Scenario 5 (issue 7 #4): submit and fold over a loopback git server, against local.

The same realistic store is served four ways: a local path, a ``file://`` URL, a
``git daemon`` on 127.0.0.1 without refold's hook, and the same with the pre-receive
hook installed. Each submit adds a new entry; each fold publishes one pending partial.
Every fold is checked to have published what was submitted.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import fmt_seconds, table
from bench.fixtures import fan_in_jobs, realistic_manifest
from bench.growth import _payload
from refold.store.compact import fold_store
from refold.store.hook import install_hook
from refold.store.init import init_store
from refold.store.remote import git_daemon
from refold.store.repo import open_store, read_published
from refold.store.submit import submit

MODES = ("local", "file://", "git://", "git:// + hook")


def _time_mode(location: str, reps: int, offset: int) -> tuple[list[float], list[float], bool]:
    jobs = fan_in_jobs(64)
    submits: list[float] = []
    folds: list[float] = []
    correct = True
    for rep in range(reps + 1):
        job = jobs[(offset + rep) % len(jobs)]
        start = time.perf_counter()
        store = open_store(location, lanes=False)
        submit(store, job.lane, _payload(job, size=offset + rep), env={})
        middle = time.perf_counter()
        outcome = fold_store(open_store(location))
        end = time.perf_counter()
        published = read_published(open_store(location))
        sizes = {f.size for r in published.manifest for f in r.files if r.version == job.version}
        correct = correct and outcome.commit is not None and (offset + rep) in sizes
        if rep:  # the first round warms the cache clone and the OS caches
            submits.append(middle - start)
            folds.append(end - middle)
    return submits, folds, correct


def run(reps: int, *, workdir: Path | None = None) -> dict[str, object]:
    base = Path(tempfile.mkdtemp(prefix="refold-bench-remote-", dir=workdir))
    served = base / "served"
    served.mkdir()
    data = realistic_manifest()
    rows: dict[str, dict[str, object]] = {}
    try:
        init_store(base / "local.git", import_data=data)
        init_store(served / "plain.git", import_data=data)
        init_store(served / "hooked.git", import_data=data)
        install_hook(served / "hooked.git")
        with git_daemon(served) as server:
            locations = {
                "local": str(base / "local.git"),
                "file://": (served / "plain.git").resolve().as_uri(),
                "git://": server.url("plain.git"),
                "git:// + hook": server.url("hooked.git"),
            }
            offset = 0
            for mode in MODES:
                submits, folds, correct = _time_mode(locations[mode], reps, offset)
                offset += reps + 1
                rows[mode] = {
                    "submit": statistics.median(submits),
                    "fold": statistics.median(folds),
                    "correct": correct,
                }
    finally:
        shutil.rmtree(base, ignore_errors=True)
    local = rows["local"]
    for row in rows.values():
        row["submit_ratio"] = float(row["submit"]) / float(local["submit"])  # type: ignore[arg-type]
        row["fold_ratio"] = float(row["fold"]) / float(local["fold"])  # type: ignore[arg-type]
    return {"reps": reps, "modes": rows}


def render_table(result: dict[str, object]) -> str:
    modes = result["modes"]
    assert isinstance(modes, dict)
    rows = [
        [
            mode,
            fmt_seconds(row["submit"]),
            f"{row['submit_ratio']:.1f}x",
            fmt_seconds(row["fold"]),
            f"{row['fold_ratio']:.1f}x",
            "yes" if row["correct"] else "NO",
        ]
        for mode, row in modes.items()
    ]
    head = (
        f"remote: submit and fold latency (median of {result['reps']}, in-process, "
        "each including opening the store), against the local store"
    )
    return (
        head
        + "\n\n"
        + table(["store", "submit", "vs local", "fold", "vs local", "published"], rows)
    )
