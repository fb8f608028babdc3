"""Invariant 5: a kill -9 at any instant leaves the public ref at the old or the new commit,
loses no partial, and the next fold converges. Processes die by REFOLD_FAULT (a chosen
instant) or by SIGKILL from the test (an arbitrary one)."""

from __future__ import annotations

import json
import random
import shutil
import signal
import time
from pathlib import Path

import pygit2
import pytest

from refold.store.compact import fold_store
from refold.store.init import init_store
from refold.store.pending import pending_partials
from refold.store.repo import Store, all_refs, lane_refs, open_store, read_published
from refold.store.submit import submit

from .helpers import (
    age_lock_files,
    assert_fsck_clean,
    is_fast_forward,
    partial_bytes,
    run_helper,
    start_helper,
)

KILLED = -signal.SIGKILL


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = init_store(tmp_path / "store")
    submit(store, "x64", partial_bytes("x64", "3.13.0"), env={})
    fold_store(store)
    return store


def _converges(store: Store) -> None:
    """The next fold publishes whatever is pending, after which nothing is."""
    fold_store(store)
    tip = pygit2.Oid(hex=all_refs(store.repo)[store.public_ref])
    assert pending_partials(store.repo, tip) == {}
    assert fold_store(store).commit is None
    assert_fsck_clean(store.path)


@pytest.mark.parametrize("point", ["submit.objects-written", "cas.before"])
def test_a_submit_killed_before_its_ref_moves_changes_no_ref(store: Store, point: str) -> None:
    before = all_refs(store.repo)
    proc = run_helper("submit", store.path, "x64", "3.13.1", env={"REFOLD_FAULT": point})
    assert proc.returncode == KILLED, proc.stderr
    assert proc.stdout == ""
    assert all_refs(store.repo) == before
    # the job's retry then lands normally, and folds
    result = submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    assert not result.noop
    _converges(store)
    assert "3.13.1" in {r.version for r in read_published(store).manifest}


def test_a_writer_killed_mid_run_keeps_every_partial_it_reported(store: Store) -> None:
    proc = run_helper(
        "writer", store.path, "arm64", "1", "5", "0", env={"REFOLD_FAULT": "cas.before@3"}
    )
    assert proc.returncode == KILLED
    reported = [json.loads(line)["commit"] for line in proc.stdout.splitlines()]
    assert len(reported) == 2
    assert all_refs(store.repo)["refs/partials/arm64"] == reported[-1]
    _converges(store)


@pytest.mark.parametrize("point", ["fold.objects-written", "cas.before"])
def test_a_fold_killed_before_its_ref_moves_leaves_the_old_tip_and_the_next_fold_converges(
    store: Store, point: str, tmp_path: Path
) -> None:
    submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    submit(store, "arm64", partial_bytes("arm64", "3.13.1"), env={})
    shutil.copytree(store.path, tmp_path / "twin")
    before = all_refs(store.repo)
    proc = run_helper("fold", store.path, env={"REFOLD_FAULT": point})
    assert proc.returncode == KILLED, proc.stderr
    assert all_refs(store.repo) == before
    outcome = fold_store(store)
    assert outcome.commit is not None and outcome.retries == 0
    # the same fold a process that never crashed would have published
    twin = open_store(tmp_path / "twin")
    twin_outcome = fold_store(twin)
    assert twin_outcome.report.consumed == outcome.report.consumed
    ours = store.repo[outcome.commit].peel(pygit2.Commit)
    theirs = twin.repo[twin_outcome.commit or ""].peel(pygit2.Commit)
    assert ours.tree_id == theirs.tree_id
    _converges(store)


def _kill_at_random_instants(store: Store, rounds: int, seed: int) -> None:
    rng = random.Random(seed)
    repo = store.repo
    reported: dict[str, str] = {}  # commit -> lane
    seen = all_refs(repo)
    for round_ in range(rounds):
        lane = ("x64", "arm64", "ppc64le")[round_ % 3]
        proc = start_helper("churn", store.path, lane, str(seed * 1000 + round_))
        time.sleep(rng.uniform(0.4, 1.2))
        proc.kill()
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == KILLED
        for line in out.splitlines():
            record = json.loads(line)
            reported[record["commit"]] = record["lane"]
        # a dead process's lock is stale by definition; backdate it instead of waiting
        age_lock_files(store.path, seconds=3600)
        now = all_refs(repo)
        for name, old in seen.items():
            assert name in now, f"{name} disappeared"
            assert is_fast_forward(repo, old, now[name]), f"{name} moved backwards"
        for commit, lane_name in reported.items():
            lane_tip = now[f"refs/partials/{lane_name}"]
            assert lane_tip == commit or repo.descendant_of(
                pygit2.Oid(hex=lane_tip), pygit2.Oid(hex=commit)
            ), f"partial {commit} lost from {lane_name}"
        read_published(open_store(store.path))
        seen = now
    _converges(store)
    tip = pygit2.Oid(hex=all_refs(repo)[store.public_ref])
    for commit in reported:
        assert repo.descendant_of(tip, pygit2.Oid(hex=commit))
    assert set(lane_refs(repo)) <= {"x64", "arm64", "ppc64le"}


def test_processes_killed_at_random_instants_lose_nothing_and_the_next_fold_converges(
    store: Store,
) -> None:
    _kill_at_random_instants(store, rounds=4, seed=1)


@pytest.mark.slow
def test_soak_processes_killed_at_random_instants_lose_nothing(store: Store) -> None:
    _kill_at_random_instants(store, rounds=40, seed=2)
