"""refold.manifests.resolve: tool-cache's pick, and the fold's guard against lower picks."""

from __future__ import annotations

import itertools

import msgspec
import pytest
from msgspec import UNSET

from refold.manifests.config import StoreConfig
from refold.manifests.errors import PolicyError
from refold.manifests.fold import FoldResult, fold, import_provenance
from refold.manifests.model import File, Manifest, Release
from refold.manifests.partial import Partial
from refold.manifests.render import canonical_order
from refold.manifests.resolve import (
    _combos,
    _guarded_specs,
    _resolve_all,
    find_match,
    near_misses,
    regressions,
    reported_os_version,
)

from .fixtures import lane_partial, make_file, make_release, pending, retract

MANIFEST_VERSIONS = ("3.14.0-rc.1", "3.13.2", "3.13.1", "3.12.9", "3.12.8")


def _file(
    version: str,
    arch: str = "x64",
    platform: str = "linux",
    pv: str | None = "24.04",
    *,
    name: str | None = None,
) -> File:
    return make_file(version, arch, platform, UNSET if pv is None else pv, name=name)


def _release(version: str, *files: File, stable: bool | None = None) -> Release:
    return make_release(version, files or (_file(version),), stable=stable)


def _manifest(*releases: Release) -> Manifest:
    return canonical_order(releases)


def _standard() -> Manifest:
    return _manifest(
        *(
            _release(
                v,
                _file(v),
                _file(v, pv="22.04"),
                _file(v, "arm64"),
                _file(v, platform="win32", pv=None),
            )
            for v in MANIFEST_VERSIONS
        )
    )


def _picked(manifest: Manifest, spec: str, **query: object) -> str | None:
    options = {"arch": "x64", "platform": "linux", "platform_version": "24.04", **query}
    found = find_match(manifest, spec, **options)  # type: ignore[arg-type]
    return None if found is None else f"{found.release.version} {found.file.filename}"


# --- find_match --------------------------------------------------------------------------


def test_the_first_release_in_file_order_that_satisfies_the_spec_wins() -> None:
    assert _picked(_standard(), "3.12") == "3.12.9 python-3.12.9-linux-24.04-x64.tar.gz"
    assert _picked(_standard(), "3") == "3.13.2 python-3.13.2-linux-24.04-x64.tar.gz"


def test_file_order_beats_version_order_as_in_tool_cache() -> None:
    unsorted = (_release("3.12.8"), _release("3.12.9"))
    assert _picked(unsorted, "3.12") == "3.12.8 python-3.12.8-linux-24.04-x64.tar.gz"


def test_the_match_reports_the_whole_release_its_position_and_the_one_file() -> None:
    found = find_match(
        _standard(), "3.13.1", arch="arm64", platform="linux", platform_version="24.04"
    )
    assert found is not None
    assert found.index == 2
    assert found.release == _standard()[2]
    assert found.file.filename == "python-3.13.1-linux-24.04-arm64.tar.gz"


def test_prereleases_match_only_a_spec_naming_a_prerelease_of_the_same_version() -> None:
    manifest = _standard()
    assert _picked(manifest, "3.14") is None
    assert _picked(manifest, "3.x") == "3.13.2 python-3.13.2-linux-24.04-x64.tar.gz"
    assert (
        _picked(manifest, "3.14.0-rc.1") == "3.14.0-rc.1 python-3.14.0-rc.1-linux-24.04-x64.tar.gz"
    )
    assert _picked(manifest, "~3.14.0-0") == "3.14.0-rc.1 python-3.14.0-rc.1-linux-24.04-x64.tar.gz"
    assert _picked(manifest, ">=3.13.0-alpha.1") == "3.13.2 python-3.13.2-linux-24.04-x64.tar.gz"


def test_stable_skips_releases_not_marked_stable_even_without_a_prerelease_tag() -> None:
    manifest = _manifest(_release("3.12.9", stable=False), _release("3.12.8"))
    assert _picked(manifest, "3.12", stable=True) == "3.12.8 python-3.12.8-linux-24.04-x64.tar.gz"
    assert _picked(manifest, "3.12", stable=False) == "3.12.9 python-3.12.9-linux-24.04-x64.tar.gz"


def test_a_release_without_a_file_for_the_machine_is_skipped_not_an_answer() -> None:
    manifest = _manifest(_release("3.12.9", _file("3.12.9", "arm64")), _release("3.12.8"))
    assert _picked(manifest, "3.12") == "3.12.8 python-3.12.8-linux-24.04-x64.tar.gz"


def test_arch_and_platform_must_be_equal_exactly() -> None:
    manifest = _manifest(_release("3.13.1", _file("3.13.1", "x64-freethreaded")))
    assert _picked(manifest, "3.13") is None
    assert _picked(manifest, "3.13", arch="x64-freethreaded") is not None
    assert _picked(manifest, "3.13", arch="x64-freethreaded", platform="Linux") is None


def test_platform_version_absent_null_or_empty_matches_any_os_version() -> None:
    files = [
        File(
            filename=f"python-3.13.{n}-linux-x64.tar.gz",
            arch="x64",
            platform="linux",
            platform_version=pv,
            download_url=f"https://h/python-3.13.{n}-linux-x64.tar.gz",
        )
        for n, pv in ((3, UNSET), (2, None), (1, ""))
    ]
    manifest = _manifest(
        *(
            Release(version=f"3.13.{n}", stable=True, release_url="", files=(f,))
            for n, f in zip((3, 2, 1), files)
        )
    )
    for spec in ("3.13.3", "3.13.2", "3.13.1"):
        assert _picked(manifest, spec, platform_version="99.99") is not None
        assert _picked(manifest, spec, platform_version="") is not None


def test_platform_version_must_equal_the_linux_release_or_be_a_range_it_satisfies() -> None:
    manifest = _standard()
    assert (
        _picked(manifest, "3.13.2", platform_version="22.04")
        == "3.13.2 python-3.13.2-linux-22.04-x64.tar.gz"
    )
    assert _picked(manifest, "3.13.2", platform_version="20.04") is None
    assert _picked(manifest, "3.13.2", platform_version="") is None
    ranged = _manifest(
        _release("3.13.1", _file("3.13.1", pv=">=9.0.0", name="python-3.13.1-linux-x64.tar.gz"))
    )
    assert _picked(ranged, "3.13", platform_version="9.6.0") is not None
    assert _picked(ranged, "3.13", platform_version="8.10.0") is None
    # "9.6" is not a semantic version, so node-semver cannot test it against the range.
    assert _picked(ranged, "3.13", platform_version="9.6") is None


def test_on_darwin_only_ranges_match_because_sw_vers_output_ends_in_a_newline() -> None:
    exact = _file("3.13.1", platform="darwin", pv="14.5.0", name="python-3.13.1-darwin-x64.tar.gz")
    ranged = _file("3.13.0", platform="darwin", pv="14.x", name="python-3.13.0-darwin-x64.tar.gz")
    manifest = _manifest(_release("3.13.1", exact), _release("3.13.0", ranged))
    assert reported_os_version("darwin", "14.5.0") == "14.5.0\n"
    # The exact string never equals "14.5.0\n", but node-semver trims it: 14.5.0 satisfies "14.5.0".
    assert _picked(manifest, "3.13", platform="darwin", platform_version="14.5.0") == (
        "3.13.1 python-3.13.1-darwin-x64.tar.gz"
    )
    assert _picked(manifest, "3.13", platform="darwin", platform_version="14.6.1") == (
        "3.13.0 python-3.13.0-darwin-x64.tar.gz"
    )
    assert _picked(manifest, "3.13", platform="darwin", platform_version="14.6") is None


def test_on_windows_and_other_platforms_tool_cache_reads_no_os_version() -> None:
    manifest = _manifest(
        _release(
            "3.13.1", _file("3.13.1", platform="win32", pv="10", name="python-3.13.1-win32-x64.zip")
        )
    )
    assert reported_os_version("win32", "10") == ""
    assert _picked(manifest, "3.13", platform="win32", platform_version="10") is None


def test_within_a_release_the_first_matching_file_in_file_order_wins() -> None:
    a = _file("3.13.1", pv=None, name="python-3.13.1-linux-a-x64.tar.gz")
    b = _file("3.13.1", pv=None, name="python-3.13.1-linux-b-x64.tar.gz")
    manifest = (Release(version="3.13.1", stable=True, release_url="", files=(b, a)),)
    assert _picked(manifest, "3.13") == "3.13.1 python-3.13.1-linux-b-x64.tar.gz"


def test_an_invalid_spec_is_an_error_rather_than_no_match() -> None:
    with pytest.raises(PolicyError, match="not a valid version range"):
        find_match(_standard(), "3.12 |", arch="x64", platform="linux")


def test_near_misses_say_what_the_spec_admits_and_what_the_machine_lacks() -> None:
    manifest = _standard()
    query = {"arch": "s390x", "platform": "linux", "platform_version": "24.04"}
    lines = near_misses(manifest, "3.13", **query)  # type: ignore[arg-type]
    assert lines[0] == "searched 5 releases; 2 satisfy '3.13'"
    assert "none has a file for s390x/linux" in lines[1] and "x64/linux" in lines[1]
    lines = near_misses(manifest, "3.13", arch="x64", platform="linux", platform_version="30.04")
    assert "need a platform_version: 22.04, 24.04" in lines[1] and "'30.04'" in lines[1]
    assert near_misses(manifest, "3.99", arch="x64", platform="linux") == [
        "searched 5 releases; 0 satisfy '3.99'"
    ]


# --- the guard: regressions ----------------------------------------------------------------


def _without(manifest: Manifest, version: str, filename: str | None = None) -> Manifest:
    out = []
    for release in manifest:
        if release.version != version:
            out.append(release)
        elif filename is not None:
            files = tuple(f for f in release.files if f.filename != filename)
            out.append(msgspec.structs.replace(release, files=files))
    return tuple(out)


def test_adding_releases_and_files_never_counts_as_a_regression() -> None:
    old = _standard()
    new = _manifest(*old, _release("3.13.3"), _release("3.11.0"), _release("3.15.0-alpha.1"))
    assert regressions(old, new) == []
    assert regressions(old, old) == []
    assert regressions((), new) == []


def test_retracting_the_newest_patch_names_spec_machines_and_both_versions() -> None:
    old = _standard()
    lines = regressions(old, _without(old, "3.12.9"))
    machines = "arm64/linux 24.04, x64/linux 22.04, x64/linux 24.04, x64/win32"
    assert lines == [f"spec '3.12' would resolve to 3.12.8 instead of 3.12.9 on {machines}"]


def test_retracting_one_file_regresses_only_that_machine() -> None:
    old = _standard()
    new = _without(old, "3.13.2", "python-3.13.2-linux-22.04-x64.tar.gz")
    assert regressions(old, new) == [
        "spec '3' would resolve to 3.13.1 instead of 3.13.2 on x64/linux 22.04",
        "spec '3.13' would resolve to 3.13.1 instead of 3.13.2 on x64/linux 22.04",
    ]


def test_losing_the_only_release_of_a_minor_is_reported_as_matching_nothing() -> None:
    old = _manifest(_release("3.13.1"), _release("3.12.9"))
    assert regressions(old, _without(old, "3.13.1")) == [
        "spec '3' would resolve to 3.12.9 instead of 3.13.1 on x64/linux 24.04",
        "spec '3.13' would match nothing instead of 3.13.1 on x64/linux 24.04",
    ]


def test_a_release_losing_stable_regresses_only_stable_queries() -> None:
    old = _manifest(_release("3.12.9"), _release("3.12.8"))
    new = _manifest(_release("3.12.9", stable=False), _release("3.12.8"))
    assert regressions(old, new) == [
        "spec '3' (stable only) would resolve to 3.12.8 instead of 3.12.9 on x64/linux 24.04",
        "spec '3.12' (stable only) would resolve to 3.12.8 instead of 3.12.9 on x64/linux 24.04",
    ]


def test_a_replacement_with_equal_precedence_is_not_lower() -> None:
    old = _manifest(_release("3.12.9"), _release("3.12.8"))
    new = _manifest(_release("3.12.9+rebuild.1"), _release("3.12.8"))
    assert regressions(old, new) == []


def test_an_unsorted_manifest_is_checked_by_the_full_walk() -> None:
    old = _manifest(_release("3.12.9"), _release("3.12.8"))
    new = (_release("3.12.8"), _release("3.12.9"))
    assert regressions(old, new) == [
        "spec '3' would resolve to 3.12.8 instead of 3.12.9 on x64/linux 24.04",
        "spec '3.12' would resolve to 3.12.8 instead of 3.12.9 on x64/linux 24.04",
    ]


def test_the_one_pass_table_agrees_with_find_match_for_every_spec_and_machine(
    generated: Manifest,
) -> None:
    combos, specs = _combos(generated), _guarded_specs(generated)
    table = _resolve_all(generated, combos, specs)
    assert len(combos) >= 10 and len(specs) >= 10
    for (c, (arch, platform, pv)), (s, spec), stable in itertools.product(
        enumerate(combos), enumerate(specs), (False, True)
    ):
        found = find_match(
            generated, spec, arch=arch, platform=platform, platform_version=pv, stable=stable
        )
        assert table.get((c, s, stable)) == (found.release.version if found else None)


# --- the guard inside the fold -------------------------------------------------------------


def _fold_retracting(strict: bool) -> tuple[Manifest, FoldResult]:
    base = _standard()
    lanes = {
        "x64": pending(
            "x64", Partial(retract=(retract("3.12.9", "python-3.12.9-linux-24.04-x64.tar.gz"),))
        )
    }
    return base, fold(base, import_provenance(base), StoreConfig(), lanes, strict=strict)


def test_a_fold_that_lowers_a_resolution_publishes_with_a_warning() -> None:
    base, result = _fold_retracting(strict=False)
    assert result.report.published and result.report.consumed
    assert result.report.warnings == [
        "resolve guard: spec '3.12' would resolve to 3.12.8 instead of 3.12.9 on x64/linux 24.04"
    ]
    assert result.report.refused == [] and not result.report.has_errors
    assert result.manifest != base


def test_a_strict_fold_that_lowers_a_resolution_publishes_nothing_and_says_why() -> None:
    base, result = _fold_retracting(strict=True)
    assert not result.report.published
    assert result.report.has_errors
    assert result.report.consumed == {} and result.report.changed == []
    assert result.manifest == base
    assert result.report.refused == [
        "resolve guard: spec '3.12' would resolve to 3.12.8 instead of 3.12.9 on x64/linux 24.04"
    ]


def test_a_strict_fold_that_only_adds_releases_publishes() -> None:
    base = _standard()
    lanes = {"x64": pending("x64", lane_partial("x64", ["3.13.3"]))}
    result = fold(base, import_provenance(base), StoreConfig(), lanes, strict=True)
    assert result.report.published and result.report.refused == []
    assert [w for w in result.report.warnings if w.startswith("resolve guard")] == []
