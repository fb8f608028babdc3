"""Scenario 4 (issue 7 #3): how fold and status cost grows, and its fitted exponent.

Three independent axes, each with everything else held at the realistic fixture:

- manifest size (files in the published manifest), one pending partial;
- pending partials (not yet folded, spread over 16 lanes, each adding one entry);
- history (partial commits already folded), one pending partial.

The exponent is the least-squares slope of log(time) on log(size): 1 is linear, 0 is
flat. The targets: flat in history, at most linear in manifest size and pending work.
Every measured fold is checked to have published what was pending.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import msgspec

from bench.common import fmt_seconds, linear_fit, log_log_slope, table, timed
from bench.fixtures import (
    JOB_COMBOS,
    Job,
    count_files,
    fan_in_jobs,
    realistic_manifest,
    render,
    scaled_releases,
)
from refold.store.blame import blame
from refold.store.compact import fold_store
from refold.store.history import lane_log
from refold.store.init import init_store
from refold.store.repo import Store, read_published
from refold.store.status import status
from refold.store.submit import submit

HISTORY_BATCH = 100
"""Partials folded per fold while building history, as a busy store would see them."""


class Point(msgspec.Struct):
    size: int
    fold: float
    status: float


class AuditPoint(msgspec.Struct):
    size: int
    log_lane: float
    blame: float
    status: float


def _audit(store: Store, job: Job, version: str, size: int, reps: int) -> AuditPoint:
    """``refold log --lane L -n 20``, ``refold blame V`` and ``refold status``, in-process."""
    runs = [
        (
            timed(lambda: lane_log(store, job.lane, limit=20)),
            timed(lambda: blame(store, version)),
            timed(lambda: status(store)),
        )
        for _ in range(max(reps, 3))
    ]
    return AuditPoint(
        size=size,
        log_lane=statistics.median(r[0] for r in runs),
        blame=statistics.median(r[1] for r in runs),
        status=statistics.median(r[2] for r in runs),
    )


class Curve(msgspec.Struct):
    axis: str
    unit: str
    points: list[Point]
    fold_exponent: float | None = None
    status_exponent: float | None = None
    fold_last_step_exponent: float | None = None
    """The slope between the two largest points: the trend once fixed costs are amortised."""
    fold_fixed: float | None = None
    fold_per_unit: float | None = None
    """The fold's least-squares line: fixed seconds plus seconds per unit."""
    correct: bool = True
    audit: list[AuditPoint] = []
    """History axis only: the auditor's commands at each size (issue 5's measurement)."""


def _job(index: int, version: str) -> Job:
    return Job(index, version, JOB_COMBOS[index % len(JOB_COMBOS)], 40000000000 + index)


def _payload(job: Job, size: int | None = None) -> bytes:
    document = job.partial()
    if size is not None:
        files = document[0]["files"]
        assert isinstance(files, list)
        files[0]["size"] = size
    return json.dumps(document).encode()


def _published_keys(store: Store) -> set[tuple[str, str]]:
    releases = msgspec.json.decode(read_published(store).manifest_bytes)
    return {(r["version"], f["filename"]) for r in releases for f in r["files"]}


def _has_keys(keys: set[tuple[str, str]]) -> Callable[[Store], bool]:
    return lambda store: keys <= _published_keys(store)


def _has_size(size: int) -> Callable[[Store], bool]:
    return lambda store: f'"size": {size}'.encode() in read_published(store).manifest_bytes


def _measure(store: Store, expect: Callable[[Store], bool]) -> tuple[float, float, bool]:
    """Status then fold, timed; and whether the fold published what was expected."""
    t_status = timed(lambda: status(store))
    t_fold = timed(lambda: fold_store(store))
    return t_fold, t_status, expect(store)


def _curve(axis: str, unit: str, samples: dict[int, list[tuple[float, float, bool]]]) -> Curve:
    points = [
        Point(
            size=size,
            fold=statistics.median(s[0] for s in runs),
            status=statistics.median(s[1] for s in runs),
        )
        for size, runs in sorted(samples.items())
    ]
    sizes = [p.size for p in points]
    folds = [p.fold for p in points]
    line = linear_fit(sizes, folds)
    return Curve(
        axis=axis,
        unit=unit,
        points=points,
        fold_exponent=log_log_slope(sizes, folds),
        status_exponent=log_log_slope(sizes, [p.status for p in points]),
        fold_last_step_exponent=log_log_slope(sizes[-2:], folds[-2:]),
        fold_fixed=line[0] if line else None,
        fold_per_unit=line[1] if line else None,
        correct=all(ok for runs in samples.values() for _, _, ok in runs),
    )


def manifest_size(base: Path, sizes: tuple[int, ...], reps: int) -> Curve:
    samples: dict[int, list[tuple[float, float, bool]]] = {}
    for files in sizes:
        data = render(scaled_releases(files))
        actual = count_files(data)[1]
        store = init_store(base / f"files-{files}.git", import_data=data)
        samples[actual] = []
        for rep in range(reps + 1):
            job = _job(rep, f"99.0.{rep}")
            submit(store, job.lane, _payload(job), env={})
            result = _measure(store, _has_keys({job.key()}))
            if rep:
                samples[actual].append(result)
        shutil.rmtree(store.path, ignore_errors=True)
    return _curve("manifest size", "files", samples)


def pending_work(base: Path, sizes: tuple[int, ...], reps: int) -> Curve:
    samples: dict[int, list[tuple[float, float, bool]]] = {}
    initial = realistic_manifest()
    for count in sizes:
        samples[count] = []
        for rep in range(reps + 1):
            store = init_store(base / f"pending-{count}-{rep}.git", import_data=initial)
            jobs = [_job(k, f"3.16.{k // len(JOB_COMBOS)}") for k in range(count)]
            for job in jobs:
                submit(store, job.lane, _payload(job), env={})
            result = _measure(store, _has_keys({j.key() for j in jobs}))
            if rep:
                samples[count].append(result)
            shutil.rmtree(store.path, ignore_errors=True)
    return _curve("pending partials", "partials", samples)


def history(base: Path, sizes: tuple[int, ...], reps: int) -> Curve:
    """History grows by re-releasing a fixed set of 64 entries, so the manifest stays put."""
    store = init_store(base / "history.git", import_data=realistic_manifest())
    keys = fan_in_jobs(64)
    built = 0
    counter = 0

    def republish(count: int) -> None:
        nonlocal counter
        for _ in range(count):
            job = keys[counter % len(keys)]
            submit(store, job.lane, _payload(job, size=counter), env={})
            counter += 1

    samples: dict[int, list[tuple[float, float, bool]]] = {}
    audit: list[AuditPoint] = []
    for target in sorted(sizes):
        while built < target:
            step = min(HISTORY_BATCH, target - built)
            republish(step)
            fold_store(store)
            built += step
        samples[target] = []
        for rep in range(reps + 1):
            republish(1)
            result = _measure(store, _has_size(counter - 1))
            built += 1
            if rep:
                samples[target].append(result)
        audit.append(_audit(store, keys[0], keys[0].version, target, reps))
    curve = _curve("history", "partial commits", samples)
    curve.audit = audit
    return curve


def run(
    *,
    files: tuple[int, ...],
    pending: tuple[int, ...],
    history_sizes: tuple[int, ...],
    reps: int,
    workdir: Path | None = None,
) -> dict[str, object]:
    base = Path(tempfile.mkdtemp(prefix="refold-bench-growth-", dir=workdir))
    try:
        curves = [
            manifest_size(base, files, reps),
            pending_work(base, pending, reps),
            history(base, history_sizes, reps),
        ]
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return {
        "curves": [msgspec.to_builtins(c) for c in curves],
        "targets": {
            "history": "exponent ~0",
            "manifest size": "exponent <= 1",
            "pending partials": "exponent <= 1",
        },
    }


def _exp(value: object) -> str:
    return "-" if not isinstance(value, float) else f"{value:.2f}"


def render_table(result: dict[str, object]) -> str:
    curves = result["curves"]
    assert isinstance(curves, list)
    rows = []
    for c in curves:
        for p in c["points"]:
            rows.append(
                [
                    c["axis"],
                    f"{p['size']:,} {c['unit']}",
                    fmt_seconds(p["fold"]),
                    fmt_seconds(p["status"]),
                ]
            )
        rows.append(
            [c["axis"], "fitted exponent", _exp(c["fold_exponent"]), _exp(c["status_exponent"])]
        )
        rows.append([c["axis"], "exponent, last step", _exp(c["fold_last_step_exponent"]), ""])
        if isinstance(c["fold_per_unit"], float):
            per = c["fold_per_unit"]
            unit = c["unit"].rstrip("s").replace("partial commit", "commit")
            rows.append(
                [
                    c["axis"],
                    "linear fit",
                    f"{fmt_seconds(c['fold_fixed'])} + {fmt_seconds(per)}/{unit}",
                    "",
                ]
            )
    head = (
        "growth: fold and status time (median) along each axis, others held at the realistic "
        "fixture; exponent = log-log slope (targets: ~0 for history, <= 1 otherwise)"
    )
    text = head + "\n\n" + table(["axis", "size", "fold", "status"], rows)
    audit = [a for c in curves for a in c.get("audit", [])]
    if len(audit) >= 2:
        first, last = audit[0], audit[-1]
        rows = [
            [
                f"{a['size']:,} partial commits",
                fmt_seconds(a["log_lane"]),
                fmt_seconds(a["blame"]),
                fmt_seconds(a["status"]),
            ]
            for a in audit
        ]
        rows.append(
            [f"ratio {last['size']:,} / {first['size']:,}"]
            + [f"{last[k] / first[k]:.2f}x" for k in ("log_lane", "blame", "status")]
        )
        text += (
            "\n\nauditor commands as history grows (issue 5; target: ratio under 2x)\n\n"
            + table(["history", "log --lane -n 20", "blame VERSION", "status"], rows)
        )
    return text
