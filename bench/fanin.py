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
import resource
import shutil
import statistics
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


SUBMIT_WRITES = 4
"""A submit writes a blob, a tree and a commit, then moves the lane ref."""
RETRY_WRITES = 2
"""A lost lane race writes the commit again on the new tip and retries the ref update."""
FOLD_WRITES = 6
"""A fold writes two blobs, two trees and a commit, then moves the public ref."""


class Outcome(msgspec.Struct, kw_only=True):
    """One fan-in run.

    ``git_ops``: for the baselines, git commands run (each a process that reads, writes
    and often talks to the remote); for refold, objects written and ref updates tried
    (libgit2 calls inside the job's one process). ``ref_updates``: pushes tried, or
    compare-and-swaps tried.
    """

    method: str
    jobs: int
    seconds: float
    cpu_seconds: float
    """User + system CPU of every process the run started: what load on the machine cannot inflate."""
    job_seconds_median: float
    job_seconds_max: float
    """How long the jobs took from the common start until each exited: what a CI runner waits."""
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


def _collect(procs: list[subprocess.Popen[bytes]], start: float) -> list[dict[str, object]]:
    """Each process's JSON report plus ``elapsed``: from the common start to its exit."""
    ended: dict[int, float] = {}
    while len(ended) < len(procs):
        for i, proc in enumerate(procs):
            if i not in ended and proc.poll() is not None:
                ended[i] = time.perf_counter()
        time.sleep(0.002)
    results: list[dict[str, object]] = []
    for i, proc in enumerate(procs):
        out, err = proc.communicate()
        try:
            result = dict(json.loads(out))
        except ValueError:
            result = {"error": err.decode()[-500:], "exit_code": proc.returncode}
        result["elapsed"] = ended[i] - start
        results.append(result)
    return results


def _job_times(results: list[dict[str, object]]) -> tuple[float, float]:
    times = [t for r in results if isinstance(t := r.get("elapsed"), float)]
    return (statistics.median(times), max(times)) if times else (0.0, 0.0)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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
    cpu = _children_cpu()
    start = time.perf_counter()
    procs = [
        subprocess.Popen([sys.executable, str(GITJOB), str(s)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for s in specs
    ]
    results = _collect(procs, start)
    seconds = time.perf_counter() - start
    cpu = _children_cpu() - cpu
    final = run_git(["show", "main:versions-manifest.json"], cwd=origin)
    losses = count_losses(initial, final, jobs)
    return Outcome(
        method=f"git pull --rebase{' -X ours' if mode == 'ours' else ''}",
        jobs=len(jobs),
        seconds=seconds,
        cpu_seconds=cpu,
        job_seconds_median=_job_times(results)[0],
        job_seconds_max=_job_times(results)[1],
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
    cpu = _children_cpu()
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
    results = _collect(_submit_procs(store, root, jobs), start)
    fold_results: list[dict[str, object]] = []
    if compactors:
        stop.touch()
        fold_results = _collect(folders, start)
        folds = _sum(fold_results, "folds")
        fold_retries = _sum(fold_results, "fold_retries")
    else:
        argv = refold_argv("--store", str(store), "--json", "fold")
        done = subprocess.run(argv, capture_output=True, env=env, check=False)
        folded = json.loads(done.stdout) if done.stdout.strip() else {}
        folds = 1 if folded.get("commit") else 0
        fold_retries = int(folded.get("retries", 0))
    seconds = time.perf_counter() - start
    cpu = _children_cpu() - cpu
    final = read_published(open_store(store)).manifest_bytes
    losses = count_losses(initial, final, jobs)
    submit_retries = _sum(results, "retries")
    refused = sum(1 for r in results if "commit" not in r)
    name = "refold submit + 1 fold" if not compactors else f"refold submit + {compactors} compactors"
    return Outcome(
        method=name,
        jobs=len(jobs),
        seconds=seconds,
        cpu_seconds=cpu,
        job_seconds_median=_job_times(results)[0],
        job_seconds_max=_job_times(results)[1],
        git_ops=SUBMIT_WRITES * len(jobs) + RETRY_WRITES * submit_retries + FOLD_WRITES * (folds + fold_retries),
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


REPEAT_UP_TO = 16
"""Runs with at most this many jobs are repeated; the N=64 baseline alone takes minutes."""

VARIANTS = ("rebase", "ours", "refold", "compactors")


def run(
    sizes: tuple[int, ...], *, attempts: int, compactors: int, repeat: int = 1, workdir: Path | None = None
) -> dict[str, object]:
    """Every variant at every N; repetitions interleave the variants so load drift hits all."""
    outcomes: list[Outcome] = []
    warm_up()
    base = Path(tempfile.mkdtemp(prefix="refold-bench-fanin-", dir=workdir))
    try:
        for n in sizes:
            jobs = fan_in_jobs(n)
            for rep in range(max(1, repeat) if n <= REPEAT_UP_TO else 1):
                for variant in VARIANTS:
                    root = base / f"n{n}-{rep}-{variant}"
                    root.mkdir()
                    if variant in ("rebase", "ours"):
                        outcomes.append(run_git_baseline(root, jobs, mode=variant, attempts=attempts))
                    else:
                        count = compactors if variant == "compactors" else 0
                        outcomes.append(run_refold(root, jobs, compactors=count))
                    shutil.rmtree(root, ignore_errors=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    summary = summarise(outcomes)
    return {
        "summary": summary,
        "outcomes": [msgspec.to_builtins(o) for o in outcomes],
        "target": "refold >= 10x faster than git pull --rebase at N=16, zero lost updates",
    }


def summarise(outcomes: list[Outcome]) -> list[dict[str, object]]:
    """Per (N, method): median wall and counts over repetitions, worst case for losses."""
    groups: dict[tuple[int, str], list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault((o.jobs, o.method), []).append(o)
    rows = []
    for (n, method), runs in groups.items():
        baseline = groups[(n, "git pull --rebase")]
        base_wall = statistics.median(r.seconds for r in baseline)
        wall = statistics.median(r.seconds for r in runs)
        rows.append(
            {
                "jobs": n,
                "method": method,
                "runs": len(runs),
                "seconds": wall,
                "seconds_min": min(r.seconds for r in runs),
                "seconds_max": max(r.seconds for r in runs),
                "speedup_vs_rebase": base_wall / wall,
                "cpu_seconds": statistics.median(r.cpu_seconds for r in runs),
                "slowest_job_seconds": statistics.median(r.job_seconds_max for r in runs),
                "cpu_ratio_vs_rebase": statistics.median(r.cpu_seconds for r in baseline)
                / statistics.median(r.cpu_seconds for r in runs),
                "git_ops": statistics.median(r.git_ops for r in runs),
                "ref_updates": statistics.median(r.ref_updates for r in runs),
                "retries": statistics.median(r.retries for r in runs),
                "conflicts": statistics.median(r.conflicts for r in runs),
                "failed_jobs": max(r.failed_jobs for r in runs),
                "lost_updates": max(r.lost_updates for r in runs),
                "other_entries_lost": max(r.other_entries_lost for r in runs),
                "manifest_valid": all(r.manifest_valid for r in runs),
            }
        )
    return rows


def _count(value: object) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def render_table(result: dict[str, object]) -> str:
    summary = result["summary"]
    assert isinstance(summary, list)
    rows = []
    for o in summary:
        wall = fmt_seconds(o["seconds"])
        if o["runs"] > 1:
            wall += f" ({fmt_seconds(o['seconds_min'])}-{fmt_seconds(o['seconds_max'])})"
        rows.append(
            [
                o["jobs"],
                o["method"],
                o["runs"],
                wall,
                fmt_ratio(o["speedup_vs_rebase"]),
                f"{o['cpu_seconds']:.1f} s ({fmt_ratio(o['cpu_ratio_vs_rebase'])})",
                fmt_seconds(o["slowest_job_seconds"]),
                _count(o["git_ops"]),
                _count(o["ref_updates"]),
                _count(o["retries"]),
                _count(o["conflicts"]),
                o["failed_jobs"],
                o["lost_updates"],
                "yes" if o["manifest_valid"] else "NO",
            ]
        )
    head = (
        "fan-in: N jobs each publish one entry into the 2,234-file manifest on a shared bare repo; "
        "median wall (range) over runs, speed-up relative to git pull --rebase, worst case of "
        "failed jobs and lost updates (target: refold >= 10x at N=16, zero lost updates)"
    )
    return head + "\n\n" + table(
        ["N", "method", "runs", "wall", "speed-up", "CPU (less than baseline by)", "slowest job", "git ops", "ref updates", "retries", "conflicts",
         "failed jobs", "lost updates", "valid JSON"],
        rows,
    )
