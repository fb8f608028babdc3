"""Invariants 1-3 under real concurrency: writer and compactor processes on one store."""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pygit2
import pytest

from refold.store.compact import fold_store
from refold.store.init import init_store
from refold.store.pending import pending_partials
from refold.store.repo import Store, all_refs, lane_refs, open_store, read_published

from .helpers import (
    assert_fsck_clean,
    first_parent_chain,
    is_fast_forward,
    newly_reachable,
    python_filename,
    reflog,
    start_helper,
    writer_versions,
)


@dataclass(frozen=True)
class Load:
    lanes: tuple[str, ...]
    writers_per_lane: int
    partials_per_writer: int
    compactors: int
    pause: float


CI_LOAD = Load(
    ("arm64", "ppc64le", "x64"), writers_per_lane=2, partials_per_writer=8, compactors=2, pause=0.08
)
SOAK_LOAD = Load(
    ("arm64", "ppc64le", "s390x", "x64"),
    writers_per_lane=4,
    partials_per_writer=30,
    compactors=3,
    pause=0.03,
)


def _records(proc: subprocess.Popen[str], timeout: float) -> list[dict[str, Any]]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return [json.loads(line) for line in out.splitlines()]


def _run_load(tmp_path: Path, load: Load) -> None:
    store = init_store(tmp_path / "store")
    store.repo.config["core.logAllRefUpdates"] = "always"
    stop = tmp_path / "stop"
    compactors = [start_helper("compactor", store.path, str(stop)) for _ in range(load.compactors)]
    writers: dict[int, tuple[str, subprocess.Popen[str]]] = {}
    for w in range(len(load.lanes) * load.writers_per_lane):
        lane = load.lanes[w % len(load.lanes)]
        args = ("writer", store.path, lane, str(w), str(load.partials_per_writer), str(load.pause))
        writers[w] = (lane, start_helper(*args))
    submitted: dict[str, tuple[str, str]] = {}  # commit -> (lane, version)
    for w, (lane, proc) in writers.items():
        records = _records(proc, timeout=120)
        assert len(records) == load.partials_per_writer
        for record, version in zip(records, writer_versions(w, load.partials_per_writer)):
            assert not record["noop"] and record["lane"] == lane
            submitted[record["commit"]] = (lane, version)
    stop.touch()
    folds = [record for proc in compactors for record in _records(proc, timeout=120)]
    _check_store(open_store(store.path), submitted, folds)


def _check_store(
    store: Store, submitted: dict[str, tuple[str, str]], folds: list[dict[str, Any]]
) -> None:
    repo = store.repo
    final = fold_store(store)
    assert fold_store(store).commit is None
    tip = all_refs(repo)[store.public_ref]
    assert pending_partials(repo, pygit2.Oid(hex=tip)) == {}

    # Invariant 1: first-parent history is the publication history; every fold the
    # compactors (and the final fold) published is on it, each made from the tip before it.
    chain = first_parent_chain(repo, tip)
    assert chain[-1].parents == [] and chain[-1].message.startswith("refold init")
    on_chain = {str(c.id) for c in chain}
    published = [f for f in folds if f["commit"] is not None] + (
        [{"commit": final.commit, "previous": final.previous}] if final.commit else []
    )
    assert len(published) == len(chain) - 1
    for fold in published:
        assert fold["commit"] in on_chain
        assert str(repo[fold["commit"]].peel(pygit2.Commit).parents[0].id) == fold["previous"]
    for fold in folds:
        assert is_fast_forward(repo, fold["seen"], tip)

    # Invariant 3: every submitted partial is folded exactly once: newly made reachable by
    # exactly one fold commit of the first-parent history, and nothing else ever was.
    consumed: Counter[str] = Counter()
    for commit in chain[:-1]:
        assert commit.message.startswith("fold: ")
        consumed.update(newly_reachable(repo, commit))
    assert set(consumed) == set(submitted)
    assert set(consumed.values()) == {1}
    manifest = {r.version: r for r in read_published(store).manifest}
    origins = read_published(store).provenance.files
    for partial, (lane, version) in submitted.items():
        filename = python_filename(version, lane)
        assert [f.filename for f in manifest[version].files] == [filename]
        assert origins[version][filename].commit == partial
        assert origins[version][filename].lane == lane

    # Invariants 1 and 2: every ref only ever fast-forwarded, per its reflog.
    for name in [store.public_ref] + [f"refs/partials/{lane}" for lane in lane_refs(repo)]:
        entries = reflog(repo, name)
        assert entries, name
        for (_, new), (old, _) in itertools.pairwise(entries):
            assert new == old, f"{name}: reflog entries do not chain"
        for old, new in entries:
            assert is_fast_forward(repo, old, new), f"{name} moved {old} -> {new}"
    for lane in lane_refs(repo):
        history = list(repo.walk(repo.references[f"refs/partials/{lane}"].target))
        assert all(len(c.parents) <= 1 for c in history)
        assert {str(c.id) for c in history} == {c for c, (ln, _) in submitted.items() if ln == lane}

    assert_fsck_clean(store.path)


def test_writers_and_compactors_in_parallel_fold_every_partial_exactly_once(tmp_path: Path) -> None:
    started = time.monotonic()
    _run_load(tmp_path, CI_LOAD)
    assert time.monotonic() - started < 60


@pytest.mark.slow
def test_soak_writers_and_compactors_in_parallel_fold_every_partial_exactly_once(
    tmp_path: Path,
) -> None:
    _run_load(tmp_path, SOAK_LOAD)
