"""refold.manifests.config: the store's versioned config and the lane-to-arch mapping."""

from __future__ import annotations

import json

import pytest

from refold.manifests.config import StoreConfig, arches_for_lane, decode_config, encode_config
from refold.manifests.errors import PolicyError, RefoldError, SchemaError


def test_defaults_match_upstream_rendering() -> None:
    config = decode_config(b"{}")
    assert (config.indent, config.final_newline, config.manifest_path) == (
        2,
        True,
        "versions-manifest.json",
    )
    assert config == StoreConfig()


def test_config_round_trips_through_encode() -> None:
    config = StoreConfig(
        url_prefix="https://github.com/IBM/python-versions-pz/releases/download/{version}/",
        lane_arches={"pz": ["ppc64le", "s390x"]},
        required_lanes=["ppc64le", "s390x"],
        tools=["python"],
    )
    data = encode_config(config)
    assert data.endswith(b"}\n") and b'\n  "schema": 1,' in data
    assert decode_config(data) == config


def _refused(
    doc: dict[str, object], message: str, location: str, kind: type[RefoldError] = PolicyError
) -> None:
    with pytest.raises(kind) as info:
        decode_config(json.dumps(doc).encode())
    assert info.value.message == message
    assert info.value.location == location


def test_future_schema_is_refused_with_upgrade_hint() -> None:
    _refused(
        {"schema": 2},
        "config schema 2 is not supported (this refold reads 1)",
        ".refold/config.json: $.schema",
    )


def test_indent_out_of_range_is_refused() -> None:
    _refused({"indent": 9}, "indent 9 is out of range", ".refold/config.json: $.indent")


def test_url_prefix_must_be_https() -> None:
    _refused(
        {"url_prefix": "http://example.org/"},
        "url_prefix 'http://example.org/' is not an https URL",
        ".refold/config.json: $.url_prefix",
    )


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/etc/passwd",
        "../x.json",
        "a/../../x.json",
        ".refold/m.json",
        "./m.json",
        "a//m.json",
        "a\\m.json",
    ],
)
def test_manifest_path_must_be_a_plain_relative_path_outside_refold(path: str) -> None:
    _refused(
        {"manifest_path": path},
        f"manifest_path {path!r} must be a relative path outside .refold/",
        ".refold/config.json: $.manifest_path",
    )


def test_manifest_path_may_be_in_a_subfolder() -> None:
    assert decode_config(b'{"manifest_path": "dist/versions-manifest.json"}').manifest_path == (
        "dist/versions-manifest.json"
    )


def test_required_lanes_must_be_valid_lane_names() -> None:
    _refused(
        {"required_lanes": ["x64", "arm 64"]},
        "lane 'arm 64' contains ' '",
        ".refold/config.json: $.required_lanes[1]",
    )


def test_lane_arches_keys_must_be_valid_lanes_with_arches() -> None:
    _refused(
        {"lane_arches": {"a..b": ["x64"]}},
        "lane 'a..b' contains '..'",
        ".refold/config.json: $.lane_arches.a..b",
    )
    _refused(
        {"lane_arches": {"pz": []}},
        "lane 'pz' is mapped to no arches",
        ".refold/config.json: $.lane_arches.pz",
    )


def test_unknown_config_field_is_a_schema_error() -> None:
    _refused(
        {"indnet": 2}, "object contains unknown field indnet", ".refold/config.json: $", SchemaError
    )


def test_arches_for_lane_uses_full_name_then_first_component_then_the_arch_itself() -> None:
    config = StoreConfig(lane_arches={"pz": ["ppc64le", "s390x"], "x64/wide": ["x64", "x86"]})
    assert arches_for_lane(config, "pz") == {"ppc64le", "s390x"}
    assert arches_for_lane(config, "pz/linux-22.04") == {"ppc64le", "s390x"}
    assert arches_for_lane(config, "x64/wide") == {"x64", "x86"}
    assert arches_for_lane(config, "x64/linux-24.04") == {"x64"}
    assert arches_for_lane(config, "arm64-freethreaded") == {"arm64-freethreaded"}
