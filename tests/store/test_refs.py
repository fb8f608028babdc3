"""refold.store.refs: compare-and-swap, and lock files left behind by dead processes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pygit2
import pytest

from refold.manifests.errors import ContentionError
from refold.store import refs
from refold.store.compact import fold_store
from refold.store.init import init_store
from refold.store.refs import LostRace, clear_stale_lock, compare_and_swap
from refold.store.repo import Store, all_refs, public_tip
from refold.store.submit import submit

from .helpers import FIXED_SIG, partial_bytes


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return init_store(tmp_path / "store")


def _commit(repo: pygit2.Repository, message: str) -> pygit2.Oid:
    return repo.create_commit(None, FIXED_SIG, FIXED_SIG, message, repo.TreeBuilder().write(), [])


def _lock(store: Store, name: str, age: float) -> Path:
    """A lock file as a process killed mid-update leaves it, ``age`` seconds old."""
    lock = Path(store.repo.path) / f"{name}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("0" * 40 + "\n")
    then = time.time() - age
    os.utime(lock, (then, then))
    return lock


STALE = refs.STALE_LOCK_SECONDS + 5


def test_cas_creates_a_ref_only_if_it_is_absent(store: Store) -> None:
    repo = store.repo
    a, b = _commit(repo, "a\n"), _commit(repo, "b\n")
    compare_and_swap(repo, "refs/partials/x64", None, a, "test")
    with pytest.raises(LostRace):
        compare_and_swap(repo, "refs/partials/x64", None, b, "test")
    assert repo.references["refs/partials/x64"].target == a


def test_cas_moves_a_ref_only_from_the_expected_value(store: Store) -> None:
    repo = store.repo
    a, b, c = (_commit(repo, f"{n}\n") for n in "abc")
    compare_and_swap(repo, "refs/partials/x64", None, a, "test")
    compare_and_swap(repo, "refs/partials/x64", a, b, "test")
    with pytest.raises(LostRace):
        compare_and_swap(repo, "refs/partials/x64", a, c, "test")
    with pytest.raises(LostRace):
        compare_and_swap(repo, "refs/partials/arm64", a, c, "test")
    assert repo.references["refs/partials/x64"].target == b
    assert "refs/partials/arm64" not in repo.references


def test_cas_detects_a_move_between_reading_and_writing(store: Store) -> None:
    repo = store.repo
    a, b, c = (_commit(repo, f"{n}\n") for n in "abc")
    compare_and_swap(repo, "refs/partials/x64", None, a, "test")
    stale_view = repo.references["refs/partials/x64"]
    pygit2.Repository(repo.path).references["refs/partials/x64"].set_target(b, "other process")
    with pytest.raises(pygit2.GitError, match="does not match"):
        stale_view.set_target(c, "late")
    assert repo.references["refs/partials/x64"].target == b


def test_cas_treats_a_fresh_lock_as_a_lost_race_and_leaves_it(store: Store) -> None:
    repo = store.repo
    before = all_refs(repo)
    lock = _lock(store, store.public_ref, age=0)
    new = _commit(repo, "n\n")
    with pytest.raises(LostRace):
        compare_and_swap(repo, store.public_ref, public_tip(store), new, "t")
    assert lock.exists()
    assert all_refs(repo) == before


def test_cas_clears_a_stale_lock_so_the_retry_succeeds(store: Store) -> None:
    repo = store.repo
    lock = _lock(store, store.public_ref, age=STALE)
    old = public_tip(store)
    new = _commit(repo, "n\n")
    with pytest.raises(LostRace):
        compare_and_swap(repo, store.public_ref, old, new, "t")
    assert not lock.exists()
    compare_and_swap(repo, store.public_ref, old, new, "t")
    assert repo.references[store.public_ref].target == new


def test_a_stale_public_ref_lock_does_not_block_fold(store: Store) -> None:
    lock = _lock(store, "refs/heads/main", age=STALE)
    submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    outcome = fold_store(store)
    assert outcome.commit is not None and outcome.retries >= 1
    assert all_refs(store.repo)["refs/heads/main"] == outcome.commit
    assert not lock.exists()


def test_a_fresh_public_ref_lock_makes_fold_give_up_without_publishing(store: Store) -> None:
    lock = _lock(store, "refs/heads/main", age=0)
    submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    before = all_refs(store.repo)
    with pytest.raises(ContentionError, match="kept moving"):
        fold_store(store, max_retries=2)
    assert all_refs(store.repo) == before
    assert lock.exists()
    # once its holder is long dead, the same lock no longer blocks
    then = time.time() - STALE
    os.utime(lock, (then, then))
    assert fold_store(store).commit is not None


@pytest.mark.parametrize("existing_lane", [True, False])
def test_a_stale_lane_lock_does_not_block_submit(store: Store, existing_lane: bool) -> None:
    if existing_lane:
        submit(store, "x64", partial_bytes("x64", "3.13.0"), env={})
    lock = _lock(store, "refs/partials/x64", age=STALE)
    result = submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    assert not result.noop and result.retries >= 1
    assert all_refs(store.repo)["refs/partials/x64"] == result.commit
    assert not lock.exists()


def test_clear_stale_lock_keeps_young_locks_and_reports_what_it_did(store: Store) -> None:
    young = _lock(store, "refs/partials/a", age=refs.STALE_LOCK_SECONDS - 5)
    old = _lock(store, "refs/partials/b", age=STALE)
    assert clear_stale_lock(store.repo, "refs/partials/a") is False
    assert clear_stale_lock(store.repo, "refs/partials/b") is True
    assert clear_stale_lock(store.repo, "refs/partials/b") is False
    assert clear_stale_lock(store.repo, "refs/partials/none") is False
    assert young.exists() and not old.exists()
    leftovers = [p.name for p in Path(store.repo.path).iterdir() if "stale" in p.name]
    assert leftovers == []


def test_clearing_a_stale_lock_never_removes_a_lock_taken_after_it_was_judged_stale(
    store: Store,
) -> None:
    """Two processes judge the same lock stale; the first removes it and a live writer locks
    anew before the second gets to remove it: the live lock must survive."""
    repo = store.repo
    lock = _lock(store, "refs/partials/x64", age=STALE)
    judged_by_second = refs.stale_lock(lock)
    assert judged_by_second is not None
    assert clear_stale_lock(repo, "refs/partials/x64")  # the first process
    lock.write_text("live writer\n")  # a live writer's new lock
    assert refs.remove_lock_if_unchanged(lock, judged_by_second, Path(repo.path)) is False
    assert lock.read_text() == "live writer\n"
    assert [p.name for p in Path(repo.path).iterdir() if "stale" in p.name] == []
    assert refs.remove_lock_if_unchanged(lock, lock.stat(), Path(repo.path)) is True
    assert not lock.exists()
