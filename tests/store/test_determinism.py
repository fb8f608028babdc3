"""Invariant 4 on a real store: the same public tip and lane tips publish the same bytes,
however the lane commits were batched into folds."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pygit2
import pytest

from refold.store.compact import fold_store
from refold.store.init import init_store
from refold.store.repo import PROVENANCE_PATH, Store, blob_at, lane_refs, open_store, read_published
from refold.store.submit import submit

from .helpers import partial_bytes, partial_doc, python_file, python_release

LANES = ("arm64", "x64/darwin", "x64/linux")


def _lane_submissions() -> list[tuple[str, bytes]]:
    """Conflict-free work on three lanes, with supersession, retraction and disagreement."""
    out: list[tuple[str, bytes]] = []
    out.append(("x64/linux", partial_bytes("x64", "3.13.0", "3.13.1")))
    out.append(
        ("arm64", partial_bytes("arm64", "3.13.1", platform="darwin", platform_version=None))
    )
    darwin = partial_doc("x64", ["3.13.1"], platform="darwin", platform_version=None)
    darwin["releases"][0]["release_url"] = "https://example.org/another-release-page"
    out.append(("x64/darwin", json.dumps(darwin).encode()))
    out.append(("x64/linux", partial_bytes("x64", "3.13.1", size=123)))
    out.append(
        ("arm64", partial_bytes("arm64", "3.14.0-beta.1", platform="darwin", platform_version=None))
    )
    retract = {"retract": [{"version": "3.13.0"}]}
    out.append(("x64/linux", json.dumps(retract).encode()))
    beta = {
        "releases": [
            python_release("3.14.0-beta.1", [python_file("3.14.0-beta.1", "x64", "win32", None)]),
            python_release("3.12.8", [python_file("3.12.8", "x64", "darwin", None)]),
        ]
    }
    out.append(("x64/darwin", json.dumps(beta).encode()))
    out.append(("x64/linux", partial_bytes("x64", "3.14.0-beta.1", "3.12.8")))
    out.append(
        ("arm64", partial_bytes("arm64", "3.12.8", platform="darwin", platform_version=None))
    )
    return out


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]]]:
    """One store holding every lane commit, none folded; and each lane's commits in order."""
    path = tmp_path_factory.mktemp("determinism") / "source"
    store = init_store(path)
    commits: dict[str, list[str]] = {lane: [] for lane in LANES}
    for lane, data in _lane_submissions():
        commits[lane].append(submit(store, lane, data, env={}).commit)
    return path, commits


def _replay(
    source: tuple[Path, dict[str, list[str]]], schedule: list[dict[str, int]], where: Path
) -> Store:
    """Copy the source store with no lanes, then advance lanes batch by batch, folding each."""
    path, commits = source
    shutil.copytree(path, where)
    store = open_store(where)
    for lane in list(lane_refs(store.repo)):
        store.repo.references.delete(f"refs/partials/{lane}")
    for batch in schedule:
        for lane, upto in batch.items():
            store.repo.references.create(
                f"refs/partials/{lane}", pygit2.Oid(hex=commits[lane][upto - 1]), force=True
            )
        fold_store(store)
    assert fold_store(store).commit is None
    return store


def _schedules(commits: dict[str, list[str]]) -> dict[str, list[dict[str, int]]]:
    everything = {lane: len(c) for lane, c in commits.items()}
    one_by_one = []
    progress = dict.fromkeys(commits, 0)
    for lane, _ in _lane_submissions():
        progress[lane] += 1
        one_by_one.append({lane: progress[lane]})
    lane_by_lane_reversed = [{lane: len(commits[lane])} for lane in sorted(commits, reverse=True)]
    rng = random.Random(4)
    shuffled = []
    progress = dict.fromkeys(commits, 0)
    while any(progress[lane] < len(commits[lane]) for lane in commits):
        batch = {}
        for lane in rng.sample(sorted(commits), k=rng.randint(1, len(commits))):
            if progress[lane] < len(commits[lane]):
                progress[lane] = rng.randint(progress[lane] + 1, len(commits[lane]))
                batch[lane] = progress[lane]
        if batch:
            shuffled.append(batch)
    return {
        "all-at-once": [everything],
        "one-commit-per-fold": one_by_one,
        "lane-by-lane-reversed": lane_by_lane_reversed,
        "random-batches": shuffled,
    }


def test_batching_into_folds_never_changes_the_published_bytes(
    source: tuple[Path, dict[str, list[str]]], tmp_path: Path
) -> None:
    results = {}
    for name, schedule in _schedules(source[1]).items():
        store = _replay(source, schedule, tmp_path / name)
        published = read_published(store)
        commit = store.repo[published.commit].peel(pygit2.Commit)
        results[name] = (
            published.manifest_bytes,
            blob_at(store.repo, commit, PROVENANCE_PATH),
            commit.tree_id,
        )
    reference = results.pop("all-at-once")
    versions = [r["version"] for r in json.loads(reference[0])]
    assert versions == ["3.14.0-beta.1", "3.13.1", "3.12.8"]
    for name, result in results.items():
        assert result == reference, name


def test_folding_the_same_tips_twice_gives_the_same_tree(
    source: tuple[Path, dict[str, list[str]]], tmp_path: Path
) -> None:
    path = source[0]
    trees = []
    for copy in ("a", "b"):
        shutil.copytree(path, tmp_path / copy)
        store = open_store(tmp_path / copy)
        outcome = fold_store(store)
        assert outcome.commit is not None
        trees.append(store.repo[outcome.commit].peel(pygit2.Commit).tree_id)
    assert trees[0] == trees[1]
