"""refold demo: six real job processes, one fold, and a store an auditor can read."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from refold.store.repo import open_store, read_published
from refold.store.status import status

from ._helpers import cli, refold, refs, the_json

GOOD_LANES = ["arm64", "ppc64le", "s390x", "x64", "x64-freethreaded"]


def _check_demo_store(store: Path) -> None:
    opened = open_store(store)
    report = status(opened)
    lanes = {lane.lane: lane for lane in report.lanes}
    assert sorted(lanes) == GOOD_LANES
    for name in GOOD_LANES:
        if name != "s390x":
            assert lanes[name].pending == 0 and lanes[name].held_back is None, name
    held = lanes["s390x"].held_back
    assert held is not None and held.kind == "policy"
    assert "SBOM" in held.reason
    assert held.commit == refs(store)["refs/partials/s390x"]
    published = read_published(opened)
    arches = {f.arch for r in published.manifest for f in r.files}
    assert arches == set(GOOD_LANES)
    assert not any("sbom" in f.filename for r in published.manifest for f in r.files)
    fold_commit = opened.repo.revparse_single("main").peel(pygit2.Commit)
    assert len(fold_commit.parents) == 1 + len(GOOD_LANES)


def test_demo_runs_end_to_end_and_leaves_five_lanes_folded_and_s390x_held_back(
    tmp_path: Path,
) -> None:
    done = refold("demo", str(tmp_path / "demo"))
    out = done.stdout.decode()
    assert done.returncode == 0, out + done.stderr.decode()
    store = (tmp_path / "demo" / "store.git").resolve()
    _check_demo_store(store)
    assert "job ppc64le-sbom" in out and "refused (exit 2)" in out
    assert "is an SBOM, not a release artifact" in out
    assert "s390x: held back at" in out
    assert f"git -C {store} log --first-parent" in out
    assert f"git -C {store} show main:.refold/provenance.json" in out
    assert f"refold --store {store} status" in out


def test_demo_json_prints_one_document_and_the_same_store(tmp_path: Path) -> None:
    done = refold("--json", "demo", str(tmp_path / "demo"))
    assert done.returncode == 0, done.stderr.decode()
    doc = the_json(done.stdout.decode())
    assert doc["ok"] is True
    assert doc["jobs"]["ppc64le-sbom"]["exit_code"] == 2
    assert set(doc["fold"]["report"]["lanes"]) == set(GOOD_LANES)
    _check_demo_store(Path(doc["store"]))


def test_demo_refuses_a_directory_that_is_not_empty(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine\n")
    ran = cli(capsys, "--json", "demo", str(busy))
    assert ran.code == 2
    assert the_json(ran.out)["error"]["location"] == str(busy)
    assert sorted(p.name for p in busy.iterdir()) == ["keep.txt"]
    not_dir = tmp_path / "file"
    not_dir.write_text("x")
    assert cli(capsys, "demo", str(not_dir)).code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy", "file"]
