"""Crash injection: writers and compactors run as real processes and die by SIGKILL, at a
chosen fault point (``REFOLD_FAULT=name@N``, see refold.store.faults) or at a random
instant; after every round of kills the store is checked against DESIGN.md's invariants.

A campaign drives one store through rounds. Each round starts one writer per lane (its
lane's next unacknowledged jobs, one version per partial) and one compactor (folding in a
loop), gives each a kill point of its role, waits, then checks:

- every ref only moved forward, and the public ref is at a commit ``verify`` accepts;
- every partial a writer was told about (submit returned its commit) is on its lane and
  is folded exactly once or still pending;
- lock files a dead process left are removed by the next run, which says so on stderr;
- ``git fsck --strict`` is clean (the store, and a remote store's caches);
- the next fold leaves nothing pending, and the one after it publishes nothing.

A killed run's job is simply run again by the next round, as a CI retry would; the first
thing that run does counts as the recovery. A last, fault-free round and a fold must
then publish every acknowledged partial exactly once.

Used by the crash tests (CI size) and by ``python -m bench.crash`` (long runs); also a
script, ``python harness.py ROLE ...``, which is how it starts its worker processes.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pygit2

from refold.manifests.errors import ContentionError
from refold.manifests.partial import decode_stored_partial
from refold.store.compact import fold_store
from refold.store.hook import install_hook
from refold.store.init import init_store
from refold.store.pending import pending_partials
from refold.store.refs import STALE_LOCK_SECONDS
from refold.store.remote import cache_dir, git_daemon
from refold.store.repo import Store, all_refs, open_store, public_tip, read_published
from refold.store.submit import submit
from refold.store.verify import verify_store

HERE = Path(__file__).resolve()
ROOT = HERE.parents[2]
STORE_SOURCES = ROOT / "src" / "refold" / "store"
LANES = ("x64", "arm64", "ppc64le")
JOBS_PER_RUN = 3
RANDOM_JOBS_PER_RUN = 5
"""A run to be killed at a random instant gets more work, so it is still working then."""
KILLED = -signal.SIGKILL
WARNED = "removed stale lock"
_LOCK_PATH = re.compile(WARNED + r" (\S+)")


def _load_helpers() -> ModuleType:
    """tests/store/helpers.py by path: it imports only refold, and this module must work
    under pytest, as ``tests.reliability.harness`` from bench, and as a script."""
    path = ROOT / "tests" / "store" / "helpers.py"
    spec = importlib.util.spec_from_file_location("refold_test_store_helpers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


helpers = _load_helpers()


# --- kill points -----------------------------------------------------------------------


class KillPoint(msgspec.Struct, frozen=True):
    name: str
    role: str
    """writer or compactor: the kind of process that dies there."""
    fault: str = ""
    """The REFOLD_FAULT point; empty for a kill at a random instant."""
    remote: bool = False
    """Only meaningful for a store behind a git server."""
    nth: tuple[int, ...] = ()
    """Which occurrences of the fault may kill (one is picked per run); by default 2 or 3
    for a writer, whose first submit is the killed run's retry and should be seen to
    complete, and 1 or 2 for a compactor, which reaches its points less often."""
    lead: bool = False
    """Start this run first and let it work alone until its first operation: only the
    first process to get there reaches this point (a fetch into a shared cache)."""
    lock: bool = False
    """Leave the ref's lock file, as a kill inside libgit2's locked window does (no fault
    point can fire there, so the harness writes what such a process leaves)."""
    says: str = ""


KILL_POINTS: tuple[KillPoint, ...] = (
    KillPoint(
        "submit-objects-written",
        "writer",
        "submit.objects-written",
        says="a partial's commit is written, its lane ref not yet moved",
    ),
    KillPoint(
        "submit-before-cas", "writer", "cas.before", says="about to compare-and-swap the lane ref"
    ),
    KillPoint(
        "submit-lock-held", "writer", "cas.before", lock=True, says="holding the lane ref's lock"
    ),
    KillPoint(
        "submit-after-cas",
        "writer",
        "cas.after",
        says="the lane ref moved, the writer not yet told",
    ),
    KillPoint(
        "fold-objects-written",
        "compactor",
        "fold.objects-written",
        says="a fold commit is written, the public ref not yet moved",
    ),
    KillPoint(
        "fold-before-cas",
        "compactor",
        "cas.before",
        says="about to compare-and-swap the public ref",
    ),
    KillPoint(
        "fold-lock-held", "compactor", "cas.before", lock=True, says="holding the public ref's lock"
    ),
    KillPoint(
        "fold-after-cas",
        "compactor",
        "cas.after",
        says="the public ref moved, the compactor not yet told",
    ),
    KillPoint("writer-random", "writer", says="a writer at a random instant"),
    KillPoint("compactor-random", "compactor", says="a compactor at a random instant"),
    KillPoint(
        "remote-append-before-push",
        "writer",
        "submit.objects-written",
        remote=True,
        says="between a lane append (in the cache) and its push",
    ),
    KillPoint(
        "remote-push-accepted",
        "writer",
        "push.accepted",
        remote=True,
        says="the server took the push, the cache not yet updated",
    ),
    KillPoint(
        "remote-fold-before-push",
        "compactor",
        "fold.objects-written",
        remote=True,
        says="a fold commit is written in the cache, not yet pushed",
    ),
    KillPoint(
        "remote-fetch-writer",
        "writer",
        "mirror.fetched",
        remote=True,
        nth=(1,),
        lead=True,
        says="during a fetch into the writers' shared cache",
    ),
    KillPoint(
        "remote-fetch-compactor",
        "compactor",
        "mirror.fetched",
        remote=True,
        says="during a fetch into the compactor's cache",
    ),
    KillPoint(
        "remote-cache-lock",
        "writer",
        "cache.locked",
        remote=True,
        says="while the shared cache's lock is held",
    ),
    KillPoint("remote-writer-random", "writer", remote=True, says="a writer at a random instant"),
    KillPoint(
        "remote-compactor-random", "compactor", remote=True, says="a compactor at a random instant"
    ),
)

_FAULT_CALL = re.compile(r"""fault_point\(\s*["']([^"']+)["']\s*\)""")


def declared_faults(sources: Path = STORE_SOURCES) -> set[str]:
    """Every fault point the store's code can fire (by reading it: nothing is imported)."""
    found: set[str] = set()
    for path in sources.glob("*.py"):
        found.update(_FAULT_CALL.findall(path.read_text()))
    return found


def available(point: KillPoint, declared: set[str] | None = None) -> bool:
    return not point.fault or point.fault in (declared_faults() if declared is None else declared)


def points_for(remote: bool) -> tuple[KillPoint, ...]:
    return tuple(p for p in KILL_POINTS if p.remote == remote)


# --- figures ---------------------------------------------------------------------------


class Figures(msgspec.Struct):
    rounds: int = 0
    runs: int = 0
    kills: int = 0
    kills_by_point: dict[str, int] = {}
    recovered: int = 0
    """Runs that followed a kill in the same slot and completed the killed run's work."""
    acknowledged: int = 0
    lost: int = 0
    duplicated: int = 0
    failed_runs: int = 0
    """Runs that ended other than by success or our SIGKILL (a refold error or a bug)."""
    stale_locks_left: int = 0
    stale_locks_reported: int = 0
    folds: int = 0
    checks: int = 0
    seconds: float = 0.0
    problems: list[str] = []

    def add(self, other: Figures) -> None:
        for field in self.__struct_fields__:
            mine, theirs = getattr(self, field), getattr(other, field)
            if isinstance(mine, dict):
                for key, value in theirs.items():
                    mine[key] = mine.get(key, 0) + value
            else:
                setattr(self, field, mine + theirs)

    def summary(self) -> str:
        return (
            f"{self.kills} kills survived ({len(self.kills_by_point)} kill points), "
            f"{self.recovered} recovered runs, {self.lost} lost partials, "
            f"{self.duplicated} duplicated, {self.acknowledged} partials acknowledged, "
            f"{self.stale_locks_reported}/{self.stale_locks_left} stale locks reported on removal, "
            f"{self.failed_runs} failed runs, {self.rounds} rounds in {self.seconds:.1f} s"
        )


# --- worker processes ------------------------------------------------------------------


def _worker_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REFOLD_", "GITHUB_"))}
    env.update(extra)
    return env


class Run:
    """One worker process: its output read as it comes (a reader thread per pipe), so
    acknowledgements printed before a SIGKILL are never lost."""

    def __init__(
        self,
        slot: str,
        point: KillPoint | None,
        argv: Sequence[str],
        env: Mapping[str, str],
        nth: int = 2,
    ) -> None:
        self.slot = slot
        self.point = point
        extra = dict(env)
        if point is not None and point.fault:
            extra["REFOLD_FAULT"] = f"{point.fault}@{nth}"
        self.process = subprocess.Popen(
            [sys.executable, str(HERE), *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_worker_env(extra),
        )
        self.records: list[dict[str, Any]] = []
        self.op_times: list[float] = []
        self.stderr = ""
        self._out = threading.Thread(target=self._read_out, daemon=True)
        self._err = threading.Thread(target=self._read_err, daemon=True)
        self._out.start()
        self._err.start()

    def _read_out(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout as lines:
            for line in lines:
                record = json.loads(line)
                self.records.append(record)
                if record.get("op"):
                    self.op_times.append(time.monotonic())

    def _read_err(self) -> None:
        assert self.process.stderr is not None
        with self.process.stderr as text:
            self.stderr = text.read()

    def kill_within(self, op: int, fraction: float) -> None:
        """SIGKILL at a random instant of the run's work: once operation ``op`` (2 or more)
        has completed, after ``fraction`` of the time it took, so inside the next one
        whatever speed the machine runs at."""

        def later() -> None:
            deadline = time.monotonic() + 120
            while len(self.op_times) < op and self.process.poll() is None:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.002)
            if len(self.op_times) < op:
                return
            took = self.op_times[op - 1] - self.op_times[op - 2]
            time.sleep(fraction * took)
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGKILL)

        threading.Thread(target=later, daemon=True).start()

    def settle(self, timeout: float) -> None:
        """Return once the run has completed an operation or ended."""
        deadline = time.monotonic() + timeout
        while not self.op_times and self.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)

    def wait(self, timeout: float) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
            self.stderr += f"\n[harness] no exit within {timeout} s: killed"
        self._out.join(timeout=10)
        self._err.join(timeout=10)
        return code

    @property
    def killed(self) -> bool:
        return self.process.returncode == KILLED

    @property
    def acks(self) -> list[dict[str, Any]]:
        return [r for r in self.records if "ack" in r]

    @property
    def folds(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("fold")]


# --- checks ----------------------------------------------------------------------------


def fsck_problems(path: str | os.PathLike[str]) -> list[str]:
    result = helpers.git(path, "fsck", "--strict", "--no-dangling")
    text = (result.stdout + result.stderr).strip()
    bad = result.returncode != 0 or "error" in text.lower() or "warning" in text.lower()
    return [f"git fsck --strict {path}: {text}"] if bad else []


class Truth:
    """The repository that is the store's truth (the server's, for a remote store),
    opened afresh for every check so nothing is cached across processes' writes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.newly: dict[str, set[str]] = {}

    def store(self) -> Store:
        return open_store(self.path)

    def folded_by(self, repo: pygit2.Repository, tip: str) -> Counter[str]:
        """For every lane commit, how many publications made it reachable."""
        counts: Counter[str] = Counter()
        for commit in helpers.first_parent_chain(repo, tip):
            key = str(commit.id)
            if key not in self.newly:
                self.newly[key] = helpers.newly_reachable(repo, commit)
            counts.update(self.newly[key])
        return counts


def check_store(
    truth: Truth,
    ledger: Mapping[tuple[str, str], str],
    seen: Mapping[str, str],
    caches: Sequence[Path] = (),
) -> tuple[list[str], dict[str, str], int]:
    """Every invariant that must hold after a kill; returns (problems, refs now, lost)."""
    problems: list[str] = []
    store = truth.store()
    repo = store.repo
    now = all_refs(repo)
    for name, old in seen.items():
        if name not in now:
            problems.append(f"{name} disappeared (was {old[:12]})")
        elif not helpers.is_fast_forward(repo, old, now[name]):
            problems.append(f"{name} moved backwards or sideways: {old[:12]} -> {now[name][:12]}")
    report = verify_store(store)
    for item in report.unrepaired:
        problems.append(f"verify: {item.commit[:12]} {item.field}: {item.message}")
    tip = now[store.public_ref]
    folded = truth.folded_by(repo, tip)
    pending = {
        p.commit for items in pending_partials(repo, pygit2.Oid(hex=tip)).values() for p in items
    }
    lost = 0
    for (lane, version), commit in ledger.items():
        lane_tip = now.get(f"refs/partials/{lane}")
        on_lane = lane_tip is not None and (
            lane_tip == commit
            or repo.descendant_of(pygit2.Oid(hex=lane_tip), pygit2.Oid(hex=commit))
        )
        times = folded.get(commit, 0)
        if not on_lane or (times == 0 and commit not in pending):
            lost += 1
            problems.append(f"acknowledged partial {lane} {version} {commit[:12]} is lost")
        elif times > 1:
            problems.append(f"partial {lane} {version} {commit[:12]} folded {times} times")
    problems += fsck_problems(truth.path)
    for cache in caches:
        if cache.exists():
            problems += fsck_problems(cache)
    return problems, now, lost


def lane_versions(repo: pygit2.Repository, lane: str) -> Counter[str]:
    """How many commits on ``lane`` carry each version (a rerun job must not add one)."""
    counts: Counter[str] = Counter()
    ref = repo.references.get(f"refs/partials/{lane}")
    if ref is None:
        return counts
    for commit in repo.walk(ref.target):
        data = repo[commit.tree["partial.json"].id].peel(pygit2.Blob).data
        counts.update(r.version for r in decode_stored_partial(data).releases)
    return counts


def check_published(
    truth: Truth, ledger: Mapping[tuple[str, str], str]
) -> tuple[list[str], int, int]:
    """After convergence: each acknowledged job published once, by the commit acknowledged."""
    store = truth.store()
    published = read_published(store)
    problems: list[str] = []
    entries = Counter(
        (release.version, file.filename) for release in published.manifest for file in release.files
    )
    lost = duplicated = 0
    for (lane, version), commit in ledger.items():
        filename = helpers.python_filename(version, lane)
        count = entries.get((version, filename), 0)
        origin = published.provenance.files.get(version, {}).get(filename)
        if count == 0:
            lost += 1
            problems.append(f"{lane} {version} is not in the published manifest")
        elif count > 1:
            duplicated += 1
            problems.append(f"{lane} {version} is published {count} times")
        elif origin is None or origin.commit != commit:
            problems.append(f"{lane} {version} published from {origin}, acknowledged {commit[:12]}")
    for lane in sorted({lane for lane, _ in ledger}):
        for version, times in lane_versions(store.repo, lane).items():
            if times > 1:
                duplicated += 1
                problems.append(f"lane {lane} holds {version} {times} times")
    return problems, lost, duplicated


# --- a campaign ------------------------------------------------------------------------


class _Collect(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if WARNED in message:
            self.into.append(message)


@contextmanager
def _environment(overrides: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def count_stale_lock_warnings() -> Iterator[list[str]]:
    """The stale-lock warnings refold logs in this process while the block runs."""
    removed: list[str] = []
    handler = _Collect(removed)
    logger = logging.getLogger("refold.store.refs")
    logger.addHandler(handler)
    try:
        yield removed
    finally:
        logger.removeHandler(handler)


def job_versions(start: int, count: int) -> list[str]:
    """Jobs ``start`` onwards of a lane: every lane builds the same releases, as a matrix does."""
    return [f"3.20.{i}" for i in range(start, start + count)]


class Campaign:
    """One store, driven through rounds of kills; ``figures`` says how it went."""

    def __init__(
        self,
        layout: Layout,
        workdir: Path,
        *,
        seed: int = 0,
        compactor_pause: float = 0.02,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.layout = layout
        self.store = layout.store
        self.truth = Truth(layout.truth)
        self.workdir = workdir
        self.rng = random.Random(seed)
        self.caches = list(layout.caches)
        self.env = dict(layout.env)
        self.compactor_env = {**self.env, **layout.compactor_env}
        self.compactor_pause = compactor_pause
        self.log = log or (lambda _: None)
        self.ledger: dict[tuple[str, str], str] = {}
        self.next_job = {lane: 0 for lane in LANES}
        self.owed: Counter[str] = Counter()
        self.locks_left: set[Path] = set()
        self.figures = Figures(kills_by_point={})
        self.seen: dict[str, str] = {}
        self.cursor: Counter[str] = Counter()
        self.misses: Counter[str] = Counter()
        self._round = 0

    # one round ---------------------------------------------------------------------

    def _start(self, slot: str, point: KillPoint | None) -> Run:
        if slot == "compactor":
            stop = self.workdir / f"stop-{self._round}"
            argv = ["compactor", self.store, str(stop), str(self.compactor_pause)]
        else:
            count = RANDOM_JOBS_PER_RUN if point is not None and not point.fault else JOBS_PER_RUN
            versions = job_versions(self.next_job[slot], count)
            argv = ["writer", self.store, slot, *versions]
        choices = (
            point.nth if point is not None and point.nth else (2, 3) if slot in LANES else (1, 2)
        )
        nth = self.rng.choice(choices)
        env = self.compactor_env if slot == "compactor" else self.env
        run = Run(slot, point, argv, env, nth=nth)
        if point is not None and not point.fault:
            run.kill_within(self.rng.choice((2, 3)), self.rng.random())
        return run

    def round(self, plan: Mapping[str, KillPoint | None]) -> list[Run]:
        """Run one writer per lane and one compactor, each with its kill point (or none)."""
        self._round += 1
        stop = self.workdir / f"stop-{self._round}"
        leads = [lane for lane in LANES if (point := plan.get(lane)) is not None and point.lead]
        started = {lane: self._start(lane, plan.get(lane)) for lane in leads}
        for run in started.values():
            run.settle(timeout=60)
        started.update(
            {lane: self._start(lane, plan.get(lane)) for lane in LANES if lane not in started}
        )
        runs = [started[lane] for lane in LANES]
        compactor = self._start("compactor", plan.get("compactor"))
        for run in runs:
            run.wait(timeout=120)
        stop.touch()
        compactor.wait(timeout=120)
        self.layout.quiesce()
        self._account([*runs, compactor])
        self._leave_locks([*runs, compactor])
        self.check()
        return [*runs, compactor]

    def _account(self, runs: Sequence[Run]) -> None:
        fig = self.figures
        fig.rounds += 1
        for run in runs:
            fig.runs += 1
            if self.locks_left and WARNED in run.stderr:
                fig.stale_locks_reported += run.stderr.count(WARNED)
            if run.op_times and self.owed[run.slot]:
                fig.recovered += self.owed[run.slot]
                self.owed[run.slot] = 0
            for ack in run.acks:
                self.ledger[(ack["lane"], ack["version"])] = ack["ack"]
            if run.slot in LANES:
                done = [ack["version"] for ack in run.acks]
                self.next_job[run.slot] += len(done)
            fig.folds += len(run.folds)
            if run.killed:
                fig.kills += 1
                name = run.point.name if run.point is not None else "unplanned"
                fig.kills_by_point[name] = fig.kills_by_point.get(name, 0) + 1
                self.owed[run.slot] += 1
            elif run.process.returncode != 0:
                fig.failed_runs += 1
                fig.problems.append(
                    f"{run.slot} run exited {run.process.returncode}: {run.stderr[-2000:]}"
                )
        fig.acknowledged = len(self.ledger)

    def _leave_locks(self, runs: Sequence[Run]) -> None:
        """Write the lock a kill inside the locked window leaves, then make every lock in
        the store look as old as a dead process's: the next run must remove it and say so
        (a lock's staleness is judged by its age, so this stands in for waiting)."""
        if self.truth.path != self.store:
            return  # a git server's ref locks are its own business, not refold's
        for run in runs:
            if run.killed and run.point is not None and run.point.lock:
                ref = "heads/main" if run.slot == "compactor" else f"partials/{run.slot}"
                lock = Path(self.store) / "refs" / f"{ref}.lock"
                try:
                    fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    continue
                os.write(fd, b"0" * 40 + b"\n")
                os.close(fd)
        found = set(helpers.age_lock_files(Path(self.store) / "refs", STALE_LOCK_SECONDS + 1))
        self.figures.stale_locks_left += len(found - self.locks_left)
        self.locks_left = found

    def check(self) -> None:
        """The invariants as the kills left the store; then the next fold must converge."""
        problems, self.seen, lost = check_store(self.truth, self.ledger, self.seen, self.caches)
        problems += self.converge()
        self.figures.checks += 1
        self.figures.lost = max(self.figures.lost, lost)
        if problems:
            self.figures.problems.extend(f"round {self._round}: {p}" for p in problems)
            self.log(f"round {self._round}: {problems}")

    def converge(self) -> list[str]:
        """Fold (as the workers reach the store) until nothing is pending: one fold must do
        it, and the one after it must find nothing to publish."""
        with count_stale_lock_warnings() as removed, _environment(self.layout.checker_env):
            first = fold_store(open_store(self.store))
            again = fold_store(open_store(self.store))
        self.figures.stale_locks_reported += len(removed)
        self.locks_left -= {Path(m.group(1)) for line in removed if (m := _LOCK_PATH.search(line))}
        problems = []
        truth = self.truth.store()
        pending = pending_partials(truth.repo, public_tip(truth))
        if pending:
            problems.append(f"after a fold, still pending: {sorted(pending)}")
        if again.commit is not None:
            problems.append(
                f"a second fold published again: {again.commit[:12]} after {first.commit}"
            )
        return problems

    # a whole campaign ---------------------------------------------------------------

    MAX_MISSES = 4
    """Rounds a slot keeps a kill point its runs did not reach before moving on."""

    def plan(self, points: Sequence[KillPoint]) -> dict[str, KillPoint | None]:
        """Each slot's kill point for the next round: the points of its role in turn, each
        kept until a run dies there (or misses it MAX_MISSES times), so every point is
        reached even where reaching it depends on timing."""
        plan: dict[str, KillPoint | None] = {}
        for slot in (*LANES, "compactor"):
            role = [
                p for p in points if p.role == ("compactor" if slot == "compactor" else "writer")
            ]
            plan[slot] = role[self.cursor[slot] % len(role)] if role else None
        return plan

    def _advance(self, plan: Mapping[str, KillPoint | None], killed: set[str]) -> None:
        for slot, point in plan.items():
            if point is None:
                continue
            if slot in killed or self.misses[slot] + 1 >= self.MAX_MISSES:
                self.cursor[slot] += 1
                self.misses[slot] = 0
            else:
                self.misses[slot] += 1

    def run(self, points: Sequence[KillPoint], rounds: int) -> Figures:
        started = time.monotonic()
        self.seen = {}
        self.cursor = Counter({lane: offset for offset, lane in enumerate(LANES)})
        self.misses = Counter()
        self.check()
        for _ in range(rounds):
            plan = self.plan(points)
            runs = self.round(plan)
            self._advance(plan, {run.slot for run in runs if run.killed})
            self.log(f"round {self._round}: {self.figures.kills} kills so far")
        self.finish()
        self.figures.seconds = time.monotonic() - started
        return self.figures

    def finish(self) -> None:
        """A fault-free round (two, if it left a lock to remove), whose check folds; then
        every acknowledged job must be published, exactly once, by the commit acknowledged."""
        self.round({})
        if self.locks_left:
            self.round({})
        fig = self.figures
        if self.locks_left:
            fig.problems.append(f"lock files never removed: {sorted(self.locks_left)}")
        for slot, owed in self.owed.items():
            if owed:
                fig.problems.append(f"{slot}: {owed} kill(s) never followed by a completed run")
        problems, lost, duplicated = check_published(self.truth, self.ledger)
        fig.problems += problems
        fig.lost = max(fig.lost, lost)
        fig.duplicated += duplicated


class Layout(msgspec.Struct, frozen=True):
    """Where a campaign's store is and how its workers reach it.

    ``env`` is every worker's environment; ``compactor_env`` is laid over it for
    compactors (for a remote store: their own cache, as on another machine, so that they
    fetch what the writers pushed and the writers fetch what they folded).
    """

    store: str
    """What workers open: a path or a URL."""
    truth: str
    """The repository that is the store's truth (the server's, for a remote store)."""
    caches: list[Path] = []
    env: dict[str, str] = {}
    compactor_env: dict[str, str] = {}
    checker_env: dict[str, str] = {}
    """For the checks' own folds in this process: a cache of their own, so the workers'
    caches stay theirs."""
    server_pid: int | None = None
    """The ``git daemon`` serving a remote store."""

    def quiesce(self, timeout: float = 60.0) -> None:
        """Wait until the server is serving no connection. A client killed mid-push leaves
        its receive-pack (and the server's hook) running, and the ref it pushed may still
        move after the client died; checks must see the store after that."""
        if self.server_pid is None:
            return
        # ``git daemon`` may run the listening git-daemon as a child of its own.
        listening = [
            pid
            for pid in (self.server_pid, *_children(self.server_pid))
            if "--listen=" in _cmdline(pid)
        ]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            serving = [c for pid in listening for c in _children(pid) if c not in listening]
            if not serving:
                return
            time.sleep(0.02)


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (from /proc; none known elsewhere)."""
    found = []
    try:
        entries = [entry.name for entry in os.scandir("/proc") if entry.name.isdigit()]
    except OSError:
        return []
    for name in entries:
        try:
            with open(f"/proc/{name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(name))
    return found


def has_git_daemon() -> bool:
    """Whether ``git daemon`` can run here (some distributions package it separately)."""
    try:
        found = subprocess.run(
            ["git", "--exec-path"], capture_output=True, text=True, check=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return (Path(found.stdout.strip()) / "git-daemon").exists()


@contextmanager
def local_store(workdir: Path) -> Iterator[Layout]:

    path = workdir / "store.git"
    init_store(path)
    yield Layout(store=str(path), truth=str(path))


@contextmanager
def remote_store(workdir: Path, *, hook: bool = True) -> Iterator[Layout]:
    """A store served by ``git daemon`` on loopback, with refold's pre-receive hook as an
    operator installs it; the writers share one cache, as processes on one machine do,
    and the compactor has its own, as on another."""
    base = workdir / "server"
    base.mkdir()
    init_store(base / "store.git")
    if hook:
        install_hook(base / "store.git")
    writers = {"XDG_CACHE_HOME": str(workdir / "cache-writers")}
    compactor = {"XDG_CACHE_HOME": str(workdir / "cache-compactor")}
    checker = {"XDG_CACHE_HOME": str(workdir / "cache-checker")}
    with git_daemon(base, log=workdir / "daemon.log") as daemon:
        url = daemon.url("store.git")
        yield Layout(
            store=url,
            truth=str(base / "store.git"),
            caches=[cache_dir(url, writers), cache_dir(url, compactor)],
            env=writers,
            compactor_env=compactor,
            checker_env=checker,
            server_pid=daemon.pid,
        )


def run_campaign(
    workdir: Path,
    *,
    remote: bool,
    rounds: int,
    seed: int = 0,
    points: Sequence[KillPoint] | None = None,
    hook: bool = False,
    log: Callable[[str], None] | None = None,
) -> Figures:
    """Kill processes over ``rounds`` rounds on a fresh store; the figures of what happened.

    ``hook`` installs refold's pre-receive hook on a remote store's server: what an
    operator does, at the price of a Python process per push (about twice the time).
    """
    chosen = [p for p in (points if points is not None else points_for(remote)) if available(p)]
    workdir.mkdir(parents=True, exist_ok=True)
    opened = remote_store(workdir, hook=hook) if remote else local_store(workdir)
    with opened as layout:
        campaign = Campaign(
            layout,
            workdir,
            seed=seed,
            compactor_pause=0.05 if remote else 0.02,
            log=log,
        )
        return campaign.run(chosen, rounds)


# --- sustained load ---------------------------------------------------------------------

SOAK_LANES = ("x64", "arm64", "ppc64le", "s390x")


class SoakFigures(msgspec.Struct):
    seconds: float
    writers: int
    compactors: int
    remote: bool
    hook: bool = False
    acknowledged: int = 0
    folds: int = 0
    lost: int = 0
    duplicated: int = 0
    unpublished_at_stop: int = 0
    """Partials the compactors had not folded when load stopped (the final fold took them)."""
    latency: dict[str, float] = {}
    """Seconds from a writer's acknowledgement to the publication that folded it."""
    fold_seconds: dict[str, float] = {}
    """How long one fold_store call took, publishing ones only."""
    max_retries: int = 0
    gave_up: int = 0
    """Folds that lost every compare-and-swap race and published nothing (exit 4)."""
    problems: list[str] = []

    def summary(self) -> str:
        lat = self.latency
        took = self.fold_seconds
        where = "on a local store"
        if self.remote:
            where = "over a loopback git daemon" + (" with refold's hook" if self.hook else "")
        return (
            f"{self.writers} writers and {self.compactors} compactors for {self.seconds:.0f} s "
            f"{where}: {self.acknowledged} partials acknowledged, {self.folds} folds, "
            f"{self.lost} lost, {self.duplicated} duplicated; fold latency p50 "
            f"{lat.get('p50', 0):.2f} s, p90 {lat.get('p90', 0):.2f} s, p99 {lat.get('p99', 0):.2f} s, "
            f"max {lat.get('max', 0):.2f} s; one fold p50 {took.get('p50', 0):.3f} s, "
            f"p99 {took.get('p99', 0):.3f} s; most compare-and-swap retries {self.max_retries}, "
            f"{self.gave_up} folds gave up"
        )


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """Nearest-rank p50/p90/p99 and max."""
    if not values:
        return {}
    ordered = sorted(values)

    def rank(p: int) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(len(ordered) * p / 100) - 1))]

    return {"p50": rank(50), "p90": rank(90), "p99": rank(99), "max": ordered[-1]}


def run_soak(
    workdir: Path,
    seconds: float,
    *,
    remote: bool = True,
    writers: int = 4,
    compactors: int = 2,
    pause: float = 0.05,
    hook: bool = True,
    log: Callable[[str], None] | None = None,
) -> SoakFigures:
    """Writers submit continuously and compactors fold for ``seconds``; then the next
    fold must publish every acknowledged partial exactly once."""
    lanes = SOAK_LANES[:writers]
    workdir.mkdir(parents=True, exist_ok=True)
    fig = SoakFigures(
        seconds=seconds, writers=writers, compactors=compactors, remote=remote, hook=remote and hook
    )
    opened = remote_store(workdir, hook=hook) if remote else local_store(workdir)
    with opened as layout:
        stop = workdir / "stop-soak"
        started = time.monotonic()
        runs = [
            Run(lane, None, ["soak-writer", layout.store, lane, str(stop), str(pause)], layout.env)
            for lane in lanes
        ]
        for index in range(compactors):
            env = dict(layout.compactor_env)
            if remote:
                env["XDG_CACHE_HOME"] = str(workdir / f"cache-compactor-{index}")
            runs.append(
                Run("compactor", None, ["compactor", layout.store, str(stop), str(pause)], env)
            )
        while time.monotonic() - started < seconds:
            time.sleep(min(1.0, seconds))
            if log is not None:
                acks = sum(len(r.acks) for r in runs)
                log(f"{time.monotonic() - started:.0f} s: {acks} acknowledged")
        stop.touch()
        for run in runs:
            run.wait(timeout=300)
        layout.quiesce()
        for run in runs:
            if run.process.returncode != 0:
                fig.problems.append(
                    f"{run.slot} exited {run.process.returncode}: {run.stderr[-2000:]}"
                )
        truth = Truth(layout.truth)
        ledger: dict[tuple[str, str], str] = {}
        acked_at: dict[str, float] = {}
        published_at: dict[str, float] = {}
        took: list[float] = []
        for run in runs:
            for ack in run.acks:
                if (ack["lane"], ack["version"]) in ledger:
                    fig.duplicated += 1
                ledger[(ack["lane"], ack["version"])] = ack["ack"]
                acked_at[ack["ack"]] = ack["t"]
            fig.gave_up += sum(1 for record in run.records if record.get("gave_up"))
            for fold in run.folds:
                published_at[fold["fold"]] = fold["t"]
                took.append(fold["took"])
                fig.max_retries = max(fig.max_retries, fold["retries"])
        store = truth.store()
        tip = str(store.repo.references[store.public_ref].target)
        latencies = []
        for commit in helpers.first_parent_chain(store.repo, tip):
            when = published_at.get(str(commit.id))
            if when is None:
                continue
            for lane_commit in helpers.newly_reachable(store.repo, commit):
                if lane_commit in acked_at:
                    latencies.append(when - acked_at[lane_commit])
        fig.unpublished_at_stop = len(acked_at) - len(latencies)
        fold_store(store)
        problems, _, lost = check_store(truth, ledger, {}, layout.caches)
        fig.problems += problems
        published_problems, lost_after, duplicated = check_published(truth, ledger)
        fig.problems += published_problems
        fig.lost = max(lost, lost_after)
        fig.duplicated += duplicated
        fig.acknowledged = len(ledger)
        fig.folds = len(published_at)
        fig.latency = percentiles(latencies)
        fig.fold_seconds = percentiles(took)
        fig.seconds = time.monotonic() - started
    return fig


# --- script roles (one per worker process) ---------------------------------------------


def _emit(record: Mapping[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def role_writer(store_path: str, lane: str, *versions: str) -> None:
    """Submit one partial per version, reporting each commit id as submit returns it."""
    store = open_store(store_path)
    for version in versions:
        result = submit(store, lane, helpers.partial_bytes(lane, version), env={})
        _emit(
            {
                "op": True,
                "ack": result.commit,
                "lane": lane,
                "version": version,
                "noop": result.noop,
                "t": time.time(),
            }
        )


def role_compactor(store_path: str, stop_file: str, pause: str) -> None:
    """Fold until ``stop_file`` exists, reporting each publication. Giving up after losing
    every race (compactors racing each other) publishes nothing and is reported; the
    loop goes on, as the next scheduled fold would."""
    store = open_store(store_path)
    stop = Path(stop_file)
    while True:
        last = stop.exists()
        started = time.time()
        try:
            outcome = fold_store(store)
        except ContentionError:
            _emit({"op": True, "gave_up": True, "took": time.time() - started})
        else:
            _emit(
                {
                    "op": True,
                    "fold": outcome.commit,
                    "t": time.time(),
                    "took": time.time() - started,
                    "retries": outcome.retries,
                }
            )
        if last:
            return
        time.sleep(float(pause))


def role_soak_writer(store_path: str, lane: str, stop_file: str, pause: str) -> None:
    """Submit a new version every ``pause`` seconds until ``stop_file`` exists."""
    store = open_store(store_path)
    stop = Path(stop_file)
    index = 0
    while not stop.exists():
        version = f"3.30.{index}"
        result = submit(store, lane, helpers.partial_bytes(lane, version), env={})
        _emit(
            {
                "op": True,
                "ack": result.commit,
                "lane": lane,
                "version": version,
                "noop": result.noop,
                "t": time.time(),
            }
        )
        index += 1
        time.sleep(float(pause))


ROLES: dict[str, Callable[..., None]] = {
    "writer": role_writer,
    "compactor": role_compactor,
    "soak-writer": role_soak_writer,
}

if __name__ == "__main__":
    for level in (
        pygit2.enums.ConfigLevel.GLOBAL,
        pygit2.enums.ConfigLevel.XDG,
        pygit2.enums.ConfigLevel.SYSTEM,
    ):
        pygit2.settings.search_path[level] = os.devnull
    ROLES[sys.argv[1]](*sys.argv[2:])
