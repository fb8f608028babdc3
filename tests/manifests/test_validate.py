"""refold.manifests.validate: every rule accepts what it should and names what it refuses."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import pytest
from msgspec import UNSET

from refold.manifests.config import StoreConfig
from refold.manifests.errors import PolicyError, RefoldError
from refold.manifests.model import File, Release
from refold.manifests.partial import Partial, Retraction
from refold.manifests.validate import check_partial

from .fixtures import DOWNLOAD, lane_partial, make_file, make_release, retract, run_id

V = "3.13.1"
F0 = "$.releases[0].files[0]"


def _one(file: File, version: str = V, **release: object) -> Partial:
    return Partial(releases=(make_release(version, [file], **release),))  # type: ignore[arg-type]


def _refused(
    partial: Partial,
    lane: str,
    message: str,
    location: str,
    config: StoreConfig | None = None,
) -> RefoldError:
    with pytest.raises(PolicyError) as info:
        check_partial(partial, lane, config or StoreConfig())
    assert info.value.message == message
    assert info.value.location == location
    assert info.value.kind == "policy"
    return info.value


def _accepted(partial: Partial, lane: str, config: StoreConfig | None = None) -> None:
    check_partial(partial, lane, config or StoreConfig())


def _url(version: str, name: str) -> str:
    return f"{DOWNLOAD}/{version}-{run_id(version)}/{name}"


# --- the baseline is valid --------------------------------------------------------------------


@pytest.mark.parametrize(
    "lane", ["x64", "arm64", "x86", "x64-freethreaded", "arm64-freethreaded", "x64/linux-24.04"]
)
def test_a_lanes_own_files_are_accepted(lane: str) -> None:
    _accepted(lane_partial(lane, ("3.13.1", "3.15.0-alpha.5", "3.14.0-rc.2")), lane)


def test_a_retraction_only_partial_is_accepted() -> None:
    _accepted(
        Partial(retract=(retract(V), retract("3.12.0", "python-3.12.0-win32-x64.zip"))), "x64"
    )


# --- lane binding -----------------------------------------------------------------------------


def test_file_of_another_arch_is_refused_on_the_lane() -> None:
    error = _refused(
        _one(make_file(V, "arm64")),
        "x64",
        "arch 'arm64' may not be published on lane 'x64' (allowed: x64)",
        f"{F0}.arch",
    )
    assert "lane_arches" in error.hint


def test_freethreaded_files_belong_to_the_freethreaded_lane_only() -> None:
    _refused(
        _one(make_file(V, "x64-freethreaded")),
        "x64",
        "arch 'x64-freethreaded' may not be published on lane 'x64' (allowed: x64)",
        f"{F0}.arch",
    )
    _refused(
        _one(make_file(V, "x64")),
        "x64-freethreaded",
        "arch 'x64' may not be published on lane 'x64-freethreaded' (allowed: x64-freethreaded)",
        f"{F0}.arch",
    )


def test_qualified_lane_is_bound_to_its_first_component() -> None:
    _accepted(_one(make_file(V, "x64", "linux", "24.04")), "x64/linux-24.04")
    _refused(
        _one(make_file(V, "arm64", "linux", "24.04")),
        "x64/linux-24.04",
        "arch 'arm64' may not be published on lane 'x64/linux-24.04' (allowed: x64)",
        f"{F0}.arch",
    )


def test_config_lane_arches_maps_a_lane_to_several_arches() -> None:
    config = StoreConfig(lane_arches={"pz": ["ppc64le", "s390x"]})
    partial = Partial(
        releases=(
            make_release(
                V,
                [
                    make_file(V, "ppc64le", "linux", "22.04"),
                    make_file(V, "s390x", "linux", "22.04"),
                ],
            ),
        )
    )
    _accepted(partial, "pz", config)
    _accepted(partial, "pz/linux-22.04", config)
    _refused(
        _one(make_file(V, "x64")),
        "pz",
        "arch 'x64' may not be published on lane 'pz' (allowed: ppc64le, s390x)",
        f"{F0}.arch",
        config,
    )


def test_config_lane_arches_full_name_wins_over_first_component() -> None:
    config = StoreConfig(lane_arches={"x64": ["x64"], "x64/extra": ["x64", "x64-freethreaded"]})
    _accepted(_one(make_file(V, "x64-freethreaded")), "x64/extra", config)
    _refused(
        _one(make_file(V, "x64-freethreaded")),
        "x64/other",
        "arch 'x64-freethreaded' may not be published on lane 'x64/other' (allowed: x64)",
        f"{F0}.arch",
        config,
    )


def test_partial_naming_another_lane_is_refused() -> None:
    error = _refused(
        lane_partial("x64", (V,), with_lane=True),
        "x64/linux-24.04",
        "partial says lane 'x64' but was submitted on lane 'x64/linux-24.04'",
        "$.lane",
    )
    assert "--lane" in error.hint
    _accepted(lane_partial("x64", (V,), with_lane=True), "x64")


def test_invalid_lane_name_is_refused_before_anything_else() -> None:
    _refused(
        lane_partial("x64", (V,)),
        "x64/../main",
        "lane 'x64/../main' has 3 components; at most arch/qualifier",
        "lane",
    )


def test_empty_partial_is_refused() -> None:
    error = _refused(Partial(), "x64", "partial has no releases and no retractions", "")
    assert error.hint == "a partial must change something"


# --- non-release artifacts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("python-3.13.1-linux-24.04-x64.spdx.json", "an SBOM"),
        ("sbom-python-3.13.1-x64.json", "an SBOM"),
        ("trivy-results.json", "a vulnerability scan report"),
        ("trivy-python-3.13.1-linux-24.04-x64.sarif", "a vulnerability scan report"),
        ("build-3.13.1-x64.log", "a build log"),
        ("python-3.13.1-linux-24.04-x64.tar.gz.sha256", "a checksum file"),
        ("SHA256SUMS", "a checksum file"),
    ],
)
def test_non_release_artifacts_are_refused_by_name(name: str, kind: str) -> None:
    file = make_file(V, name=name, download_url=_url(V, name))
    _refused(_one(file), "x64", f"{name!r} is {kind}, not a release artifact", f"{F0}.filename")


# --- the entry must agree with its filename -----------------------------------------------------


def test_filename_of_another_version_is_refused() -> None:
    name = "python-3.13.2-linux-24.04-x64.tar.gz"
    _refused(
        _one(make_file(V, name=name, download_url=_url(V, name))),
        "x64",
        f"filename {name!r} says version '3.13.2' but the entry says '3.13.1'",
        f"{F0}.filename",
    )


def test_filename_of_another_platform_is_refused() -> None:
    file = make_file(V, "x64", "darwin", UNSET, name="python-3.13.1-win32-x64.zip")
    _refused(
        _one(msgspec.structs.replace(file, download_url=_url(V, file.filename))),
        "x64",
        "filename 'python-3.13.1-win32-x64.zip' says platform 'win32' but the entry says 'darwin'",
        f"{F0}.filename",
    )


def test_filename_of_another_platform_version_is_refused() -> None:
    name = "python-3.13.1-linux-22.04-x64.tar.gz"
    _refused(
        _one(make_file(V, "x64", "linux", "24.04", name=name, download_url=_url(V, name))),
        "x64",
        f"filename {name!r} says platform_version '22.04' but the entry says '24.04'",
        f"{F0}.filename",
    )


def test_platform_version_on_an_entry_whose_filename_has_none_is_refused() -> None:
    name = "python-3.13.1-darwin-x64.tar.gz"
    _refused(
        _one(make_file(V, "x64", "darwin", "14", name=name, download_url=_url(V, name))),
        "x64",
        f"filename {name!r} has no platform_version but the entry says '14'",
        f"{F0}.filename",
    )


def test_missing_platform_version_for_a_filename_that_has_one_is_refused() -> None:
    name = "python-3.13.1-linux-24.04-x64.tar.gz"
    _refused(
        _one(make_file(V, "x64", "linux", UNSET, name=name, download_url=_url(V, name))),
        "x64",
        f"filename {name!r} says platform_version '24.04' but the entry has none",
        f"{F0}.filename",
    )


def test_null_and_absent_platform_version_both_match_a_filename_without_one() -> None:
    for platform_version in (None, UNSET):
        _accepted(_one(make_file(V, "x64", "darwin", platform_version)), "x64")


def test_filename_of_another_arch_is_refused() -> None:
    name = "python-3.13.1-linux-24.04-arm64.tar.gz"
    _refused(
        _one(make_file(V, "x64", name=name, download_url=_url(V, name))),
        "x64",
        f"filename {name!r} says arch 'arm64' but the entry says 'x64'",
        f"{F0}.filename",
    )


def test_freethreaded_filename_on_a_plain_arch_entry_is_refused() -> None:
    name = "python-3.13.1-linux-24.04-x64-freethreaded.tar.gz"
    _refused(
        _one(make_file(V, "x64", name=name, download_url=_url(V, name))),
        "x64",
        f"filename {name!r} says arch 'x64-freethreaded' but the entry says 'x64'",
        f"{F0}.filename",
    )


def test_prerelease_filename_is_parsed_with_its_dashes() -> None:
    version = "3.15.0-alpha.5"
    _accepted(
        _one(make_file(version, "arm64-freethreaded", "darwin", UNSET), version),
        "arm64-freethreaded",
    )
    name = "python-3.15.0-alpha.5-linux-24.04-x64.tar.gz"
    _refused(
        _one(
            make_file("3.15.0-alpha.4", "x64", name=name, download_url=_url(version, name)),
            "3.15.0-alpha.4",
        ),
        "x64",
        f"filename {name!r} says version '3.15.0-alpha.5' but the entry says '3.15.0-alpha.4'",
        f"{F0}.filename",
    )


def test_tools_config_limits_the_artifact_prefix() -> None:
    config = StoreConfig(tools=["node"])
    _refused(
        _one(make_file(V)),
        "x64",
        "filename 'python-3.13.1-linux-24.04-x64.tar.gz' is a 'python' artifact; this store publishes node",
        f"{F0}.filename",
        config,
    )
    _accepted(_one(make_file(V)), "x64", StoreConfig(tools=["node", "python"]))


def test_tools_config_compares_the_whole_tool_name() -> None:
    name = "python-dbg-3.13.1-linux-24.04-x64.tar.gz"
    _refused(
        _one(make_file(V, name=name, download_url=_url(V, name))),
        "x64",
        f"filename {name!r} is a 'python-dbg' artifact; this store publishes python",
        f"{F0}.filename",
        StoreConfig(tools=["python"]),
    )


# --- download_url -------------------------------------------------------------------------------


def _with_url(url: str, config: StoreConfig | None = None) -> None:
    check_partial(_one(make_file(V, download_url=url)), "x64", config or StoreConfig())


NAME = "python-3.13.1-linux-24.04-x64.tar.gz"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"http://example.org/{NAME}", "download_url must be https, not http:"),
        (f"javascript:alert(1)//{NAME}", "download_url must be https, not javascript:"),
        (f"example.org/{NAME}", f"download_url must be https, not 'example.org/{NAME}'"),
        (
            f"https://example.org/x/{NAME}.tar.gz",
            f"download_url does not end with the filename {NAME!r}",
        ),
        (f"https://example.org/x-{NAME}", f"download_url does not end with the filename {NAME!r}"),
        (
            f"https://github.com/actions/python-versions/releases/download/untagged-1a2b/{NAME}",
            (
                "download_url 'https://github.com/actions/python-versions/releases/download/"
                f"untagged-1a2b/{NAME}' points at a draft release (untagged-...)"
            ),
        ),
        (f"https://example.org/a/../{NAME}", "download_url contains a '..' or '.' path segment"),
        (f"https://example.org/evil.exe#/{NAME}", "download_url contains '#'"),
        (f"https://example.org/evil.exe?x=/{NAME}", "download_url contains '?'"),
        (f"https://example.org/a b/{NAME}", "download_url contains ' '"),
        (f"https://example.org/a\u200b/{NAME}", "download_url contains '\\u200b'"),
        (f"https://example.org\\@evil/{NAME}", "download_url contains '\\\\'"),
        (f"https:///{NAME}", f"download_url 'https:///{NAME}' has no host"),
        (
            f"https://github.com@evil.example/{NAME}",
            f"download_url 'https://github.com@evil.example/{NAME}' has credentials before its host",
        ),
    ],
)
def test_download_url_is_refused(url: str, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        _with_url(url)
    assert info.value.message == message
    assert info.value.location == f"{F0}.download_url"


def test_download_url_outside_url_prefix_is_refused() -> None:
    config = StoreConfig(
        url_prefix="https://github.com/actions/python-versions/releases/download/{version}-"
    )
    _with_url(_url(V, NAME), config)
    url = f"https://github.com/someone/python-versions/releases/download/{V}-1/{NAME}"
    with pytest.raises(PolicyError) as info:
        _with_url(url, config)
    assert info.value.message == f"download_url {url!r} is outside the store's URL policy"
    assert info.value.location == f"{F0}.download_url"
    assert f"https://github.com/actions/python-versions/releases/download/{V}-" in info.value.hint


def test_url_prefix_version_placeholder_must_match_the_entrys_version() -> None:
    config = StoreConfig(
        url_prefix="https://github.com/actions/python-versions/releases/download/{version}-"
    )
    url = f"https://github.com/actions/python-versions/releases/download/3.13.0-1/{NAME}"
    with pytest.raises(PolicyError) as info:
        _with_url(url, config)
    assert "outside the store's URL policy" in info.value.message


# --- versions, release fields ---------------------------------------------------------------------


@pytest.mark.parametrize("version", ["3.13", "v3.13.1", "3.13.01", "3.13.1-", "latest"])
def test_non_semver_release_version_is_refused(version: str) -> None:
    partial = Partial(
        releases=(Release(version=version, stable=True, release_url="", files=(make_file(V),)),)
    )
    with pytest.raises(PolicyError) as info:
        check_partial(partial, "x64", StoreConfig())
    assert info.value.message == (
        f"{version!r} is not a semantic version: expected MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]"
    )
    assert info.value.location == "$.releases[0].version"


def test_partial_version_hint_names_the_full_version() -> None:
    partial = Partial(
        releases=(Release(version="3.13", stable=True, release_url="", files=(make_file(V),)),)
    )
    with pytest.raises(PolicyError) as info:
        check_partial(partial, "x64", StoreConfig())
    assert info.value.hint.startswith("write '3.13.0'")


def test_non_semver_retraction_version_is_refused() -> None:
    _refused(
        Partial(retract=(Retraction(version="3.13"),)),
        "x64",
        "'3.13' is not a semantic version: expected MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]",
        "$.retract[0].version",
    )


def test_release_url_must_be_https_or_empty() -> None:
    _accepted(_one(make_file(V), release_url=""), "x64")
    _refused(
        _one(make_file(V), release_url="javascript:alert(1)"),
        "x64",
        "release_url must be an https URL or empty",
        "$.releases[0].release_url",
    )


def test_release_without_files_is_refused_with_a_hint_to_retract() -> None:
    error = _refused(
        Partial(releases=(make_release(V, []),)),
        "x64",
        "release 3.13.1 has no files",
        "$.releases[0].files",
    )
    assert error.hint == "to remove files, use retract"


@pytest.mark.parametrize("sha", ["ABC", "0" * 63, "G" * 64, "A" * 64])
def test_sha256_must_be_64_lowercase_hex_digits(sha: str) -> None:
    file = msgspec.structs.replace(make_file(V), sha256=sha)
    _refused(_one(file), "x64", "sha256 must be 64 lowercase hex digits", f"{F0}.sha256")


def test_size_must_not_be_negative() -> None:
    _accepted(_one(msgspec.structs.replace(make_file(V), sha256="a" * 64, size=0)), "x64")
    _refused(
        _one(msgspec.structs.replace(make_file(V), size=-1)),
        "x64",
        "size must not be negative",
        f"{F0}.size",
    )


# --- duplicates and contradictions ------------------------------------------------------------------


def test_duplicate_entry_is_refused_at_its_second_occurrence() -> None:
    files: Sequence[File] = (make_file(V, "x64", "darwin", UNSET), make_file(V), make_file(V))
    _refused(
        Partial(releases=(make_release(V, files),)),
        "x64",
        "duplicate entry 'python-3.13.1-linux-24.04-x64.tar.gz' in release 3.13.1",
        "$.releases[0].files[2]",
    )


def test_duplicate_release_is_refused_naming_both_places() -> None:
    partial = Partial(
        releases=(
            make_release(V, [make_file(V)]),
            make_release("3.12.8", [make_file("3.12.8")]),
            make_release(V, [make_file(V, "x64", "darwin", UNSET)]),
        )
    )
    _refused(
        partial, "x64", "release 3.13.1 appears twice (also at $.releases[0])", "$.releases[2]"
    )


def test_retracting_and_publishing_the_same_entry_is_refused() -> None:
    file = make_file(V)
    error = _refused(
        Partial(releases=(make_release(V, [file]),), retract=(retract(V, file.filename),)),
        "x64",
        f"{file.filename!r} is both retracted and published",
        "$.retract[0]",
    )
    assert "already replaces" in error.hint


def test_retracting_a_whole_release_and_publishing_into_it_is_refused() -> None:
    _refused(
        Partial(
            releases=(make_release(V, [make_file(V)]),), retract=(retract("3.12.0"), retract(V))
        ),
        "x64",
        "release 3.13.1 is both retracted and published",
        "$.retract[1]",
    )


def test_retracting_one_file_while_publishing_another_of_the_release_is_accepted() -> None:
    partial = Partial(
        releases=(make_release(V, [make_file(V)]),),
        retract=(retract(V, "python-3.13.1-linux-22.04-x64.tar.gz"),),
    )
    _accepted(partial, "x64")


@pytest.mark.parametrize("name", ["../x.tar.gz", "a/b.zip", "a\\b.zip", ".."])
def test_retracted_filename_must_be_a_plain_name(name: str) -> None:
    _refused(
        Partial(retract=(retract(V, name),)),
        "x64",
        f"retracted filename {name!r} contains a path separator or '..'",
        "$.retract[0].filename",
    )


def test_locations_follow_the_given_locator() -> None:
    partial = Partial(releases=(make_release(V, [make_file(V), make_file(V, "arm64")]),))
    with pytest.raises(PolicyError) as info:
        check_partial(partial, "x64", StoreConfig(), lambda r, f: f"$[{r}]<{f}>")
    assert info.value.location == "$[0]<1>.arch"


def test_retracted_filename_must_not_be_empty() -> None:
    error = _refused(
        Partial(retract=(retract(V, ""),)),
        "x64",
        "retracted filename is empty",
        "$.retract[0].filename",
    )
    assert "omit filename" in error.hint
