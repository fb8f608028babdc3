"""refold status and refold show: what is waiting and why, and the published bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pygit2
import pytest

from refold.store.compact import fold_store
from refold.store.repo import open_store
from refold.store.submit import submit

from ._helpers import cli, partial_json, refs, the_json


def test_status_names_the_held_back_lane_and_why(
    capsys: pytest.CaptureFixture[str], held_back_store: Path
) -> None:
    fold_store(open_store(held_back_store))
    before = refs(held_back_store)
    ran = cli(capsys, "--store", str(held_back_store), "status")
    assert ran.code == 0, ran.err
    lines = ran.out.splitlines()
    assert lines[0].startswith(f"refs/heads/main at {before['refs/heads/main'][:12]} (")
    assert lines[0].endswith("1 release, 2 files")
    assert any(line.startswith("  arm64: up to date (tip ") for line in lines)
    assert any(line.startswith("  x64/b: 1 pending (tip ") for line in lines)
    held = next(line for line in lines if "held back at" in line)
    assert held.strip().startswith(f"held back at {before['refs/partials/x64/b'][:12]}: conflict: ")
    assert "belongs to lane 'x64/a'" in held
    assert refs(held_back_store) == before


def test_status_json_names_the_held_back_lane_and_why(
    capsys: pytest.CaptureFixture[str], held_back_store: Path
) -> None:
    ran = cli(capsys, "--store", str(held_back_store), "status", "--json")
    assert ran.code == 0, ran.err
    doc = the_json(ran.out)
    lanes = {lane["lane"]: lane for lane in doc["lanes"]}
    assert sorted(lanes) == ["arm64", "x64/a", "x64/b"]
    assert lanes["arm64"]["pending"] == 1 and lanes["arm64"]["held_back"] is None
    held = lanes["x64/b"]["held_back"]
    assert held["commit"] == refs(held_back_store)["refs/partials/x64/b"]
    assert held["kind"] == "conflict"
    assert "belongs to lane 'x64/a'" in held["reason"]
    assert doc["public_commit"] == refs(held_back_store)["refs/heads/main"]


def test_status_of_a_new_store_says_there_are_no_lanes(
    capsys: pytest.CaptureFixture[str], store: Path
) -> None:
    ran = cli(capsys, "--store", str(store), "status")
    assert ran.code == 0
    assert "  last: refold init: empty manifest" in ran.out.splitlines()
    assert "no lanes yet" in ran.out.splitlines()


def test_show_rev_prints_an_older_publication_byte_for_byte(
    capsys: pytest.CaptureFixture[str], store: Path
) -> None:
    opened = open_store(store)
    submit(opened, "x64", partial_json("3.13.1", "x64"))
    fold_store(opened)
    first = cli(capsys, "--store", str(store), "show").out
    first_commit = refs(store)["refs/heads/main"]
    submit(opened, "x64", partial_json("3.14.0", "x64"))
    fold_store(opened)
    latest = cli(capsys, "--store", str(store), "show").out
    assert latest != first
    for rev in ("main~1", first_commit, first_commit[:12]):
        ran = cli(capsys, "--store", str(store), "show", "--rev", rev)
        assert ran.code == 0, ran.err
        assert ran.out == first
    assert cli(capsys, "--store", str(store), "show", "--rev", "main~2").out == "[]\n"


def test_show_prints_exactly_the_blob_that_was_published(
    capsys: pytest.CaptureFixture[str], two_folds_store: Path
) -> None:
    repo = open_store(two_folds_store).repo
    blob = repo.revparse_single("main:versions-manifest.json")
    assert isinstance(blob, pygit2.Blob)
    ran = cli(capsys, "--store", str(two_folds_store), "show")
    assert ran.out.encode() == blob.data


def test_show_json_carries_the_commit_path_and_decoded_manifest(
    capsys: pytest.CaptureFixture[str], two_folds_store: Path
) -> None:
    raw = cli(capsys, "--store", str(two_folds_store), "show", "--rev", "main~1").out
    ran = cli(capsys, "--store", str(two_folds_store), "show", "--rev", "main~1", "--json")
    doc = the_json(ran.out)
    assert doc["commit"] != refs(two_folds_store)["refs/heads/main"]
    assert doc["path"] == "versions-manifest.json"
    assert doc["manifest"] == json.loads(raw)
    assert [r["version"] for r in doc["manifest"]] == ["3.13.1"]
