"""refold.store.reject: an operator rejects a pending partial; a fold records it at once."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from refold.manifests.errors import PolicyError, UsageError
from refold.manifests.provenance import Rejection
from refold.store.compact import fold_store
from refold.store.init import init_store
from refold.store.reject import reject
from refold.store.repo import Store, all_refs, read_published
from refold.store.status import status
from refold.store.submit import submit

from .helpers import partial_bytes, python_filename

REASON = "rebuilt the wrong commit; see issue 12"


class Held:
    """x64/a published 3.13.1; x64/b resubmitted that file (a conflict: held back), then
    submitted 3.13.2, which waits behind the held-back partial."""

    def __init__(self, path: Path) -> None:
        self.store = init_store(path)
        submit(self.store, "x64/a", partial_bytes("x64/a", "3.13.1"))
        self.published = submit(self.store, "x64/b", partial_bytes("x64/b", "3.12.0")).commit
        assert fold_store(self.store).commit is not None
        self.bad = submit(self.store, "x64/b", partial_bytes("x64/b", "3.13.1")).commit
        self.later = submit(self.store, "x64/b", partial_bytes("x64/b", "3.13.2")).commit
        outcome = fold_store(self.store)
        held = outcome.report.held_back["x64/b"]
        assert held.commit == self.bad and held.kind == "conflict"


@pytest.fixture
def held(tmp_path: Path) -> Held:
    return Held(tmp_path / "store.git")


def _versions(store: Store) -> list[str]:
    return [r.version for r in read_published(store).manifest]


def test_rejecting_the_held_back_partial_records_it_and_lets_the_lane_move_on(held: Held) -> None:
    done = reject(held.store, "x64/b", [held.bad], REASON)
    assert done.commits == [held.bad]
    assert done.fold.commit is not None
    assert done.fold.report.lanes["x64/b"].rejected == [held.bad]
    assert done.fold.report.lanes["x64/b"].folded == 1
    assert "3.13.2" in _versions(held.store)
    published = read_published(held.store)
    assert published.provenance.rejected[held.bad] == Rejection(lane="x64/b", reason=REASON)
    assert published.provenance.files["3.13.1"][python_filename("3.13.1", "x64")].lane == "x64/a"


def test_the_fold_commit_names_the_rejection_in_a_trailer_and_folds_past_it(held: Held) -> None:
    done = reject(held.store, "x64/b", [held.bad], REASON)
    assert done.fold.commit is not None
    commit = held.store.repo[done.fold.commit].peel(pygit2.Commit)
    assert f"Refold-Rejected: x64/b {held.bad}" in commit.message.splitlines()
    assert held.later in {str(p.id) for p in commit.parents[1:]}


def test_status_shows_the_rejection_and_nothing_held_back_afterwards(held: Held) -> None:
    reject(held.store, "x64/b", [held.bad], REASON)
    lanes = {lane.lane: lane for lane in status(held.store).lanes}
    assert lanes["x64/b"].rejected == {held.bad: REASON}
    assert lanes["x64/b"].held_back is None and lanes["x64/b"].pending == 0
    assert lanes["x64/a"].rejected == {}


def test_an_abbreviated_commit_id_is_enough(held: Held) -> None:
    done = reject(held.store, "x64/b", [held.bad[:7].upper()], REASON)
    assert done.commits == [held.bad]


def test_two_partials_can_be_rejected_together_and_neither_is_published(held: Held) -> None:
    done = reject(held.store, "x64/b", [held.bad, held.later], REASON)
    assert done.fold.report.lanes["x64/b"].rejected == [held.bad, held.later]
    assert "3.13.2" not in _versions(held.store)
    assert set(read_published(held.store).provenance.rejected) == {held.bad, held.later}


def test_a_foldable_partial_can_be_rejected_before_it_is_published(tmp_path: Path) -> None:
    store = init_store(tmp_path / "store.git")
    unwanted = submit(store, "arm64", partial_bytes("arm64", "3.13.1")).commit
    wanted = submit(store, "arm64", partial_bytes("arm64", "3.13.2")).commit
    done = reject(store, "arm64", [unwanted], "tagged by mistake")
    assert done.fold.report.lanes["arm64"].rejected == [unwanted]
    assert _versions(store) == ["3.13.2"]
    assert done.fold.report.consumed == {"arm64": wanted}


def _refused(store: Store, lane: str, commits: list[str], reason: str = REASON) -> UsageError:
    before = all_refs(store.repo)
    with pytest.raises(UsageError) as caught:
        reject(store, lane, commits, reason)
    assert all_refs(store.repo) == before
    return caught.value


def test_a_commit_that_is_not_pending_is_refused_naming_what_is_pending(held: Held) -> None:
    error = _refused(held.store, "x64/b", [held.published])
    assert "is not pending on lane x64/b" in error.message
    assert f"{held.bad[:12]} (held back: conflict:" in error.hint
    assert f"{held.later[:12]} (foldable)" in error.hint


def test_a_commit_of_another_lane_is_not_pending_on_this_one(held: Held) -> None:
    error = _refused(held.store, "x64/a", [held.bad])
    assert "x64/a has nothing pending" in error.message


def test_an_unknown_lane_is_refused_listing_the_lanes(held: Held) -> None:
    error = _refused(held.store, "s390x", [held.bad])
    assert "no lane 's390x'" in error.message and "x64/a, x64/b" in error.hint


def test_a_partial_waiting_behind_a_held_back_one_cannot_be_rejected_alone(held: Held) -> None:
    error = _refused(held.store, "x64/b", [held.later])
    assert f"held back at {held.bad[:12]}" in error.message
    assert held.bad[:12] in error.hint and held.later[:12] in error.hint


@pytest.mark.parametrize("reason", ["", "   ", "two\nlines", "x" * 501])
def test_a_missing_multiline_or_overlong_reason_is_refused(held: Held, reason: str) -> None:
    error = _refused(held.store, "x64/b", [held.bad], reason)
    assert error.location == "--reason"


@pytest.mark.parametrize("commit", ["abc", "xyz12345", ""])
def test_something_that_is_not_a_commit_prefix_is_refused(held: Held, commit: str) -> None:
    error = _refused(held.store, "x64/b", [commit])
    assert "not a commit id" in error.message


def test_an_invalid_lane_name_is_refused(held: Held) -> None:
    before = all_refs(held.store.repo)
    with pytest.raises(PolicyError, match="lane"):
        reject(held.store, "../x64", [held.bad], REASON)
    assert all_refs(held.store.repo) == before
