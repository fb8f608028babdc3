"""refold.store.init: a new store is one bare repo with one commit; adoption and refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pygit2
import pytest

from refold.manifests.config import StoreConfig, decode_config
from refold.manifests.errors import PolicyError, RefoldError, SchemaError, UsageError
from refold.manifests.lanes import IMPORT_LANE
from refold.store.init import init_store
from refold.store.repo import (
    CONFIG_PATH,
    PROVENANCE_PATH,
    all_refs,
    blob_at,
    open_store,
    read_published,
)

from .helpers import (
    assert_fsck_clean,
    git,
    manifest_bytes,
    python_file,
    python_release,
    shared_data,
)


def _tree_paths(repo: pygit2.Repository, tree: pygit2.Tree, prefix: str = "") -> list[str]:
    out = []
    for entry in tree:
        obj = repo[entry.id]
        if isinstance(obj, pygit2.Tree):
            out += _tree_paths(repo, obj, f"{prefix}{entry.name}/")
        else:
            out.append(f"{prefix}{entry.name}")
    return sorted(out)


def _generated_manifest() -> bytes:
    """A small upstream-style manifest, already canonical (newest first, files by name)."""
    return manifest_bytes(
        [
            python_release(
                "3.14.0-beta.1",
                [python_file("3.14.0-beta.1", "arm64", "darwin", None)],
            ),
            python_release(
                "3.13.1",
                [
                    python_file("3.13.1", "arm64", "darwin", None),
                    python_file("3.13.1", "x64", "linux", "22.04"),
                    python_file("3.13.1", "x64", "linux", "24.04"),
                    python_file("3.13.1", "x64", "win32", None),
                ],
            ),
            python_release("3.12.8", [python_file("3.12.8", "ppc64le", "linux", "22.04")]),
        ]
    )


def test_init_creates_bare_repo_with_one_root_commit_holding_manifest_config_provenance(
    tmp_path: Path,
) -> None:
    store = init_store(tmp_path / "store")
    repo = store.repo
    assert repo.is_bare
    assert all_refs(repo).keys() == {"refs/heads/main"}
    assert repo.head.name == "refs/heads/main"
    commit = repo[repo.references["refs/heads/main"].target].peel(pygit2.Commit)
    assert commit.parents == []
    assert _tree_paths(repo, commit.tree) == sorted(
        ["versions-manifest.json", CONFIG_PATH, PROVENANCE_PATH]
    )
    assert blob_at(repo, commit, "versions-manifest.json") == b"[]\n"
    raw_config = blob_at(repo, commit, CONFIG_PATH)
    assert raw_config is not None and decode_config(raw_config) == StoreConfig()
    published = read_published(store)
    assert published.manifest == ()
    assert published.provenance.files == {}
    assert str(repo.config["refold.branch"]) == "main"
    assert_fsck_clean(store.path)


def test_init_uses_the_given_branch_and_config(tmp_path: Path) -> None:
    config = StoreConfig(
        manifest_path="data/manifest.json",
        indent=4,
        tools=["python"],
        url_prefix="https://github.com/actions/python-versions/releases/download/",
    )
    store = init_store(tmp_path / "store", branch="release", config=config)
    assert store.public_ref == "refs/heads/release"
    assert all_refs(store.repo).keys() == {"refs/heads/release"}
    reopened = open_store(tmp_path / "store")
    assert reopened.public_ref == "refs/heads/release"
    published = read_published(reopened)
    assert published.config == config
    commit = store.repo[published.commit].peel(pygit2.Commit)
    assert _tree_paths(store.repo, commit.tree) == sorted(
        ["data/manifest.json", CONFIG_PATH, PROVENANCE_PATH]
    )


def test_init_refuses_an_invalid_branch_name_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        init_store(tmp_path / "store", branch="bad..name")
    assert info.value.location == "--branch"
    assert not (tmp_path / "store").exists()


def test_init_import_round_trips_a_generated_manifest_byte_for_byte(tmp_path: Path) -> None:
    data = _generated_manifest()
    store = init_store(tmp_path / "store", import_data=data, import_location="manifest.json")
    published = read_published(store)
    assert published.manifest_bytes == data
    assert [r.version for r in published.manifest] == ["3.14.0-beta.1", "3.13.1", "3.12.8"]
    origins = published.provenance.files["3.13.1"]
    assert {o.lane for o in origins.values()} == {IMPORT_LANE}
    assert all(o.commit is None for o in origins.values())
    commit = store.repo[published.commit].peel(pygit2.Commit)
    assert "import of 3 releases" in commit.message


def test_init_import_renders_a_non_canonical_manifest_canonically(tmp_path: Path) -> None:
    canonical = _generated_manifest()
    shuffled = json.loads(canonical)
    shuffled.reverse()
    for release in shuffled:
        release["files"].reverse()
    store = init_store(tmp_path / "store", import_data=json.dumps(shuffled).encode())
    assert read_published(store).manifest_bytes == canonical


@pytest.mark.parametrize("name", ["python-versions", "node-versions", "go-versions"])
def test_init_import_round_trips_real_manifests_byte_for_byte(tmp_path: Path, name: str) -> None:
    data = (shared_data() / name / "versions-manifest.json").read_bytes()
    store = init_store(tmp_path / "store", import_data=data, import_location=name)
    published = read_published(store)
    assert published.manifest_bytes == data
    assert sum(len(v) for v in published.provenance.files.values()) == sum(
        len(r.files) for r in published.manifest
    )
    assert_fsck_clean(store.path)


def test_init_adopts_an_empty_bare_repository(tmp_path: Path) -> None:
    path = tmp_path / "adopt.git"
    assert git(tmp_path, "init", "--bare", "-q", str(path)).returncode == 0
    store = init_store(path, import_data=_generated_manifest())
    assert all_refs(store.repo).keys() == {"refs/heads/main"}
    assert read_published(store).manifest_bytes == _generated_manifest()
    assert git(path, "rev-parse", "--abbrev-ref", "HEAD").stdout.strip() == "main"
    assert_fsck_clean(path)


def test_init_adopts_an_empty_repository_whose_head_names_another_branch(tmp_path: Path) -> None:
    path = tmp_path / "adopt.git"
    pygit2.init_repository(str(path), bare=True, initial_head="trunk")
    store = init_store(path, branch="main")
    assert store.repo.head.name == "refs/heads/main"
    assert all_refs(store.repo).keys() == {"refs/heads/main"}


def test_init_refuses_a_non_empty_directory_that_is_not_a_repository(tmp_path: Path) -> None:
    path = tmp_path / "dir"
    path.mkdir()
    (path / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="not an empty git repository"):
        init_store(path)
    assert sorted(p.name for p in path.iterdir()) == ["keep.txt"]
    assert (path / "keep.txt").read_text() == "mine"


def test_init_refuses_a_path_that_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("not a directory")
    with pytest.raises(UsageError, match="not a directory"):
        init_store(path)
    assert path.read_text() == "not a directory"


def test_init_refuses_a_repository_that_has_refs_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "busy.git"
    repo = pygit2.init_repository(str(path), bare=True)
    sig = pygit2.Signature("a", "a@example.invalid", 0, 0)
    repo.create_commit("refs/heads/main", sig, sig, "theirs\n", repo.TreeBuilder().write(), [])
    before = all_refs(repo)
    with pytest.raises(UsageError, match="already has refs") as info:
        init_store(path)
    assert info.value.hint
    assert all_refs(pygit2.Repository(str(path))) == before
    with pytest.raises(KeyError):
        pygit2.Repository(str(path)).config["refold.branch"]


def test_init_refuses_an_existing_store(tmp_path: Path) -> None:
    store = init_store(tmp_path / "store")
    before = all_refs(store.repo)
    with pytest.raises(UsageError, match="already has refs"):
        init_store(tmp_path / "store", branch="other")
    assert all_refs(open_store(tmp_path / "store").repo) == before


def test_init_does_not_adopt_an_enclosing_repository(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    pygit2.init_repository(str(outer), bare=False)
    inner = outer / "sub"
    inner.mkdir()
    (inner / "file.txt").write_text("x")
    with pytest.raises(UsageError, match="not an empty git repository"):
        init_store(inner)
    assert all_refs(pygit2.Repository(str(outer))) == {}


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"[", SchemaError),
        (b"\xef\xbb\xbf[]", SchemaError),
        (b'{"version": "3.13.1"}', SchemaError),
        (b'[{"version": "3.13.1", "stable": true, "release_url": "", "files": [{}]}]', SchemaError),
        (
            manifest_bytes(
                [
                    python_release(
                        "3.13.1",
                        [python_file("3.13.1", "x64")],
                    ),
                    python_release("3.13.1", [python_file("3.13.1", "arm64")]),
                ]
            ),
            PolicyError,
        ),
        (
            manifest_bytes(
                [
                    python_release(
                        "3.13.1",
                        [
                            python_file(
                                "3.13.1",
                                "x64",
                                filename="python-3.13.1-linux-24.04-x64.sbom.json",
                            )
                        ],
                    )
                ]
            ),
            PolicyError,
        ),
    ],
    ids=["malformed", "bom", "object", "missing-fields", "duplicate-release", "sbom"],
)
def test_init_with_an_invalid_import_leaves_nothing_behind(
    tmp_path: Path, data: bytes, error: type[RefoldError]
) -> None:
    with pytest.raises(error):
        init_store(tmp_path / "store", import_data=data, import_location="in.json")
    assert not (tmp_path / "store").exists()


def test_init_with_an_invalid_import_leaves_an_adoptable_repository_untouched(
    tmp_path: Path,
) -> None:
    path = tmp_path / "adopt.git"
    pygit2.init_repository(str(path), bare=True)
    objects_before = sorted(p.name for p in (path / "objects").rglob("*"))
    with pytest.raises(SchemaError):
        init_store(path, import_data=b"[{]")
    repo = pygit2.Repository(str(path))
    assert all_refs(repo) == {}
    with pytest.raises(KeyError):
        repo.config["refold.branch"]
    assert sorted(p.name for p in (path / "objects").rglob("*")) == objects_before
    init_store(path)  # still adoptable
