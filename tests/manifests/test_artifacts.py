from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refold.manifests.artifacts import (
    ARCHES,
    EXTENSIONS,
    PLATFORMS,
    VARIANTS,
    Artifact,
    check_entry_agrees,
    expected_filename,
    is_release_artifact,
    parse_artifact,
)
from refold.manifests.errors import PolicyError

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# (filename, tool, version, platform, platform_version, arch, ext), all taken from the
# published manifests of actions/python-versions, node-versions, go-versions and
# IBM/python-versions-pz.
# fmt: off
REAL_NAMES: list[tuple[str, str, str, str, str | None, str, str]] = [
    ("python-3.13.1-linux-22.04-ppc64le.tar.gz", "python", "3.13.1", "linux", "22.04", "ppc64le", "tar.gz"),
    ("python-3.12.8-linux-22.04-s390x.tar.gz", "python", "3.12.8", "linux", "22.04", "s390x", "tar.gz"),
    ("python-3.15.0-alpha.1-linux-24.04-s390x.tar.gz", "python", "3.15.0-alpha.1", "linux", "24.04", "s390x", "tar.gz"),
    ("python-3.15.0-alpha.5-darwin-arm64-freethreaded.tar.gz", "python", "3.15.0-alpha.5", "darwin", None, "arm64-freethreaded", "tar.gz"),
    ("python-3.15.0-alpha.5-win32-x64-freethreaded.zip", "python", "3.15.0-alpha.5", "win32", None, "x64-freethreaded", "zip"),
    ("python-3.15.0-alpha.2-linux-24.04-x64-freethreaded.tar.gz", "python", "3.15.0-alpha.2", "linux", "24.04", "x64-freethreaded", "tar.gz"),
    ("python-3.15.0-beta.3-win32-x64.zip", "python", "3.15.0-beta.3", "win32", None, "x64", "zip"),
    ("python-3.15.0-beta.4-rhel-9-x64-freethreaded.tar.gz", "python", "3.15.0-beta.4", "rhel", "9", "x64-freethreaded", "tar.gz"),
    ("python-3.15.0-rc.1-rhel-10-x64.tar.gz", "python", "3.15.0-rc.1", "rhel", "10", "x64", "tar.gz"),
    ("python-3.15.0-rc.1-linux-26.04-arm64-freethreaded.tar.gz", "python", "3.15.0-rc.1", "linux", "26.04", "arm64-freethreaded", "tar.gz"),
    ("python-3.15.0-rc.1-win32-x86-freethreaded.zip", "python", "3.15.0-rc.1", "win32", None, "x86-freethreaded", "zip"),
    ("python-3.14.0-beta.3-linux-24.04-arm64-freethreaded.tar.gz", "python", "3.14.0-beta.3", "linux", "24.04", "arm64-freethreaded", "tar.gz"),
    ("python-3.14.7-rhel-10-x64-freethreaded.tar.gz", "python", "3.14.7", "rhel", "10", "x64-freethreaded", "tar.gz"),
    ("python-3.14.7-win32-arm64.zip", "python", "3.14.7", "win32", None, "arm64", "zip"),
    ("python-3.14.7-darwin-x64.tar.gz", "python", "3.14.7", "darwin", None, "x64", "tar.gz"),
    ("python-3.13.13-linux-24.04-arm64.tar.gz", "python", "3.13.13", "linux", "24.04", "arm64", "tar.gz"),
    ("python-3.13.3-win32-x86-freethreaded.zip", "python", "3.13.3", "win32", None, "x86-freethreaded", "zip"),
    ("python-3.13.0-alpha.5-darwin-x64.tar.gz", "python", "3.13.0-alpha.5", "darwin", None, "x64", "tar.gz"),
    ("python-3.12.4-win32-x86.zip", "python", "3.12.4", "win32", None, "x86", "zip"),
    ("python-3.10.0-rc.2-darwin-x64.tar.gz", "python", "3.10.0-rc.2", "darwin", None, "x64", "tar.gz"),
    ("python-3.10.0-beta.3-linux-16.04-x64.tar.gz", "python", "3.10.0-beta.3", "linux", "16.04", "x64", "tar.gz"),
    ("python-3.10.0-alpha.4-linux-20.04-x64.tar.gz", "python", "3.10.0-alpha.4", "linux", "20.04", "x64", "tar.gz"),
    ("python-3.9.12-darwin-x64.tar.gz", "python", "3.9.12", "darwin", None, "x64", "tar.gz"),
    ("python-3.8.0-linux-18.04-x64.tar.gz", "python", "3.8.0", "linux", "18.04", "x64", "tar.gz"),
    ("node-22.0.0-win32-x64.7z", "node", "22.0.0", "win32", None, "x64", "7z"),
    ("node-24.18.0-win32-arm64.7z", "node", "24.18.0", "win32", None, "arm64", "7z"),
    ("node-24.18.0-linux-arm64.tar.gz", "node", "24.18.0", "linux", None, "arm64", "tar.gz"),
    ("node-26.4.0-darwin-arm64.tar.gz", "node", "26.4.0", "darwin", None, "arm64", "tar.gz"),
    ("node-14.6.0-win32-x64.7z", "node", "14.6.0", "win32", None, "x64", "7z"),
    ("node-8.9.4-darwin-x64.tar.gz", "node", "8.9.4", "darwin", None, "x64", "tar.gz"),
    ("node-6.17.1-linux-x64.tar.gz", "node", "6.17.1", "linux", None, "x64", "tar.gz"),
    ("go-1.22.0-linux-arm64.tar.gz", "go", "1.22.0", "linux", None, "arm64", "tar.gz"),
    ("go-1.27.0-darwin-arm64.tar.gz", "go", "1.27.0", "darwin", None, "arm64", "tar.gz"),
    ("go-1.26.2-win32-arm64.zip", "go", "1.26.2", "win32", None, "arm64", "zip"),
    ("go-1.20.13-linux-x64.tar.gz", "go", "1.20.13", "linux", None, "x64", "tar.gz"),
    ("go-1.12.11-win32-x64.zip", "go", "1.12.11", "win32", None, "x64", "zip"),
]
# fmt: on


@pytest.mark.parametrize(
    ("filename", "tool", "version", "platform", "platform_version", "arch", "ext"),
    REAL_NAMES,
    ids=[row[0] for row in REAL_NAMES],
)
def test_real_release_filename_parses_into_its_fields(
    filename: str,
    tool: str,
    version: str,
    platform: str,
    platform_version: str | None,
    arch: str,
    ext: str,
) -> None:
    assert parse_artifact(filename) == Artifact(
        tool=tool,
        version=version,
        platform=platform,
        platform_version=platform_version,
        arch=arch,
        ext=ext,
    )
    assert is_release_artifact(filename)


@pytest.mark.parametrize("row", REAL_NAMES, ids=[row[0] for row in REAL_NAMES])
def test_expected_filename_rebuilds_each_real_name(
    row: tuple[str, str, str, str, str | None, str, str],
) -> None:
    filename, fields = row[0], row[1:]
    assert expected_filename(*fields) == filename
    assert parse_artifact(expected_filename(*fields)) == Artifact(*fields)


def test_prerelease_version_with_dash_parses_whole() -> None:
    artifact = parse_artifact("python-3.15.0-alpha.5-linux-22.04-ppc64le.tar.gz")
    assert artifact.version == "3.15.0-alpha.5"
    assert (artifact.platform, artifact.platform_version) == ("linux", "22.04")


def test_freethreaded_variant_stays_part_of_arch() -> None:
    assert parse_artifact("python-3.13.1-win32-x86-freethreaded.zip").arch == "x86-freethreaded"


def test_debug_variant_stays_part_of_arch() -> None:
    assert parse_artifact("python-3.13.1-linux-22.04-x64-debug.tar.gz").arch == "x64-debug"


def test_missing_platform_version_is_none_not_empty() -> None:
    assert parse_artifact("node-22.0.0-darwin-arm64.tar.gz").platform_version is None


def test_prerelease_containing_platform_words_anchors_on_the_last_platform() -> None:
    artifact = parse_artifact("tool-1.0.0-linux-9-win32-x64.zip")
    assert (artifact.version, artifact.platform, artifact.platform_version) == (
        "1.0.0-linux-9",
        "win32",
        None,
    )


def test_prerelease_containing_platform_word_before_platform_version_parses() -> None:
    artifact = parse_artifact("tool-1.0.0-rc.linux-linux-22.04-arm64.tar.gz")
    assert artifact == Artifact("tool", "1.0.0-rc.linux", "linux", "22.04", "arm64", "tar.gz")


def test_go_386_arch_is_not_taken_for_a_platform_version() -> None:
    assert parse_artifact("go-1.22.0-linux-386.tar.gz") == Artifact(
        "go", "1.22.0", "linux", None, "386", "tar.gz"
    )
    assert parse_artifact("go-1.22.0-linux-10-386.tar.gz").platform_version == "10"


def test_longest_arch_wins_over_its_prefix() -> None:
    assert parse_artifact("tool-1.0.0-linux-ppc64le.tgz").arch == "ppc64le"
    assert parse_artifact("tool-1.0.0-linux-arm.tar.xz").arch == "arm"


def test_build_metadata_is_part_of_the_version() -> None:
    assert parse_artifact("tool-1.0.0-rc.1+build.5-windows-amd64.msi").version == (
        "1.0.0-rc.1+build.5"
    )


def test_dashed_tool_name_splits_at_the_first_numeric_version() -> None:
    artifact = parse_artifact("graalpy-community-24.1.0-macos-aarch64.pkg")
    assert (artifact.tool, artifact.version) == ("graalpy-community", "24.1.0")


# (filename, fragment of the message): every one refused, in the documented order.
REFUSED: list[tuple[str, str]] = [
    ("", "filename is empty"),
    ("dist/python-3.13.1-linux-22.04-x64.tar.gz", "contains a path separator"),
    ("dist\\python-3.13.1-win32-x64.zip", "contains a path separator"),
    ("../python-3.13.1-linux-x64.sbom.json", "contains a path separator"),
    ("..", "is a relative path component"),
    (".python-3.13.1-linux-x64.tar.gz", "starts with '.'"),
    ("python-3.13.1-linux-x64.tar.gz\n", "contains a control character (U+000A)"),
    ("python-3.13.1-linux-\u202ex64.tar.gz", "contains a control character (U+202E)"),
    ("python 3.13.1-linux-x64.tar.gz", "contains whitespace"),
    ("sbom (1).json", "contains whitespace"),
    ("python-3.13.1-linux-x64.tar.gz\u00a0", "contains whitespace"),
    ("python-3.13.1-linux-x64.sbom.json", "is an SBOM, not a release artifact"),
    ("python-3.13.1-linux-x64.spdx.json", "is an SBOM"),
    ("bom.cdx.json", "is an SBOM"),
    ("sbom-python-3.13.1-linux-x64.tar.gz", "is an SBOM"),
    ("trivy-python-3.13.1-linux-x64.json", "is a vulnerability scan report"),
    ("grype-report.txt", "is a vulnerability scan report"),
    ("python-3.13.1.sarif", "is a vulnerability scan report"),
    ("build-ppc64le.log", "is a build log"),
    ("python-3.13.1-linux-x64.tar.gz.sha256", "is a checksum file"),
    ("python-3.13.1-linux-x64.tar.gz.sha512", "is a checksum file"),
    ("python-3.13.1-linux-x64.tar.gz.md5", "is a checksum file"),
    ("SHA256SUMS", "is a checksum file"),
    ("python-3.13.1-linux-x64.tar.gz.sig", "is a signature or attestation"),
    ("python-3.13.1-linux-x64.tar.gz.asc", "is a signature or attestation"),
    ("junit.xml", "is a test or gate result"),
    ("gate-ppc64le.json", "is a test or gate result"),
    ("pytest-results.json", "is a test or gate result"),
    ("versions-manifest.json", "is a JSON document"),
    ("release-notes.txt", "is a text file"),
    ("README.md", "is a Markdown document"),
    ("python-3.13.1-linux-x64.tar.gz#1", "contains '#'"),
    ("python-3.13.1-linux-x64.rar", "unknown extension '.rar'"),
    ("python-3.13.1-linux-x64.tar.bz2", "unknown extension '.tar.bz2'"),
    ("python-3.13.1-linux-x64", "has no extension"),
    ("python-3.13.1-linux-mips.tar.gz", "unknown arch 'mips'"),
    ("python-3.13.1-linux-mips-freethreaded.zip", "unknown arch 'mips' before variant"),
    ("python-3.13.1-linux-x64-nogil.tar.gz", "unknown arch variant 'nogil' after 'x64'"),
    ("python-3.13.1-plan9-x64.tar.gz", "no known platform before arch 'x64'"),
    ("python-3.13.1-Linux-x64.tar.gz", "no known platform before arch 'x64'"),
    ("python-3.13.1-linux-jammy-x64.tar.gz", "'jammy' between platform 'linux' and arch 'x64'"),
    ("python-linux-x64.tar.gz", "no version between the tool name and platform 'linux'"),
    ("Python-3.13.1-linux-x64.tar.gz", "tool name 'Python'"),
    ("python-3.13-linux-x64.tar.gz", "version '3.13', which is not semver"),
    ("python-3.13.01-linux-x64.tar.gz", "version '3.13.01', which is not semver"),
]


@pytest.mark.parametrize(("filename", "fragment"), REFUSED, ids=[repr(r[0]) for r in REFUSED])
def test_non_release_or_malformed_filename_is_refused_naming_why(
    filename: str, fragment: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_artifact(filename, location="partial.json: $.files[3]")
    assert fragment in caught.value.message
    assert caught.value.location == "partial.json: $.files[3]"
    assert caught.value.hint
    assert caught.value.kind == "policy"
    assert not is_release_artifact(filename)


def test_sbom_refusal_names_the_file_and_says_where_sboms_belong() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_artifact("python-3.13.1-linux-x64.sbom.json")
    assert caught.value.message == (
        "'python-3.13.1-linux-x64.sbom.json' is an SBOM, not a release artifact"
    )
    assert caught.value.hint == (
        "publish SBOMs and scan reports as release assets, not manifest entries"
    )


def test_scan_report_refusal_shares_the_sbom_hint() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_artifact("trivy-results.json")
    assert (
        caught.value.message
        == "'trivy-results.json' is a vulnerability scan report, not a release artifact"
    )
    assert caught.value.hint == (
        "publish SBOMs and scan reports as release assets, not manifest entries"
    )


def test_tool_named_like_a_scanner_is_refused_even_as_an_archive() -> None:
    # The non-release rules come first by design: a manifest never ships trivy itself.
    with pytest.raises(PolicyError, match="is a vulnerability scan report"):
        parse_artifact("trivy-0.50.0-linux-x64.tar.gz")


def test_unknown_arch_message_names_the_filename() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_artifact("python-3.13.1-linux-22.04-sparc.tar.gz")
    assert caught.value.message.startswith(
        "filename 'python-3.13.1-linux-22.04-sparc.tar.gz' has unknown arch 'sparc'"
    )


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        (("Python", "3.13.1", "linux", None, "x64", "tar.gz"), "tool 'Python'"),
        (("python", "3.13", "linux", None, "x64", "tar.gz"), "version '3.13'"),
        (("python", "3.13.1", "plan9", None, "x64", "tar.gz"), "platform 'plan9'"),
        (("python", "3.13.1", "linux", "jammy", "x64", "tar.gz"), "platform_version 'jammy'"),
        (("python", "3.13.1", "linux", "", "x64", "tar.gz"), "platform_version ''"),
        (("python", "3.13.1", "linux", None, "mips", "tar.gz"), "arch 'mips'"),
        (("python", "3.13.1", "linux", None, "x64-nogil", "tar.gz"), "arch 'x64-nogil'"),
        (("python", "3.13.1", "linux", None, "x64", ".tar.gz"), "ext '.tar.gz'"),
    ],
)
def test_expected_filename_refuses_a_component_that_would_not_round_trip(
    fields: tuple[str, str, str, str | None, str, str], fragment: str
) -> None:
    with pytest.raises(PolicyError, match="cannot build a release filename") as caught:
        expected_filename(*fields)
    assert fragment in caught.value.message


NAME = "python-3.13.1-linux-22.04-x64.tar.gz"
AGREEING: dict[str, Any] = {
    "version": "3.13.1",
    "platform": "linux",
    "platform_version": "22.04",
    "arch": "x64",
}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"version": "3.13.2"},
            f"filename '{NAME}' says version '3.13.1' but the entry says '3.13.2'",
        ),
        (
            {"platform": "darwin"},
            f"filename '{NAME}' says platform 'linux' but the entry says 'darwin'",
        ),
        (
            {"platform_version": "24.04"},
            f"filename '{NAME}' says platform_version '22.04' but the entry says '24.04'",
        ),
        (
            {"platform_version": None},
            f"filename '{NAME}' says platform_version '22.04' but the entry has none",
        ),
        (
            {"arch": "arm64"},
            f"filename '{NAME}' says arch 'x64' but the entry says 'arm64'",
        ),
        (
            {"arch": "x64-freethreaded"},
            f"filename '{NAME}' says arch 'x64' but the entry says 'x64-freethreaded'",
        ),
        (
            {"version": "3.0.0", "platform": "darwin", "platform_version": None, "arch": "arm64"},
            f"filename '{NAME}' says version '3.13.1' but the entry says '3.0.0'",
        ),
    ],
    ids=[
        "version",
        "platform",
        "platform_version",
        "platform_version-absent-in-entry",
        "arch",
        "arch-variant",
        "first-disagreement-wins",
    ],
)
def test_entry_disagreeing_with_its_filename_names_the_first_field(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        check_entry_agrees(NAME, location="$[0].files[2]", **{**AGREEING, **overrides})
    assert caught.value.message == message
    assert caught.value.location == "$[0].files[2]"
    assert "entry's fields" in caught.value.hint


def test_entry_agreeing_with_its_filename_returns_the_parsed_artifact() -> None:
    assert check_entry_agrees(NAME, **AGREEING) == parse_artifact(NAME)


def test_filename_without_platform_version_disagrees_with_entry_that_has_one() -> None:
    with pytest.raises(PolicyError) as caught:
        check_entry_agrees(
            "python-3.12.4-win32-x86.zip",
            version="3.12.4",
            platform="win32",
            platform_version="22.04",
            arch="x86",
        )
    assert caught.value.message == (
        "filename 'python-3.12.4-win32-x86.zip' has no platform_version but the entry says '22.04'"
    )


def test_entry_without_platform_version_agrees_with_filename_without_one() -> None:
    artifact = check_entry_agrees(
        "python-3.15.0-alpha.5-darwin-arm64-freethreaded.tar.gz",
        version="3.15.0-alpha.5",
        platform="darwin",
        platform_version=None,
        arch="arm64-freethreaded",
    )
    assert artifact == parse_artifact("python-3.15.0-alpha.5-darwin-arm64-freethreaded.tar.gz")


def test_naively_split_prerelease_entry_is_caught_at_its_platform() -> None:
    # Exactly what IBM/python-versions-pz published for 3.15.0-alpha.1: the fields shifted
    # by one because the version was split on '-'.
    with pytest.raises(PolicyError) as caught:
        check_entry_agrees(
            "python-3.15.0-alpha.1-linux-22.04-s390x.tar.gz",
            version="3.15.0-alpha.1",
            platform="alpha.1",
            platform_version="linux",
            arch="22.04",
        )
    assert caught.value.message == (
        "filename 'python-3.15.0-alpha.1-linux-22.04-s390x.tar.gz' says platform 'linux'"
        " but the entry says 'alpha.1'"
    )


def test_entry_version_containing_platform_word_agrees() -> None:
    artifact = check_entry_agrees(
        "tool-1.0.0-rc-linux-linux-x64.tar.gz",
        version="1.0.0-rc-linux",
        platform="linux",
        platform_version=None,
        arch="x64",
    )
    assert artifact.version == "1.0.0-rc-linux"


def test_entry_version_shorter_than_the_filename_version_disagrees() -> None:
    with pytest.raises(PolicyError) as caught:
        check_entry_agrees(
            "tool-1.0.0-linux-linux-x64.tar.gz",
            version="1.0.0",
            platform="linux",
            platform_version=None,
            arch="x64",
        )
    assert caught.value.message == (
        "filename 'tool-1.0.0-linux-linux-x64.tar.gz' says version '1.0.0-linux'"
        " but the entry says '1.0.0'"
    )


def test_entry_check_refuses_non_release_file_before_comparing_fields() -> None:
    with pytest.raises(PolicyError, match="is an SBOM, not a release artifact"):
        check_entry_agrees(
            "python-3.13.1-linux-x64.sbom.json",
            version="3.13.1",
            platform="linux",
            platform_version=None,
            arch="x64",
        )


def test_entry_check_reports_unparseable_filename_as_parse_failure() -> None:
    with pytest.raises(PolicyError, match="unknown arch 'mips'"):
        check_entry_agrees(
            "python-3.13.1-linux-mips.tar.gz",
            version="3.13.1",
            platform="linux",
            platform_version=None,
            arch="mips",
        )


# --- property: expected_filename and parse_artifact are inverses -------------------------

_TRICKY_IDENTIFIERS = [
    "alpha", "beta", "rc", "linux", "darwin", "win32", "rhel-9", "linux-22", "x64",
    "arm64-freethreaded", "386", "freethreaded", "debug", "tar", "zip", "7z", "-", "0",
]  # fmt: skip
_identifier = st.one_of(
    st.integers(0, 999).map(str),
    st.sampled_from(_TRICKY_IDENTIFIERS),
    st.from_regex(r"[0-9]{0,2}[A-Za-z-][0-9A-Za-z-]{0,6}", fullmatch=True),
)
_core = st.tuples(st.integers(0, 99), st.integers(0, 99), st.integers(0, 999)).map(
    lambda parts: ".".join(map(str, parts))
)
_prerelease = st.lists(_identifier, min_size=1, max_size=4).map(lambda ids: "-" + ".".join(ids))
_build = st.lists(st.from_regex(r"[0-9A-Za-z-]{1,6}", fullmatch=True), min_size=1, max_size=2).map(
    lambda ids: "+" + ".".join(ids)
)
_version = st.builds(
    lambda core, pre, build: core + pre + build,
    _core,
    st.one_of(st.just(""), _prerelease),
    st.one_of(st.just(""), _build),
)
# A tool named like a scanner or a checksum list is refused by name, before parsing
# (see test_tool_named_like_a_scanner_is_refused_even_as_an_archive).
_REFUSED_PREFIXES = ("sbom", "trivy-", "grype-", "gate-", "junit", "sha256sums", "sha512sums",
                     "shasums", "md5sums", "checksums")  # fmt: skip
_tool = st.one_of(
    st.sampled_from(["python", "node", "go"]),
    st.from_regex(r"[a-z][a-z0-9_]{0,8}(-[a-z][a-z0-9_]{0,5})?", fullmatch=True).filter(
        lambda tool: not (tool + "-").startswith(_REFUSED_PREFIXES)
    ),
)
_platform_version = st.one_of(
    st.none(), st.lists(st.integers(0, 99).map(str), min_size=1, max_size=3).map(".".join)
)
_arch = st.builds(
    lambda arch, variant: arch + variant,
    st.sampled_from(ARCHES),
    st.one_of(st.just(""), st.sampled_from(VARIANTS).map(lambda v: "-" + v)),
)


@settings(max_examples=300)
@given(
    tool=_tool,
    version=_version,
    platform=st.sampled_from(PLATFORMS),
    platform_version=_platform_version,
    arch=_arch,
    ext=st.sampled_from(EXTENSIONS),
)
def test_parse_inverts_expected_filename_for_any_valid_components(
    tool: str, version: str, platform: str, platform_version: str | None, arch: str, ext: str
) -> None:
    components = Artifact(tool, version, platform, platform_version, arch, ext)
    filename = expected_filename(tool, version, platform, platform_version, arch, ext)
    assert parse_artifact(filename) == components
    assert is_release_artifact(filename)
    assert (
        check_entry_agrees(
            filename,
            version=version,
            platform=platform,
            platform_version=platform_version,
            arch=arch,
        )
        == components
    )


# --- conformance: every file in the real manifests --------------------------------------

UPSTREAM = ["python-versions", "node-versions", "go-versions"]


def _data() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"real manifests not present at {DATA}")
    return DATA


def _files(manifest: Path) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(location, release version, file entry) for every file of a versions-manifest."""
    releases = json.loads(manifest.read_bytes())
    for r, release in enumerate(releases):
        for f, entry in enumerate(release["files"]):
            yield f"{manifest.name}: $[{r}].files[{f}]", release["version"], entry


def _disagreements(manifest: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for location, version, entry in _files(manifest):
        try:
            artifact = check_entry_agrees(
                entry["filename"],
                version=version,
                platform=entry["platform"],
                platform_version=entry.get("platform_version"),
                arch=entry["arch"],
                location=location,
            )
        except PolicyError as exc:
            found[entry["filename"]] = exc.message
        else:
            assert expected_filename(*msgspec.structs.astuple(artifact)) == entry["filename"]
    return found


@pytest.mark.parametrize("name", UPSTREAM)
def test_every_file_of_an_upstream_manifest_parses_and_agrees_with_its_entry(name: str) -> None:
    manifest = _data() / name / "versions-manifest.json"
    assert sum(1 for _ in _files(manifest)) > 100
    assert _disagreements(manifest) == {}


def _partials() -> list[Path]:
    partials = sorted((_data() / "python-versions-pz" / "versions-manifests").glob("*.json"))
    assert len(partials) == 140
    return partials


def test_every_file_of_the_python_versions_pz_partials_parses() -> None:
    for partial in _partials():
        for location, version, entry in _files(partial):
            artifact = parse_artifact(entry["filename"], location=location)
            assert artifact.version == version
            assert artifact.arch in ("ppc64le", "s390x")


def test_python_versions_pz_partials_agree_except_their_naively_split_prereleases() -> None:
    # Upstream's 3.15.0 alpha partials were written by splitting the filename on '-', so
    # platform, platform_version and arch each hold the field to their left.
    expected = {
        f"python-3.15.0-alpha.{n}-linux-{distro}-{arch}.tar.gz": (
            f"filename 'python-3.15.0-alpha.{n}-linux-{distro}-{arch}.tar.gz' says platform"
            f" 'linux' but the entry says 'alpha.{n}'"
        )
        for n in range(1, 6)
        for distro in ("22.04", "24.04")
        for arch in ("ppc64le", "s390x")
    }
    found: dict[str, str] = {}
    for partial in _partials():
        found.update(_disagreements(partial))
    assert found == expected
