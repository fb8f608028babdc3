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
- ``git fsck --strict`` is clean (the store, and a remote store's shared cache).

A killed run's job is simply run again by the next round, as a CI retry would; the first
thing that run does counts as the recovery. A last, fault-free round and a fold must
then publish every acknowledged partial exactly once.

Used by the crash tests (CI size) and by ``python -m bench.crash`` (long runs); also a
script, ``python harness.py ROLE ...``, which is how it starts its worker processes.
"""

from __future__ import annotations

import importlib.util
import json
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

HERE = Path(__file__).resolve()
ROOT = HERE.parents[2]
STORE_SOURCES = ROOT / "src" / "refold" / "store"
LANES = ("x64", "arm64")
JOBS_PER_RUN = 3
KILLED = -signal.SIGKILL
WARNED = "removed stale lock"


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
    lock: bool = False
    """Leave the ref's lock file, as a kill inside libgit2's locked window does (no fault
    point can fire there, so the harness writes what such a process leaves)."""
    says: str = ""


KILL_POINTS: tuple[KillPoint, ...] = (
    KillPoint("submit-objects-written", "writer", "submit.objects-written",
              says="a partial's commit is written, its lane ref not yet moved"),
    KillPoint("submit-before-cas", "writer", "cas.before",
              says="about to compare-and-swap the lane ref"),
    KillPoint("submit-lock-held", "writer", "cas.before", lock=True,
              says="holding the lane ref's lock"),
    KillPoint("submit-after-cas", "writer", "cas.after",
              says="the lane ref moved, the writer not yet told"),
    KillPoint("fold-objects-written", "compactor", "fold.objects-written",
              says="a fold commit is written, the public ref not yet moved"),
    KillPoint("fold-before-cas", "compactor", "cas.before",
              says="about to compare-and-swap the public ref"),
    KillPoint("fold-lock-held", "compactor", "cas.before", lock=True,
              says="holding the public ref's lock"),
    KillPoint("fold-after-cas", "compactor", "cas.after",
              says="the public ref moved, the compactor not yet told"),
    KillPoint("writer-random", "writer", says="a writer at a random instant"),
    KillPoint("compactor-random", "compactor", says="a compactor at a random instant"),
    KillPoint("remote-append-before-push", "writer", "submit.objects-written", remote=True,
              says="between a lane append (in the cache) and its push"),
    KillPoint("remote-push-accepted", "writer", "push.accepted", remote=True,
              says="the server took the push, the cache not yet updated"),
    KillPoint("remote-fold-before-push", "compactor", "fold.objects-written", remote=True,
              says="a fold commit is written in the cache, not yet pushed"),
    KillPoint("remote-fetch", "compactor", "mirror.fetched", remote=True,
              says="during a fetch into the shared cache"),
    KillPoint("remote-cache-lock", "writer", "cache.locked", remote=True,
              says="while the shared cache's lock is held"),
    KillPoint("remote-writer-random", "writer", remote=True, says="a writer at a random instant"),
    KillPoint("remote-compactor-random", "compactor", remote=True,
              says="a compactor at a random instant"),
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
        self.first_op = threading.Event()
        self.stderr = ""
        self._out = threading.Thread(target=self._read_out, daemon=True)
        self._err = threading.Thread(target=self._read_err, daemon=True)
        self._out.start()
        self._err.start()

    def _read_out(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            record = json.loads(line)
            self.records.append(record)
            if record.get("op"):
                self.first_op.set()

    def _read_err(self) -> None:
        assert self.process.stderr is not None
        self.stderr = self.process.stderr.read()

    def kill_after(self, delay: float) -> None:
        """SIGKILL at ``delay`` seconds after the run's first completed operation."""

        def later() -> None:
            if self.first_op.wait(timeout=60):
                time.sleep(delay)
                if self.process.poll() is None:
                    self.process.send_signal(signal.SIGKILL)

        threading.Thread(target=later, daemon=True).start()

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


def lock_files(path: str | os.PathLike[str]) -> list[Path]:
    return sorted((Path(path) / "refs").rglob("*.lock"))


class Truth:
    """The repository that is the store's truth (the server's, for a remote store),
    opened afresh for every check so nothing is cached across processes' writes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.newly: dict[str, set[str]] = {}

    def store(self) -> Any:
        from refold.store.repo import open_store

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
    from refold.store.pending import pending_partials
    from refold.store.repo import all_refs
    from refold.store.verify import verify_store

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
    from refold.manifests.partial import decode_stored_partial

    counts: Counter[str] = Counter()
    ref = repo.references.get(f"refs/partials/{lane}")
    if ref is None:
        return counts
    for commit in repo.walk(ref.target):
        data = repo[commit.tree["partial.json"].id].data
        counts.update(r.version for r in decode_stored_partial(data).releases)
    return counts


def check_published(truth: Truth, ledger: Mapping[tuple[str, str], str]) -> tuple[list[str], int, int]:
    """After convergence: each acknowledged job published once, by the commit acknowledged."""
    from refold.store.repo import read_published

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
    for lane in LANES:
        for version, times in lane_versions(store.repo, lane).items():
            if times > 1:
                duplicated += 1
                problems.append(f"lane {lane} holds {version} {times} times")
    return problems, lost, duplicated


# --- a campaign ------------------------------------------------------------------------


def job_versions(lane_index: int, start: int, count: int) -> list[str]:
    del lane_index  # every lane builds the same releases, as a matrix does
    return [f"3.20.{i}" for i in range(start, start + count)]


class Campaign:
    """One store, driven through rounds of kills; ``figures`` says how it went."""

    def __init__(
        self,
        store: str,
        truth: str,
        workdir: Path,
        *,
        seed: int = 0,
        caches: Sequence[Path] = (),
        env: Mapping[str, str] | None = None,
        compactor_pause: float = 0.02,
        random_delay: float = 0.4,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.truth = Truth(truth)
        self.workdir = workdir
        self.rng = random.Random(seed)
        self.caches = list(caches)
        self.env = dict(env or {})
        self.compactor_pause = compactor_pause
        self.random_delay = random_delay
        self.log = log or (lambda _: None)
        self.ledger: dict[tuple[str, str], str] = {}
        self.next_job = {lane: 0 for lane in LANES}
        self.owed: Counter[str] = Counter()
        self.locks_left: set[Path] = set()
        self.figures = Figures(kills_by_point={})
        self.seen: dict[str, str] = {}
        self._round = 0

    # one round ---------------------------------------------------------------------

    def _start(self, slot: str, point: KillPoint | None) -> Run:
        if slot == "compactor":
            stop = self.workdir / f"stop-{self._round}"
            argv = ["compactor", self.store, str(stop), str(self.compactor_pause)]
        else:
            versions = job_versions(LANES.index(slot), self.next_job[slot], JOBS_PER_RUN)
            argv = ["writer", self.store, slot, *versions]
        # A writer's first submit is the killed run's retry: kill it later, so the retry is
        # seen to complete. A compactor reaches its points less often: kill it sooner.
        nth = self.rng.choice((2, 3) if slot in LANES else (1, 2))
        run = Run(slot, point, argv, self.env, nth=nth)
        if point is not None and not point.fault:
            run.kill_after(self.rng.uniform(0, self.random_delay))
        return run

    def round(self, plan: Mapping[str, KillPoint | None]) -> None:
        """Run one writer per lane and one compactor, each with its kill point (or none)."""
        self._round += 1
        stop = self.workdir / f"stop-{self._round}"
        runs = [self._start(lane, plan.get(lane)) for lane in LANES]
        compactor = self._start("compactor", plan.get("compactor"))
        for run in runs:
            run.wait(timeout=120)
        stop.touch()
        compactor.wait(timeout=120)
        self._account([*runs, compactor])
        self._leave_locks([*runs, compactor])
        self.check()

    def _account(self, runs: Sequence[Run]) -> None:
        fig = self.figures
        fig.rounds += 1
        for run in runs:
            fig.runs += 1
            if self.locks_left and WARNED in run.stderr:
                fig.stale_locks_reported += run.stderr.count(WARNED)
            if run.records and any(r.get("op") for r in run.records) and self.owed[run.slot]:
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
                fig.problems.append(f"{run.slot} run exited {run.process.returncode}: {run.stderr[-2000:]}")
        fig.acknowledged = len(self.ledger)

    def _leave_locks(self, runs: Sequence[Run]) -> None:
        """Write the lock a kill inside the locked window leaves, then make every lock in
        the store look as old as a dead process's: the next run must remove it and say so
        (a lock's staleness is judged by its age, so this stands in for waiting)."""
        from refold.store.refs import STALE_LOCK_SECONDS

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
        problems, self.seen, lost = check_store(self.truth, self.ledger, self.seen, self.caches)
        self.figures.checks += 1
        self.figures.lost = max(self.figures.lost, lost)
        if problems:
            self.figures.problems.extend(f"round {self._round}: {p}" for p in problems)
            self.log(f"round {self._round}: {problems}")

    # a whole campaign ---------------------------------------------------------------

    def plan(self, points: Sequence[KillPoint], index: int) -> dict[str, KillPoint | None]:
        """Round ``index``'s kill point for each slot: the points of each role in turn."""
        plan: dict[str, KillPoint | None] = {}
        writers = [p for p in points if p.role == "writer"]
        compactors = [p for p in points if p.role == "compactor"]
        for offset, lane in enumerate(LANES):
            plan[lane] = writers[(index + offset) % len(writers)] if writers else None
        plan["compactor"] = compactors[index % len(compactors)] if compactors else None
        return plan

    def run(self, points: Sequence[KillPoint], rounds: int) -> Figures:
        started = time.monotonic()
        self.seen = {}
        self.check()
        for index in range(rounds):
            self.round(self.plan(points, index))
            self.log(f"round {self._round}: {self.figures.kills} kills so far")
        self.finish()
        self.figures.seconds = time.monotonic() - started
        return self.figures

    def finish(self) -> None:
        """A fault-free round, then the next fold must converge and publish every job."""
        from refold.store.compact import fold_store
        from refold.store.pending import pending_partials
        from refold.store.repo import public_tip

        self.round({})
        if self.locks_left:
            self.round({})
        if self.locks_left:
            self.figures.problems.append(f"lock files never removed: {sorted(self.locks_left)}")
        fig = self.figures
        for slot, owed in self.owed.items():
            if owed:
                fig.problems.append(f"{slot}: {owed} kill(s) never followed by a completed run")
        store = self.truth.store()
        fold_store(store)
        if pending_partials(store.repo, public_tip(store)):
            fig.problems.append("the fold after the campaign left partials pending")
        if fold_store(store).commit is not None:
            fig.problems.append("a second fold after convergence published again")
        problems, lost, duplicated = check_published(self.truth, self.ledger)
        fig.problems += problems
        fig.lost = max(fig.lost, lost)
        fig.duplicated += duplicated
        self.check()


@contextmanager
def local_store(workdir: Path) -> Iterator[tuple[str, str, list[Path], dict[str, str]]]:
    """(store, truth, caches, env) for a store in a local bare repository."""
    from refold.store.init import init_store

    path = workdir / "store.git"
    init_store(path)
    yield str(path), str(path), [], {}


@contextmanager
def remote_store(workdir: Path) -> Iterator[tuple[str, str, list[Path], dict[str, str]]]:
    """(store, truth, caches, env) for a store served by ``git daemon`` on loopback, its
    writers sharing one cache directory as processes on one machine do."""
    from refold.store.init import init_store
    from refold.store.remote import cache_dir, git_daemon

    base = workdir / "server"
    base.mkdir()
    server = base / "store.git"
    init_store(server)
    cache_home = workdir / "cache"
    with git_daemon(base, log=workdir / "daemon.log") as daemon:
        url = daemon.url("store.git")
        env = {"XDG_CACHE_HOME": str(cache_home)}
        yield url, str(server), [cache_dir(url, env)], env


def run_campaign(
    workdir: Path,
    *,
    remote: bool,
    rounds: int,
    seed: int = 0,
    points: Sequence[KillPoint] | None = None,
    log: Callable[[str], None] | None = None,
) -> Figures:
    """Kill processes over ``rounds`` rounds on a fresh store; the figures of what happened."""
    chosen = [p for p in (points if points is not None else points_for(remote)) if available(p)]
    workdir.mkdir(parents=True, exist_ok=True)
    opened = remote_store(workdir) if remote else local_store(workdir)
    with opened as (store, truth, caches, env):
        campaign = Campaign(
            store,
            truth,
            workdir,
            seed=seed,
            caches=caches,
            env=env,
            compactor_pause=0.05 if remote else 0.02,
            log=log,
        )
        return campaign.run(chosen, rounds)


# --- script roles (one per worker process) ---------------------------------------------


def _emit(record: Mapping[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def role_writer(store_path: str, lane: str, *versions: str) -> None:
    """Submit one partial per version, reporting each commit id as submit returns it."""
    from refold.store.repo import open_store
    from refold.store.submit import submit

    store = open_store(store_path)
    for version in versions:
        result = submit(store, lane, helpers.partial_bytes(lane, version), env={})
        _emit({"op": True, "ack": result.commit, "lane": lane, "version": version,
               "noop": result.noop, "t": time.time()})


def role_compactor(store_path: str, stop_file: str, pause: str) -> None:
    """Fold until ``stop_file`` exists, reporting each publication."""
    from refold.store.compact import fold_store
    from refold.store.repo import open_store

    store = open_store(store_path)
    stop = Path(stop_file)
    while True:
        last = stop.exists()
        started = time.time()
        outcome = fold_store(store)
        _emit({"op": True, "fold": outcome.commit, "t": time.time(),
               "took": time.time() - started, "retries": outcome.retries})
        if last:
            return
        time.sleep(float(pause))


ROLES: dict[str, Callable[..., None]] = {"writer": role_writer, "compactor": role_compactor}

if __name__ == "__main__":
    for level in (
        pygit2.enums.ConfigLevel.GLOBAL,
        pygit2.enums.ConfigLevel.XDG,
        pygit2.enums.ConfigLevel.SYSTEM,
    ):
        pygit2.settings.search_path[level] = os.devnull
    ROLES[sys.argv[1]](*sys.argv[2:])
