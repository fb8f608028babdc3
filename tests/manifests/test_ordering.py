"""refold.manifests.ordering: node-semver's parsing, precedence and range matching."""

from __future__ import annotations

import itertools
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refold.manifests.errors import PolicyError
from refold.manifests.ordering import (
    Version,
    is_valid_version,
    parse_version,
    satisfies,
    sort_descending,
    version_key,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
MAX_SAFE = 2**53 - 1


# --- Precedence ---------------------------------------------------------------------------

SEMVER_ORG_CHAIN = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
]

PYTHON_VERSIONS_HEAD = [
    "3.15.0-rc.1",
    "3.15.0-beta.4",
    "3.15.0-alpha.8",
    "3.14.7",
    "3.14.5-rc.1",
    "3.14.0",
    "3.14.0-rc.3",
    "3.14.0-alpha.0",
    "3.9.0",
]

# (lower, higher) pairs where a naive comparison (text, tuple of str, float) goes wrong.
LOWER_HIGHER = [
    pytest.param("1.0.0-2", "1.0.0-10", id="numeric-prerelease-compared-as-numbers"),
    pytest.param("1.0.0-a10", "1.0.0-a9", id="alphanumeric-compared-as-ascii"),
    pytest.param("1.0.0-999", "1.0.0-a", id="numeric-below-alphanumeric"),
    pytest.param("1.0.0-9", "1.0.0-0a", id="digit-led-alphanumeric-is-alphanumeric"),
    pytest.param("1.0.0-Z", "1.0.0-a", id="uppercase-before-lowercase"),
    pytest.param("1.0.0--", "1.0.0-0a", id="hyphen-sorts-before-digits-in-ascii"),
    pytest.param("1.0.0-alpha", "1.0.0-alpha.0", id="shorter-prerelease-is-lower"),
    pytest.param("1.0.0-rc.1", "1.0.0", id="release-above-its-prerelease"),
    pytest.param("1.0.0", "1.0.1-0", id="prerelease-of-next-patch-above-release"),
    pytest.param("1.9.0", "1.10.0", id="minor-compared-as-number"),
    pytest.param("9.0.0", "10.0.0", id="major-compared-as-number"),
    pytest.param("1.2.9", "1.2.10", id="patch-compared-as-number"),
    pytest.param("0.0.0-0", "0.0.0", id="lowest-prerelease"),
    pytest.param("3.14.7", "3.15.0-alpha.1", id="next-minor-prerelease-above-release"),
    pytest.param("1.0.0-beta.11", "1.0.0-beta.x", id="numeric-vs-alphanumeric-at-second-id"),
    pytest.param(f"{MAX_SAFE - 1}.0.0", f"{MAX_SAFE}.0.0", id="largest-safe-major"),
]


@pytest.mark.parametrize(("lower", "higher"), list(itertools.pairwise(SEMVER_ORG_CHAIN)))
def test_semver_org_precedence_chain_holds_pairwise(lower: str, higher: str) -> None:
    assert parse_version(lower) < parse_version(higher)
    assert parse_version(higher) > parse_version(lower)
    assert version_key(lower) < version_key(higher)


def test_sort_descending_reverses_the_semver_org_chain() -> None:
    shuffled = SEMVER_ORG_CHAIN[::2] + SEMVER_ORG_CHAIN[1::2]
    assert sort_descending(shuffled) == SEMVER_ORG_CHAIN[::-1]


def test_python_versions_prereleases_sort_above_the_previous_release() -> None:
    shuffled = sorted(PYTHON_VERSIONS_HEAD)
    assert sort_descending(shuffled) == PYTHON_VERSIONS_HEAD


@pytest.mark.parametrize(("lower", "higher"), LOWER_HIGHER)
def test_tricky_pairs_order_as_node_semver(lower: str, higher: str) -> None:
    low, high = parse_version(lower), parse_version(higher)
    assert low < high and low <= high and high > low and high >= low
    assert (low == high) is False and (low != high) is True
    assert sort_descending([lower, higher]) == [higher, lower]


def test_numeric_prerelease_identifiers_sort_below_alphanumeric() -> None:
    assert sort_descending(["1.0.0-1", "1.0.0-a", "1.0.0-99", "1.0.0-0a"]) == [
        "1.0.0-a",
        "1.0.0-0a",
        "1.0.0-99",
        "1.0.0-1",
    ]


def test_build_metadata_is_ignored_for_precedence() -> None:
    assert parse_version("1.0.0+build.1") == parse_version("1.0.0+build.2")
    assert parse_version("1.0.0+zzz") == parse_version("1.0.0")
    assert not parse_version("1.0.0+zzz") > parse_version("1.0.0+aaa")
    assert parse_version("1.0.0-rc.1+b") < parse_version("1.0.0+a")
    assert version_key("1.0.0-rc.1+x") == version_key("1.0.0-rc.1")


def test_versions_equal_in_precedence_hash_alike() -> None:
    assert hash(parse_version("1.0.0+a")) == hash(parse_version("1.0.0+b"))
    assert len({parse_version("2.0.0+a"), parse_version("2.0.0"), parse_version("2.0.0-0")}) == 2


def test_sort_descending_breaks_precedence_ties_by_text_descending_like_render() -> None:
    tied = ["1.0.0+b", "1.0.0", "1.0.0+a", "1.0.0+10", "1.0.0+9"]
    expected = ["2.0.0", "1.0.0+b", "1.0.0+a", "1.0.0+9", "1.0.0+10", "1.0.0", "0.1.0"]
    assert sort_descending([*tied, "0.1.0", "2.0.0"]) == expected
    assert sort_descending(reversed([*tied, "0.1.0", "2.0.0"])) == expected


def test_sort_descending_keeps_duplicates() -> None:
    assert sort_descending(["1.0.0", "2.0.0", "1.0.0"]) == ["2.0.0", "1.0.0", "1.0.0"]


def test_sort_descending_refuses_invalid_versions() -> None:
    with pytest.raises(PolicyError, match="'3.10' is not a semantic version"):
        sort_descending(["3.10.0", "3.10"])


def test_version_key_reverse_sort_is_node_semver_descending() -> None:
    versions = [*SEMVER_ORG_CHAIN, *PYTHON_VERSIONS_HEAD]
    assert sorted(versions, key=version_key, reverse=True) == sort_descending(versions)


def test_version_key_is_a_tuple_that_ranks_above_the_empty_tuple() -> None:
    # partial.py ranks unparseable versions with () so they sort last, never crash.
    key = version_key("0.0.0-0")
    assert isinstance(key, tuple)
    assert () < key


def test_versions_do_not_compare_with_other_types() -> None:
    text: object = "1.0.0"
    assert parse_version("1.0.0") != text
    with pytest.raises(TypeError):
        _ = parse_version("1.0.0") < text


# --- Parsing ------------------------------------------------------------------------------


def test_parse_version_splits_every_part() -> None:
    version = parse_version("3.15.0-alpha.8.0a.10+build.007.x-y")
    assert version == Version(3, 15, 0, ("alpha", 8, "0a", 10), ("build", "007", "x-y"))
    assert version.build == ("build", "007", "x-y")
    assert version.prerelease == ("alpha", 8, "0a", 10)
    assert isinstance(version.prerelease[1], int)


@pytest.mark.parametrize(
    "text",
    [
        "0.0.0",
        "1.2.3",
        "3.15.0-rc.1",
        "1.0.0-0",
        "1.0.0--",
        "1.0.0-0a",
        "1.0.0-x-y-z.--",
        "1.0.0+001",
        "1.0.0-alpha+001",
        "1.0.0+21AF26D3----117B344092BD",
        f"{MAX_SAFE}.{MAX_SAFE}.{MAX_SAFE}-{MAX_SAFE}",
        "1.0.0-" + "a" * 250,
    ],
)
def test_valid_versions_print_back_as_the_same_text(text: str) -> None:
    assert is_valid_version(text)
    assert str(parse_version(text)) == text


EXPECTED = "expected MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]"


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("3.10", f"'3.10' is not a semantic version: {EXPECTED}", "write '3.10.0'"),
        ("3", f"'3' is not a semantic version: {EXPECTED}", "write '3.0.0'"),
        ("v1.2.3", f"'v1.2.3' is not a semantic version: {EXPECTED}", "leading 'v'"),
        ("=1.2.3", f"'=1.2.3' is not a semantic version: {EXPECTED}", "leading '='"),
        (" 1.2.3", f"' 1.2.3' is not a semantic version: {EXPECTED}", "whitespace"),
        ("1.2.3\n", f"'1.2.3\\n' is not a semantic version: {EXPECTED}", "whitespace"),
        ("01.2.3", f"'01.2.3' is not a semantic version: {EXPECTED}", "leading zeros"),
        ("1.2.3-01", f"'1.2.3-01' is not a semantic version: {EXPECTED}", "leading zeros"),
        ("1.2.3-", f"'1.2.3-' is not a semantic version: {EXPECTED}", "must not be empty"),
        ("1.2.3-a..b", f"'1.2.3-a..b' is not a semantic version: {EXPECTED}", "empty"),
        ("1.2.3+", f"'1.2.3+' is not a semantic version: {EXPECTED}", "must not be empty"),
        ("1..3", f"'1..3' is not a semantic version: {EXPECTED}", "must not be empty"),
        ("1.2.3.4", f"'1.2.3.4' is not a semantic version: {EXPECTED}", "three dot-separated"),
        ("1.2.3-é", f"'1.2.3-é' is not a semantic version: {EXPECTED}", "[0-9A-Za-z-]"),
        ("1.2.x", f"'1.2.x' is not a semantic version: {EXPECTED}", "three dot-separated"),
        ("1.2.3+a+b", f"'1.2.3+a+b' is not a semantic version: {EXPECTED}", "build"),
        ("", f"'' is not a semantic version: {EXPECTED}", "the version is empty"),
        ("1.2.٣", f"'1.2.٣' is not a semantic version: {EXPECTED}", "three dot-separated"),
        (
            f"{MAX_SAFE + 1}.0.0",
            (
                f"'{MAX_SAFE + 1}.0.0' is not a semantic version: "
                f"major {MAX_SAFE + 1} is larger than {MAX_SAFE} (2**53 - 1)"
            ),
            "cannot represent",
        ),
        (
            f"1.2.{10**20}",
            (
                f"'1.2.{10**20}' is not a semantic version: "
                f"patch {10**20} is larger than {MAX_SAFE} (2**53 - 1)"
            ),
            "cannot represent",
        ),
        (
            f"1.2.3-{MAX_SAFE + 1}",
            (
                f"'1.2.3-{MAX_SAFE + 1}' is not a semantic version: "
                f"prerelease number {MAX_SAFE + 1} is larger than {MAX_SAFE} (2**53 - 1)"
            ),
            "cannot compare",
        ),
        (
            "1.0.0-" + "a" * 251,
            (
                f"{'1.0.0-' + 'a' * 42!r}... (257 characters) "
                "is not a semantic version: longer than 256 characters"
            ),
            "node-semver refuses",
        ),
    ],
)
def test_invalid_versions_are_rejected_with_a_specific_message(
    text: str, message: str, hint: str
) -> None:
    assert not is_valid_version(text)
    with pytest.raises(PolicyError) as caught:
        parse_version(text)
    assert caught.value.message == message
    assert hint in caught.value.hint


def test_rejection_names_the_location_it_was_given() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_version("3.10", location="$[4].version")
    assert caught.value.location == "$[4].version"
    assert str(caught.value).startswith("$[4].version: '3.10' is not a semantic version")
    # The cached parse must not leak one caller's location into another's error.
    with pytest.raises(PolicyError) as again:
        parse_version("3.10")
    assert again.value.location == ""


@pytest.mark.parametrize(
    "fields",
    [
        (-1, 0, 0, (), ()),
        (0, MAX_SAFE + 1, 0, (), ()),
        (0, 0, 0, ("01",), ()),
        (0, 0, 0, ("7",), ()),
        (0, 0, 0, ("",), ()),
        (0, 0, 0, ("a.b",), ()),
        (0, 0, 0, (-1,), ()),
        (0, 0, 0, (), ("",)),
        (0, 0, 0, (), ("a+b",)),
    ],
)
def test_version_refuses_fields_that_would_not_print_back(
    fields: tuple[int, int, int, tuple[str | int, ...], tuple[str, ...]],
) -> None:
    with pytest.raises(ValueError):
        Version(*fields)


def test_version_is_frozen() -> None:
    version = parse_version("1.2.3")
    with pytest.raises(AttributeError):
        version.major = 2  # type: ignore[misc]


# --- Ranges -------------------------------------------------------------------------------

# Every row was checked against node-semver 7.6.3's satisfies().
SATISFIES = [
    # exact and partial versions
    ("3.12.1", "3.12.1", False, True),
    ("3.12.1", "=3.12.1", False, True),
    ("3.12.1", "v3.12.1", False, True),
    ("3.12.1+build", "3.12.1", False, True),
    ("3.12.2", "3.12.1", False, False),
    ("3.12.7", "3.12", False, True),
    ("3.13.0", "3.12", False, False),
    ("3.12.7", "3.12.x", False, True),
    ("3.12.7", "3", False, True),
    ("4.0.0", "3.x", False, False),
    ("3.99.99", "3.X.*", False, True),
    ("0.0.0", "*", False, True),
    ("123.4.5", "x", False, True),
    ("1.2.3", "", False, True),
    # comparators
    ("3.10.0", ">=3.10", False, True),
    ("3.9.18", ">=3.10", False, False),
    ("3.12.9", "<=3.12", False, True),
    ("3.13.0", "<=3.12", False, False),
    ("3.13.0", ">3.12", False, True),
    ("3.12.9", ">3.12", False, False),
    ("3.11.9", "<3.12", False, True),
    ("3.12.0", "<3.12", False, False),
    ("3.11.4", ">= 3.10 < 3.12", False, True),
    ("3.12.0", ">=3.10 <3.12", False, False),
    ("1.0.0", "<0.0.0-0", False, False),
    # tilde
    ("3.12.5", "~3.12.1", False, True),
    ("3.12.0", "~3.12.1", False, False),
    ("3.13.0", "~3.12.1", False, False),
    ("3.9.0", "~3", False, True),
    ("0.2.9", "~0.2", False, True),
    ("1.2.4", "~> 1.2.3", False, True),
    # caret, including the 0.x and 0.0.x rules
    ("3.99.0", "^3.12", False, True),
    ("4.0.0", "^3.12", False, False),
    ("0.2.9", "^0.2.3", False, True),
    ("0.3.0", "^0.2.3", False, False),
    ("0.0.3", "^0.0.3", False, True),
    ("0.0.4", "^0.0.3", False, False),
    ("0.0.9", "^0.0", False, True),
    ("0.1.0", "^0.0", False, False),
    ("0.9.0", "^0", False, True),
    # hyphen ranges
    ("3.12.9", "3.10 - 3.12", False, True),
    ("3.13.0", "3.10 - 3.12", False, False),
    ("3.10.0", "3.10 - 3.12", False, True),
    ("3.9.9", "3.10 - 3.12", False, False),
    ("2.3.4", "1.2.3 - 2.3.4", False, True),
    ("2.3.5", "1.2.3 - 2.3.4", False, False),
    # || alternatives
    ("3.8.1", "3.8 || >=3.11", False, True),
    ("3.10.1", "3.8 || >=3.11", False, False),
    ("3.12.0", "3.8 || >=3.11", False, True),
    ("1.0.0", "<0.0.0-0 || 1", False, True),
    # prereleases: only when a comparator names a prerelease of the same tuple
    ("3.13.0-rc.1", "3.13", False, False),
    ("3.13.0-rc.1", "3.13", True, True),
    ("3.15.0-alpha.1", "3.x", False, False),
    ("3.15.0-alpha.1", "*", False, False),
    ("3.15.0-alpha.1", "*", True, True),
    ("3.13.0-rc.1", ">=3.13.0-alpha.0", False, True),
    ("3.14.0-rc.1", ">=3.13.0-alpha.0", False, False),
    ("3.14.0-rc.1", ">=3.13.0-alpha.0", True, True),
    ("1.2.3-pr.2", "^1.2.3-pr.1", False, True),
    ("1.2.4-alpha", "^1.2.3-pr.1", False, False),
    ("1.2.3-alpha", "^1.2.3-pr.1", False, False),
    ("1.2.3-rc.1", "~1.2.3-beta.2", False, True),
    ("3.13.0-beta.4", "3.13.0-beta.1 - 3.13.0-rc.1", False, True),
    ("3.13.0", "3.13.0-beta.1 - 3.13.0-rc.1", False, False),
    ("1.0.0-0", ">=1.0.0-0 <1.0.0", False, True),
    # include_prerelease widens x-ranges, 0.x carets and hyphens to -0, but not ^1.2.3
    ("1.2.0-0", "1.2.x", True, True),
    ("0.2.3-alpha", "^0.2.3", True, True),
    ("1.2.3-alpha", "^1.2.3", True, False),
    ("2.3.5-0", "1.2.3 - 2.3.4", True, False),
    ("2.3.4-rc.1", "1.2.3 - 2.3.4", True, True),
]


@pytest.mark.parametrize(("version", "spec", "include_prerelease", "expected"), SATISFIES)
def test_satisfies_matches_node_semver(
    version: str, spec: str, include_prerelease: bool, expected: bool
) -> None:
    assert satisfies(version, spec, include_prerelease=include_prerelease) is expected


@pytest.mark.parametrize(
    "spec", [">=foo", "3.10 -", "1.2.3.4", "==1.2.3", "> = 1", "01.2", "~>", "1.2.3 - 2 - 3"]
)
def test_satisfies_rejects_an_invalid_spec_naming_it(spec: str) -> None:
    with pytest.raises(PolicyError) as caught:
        satisfies("1.2.3", spec)
    assert caught.value.message.startswith(f"{spec!r} is not a valid version range: ")
    assert "||" in caught.value.hint


def test_satisfies_rejects_an_invalid_version() -> None:
    with pytest.raises(PolicyError, match="'3.12' is not a semantic version"):
        satisfies("3.12", "3.x")


# --- Properties ---------------------------------------------------------------------------

numbers = st.one_of(st.integers(0, 12), st.integers(0, MAX_SAFE))
alphanumeric = st.from_regex(r"[0-9]{0,3}[a-zA-Z-][a-zA-Z0-9-]{0,6}", fullmatch=True)
versions = st.builds(
    Version,
    numbers,
    numbers,
    numbers,
    st.lists(st.one_of(numbers, alphanumeric), max_size=4).map(tuple),
    st.lists(st.from_regex(r"[a-zA-Z0-9-]{1,6}", fullmatch=True), max_size=3).map(tuple),
)
# Few distinct values, so that ties and shared prefixes are common.
close_versions = st.builds(
    Version,
    st.integers(0, 2),
    st.integers(0, 2),
    st.integers(0, 2),
    st.lists(st.sampled_from([0, 1, 10, "a", "b", "a1", "-"]), max_size=3).map(tuple),
    st.lists(st.sampled_from(["x", "1", "01"]), max_size=1).map(tuple),
)
any_versions = st.one_of(versions, close_versions)


def _node_compare(a: Version, b: Version) -> int:
    """node-semver's SemVer.compare, transcribed independently of the module's tuple keys."""

    def ident(x: str | int, y: str | int) -> int:
        xn, yn = isinstance(x, int), isinstance(y, int)
        if xn and not yn:
            return -1
        if yn and not xn:
            return 1
        return (x > y) - (x < y)  # type: ignore[operator]

    for left, right in zip((a.major, a.minor, a.patch), (b.major, b.minor, b.patch)):
        if left != right:
            return ident(left, right)
    if a.prerelease and not b.prerelease:
        return -1
    if b.prerelease and not a.prerelease:
        return 1
    for x, y in itertools.zip_longest(a.prerelease, b.prerelease):
        if x is None and y is None:
            return 0
        if y is None:
            return 1
        if x is None:
            return -1
        if x != y:
            return ident(x, y)
    return 0


@given(any_versions)
def test_parse_round_trips_str(version: Version) -> None:
    parsed = parse_version(str(version))
    assert parsed == version
    assert (parsed.prerelease, parsed.build) == (version.prerelease, version.build)
    assert str(parsed) == str(version)


@given(any_versions, any_versions)
def test_comparisons_agree_with_node_semver_compare(a: Version, b: Version) -> None:
    expected = _node_compare(a, b)
    assert (a < b, a == b, a > b) == (expected < 0, expected == 0, expected > 0)
    assert (a <= b, a >= b, a != b) == (expected <= 0, expected >= 0, expected != 0)
    assert (version_key(str(a)) < version_key(str(b))) == (expected < 0)


@given(any_versions, any_versions, any_versions)
def test_ordering_is_a_total_preorder(a: Version, b: Version, c: Version) -> None:
    assert a <= b or b <= a
    if a <= b <= a:
        assert a == b and hash(a) == hash(b)
    if a <= b <= c:
        assert a <= c
    if a < b < c:
        assert a < c


@given(st.lists(any_versions.map(str), max_size=30), st.randoms(use_true_random=False))
def test_sort_descending_is_independent_of_input_order(
    texts: list[str], rng: random.Random
) -> None:
    shuffled = texts[:]
    rng.shuffle(shuffled)
    result = sort_descending(texts)
    assert result == sort_descending(shuffled)
    assert sorted(result) == sorted(texts)
    for newer, older in itertools.pairwise(result):
        assert parse_version(newer) >= parse_version(older)
        if parse_version(newer) == parse_version(older):
            assert newer >= older


# --- Conformance with published manifests and with node-semver itself -------------------


@pytest.mark.parametrize("name", ["python-versions", "node-versions", "go-versions"])
def test_published_manifests_are_in_sort_descending_order(name: str) -> None:
    path = DATA / name / "versions-manifest.json"
    if not path.is_file():
        pytest.skip(f"{path} is absent (shared data is optional)")
    published = [release["version"] for release in json.loads(path.read_text("utf-8"))]
    assert len(published) > 100
    assert sort_descending(published) == published


_ORACLE = """
const semver = require(process.argv[1])
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'))
const sat = input.cases.map(([v, r, ip]) => {
  try { new semver.Range(r, { includePrerelease: ip }) } catch (e) { return null }
  return semver.satisfies(v, r, { includePrerelease: ip })
})
process.stdout.write(JSON.stringify({ rsort: semver.rsort(input.versions.slice()), sat }))
"""

_PRERELEASES = ["alpha", "beta.2", "beta.11", "rc.1", "0", "1", "10", "a10", "a9", "0a", "-"]
_SPECIALS = ["*", "x", "", ">=0.0.0", "<0.0.0-0", "3.10 -", ">=foo", "==1.2.3", "1.x.3"]


def _generate(rng: random.Random) -> tuple[list[str], list[tuple[str, str, bool]]]:
    def num() -> str:
        return str(rng.choice([0, 0, 1, 2, 3, 10]))

    def version(build: bool) -> str:
        text = f"{num()}.{num()}.{num()}"
        if rng.random() < 0.4:
            text += "-" + rng.choice(_PRERELEASES)
        if build and rng.random() < 0.15:
            text += "+" + rng.choice(["b1", "001", "sha.abc"])
        return text

    def partial() -> str:
        ids = [rng.choice([num(), num(), "x", "*"]) for _ in range(rng.choice([1, 2, 3, 3]))]
        text = ".".join(ids)
        if len(ids) == 3 and rng.random() < 0.3:
            text += "-" + rng.choice(_PRERELEASES)
        return text

    def conjunction() -> str:
        roll = rng.random()
        if roll < 0.15:
            return f"{partial()} - {partial()}"
        if roll < 0.2:
            return rng.choice(_SPECIALS)
        ops = ["", "=", ">", ">=", "<", "<=", "~", "^", "~>", ">= "]
        return " ".join(rng.choice(ops) + partial() for _ in range(rng.choice([1, 1, 2, 3])))

    def spec() -> str:
        return " || ".join(conjunction() for _ in range(rng.choice([1, 1, 2, 3])))

    sortable = [version(build=rng.random() < 0.5) for _ in range(300)]
    cases = [(version(build=True), spec(), rng.random() < 0.25) for _ in range(400)]
    return sortable, cases


@pytest.mark.skipif(not (shutil.which("node") and shutil.which("npm")), reason="needs node/npm")
def test_node_semver_agrees_on_generated_cases(tmp_path: Path) -> None:
    try:
        subprocess.run(
            ["npm", "install", "--prefix", str(tmp_path), "--no-audit", "--no-fund", "--silent"]
            + ["semver@7.6.3"],
            check=True,
            capture_output=True,
            timeout=15,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        pytest.skip(f"cannot install semver@7.6.3 from npm: {exc}")
    sortable, cases = _generate(random.Random(1234))
    result = subprocess.run(
        ["node", "-e", _ORACLE, str(tmp_path / "node_modules" / "semver")],
        input=json.dumps({"versions": sortable, "cases": cases}),
        capture_output=True,
        text=True,
        check=True,
        timeout=15,
    )
    node = json.loads(result.stdout)

    # node's rsort breaks precedence ties by build metadata, ours by text: compare keys.
    assert [version_key(v) for v in sort_descending(sortable)] == [
        version_key(v) for v in node["rsort"]
    ]
    without_build = [v for v in sortable if "+" not in v]
    assert sort_descending(without_build) == [v for v in node["rsort"] if "+" not in v]

    disagreements = []
    for (version, spec, include_prerelease), expected in zip(cases, node["sat"]):
        try:
            ours: bool | None = satisfies(version, spec, include_prerelease=include_prerelease)
        except PolicyError:
            ours = None  # node's Range constructor threw: an invalid spec
        if ours != expected:
            disagreements.append((version, spec, include_prerelease, ours, expected))
    assert disagreements == []
    assert sum(expected is True for expected in node["sat"]) > 50
    assert sum(expected is None for expected in node["sat"]) > 5
