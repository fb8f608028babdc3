"""cProfile of the slowest in-process paths, so a figure comes with its explanation.

Profiled: one fold of many pending partials (the growth curve's largest point), and one
fold that re-releases an existing entry (the publication whose guard does the most
work). The top functions by own time go into the results.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import shutil
import tempfile
from pathlib import Path

import msgspec

from bench.fixtures import JOB_COMBOS, Job, fan_in_jobs, realistic_manifest
from refold.store.compact import fold_store
from refold.store.init import init_store
from refold.store.submit import submit


class Row(msgspec.Struct):
    function: str
    calls: int
    own_seconds: float
    cumulative_seconds: float


def _top(profile: cProfile.Profile, count: int) -> list[Row]:
    stats = pstats.Stats(profile)
    entries = stats.stats  # type: ignore[attr-defined]
    rows = []
    for (filename, line, name), (_, calls, own, cumulative, _) in entries.items():
        where = name if filename == "~" else f"{Path(filename).name}:{line}({name})"
        rows.append(Row(function=where, calls=calls, own_seconds=own, cumulative_seconds=cumulative))
    rows.sort(key=lambda r: r.own_seconds, reverse=True)
    return rows[:count]


def _payload(job: Job, size: int) -> bytes:
    document = job.partial()
    files = document[0]["files"]
    assert isinstance(files, list)
    files[0]["size"] = size
    return json.dumps(document).encode()


def run(pending: int, *, top: int = 15, workdir: Path | None = None) -> dict[str, object]:
    base = Path(tempfile.mkdtemp(prefix="refold-bench-profile-", dir=workdir))
    try:
        store = init_store(base / "many.git", import_data=realistic_manifest())
        for k in range(pending):
            job = Job(k, f"3.16.{k // len(JOB_COMBOS)}", JOB_COMBOS[k % len(JOB_COMBOS)], 50000000000 + k)
            submit(store, job.lane, json.dumps(job.partial()).encode(), env={})
        many = cProfile.Profile()
        many.runcall(fold_store, store)

        store = init_store(base / "replace.git", import_data=realistic_manifest())
        job = fan_in_jobs(1)[0]
        submit(store, job.lane, _payload(job, 1), env={})
        fold_store(store)
        submit(store, job.lane, _payload(job, 2), env={})
        replace = cProfile.Profile()
        replace.runcall(fold_store, store)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return {
        f"fold of {pending} pending partials": [msgspec.to_builtins(r) for r in _top(many, top)],
        "fold re-releasing one entry": [msgspec.to_builtins(r) for r in _top(replace, top)],
    }


def render_table(result: dict[str, object]) -> str:
    parts = []
    for title, rows in result.items():
        assert isinstance(rows, list)
        total = sum(r["own_seconds"] for r in rows)
        lines = [f"profile: {title} (top {len(rows)} by own time, {total * 1e3:.1f} ms among them)"]
        lines += [
            f"  {r['own_seconds'] * 1e3:8.2f} ms own {r['cumulative_seconds'] * 1e3:8.2f} ms cum "
            f"{r['calls']:>8} calls  {r['function']}"
            for r in rows
        ]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)
