"""refold.manifests.lanes: lane names git and refold both accept, and refs that would clash."""

from __future__ import annotations

import pytest

from refold.manifests.errors import PolicyError
from refold.manifests.lanes import IMPORT_LANE, check_lane, clashing_lane, lane_from_ref, lane_ref


@pytest.mark.parametrize(
    "lane",
    [
        "x64",
        "arm64-freethreaded",
        "ppc64le",
        "x64/linux-24.04",
        "s390x/rhel_9",
        "pz+1",
        "_x",
        "A.b",
    ],
)
def test_valid_lane_names_are_accepted(lane: str) -> None:
    assert check_lane(lane) == lane
    assert lane_ref(lane) == f"refs/partials/{lane}"
    assert lane_from_ref(lane_ref(lane)) == lane


@pytest.mark.parametrize(
    ("lane", "problem"),
    [
        ("", "has an empty component"),
        ("x64/", "has an empty component"),
        ("/x64", "has an empty component"),
        ("x64..y", "contains '..'"),
        ("x64@{1}", "contains '@{'"),
        ("x64.lock", "ends with '.lock'"),
        ("x64/linux.lock", "ends with '.lock'"),
        ("x64.", "ends with '.'"),
        (".x64", "starts with '.'"),
        ("x64\tlinux", "contains a control character"),
        ("x64\x7f", "contains a control character"),
        ("x64 linux", "contains ' '"),
        ("x64:y", "contains ':'"),
        ("x64~1", "contains '~'"),
        ("x6*", "contains '*'"),
        ("arm\u00e9", "contains '\u00e9'"),
        ("-x64", "has a component starting with '-'; start with a letter, digit or '_'"),
        ("x64/-q", "has a component starting with '-'; start with a letter, digit or '_'"),
    ],
)
def test_invalid_lane_names_are_refused_with_the_reason(lane: str, problem: str) -> None:
    with pytest.raises(PolicyError) as info:
        check_lane(lane, location="--lane")
    assert info.value.message == f"lane {lane!r} {problem}"
    assert info.value.location == "--lane"
    assert "x64/linux-24.04" in info.value.hint


def test_lane_with_three_components_is_refused() -> None:
    with pytest.raises(PolicyError) as info:
        check_lane("x64/linux/24.04")
    assert info.value.message == "lane 'x64/linux/24.04' has 3 components; at most arch/qualifier"
    assert info.value.location == "lane"


def test_import_owner_is_never_a_valid_lane() -> None:
    with pytest.raises(PolicyError):
        check_lane(IMPORT_LANE)


def test_lane_ref_refuses_invalid_names() -> None:
    with pytest.raises(PolicyError):
        lane_ref("x64/../../heads/main")


def test_lane_from_ref_ignores_other_refs() -> None:
    assert lane_from_ref("refs/heads/main") is None
    assert lane_from_ref("refs/partials/x64/linux-24.04") == "x64/linux-24.04"


def test_clashing_lane_finds_a_lane_that_is_a_ref_prefix() -> None:
    assert clashing_lane("x64/linux-24.04", ["arm64", "x64"]) == "x64"
    assert clashing_lane("x64", {"arm64", "x64/linux-24.04"}) == "x64/linux-24.04"


def test_clashing_lane_allows_siblings_and_itself() -> None:
    assert clashing_lane("x64", ["x64", "x64-freethreaded", "x86"]) is None
    assert clashing_lane("x64/linux-24.04", ["x64/linux-22.04", "x64-freethreaded/linux"]) is None


def test_clashing_lane_answer_does_not_depend_on_listing_order() -> None:
    existing = ["x64/linux-24.04", "x64/linux-22.04", "x64/darwin"]
    assert clashing_lane("x64", existing) == clashing_lane("x64", list(reversed(existing)))
    assert clashing_lane("x64", set(existing)) == "x64/darwin"
