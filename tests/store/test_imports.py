"""refold.store.imports: backfill a store, all or nothing, and get what folding would give."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pygit2
import pytest

from refold.manifests.errors import UsageError
from refold.manifests.lanes import IMPORT_LANE
from refold.store.compact import fold_store
from refold.store.imports import (
    InvalidImport,
    import_as_lanes,
    import_directory,
    import_manifest,
)
from refold.store.init import init_store
from refold.store.repo import Store, all_refs, read_published
from refold.store.submit import submit

from .helpers import partial_bytes, shared_data, write_lane_commit

REPO = "https://github.com/actions/python-versions"
PZ = "https://github.com/IBM/python-versions-pz"
LABELS = ("alpha.1", "alpha.2", "beta.1", "rc.1")


# --- data written with the standard library, ordered by a key written here -------------


def _key(version: str) -> tuple[Any, ...]:
    core, _, pre = version.partition("-")
    numbers = tuple(int(n) for n in core.split("."))
    if not pre:
        return (*numbers, 1, "", 0)
    label, _, n = pre.partition(".")
    return (*numbers, 0, label, int(n))


def _entry(base: str, version: str, arch: str, platform: str, pv: str | None) -> dict[str, str]:
    ext = "zip" if platform == "win32" else "tar.gz"
    name = f"python-{version}-{platform}{'-' + pv if pv else ''}-{arch}.{ext}"
    entry = {"filename": name, "arch": arch, "platform": platform}
    if pv:
        entry["platform_version"] = pv
    entry["download_url"] = f"{base}/releases/download/{version}/{name}"
    return entry


def _machines(minor: int) -> list[tuple[str, str, str | None]]:
    arches = (
        ["x64"] + (["arm64"] if minor >= 11 else []) + (["x64-freethreaded"] if minor >= 13 else [])
    )
    out = [
        (a, p, pv)
        for a in arches
        for p, pv in (("darwin", None), ("linux", "22.04"), ("linux", "24.04"), ("win32", None))
    ]
    return out + [("x86", "win32", None)]


def big_manifest() -> list[dict[str, Any]]:
    """250 releases, 3.5.0 to 3.15.0-alpha.2, newest first, as upstream publishes them."""
    versions = [f"3.{minor}.{patch}" for minor in range(5, 15) for patch in range(24)]
    versions += [f"3.{minor}.0-{label}" for minor in (13, 14, 15) for label in LABELS][:10]
    versions = sorted(versions, key=_key, reverse=True)
    assert len(versions) == 250
    releases = []
    for version in versions:
        minor = int(version.split(".")[1])
        files = [_entry(REPO, version, a, p, pv) for a, p, pv in _machines(minor)]
        releases.append(
            {
                "version": version,
                "stable": "-" not in version,
                "release_url": f"{REPO}/releases/tag/{version}",
                "files": sorted(files, key=lambda f: f["filename"]),
            }
        )
    return releases


def render(value: Any) -> bytes:
    return json.dumps(value, indent=2).encode() + b"\n"


def pz_files(folder: Path, count: int = 70) -> list[Path]:
    """python-versions-pz style: one file per version and arch, one release in each."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    versions = [f"3.{minor}.{patch}" for minor in range(9, 16) for patch in range(10)][:count]
    for version in versions:
        for arch in ("ppc64le", "s390x"):
            files = [_entry(PZ, version, arch, "linux", pv) for pv in ("22.04", "24.04")]
            release = {"version": version, "stable": True, "release_url": "", "files": files}
            path = folder / f"{version}-{arch}.json"
            path.write_bytes(render([release]))
            paths.append(path)
    return paths


def _published(store: Store) -> bytes:
    return read_published(store).manifest_bytes


def _folded_per_arch(path: Path, releases: list[dict[str, Any]]) -> bytes:
    """What submitting the same content on arch lanes and folding publishes."""
    store = init_store(path)
    arches = sorted({f["arch"] for r in releases for f in r["files"]})
    for arch in arches:
        share = [
            {**r, "files": [f for f in r["files"] if f["arch"] == arch]}
            for r in releases
            if any(f["arch"] == arch for f in r["files"])
        ]
        submit(store, arch, render(share))
    assert fold_store(store).commit is not None
    return _published(store)


def _folded_files(path: Path, files: list[Path]) -> bytes:
    store = init_store(path)
    for file in files:
        arch = json.loads(file.read_bytes())[0]["files"][0]["arch"]
        submit(store, arch, file.read_bytes())
    assert fold_store(store).commit is not None
    return _published(store)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return init_store(tmp_path / "store.git")


@pytest.fixture(scope="module")
def big() -> list[dict[str, Any]]:
    return big_manifest()


# --- a manifest as the base ----------------------------------------------------------------


def test_a_manifest_becomes_the_base_in_one_commit_byte_for_byte(
    store: Store, big: list[dict[str, Any]]
) -> None:
    before = all_refs(store.repo)[store.public_ref]
    outcome = import_manifest(store, render(big), location="versions-manifest.json")
    assert outcome.mode == "base" and outcome.releases == 250
    assert _published(store) == render(big)
    commit = store.repo[outcome.commit].peel(pygit2.Commit)
    assert [str(p.id) for p in commit.parents] == [before]
    assert "Refold-Import: versions-manifest.json" in commit.message.splitlines()
    origins = read_published(store).provenance.files
    assert {o.lane for files in origins.values() for o in files.values()} == {IMPORT_LANE}
    assert sum(len(files) for files in origins.values()) == sum(len(r["files"]) for r in big)


def test_importing_250_releases_renders_byte_identical_to_folding_them(
    tmp_path: Path, store: Store, big: list[dict[str, Any]]
) -> None:
    import_manifest(store, render(big))
    folded = _folded_per_arch(tmp_path / "folded.git", big)
    assert _published(store) == folded
    as_lanes = init_store(tmp_path / "lanes.git")
    import_as_lanes(as_lanes, render(big))
    assert _published(as_lanes) == folded


def test_a_base_import_is_refused_when_the_store_already_publishes(store: Store) -> None:
    submit(store, "x64", partial_bytes("x64", "3.13.1"))
    fold_store(store)
    before = all_refs(store.repo)
    with pytest.raises(UsageError, match="already publishes 1 releases") as caught:
        import_manifest(store, render(big_manifest()[:3]))
    assert "--as-lanes" in caught.value.hint
    assert all_refs(store.repo) == before


def test_an_invalid_base_manifest_writes_nothing(store: Store, big: list[dict[str, Any]]) -> None:
    broken = [dict(r) for r in big[:5]]
    broken[3] = {**broken[3], "version": "3.13"}
    before = all_refs(store.repo)
    with pytest.raises(Exception, match="not a semantic version"):
        import_manifest(store, render(broken))
    assert all_refs(store.repo) == before


# --- as lanes ------------------------------------------------------------------------------


def test_as_lanes_appends_one_partial_per_arch_lane_and_folds_them(store: Store) -> None:
    submit(store, "x64", partial_bytes("x64", "3.9.0"))
    fold_store(store)
    releases = big_manifest()[:6]
    outcome = import_as_lanes(
        store, render(releases), location="manifest.json", env={"GITHUB_RUN_ID": "77"}
    )
    assert outcome.lanes == {"arm64": 1, "x64": 1, "x64-freethreaded": 1, "x86": 1}
    assert outcome.report is not None and outcome.commit is not None
    published = read_published(store)
    assert [r.version for r in published.manifest][:6] == [r["version"] for r in releases]
    newest = published.manifest[0]
    owners = published.provenance.files[newest.version]
    assert {name: o.lane for name, o in owners.items()} == {
        f.filename: f.arch for f in newest.files
    }
    tip = store.repo.references["refs/partials/arm64"].peel(pygit2.Commit)
    assert "Refold-Import-File: manifest.json" in tip.message.splitlines()
    assert "Refold-Run-Id: 77" in tip.message.splitlines()


# --- a directory of per-version-per-arch files ------------------------------------------------


def test_a_directory_of_140_files_renders_byte_identical_to_folding_them(
    tmp_path: Path, store: Store
) -> None:
    paths = pz_files(tmp_path / "versions-manifests")
    assert len(paths) == 140
    outcome = import_directory(store, tmp_path / "versions-manifests")
    assert outcome.lanes == {"ppc64le": 70, "s390x": 70}
    assert outcome.commit is not None and not outcome.report.held_back  # type: ignore[union-attr]
    assert _published(store) == _folded_files(tmp_path / "folded.git", paths)
    merged = [json.loads(p.read_bytes())[0] for p in paths]
    by_version: dict[str, dict[str, Any]] = {}
    for release in merged:
        by_version.setdefault(release["version"], {**release, "files": []})["files"] += release[
            "files"
        ]
    base = init_store(tmp_path / "base.git")
    import_manifest(base, render(list(by_version.values())))
    assert _published(store) == _published(base)


def test_lanes_get_their_files_in_version_order(tmp_path: Path, store: Store) -> None:
    pz_files(tmp_path / "d", count=12)
    import_directory(store, tmp_path / "d")
    walker = store.repo.walk(store.repo.references["refs/partials/s390x"].target)
    subjects = [c.message.splitlines()[0] for c in walker]
    assert subjects[0] == "partial s390x: 3.10.1" and subjects[-1] == "partial s390x: 3.9.0"


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _refused(store: Store, folder: Path) -> InvalidImport:
    before = all_refs(store.repo)
    objects = sum(1 for _ in store.repo.odb)
    with pytest.raises(InvalidImport) as caught:
        import_directory(store, folder)
    assert all_refs(store.repo) == before
    assert sum(1 for _ in store.repo.odb) == objects
    return caught.value


def test_every_invalid_file_is_reported_and_nothing_is_written(
    tmp_path: Path, store: Store
) -> None:
    folder = tmp_path / "versions-manifests"
    pz_files(folder)
    good = json.loads((folder / "3.12.1-s390x.json").read_bytes())
    sbom = json.loads(
        json.dumps(good).replace("linux-24.04-s390x.tar.gz", "linux-24.04-s390x.spdx.json")
    )
    _write(folder, "3.99.0-s390x.json", b'[{"version": "3.99.0", ')
    _write(folder, "3.12.1-sbom.json", render(sbom))
    wrong = [{**good[0], "version": "3.98.0"}]
    _write(folder, "3.98.0-s390x.json", render(wrong))
    error = _refused(store, folder)
    assert len(error.problems) == 3
    assert error.message.startswith("3 of 143 files are invalid; nothing was imported")
    located = sorted(p.location.split(":")[0].rsplit("/", 1)[1] for p in error.problems)
    assert located == ["3.12.1-sbom.json", "3.98.0-s390x.json", "3.99.0-s390x.json"]


def test_a_file_with_two_arches_and_a_duplicate_entry_are_both_reported(
    tmp_path: Path, store: Store
) -> None:
    folder = tmp_path / "d"
    pz_files(folder, count=3)
    one = json.loads((folder / "3.9.0-s390x.json").read_bytes())
    other = json.loads((folder / "3.9.0-ppc64le.json").read_bytes())
    mixed = [{**one[0], "files": one[0]["files"] + other[0]["files"]}]
    _write(folder, "3.9.0-mixed.json", render(mixed))
    _write(folder, "3.9.0-s390x-again.json", render(one))
    error = _refused(store, folder)
    messages = sorted(p.message for p in error.problems)
    assert any("holds ppc64le, s390x" in m for m in messages)
    assert any("is also in" in m for m in messages)


def test_a_file_that_conflicts_with_a_published_entry_is_reported(
    tmp_path: Path, store: Store
) -> None:
    folder = tmp_path / "d"
    pz_files(folder, count=2)
    owned = json.loads((folder / "3.9.1-s390x.json").read_bytes())
    submit(store, "s390x/other", render(owned))
    assert fold_store(store).commit is not None
    error = _refused(store, folder)
    assert any(
        "3.9.1-s390x.json: $.releases[0].files[0]" in p.location
        and "belongs to lane 's390x/other'" in p.message
        for p in error.problems
    )
    assert any("clashes with lane 's390x/other'" in p.message for p in error.problems)


def test_a_lane_already_held_back_is_reported_instead_of_queueing_behind_it(
    tmp_path: Path, store: Store
) -> None:
    stuck = write_lane_commit(store.repo, "s390x", {"partial.json": b'{"releases": 5}'})
    folder = tmp_path / "d"
    pz_files(folder, count=1)
    error = _refused(store, folder)
    assert [p.location for p in error.problems] == ["refs/partials/s390x"]
    assert f"held back at {str(stuck)[:12]}" in error.problems[0].message
    assert "refold reject s390x" in error.problems[0].hint


def test_an_empty_directory_is_a_usage_error(tmp_path: Path, store: Store) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.md").write_text("no json here")
    with pytest.raises(UsageError, match="holds no .json files"):
        import_directory(store, tmp_path / "empty")


# --- the real python-versions-pz directory -----------------------------------------------------


@pytest.fixture
def pz_real() -> Iterator[Path]:
    yield shared_data() / "python-versions-pz" / "versions-manifests"


def test_the_real_pz_directory_is_refused_naming_exactly_the_shifted_3_15_alpha_files(
    store: Store, pz_real: Path
) -> None:
    error = _refused(store, pz_real)
    names = sorted(p.location.split(":")[0].rsplit("/", 1)[1] for p in error.problems)
    assert names == sorted(p.name for p in pz_real.glob("3.15.0-alpha.*.json"))
    assert len(names) == 10
    assert all("alpha." in p.message for p in error.problems)


def test_the_valid_real_pz_files_import_byte_identical_to_folding_them(
    tmp_path: Path, store: Store, pz_real: Path
) -> None:
    folder = tmp_path / "valid"
    folder.mkdir()
    for path in pz_real.glob("*.json"):
        if not path.name.startswith("3.15.0-alpha."):
            shutil.copy(path, folder / path.name)
    files = sorted(folder.glob("*.json"))
    assert len(files) == 130
    outcome = import_directory(store, folder)
    assert outcome.commit is not None
    assert _published(store) == _folded_files(tmp_path / "folded.git", files)
