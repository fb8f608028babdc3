"""refold.store.repo: opening stores, reading publications, the small git helpers."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from refold.manifests.errors import SchemaError, UsageError
from refold.store.init import init_store
from refold.store.repo import (
    CONFIG_PATH,
    all_refs,
    blob_at,
    lane_refs,
    open_store,
    read_config,
    read_published,
    resolve_commit,
    write_tree,
)
from refold.store.submit import submit

from .helpers import FIXED_SIG, partial_bytes


def test_open_store_names_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist") as info:
        open_store(tmp_path / "nowhere")
    assert "refold init" in info.value.hint


def test_open_store_refuses_an_empty_path() -> None:
    with pytest.raises(UsageError, match="no store given"):
        open_store("")


def test_open_store_refuses_a_directory_that_is_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is not a git repository"):
        open_store(tmp_path)


def test_open_store_refuses_a_repository_without_the_public_ref(tmp_path: Path) -> None:
    pygit2.init_repository(str(tmp_path / "plain.git"), bare=True)
    with pytest.raises(UsageError, match="not a refold store"):
        open_store(tmp_path / "plain.git")


def test_open_store_does_not_open_an_enclosing_repository(tmp_path: Path) -> None:
    store = init_store(tmp_path / "store")
    with pytest.raises(UsageError, match="is not a git repository"):
        open_store(Path(store.path) / "refs")


def test_open_store_reads_the_public_branch_from_git_config(tmp_path: Path) -> None:
    init_store(tmp_path / "store", branch="publish")
    assert open_store(tmp_path / "store").public_ref == "refs/heads/publish"


def test_resolve_commit_refuses_unknown_revisions(tmp_path: Path) -> None:
    store = init_store(tmp_path / "store")
    with pytest.raises(UsageError, match="unknown revision"):
        resolve_commit(store, "main~5")
    with pytest.raises(UsageError, match="unknown revision"):
        resolve_commit(store, "no-such-ref")
    assert str(resolve_commit(store).id) == all_refs(store.repo)["refs/heads/main"]


def test_read_published_names_a_commit_without_config(tmp_path: Path) -> None:
    store = init_store(tmp_path / "store")
    repo = store.repo
    stray = repo.create_commit(None, FIXED_SIG, FIXED_SIG, "x\n", repo.TreeBuilder().write(), [])
    with pytest.raises(SchemaError, match=r"\.refold/config\.json is missing"):
        read_published(store, str(stray))
    with pytest.raises(SchemaError, match="missing"):
        read_config(store, str(stray))


def test_read_config_does_not_need_a_valid_manifest(tmp_path: Path) -> None:
    store = init_store(tmp_path / "store")
    repo = store.repo
    head = resolve_commit(store)
    tree = write_tree(repo, head.tree, {"versions-manifest.json": b"{not json"})
    broken = repo.create_commit(None, FIXED_SIG, FIXED_SIG, "x\n", tree, [head.id])
    assert read_config(store, str(broken)) == read_published(store).config
    with pytest.raises(SchemaError):
        read_published(store, str(broken))


def test_write_tree_keeps_the_base_and_replaces_nested_paths(tmp_path: Path) -> None:
    store = init_store(tmp_path / "store")
    repo = store.repo
    base = resolve_commit(store)
    tree_id = write_tree(repo, base.tree, {".refold/extra.json": b"1", "top.txt": b"2"})
    commit = repo.create_commit(None, FIXED_SIG, FIXED_SIG, "x\n", tree_id, [])
    new = repo[commit].peel(pygit2.Commit)
    assert blob_at(repo, new, ".refold/extra.json") == b"1"
    assert blob_at(repo, new, "top.txt") == b"2"
    assert blob_at(repo, new, CONFIG_PATH) == blob_at(repo, base, CONFIG_PATH)
    assert blob_at(repo, new, "versions-manifest.json") == b"[]\n"
    assert blob_at(repo, new, ".refold") is None
    assert blob_at(repo, new, "absent") is None


def test_lane_refs_lists_only_lanes_sorted_by_name(tmp_path: Path) -> None:
    store = init_store(tmp_path / "store")
    for lane in ["x64/linux", "arm64", "x64/darwin"]:
        submit(store, lane, partial_bytes(lane, "3.13.1", platform_version="24.04"), env={})
    assert list(lane_refs(store.repo)) == ["arm64", "x64/darwin", "x64/linux"]
    assert set(all_refs(store.repo)) == {
        "refs/heads/main",
        "refs/partials/arm64",
        "refs/partials/x64/darwin",
        "refs/partials/x64/linux",
    }
