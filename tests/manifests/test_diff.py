"""refold.manifests.diff: field-level differences between manifests and provenance indexes."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec import UNSET

from refold.manifests.diff import (
    ADDED,
    CHANGED,
    REMOVED,
    Change,
    FieldChange,
    ManifestDiff,
    diff_manifests,
    diff_provenance,
    flatten,
)
from refold.manifests.model import File, Manifest, Release
from refold.manifests.provenance import Claim, Origin, ProvenanceIndex, Rejection
from refold.manifests.render import canonical_order

URL = "https://github.com/actions/python-versions/releases/download"


def file(version: str, arch: str = "x64", build: int = 1, **fields: Any) -> File:
    name = f"python-{version}-linux-24.04-{arch}.tar.gz"
    values: dict[str, Any] = {
        "filename": name,
        "arch": arch,
        "platform": "linux",
        "platform_version": "24.04",
        "download_url": f"{URL}/{version}-{build}/{name}",
    }
    values.update(fields)
    return File(**values)


def release(version: str, *files: File, **fields: Any) -> Release:
    values: dict[str, Any] = {
        "version": version,
        "stable": "-" not in version,
        "release_url": f"https://example.invalid/{version}",
        "files": files or (file(version),),
    }
    values.update(fields)
    return Release(**values)


def test_identical_manifests_have_an_empty_diff() -> None:
    manifest = (release("3.13.1", file("3.13.1"), file("3.13.1", "arm64")),)
    diff = diff_manifests(manifest, manifest)
    assert diff.empty and diff == ManifestDiff()
    assert list(flatten(diff)) == []


def test_added_and_removed_releases_list_their_files() -> None:
    old = (release("3.12.0"),)
    new = (release("3.13.1", file("3.13.1"), file("3.13.1", "arm64")),)
    diff = diff_manifests(old, new)
    added, removed = diff.releases
    assert (added.version, added.change, removed.version, removed.change) == ("3.13.1", ADDED, "3.12.0", REMOVED)
    assert [(f.change, f.filename) for f in added.files] == [
        (ADDED, "python-3.13.1-linux-24.04-x64.tar.gz"),
        (ADDED, "python-3.13.1-linux-24.04-arm64.tar.gz"),
    ]
    assert added.files[0].new == new[0].files[0] and added.files[0].old is UNSET
    assert added.fields == (
        FieldChange(field="stable", new=True),
        FieldChange(field="release_url", new="https://example.invalid/3.13.1"),
    )
    assert [f.field for f in removed.fields] == ["stable", "release_url"]
    assert removed.files[0].old == old[0].files[0]
    assert diff.versions(ADDED) == ["3.13.1"] and diff.file_count(REMOVED) == 1


def test_a_changed_file_reports_exactly_the_fields_that_differ() -> None:
    old = (release("3.13.1", file("3.13.1"), file("3.13.1", "arm64")),)
    new = (release("3.13.1", file("3.13.1", build=2, sha256="ab" * 32), file("3.13.1", "arm64")),)
    [change] = diff_manifests(old, new).releases
    assert (change.change, change.fields) == (CHANGED, ())
    [x64] = change.files
    assert x64.change == CHANGED
    assert x64.fields == (
        FieldChange(field="download_url", old=old[0].files[0].download_url, new=new[0].files[0].download_url),
        FieldChange(field="sha256", new="ab" * 32),
    )


def test_absent_and_null_are_different_values() -> None:
    old = (release("3.13.1", file("3.13.1", platform_version=UNSET)),)
    new = (release("3.13.1", file("3.13.1", platform_version=None)),)
    [change] = diff_manifests(old, new).releases
    [field] = change.files[0].fields
    assert (field.field, field.old, field.new) == ("platform_version", UNSET, None)
    assert msgspec.to_builtins(field) == {"field": "platform_version", "new": None}


def test_release_level_fields_are_reported_on_the_release() -> None:
    old = (release("3.14.0-rc.1", stable=False),)
    new = (release("3.14.0-rc.1", stable=True, lts="jod"),)
    [change] = diff_manifests(old, new).releases
    assert change.files == ()
    assert change.fields == (
        FieldChange(field="stable", old=False, new=True),
        FieldChange(field="lts", new="jod"),
    )


def test_releases_come_newest_first_by_semver_and_text_that_is_no_version_last() -> None:
    old: Manifest = ()
    new = (
        release("3.9.1"),
        release("not-a-version"),
        release("3.14.0-alpha.2"),
        release("3.14.0"),
        release("3.14.0-alpha.10"),
    )
    versions = [r.version for r in diff_manifests(old, new).releases]
    assert versions == ["3.14.0", "3.14.0-alpha.10", "3.14.0-alpha.2", "3.9.1", "not-a-version"]


def test_flatten_names_each_difference_by_a_path() -> None:
    old = (release("3.13.1", file("3.13.1"), file("3.13.1", "arm64")), release("3.12.0"))
    new = (
        release("3.14.0"),
        release("3.13.1", file("3.13.1", build=2), file("3.13.1", "s390x"), release_url="https://x.invalid"),
    )
    paths = {c.path: (c.old, c.new) for c in flatten(diff_manifests(old, new))}
    assert set(paths) == {
        "3.14.0",
        "3.13.1.release_url",
        "3.13.1/python-3.13.1-linux-24.04-x64.tar.gz.download_url",
        "3.13.1/python-3.13.1-linux-24.04-arm64.tar.gz",
        "3.13.1/python-3.13.1-linux-24.04-s390x.tar.gz",
        "3.12.0",
    }
    assert paths["3.12.0"] == ("release with 1 file(s)", UNSET)
    assert paths["3.14.0"] == (UNSET, "release with 1 file(s)")
    assert paths["3.13.1/python-3.13.1-linux-24.04-arm64.tar.gz"][1] is UNSET
    assert paths["3.13.1/python-3.13.1-linux-24.04-s390x.tar.gz"][0] is UNSET


def test_provenance_diff_names_files_claims_and_rejections() -> None:
    claim = Claim(stable=True, release_url="https://x.invalid")
    old = ProvenanceIndex(
        files={"3.13.1": {"a.tar.gz": Origin(lane="x64", commit="1" * 40)}},
        claims={"3.13.1": {"x64": claim}},
    )
    new = ProvenanceIndex(
        files={"3.13.1": {"a.tar.gz": Origin(lane="x64", commit="2" * 40), "b.tar.gz": Origin(lane=":import")}},
        claims={"3.13.1": {"x64": msgspec.structs.replace(claim, stable=False)}},
        rejected={"3" * 40: Rejection(lane="arm64", reason="SBOM")},
    )
    changes = diff_provenance(old, new)
    assert changes == [
        Change(
            path="files.3.13.1/a.tar.gz",
            old={"lane": "x64", "commit": "1" * 40},
            new={"lane": "x64", "commit": "2" * 40},
        ),
        Change(path="files.3.13.1/b.tar.gz", new={"lane": ":import", "commit": None}),
        Change(
            path="claims.3.13.1/x64",
            old={"stable": True, "release_url": "https://x.invalid"},
            new={"stable": False, "release_url": "https://x.invalid"},
        ),
        Change(path=f"rejected.{'3' * 40}", new={"lane": "arm64", "reason": "SBOM"}),
    ]
    assert diff_provenance(new, new) == []


# --- property: a diff says exactly how to get from one manifest to the other ------------

VERSIONS = ("3.9.0", "3.12.1", "3.13.0-rc.1", "3.13.1", "3.14.0")
ARCHES = ("x64", "arm64", "s390x")


@st.composite
def manifests(draw: st.DrawFn) -> Manifest:
    releases = []
    for version in draw(st.sets(st.sampled_from(VERSIONS))):
        arches = draw(st.sets(st.sampled_from(ARCHES), min_size=1))
        files = tuple(
            file(
                version,
                arch,
                build=draw(st.integers(1, 2)),
                platform_version=draw(st.sampled_from(["24.04", None, UNSET])),
            )
            for arch in sorted(arches)
        )
        releases.append(release(version, *files, stable=draw(st.booleans())))
    return canonical_order(releases)


def _apply(old: Manifest, diff: ManifestDiff) -> Manifest:
    """Rebuild the new manifest from the old one and the diff alone."""
    releases = {r.version: r for r in old}
    for change in diff.releases:
        if change.change == REMOVED:
            del releases[change.version]
            continue
        base = releases.get(change.version) or Release(version=change.version, stable=False, release_url="", files=())
        files = {f.filename: f for f in base.files}
        for item in change.files:
            if item.change == REMOVED:
                del files[item.filename]
            else:
                assert isinstance(item.new, File)
                files[item.filename] = item.new
        fields = {f.field: f.new for f in change.fields}
        releases[change.version] = msgspec.structs.replace(base, files=tuple(files.values()), **fields)
    return canonical_order(releases.values())


@settings(max_examples=80, deadline=None)
@given(manifests(), manifests())
def test_applying_a_diff_to_the_old_manifest_gives_the_new_one(old: Manifest, new: Manifest) -> None:
    diff = diff_manifests(old, new)
    assert _apply(old, diff) == new
    assert diff.empty == (old == new)


@settings(max_examples=60, deadline=None)
@given(manifests(), manifests())
def test_the_diff_backwards_mirrors_the_diff_forwards(old: Manifest, new: Manifest) -> None:
    forward = {(c.path, repr(c.old), repr(c.new)) for c in flatten(diff_manifests(old, new))}
    backward = {(c.path, repr(c.new), repr(c.old)) for c in flatten(diff_manifests(new, old))}
    assert forward == backward
