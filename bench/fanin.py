"""Scenario 2 (issue 7 #1): N build jobs publish into one manifest on a shared bare repo.

Every job is a real process, started together like the jobs of a matrix build that
finish at the same moment. Baselines (``bench/gitjob.py``): clone, JSON merge, commit,
push, ``git pull --rebase`` on rejection (plain, and with ``-X ours``). refold: each job
runs ``refold submit``; then one ``refold fold`` (or two compactors fold while the jobs
run). Afterwards the published manifest is read back and every entry that should be
there is looked for: a missing one is a lost update.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from bench.common import fmt_ratio, fmt_seconds, git_env, refold_argv, run_git, table, warm_up
from bench.fixtures import Job, fan_in_jobs, realistic_manifest
from refold.store.init import init_store
from refold.store.repo import open_store, read_published

GITJOB = Path(__file__).with_name("gitjob.py")
COMPACTOR = Path(__file__).with_name("compactor.py")


class Outcome(msgspec.Struct, kw_only=True):
    """One fan-in run. ``git_ops``: git commands run (baseline) or ref updates tried (refold)."""

    method: str
    jobs: int
    seconds: float
    git_ops: int
    ref_updates: int
    retries: int
    conflicts: int
    failed_jobs: int
    lost_updates: int
    other_entries_lost: int
    manifest_valid: bool
    detail: dict[str, int] = {}


def _keys(data: bytes) -> set[tuple[str, str]] | None:
    try:
        releases = json.loads(data)
        return {(r["version"], f["filename"]) for r in releases for f in r["files"]}
    except (ValueError, KeyError, TypeError):
        return None


class Losses(msgspec.Struct, frozen=True):
    lost_updates: int
    """Job entries missing from the final manifest."""
    other_entries_lost: int
    """Entries of the starting manifest missing from the final one."""
    manifest_valid: bool


def count_losses(initial: bytes, final: bytes, jobs: list[Job]) -> Losses:
    """Compare what should be published with what is; unreadable JSON loses everything."""
    before = _keys(initial) or set()
    after = _keys(final)
    if after is None:
        return Losses(len(jobs), len(before), False)
    wanted = {job.key() for job in jobs}
    return Losses(len(wanted - after), len(before - after), True)


def _collect(procs: list[subprocess.Popen[bytes]]) -> list[dict[str, object]]:
    results = []
    for proc in procs:
        out, err = proc.communicate()
        try:
            results.append(json.loads(out))
        except ValueError:
            results.append({"error": err.decode()[-500:], "exit_code": proc.returncode})
    return results


def _sum(results: list[dict[str, object]], key: str) -> int:
    total = 0
    for r in results:
        value = r.get(key, 0)
        total += value if isinstance(value, int) else 0
    return total


def run_git_baseline(root: Path, jobs: list[Job], *, mode: str, attempts: int) -> Outcome:
    """Every job clones, merges its entry into the JSON, commits and pushes with retries."""
    origin = root / "origin.git"
    seed = root / "seed"
    initial = realistic_manifest()
    run_git(["init", "-q", "--bare", "-b", "main", str(origin)])
    run_git(["init", "-q", "-b", "main", str(seed)])
    (seed / "versions-manifest.json").write_bytes(initial)
    run_git(["add", "versions-manifest.json"], cwd=seed)
    run_git(["commit", "-q", "-m", "manifest"], cwd=seed)
    run_git(["push", "-q", str(origin), "main"], cwd=seed)
    specs = []
    for job in jobs:
        spec = root / f"job-{job.index}.json"
        release = job.partial()[0]
        spec.write_text(
            json.dumps(
                {
                    "index": job.index,
                    "origin": str(origin),
                    "workdir": str(root / f"work-{job.index}"),
                    "release": {k: v for k, v in release.items() if k != "files"},
                    "entry": job.entry(),
                    "mode": mode,
                    "attempts": attempts,
                }
            )
        )
        specs.append(spec)
    env = git_env()
    start = time.perf_counter()
    procs = [
        subprocess.Popen([sys.executable, str(GITJOB), str(s)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for s in specs
    ]
    results = _collect(procs)
    seconds = time.perf_counter() - start
    final = run_git(["show", "main:versions-manifest.json"], cwd=origin)
    losses = count_losses(initial, final, jobs)
    return Outcome(
        method=f"git pull --rebase{' -X ours' if mode == 'ours' else ''}",
        jobs=len(jobs),
        seconds=seconds,
        git_ops=_sum(results, "git_ops"),
        ref_updates=_sum(results, "push_attempts"),
        retries=_sum(results, "retries"),
        conflicts=_sum(results, "conflicts"),
        failed_jobs=sum(1 for r in results if not r.get("pushed")),
        lost_updates=losses.lost_updates,
        other_entries_lost=losses.other_entries_lost,
        manifest_valid=losses.manifest_valid,
        detail={"jobs_whose_own_change_was_dropped": sum(1 for r in results if r.get("dropped_own_change"))},
    )


def _submit_procs(store: Path, root: Path, jobs: list[Job]) -> list[subprocess.Popen[bytes]]:
    env = git_env()
    procs = []
    for job in jobs:
        partial = root / f"partial-{job.index}.json"
        if not partial.exists():
            partial.write_text(json.dumps(job.partial(), indent=2) + "\n")
        argv = refold_argv("--store", str(store), "--json", "submit", "--lane", job.lane, str(partial))
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env))
    return procs


def run_refold(root: Path, jobs: list[Job], *, compactors: int = 0) -> Outcome:
    """Every job runs ``refold submit``; one ``refold fold`` at the end, or compactors meanwhile."""
    store = root / "store.git"
    initial = realistic_manifest()
    init_store(store, import_data=initial)
    for job in jobs:
        (root / f"partial-{job.index}.json").write_text(json.dumps(job.partial(), indent=2) + "\n")
    env = git_env()
    stop = root / "stop"
    start = time.perf_counter()
    folders = [
        subprocess.Popen(
            [sys.executable, str(COMPACTOR), str(store), str(stop)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for _ in range(compactors)
    ]
    results = _collect(_submit_procs(store, root, jobs))
    fold_results: list[dict[str, object]] = []
    if compactors:
        stop.touch()
        fold_results = _collect(folders)
        folds = _sum(fold_results, "folds")
        fold_retries = _sum(fold_results, "fold_retries")
    else:
        argv = refold_argv("--store", str(store), "--json", "fold")
        done = subprocess.run(argv, capture_output=True, env=env, check=False)
        folded = json.loads(done.stdout) if done.stdout.strip() else {}
        folds = 1 if folded.get("commit") else 0
        fold_retries = int(folded.get("retries", 0))
    seconds = time.perf_counter() - start
    final = read_published(open_store(store)).manifest_bytes
    losses = count_losses(initial, final, jobs)
    submit_retries = _sum(results, "retries")
    refused = sum(1 for r in results if "commit" not in r)
    name = "refold submit + 1 fold" if not compactors else f"refold submit + {compactors} compactors"
    return Outcome(
        method=name,
        jobs=len(jobs),
        seconds=seconds,
        git_ops=len(jobs) + submit_retries + folds + fold_retries,
        ref_updates=len(jobs) + submit_retries + folds + fold_retries,
        retries=submit_retries + fold_retries,
        conflicts=0,
        failed_jobs=refused,
        lost_updates=losses.lost_updates,
        other_entries_lost=losses.other_entries_lost,
        manifest_valid=losses.manifest_valid,
        detail={"folds": folds, "fold_retries": fold_retries, "submit_retries": submit_retries}
        | {f"compactor_{k}": _sum(fold_results, k) for k in ("idle_polls", "partials") if fold_results},
    )


def run(sizes: tuple[int, ...], *, attempts: int, compactors: int, workdir: Path | None = None) -> dict[str, object]:
    outcomes: list[Outcome] = []
    warm_up()
    base = Path(tempfile.mkdtemp(prefix="refold-bench-fanin-", dir=workdir))
    try:
        for n in sizes:
            jobs = fan_in_jobs(n)
            for variant in ("rebase", "ours", "refold", "compactors"):
                root = base / f"n{n}-{variant}"
                root.mkdir()
                if variant in ("rebase", "ours"):
                    outcomes.append(run_git_baseline(root, jobs, mode=variant, attempts=attempts))
                else:
                    outcomes.append(run_refold(root, jobs, compactors=compactors if variant == "compactors" else 0))
                shutil.rmtree(root, ignore_errors=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    speedups = {}
    for n in sizes:
        rows = {o.method: o for o in outcomes if o.jobs == n}
        base_time = rows["git pull --rebase"].seconds
        speedups[str(n)] = {
            name: base_time / o.seconds for name, o in rows.items() if name.startswith("refold")
        }
    return {
        "outcomes": [msgspec.to_builtins(o) for o in outcomes],
        "speedup_vs_rebase": speedups,
        "target": "refold >= 10x faster than git pull --rebase at N=16, zero lost updates",
    }


def render_table(result: dict[str, object]) -> str:
    outcomes = result["outcomes"]
    assert isinstance(outcomes, list)
    rows = []
    base: dict[int, float] = {}
    for o in outcomes:
        if o["method"] == "git pull --rebase":
            base[o["jobs"]] = o["seconds"]
    for o in outcomes:
        speed = base[o["jobs"]] / o["seconds"] if o["jobs"] in base else None
        rows.append(
            [
                o["jobs"],
                o["method"],
                fmt_seconds(o["seconds"]),
                fmt_ratio(speed),
                o["git_ops"],
                o["ref_updates"],
                o["retries"],
                o["conflicts"],
                o["failed_jobs"],
                o["lost_updates"],
                "yes" if o["manifest_valid"] else "NO",
            ]
        )
    head = (
        "fan-in: N jobs each publish one entry into the 2,234-file manifest on a shared bare repo "
        "(speed-up relative to git pull --rebase; target >= 10x at N=16, zero lost updates)"
    )
    return head + "\n\n" + table(
        ["N", "method", "wall", "speed-up", "git ops", "ref updates", "retries", "conflicts",
         "failed jobs", "lost updates", "valid JSON"],
        rows,
    )
