"""refold.manifests.partial (and strictjson): three input shapes, one canonical partial."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import msgspec
import pytest

from refold.manifests.config import StoreConfig
from refold.manifests.errors import PolicyError, RefoldError, SchemaError
from refold.manifests.partial import (
    MAX_PARTIAL_BYTES,
    Partial,
    Provenance,
    canonical_partial,
    decode_partial,
    decode_stored_partial,
    encode_partial,
    partial_versions,
)
from refold.manifests.strictjson import parse_strict_json
from refold.manifests.validate import check_decoded

from ._data import shared_data
from .fixtures import lane_partial, render, retract

VERSIONS = ("3.14.0-rc.1", "3.13.1")


def _releases(lane: str = "x64") -> list[dict[str, Any]]:
    partial = lane_partial(lane, VERSIONS)
    return [msgspec.to_builtins(r) for r in partial.releases]


def _flat(releases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in r.items() if k != "files"} | file for r in releases for file in r["files"]
    ]


def _expect(
    data: bytes, message: str, location: str = "", kind: type[RefoldError] = SchemaError
) -> Any:
    with pytest.raises(kind) as info:
        decode_partial(data, location="p.json")
    assert info.value.message == message
    assert info.value.location == ("p.json: " + location if location else "p.json")
    return info.value


# --- three shapes, one partial ---------------------------------------------------------------


def test_three_input_shapes_normalise_to_the_same_canonical_bytes() -> None:
    releases = _releases()
    canonical = decode_partial(render({"releases": releases}))
    manifest = decode_partial(render(releases))
    flat = decode_partial(render(_flat(releases)))
    assert (canonical.shape, manifest.shape, flat.shape) == ("partial", "manifest", "flat")
    assert canonical.partial == manifest.partial == flat.partial
    assert encode_partial(canonical.partial) == encode_partial(manifest.partial)
    assert encode_partial(manifest.partial) == encode_partial(flat.partial)


def test_flat_entries_group_by_version_in_first_seen_order_and_derive_stable() -> None:
    entries = _flat(_releases())
    for entry in entries:
        del entry["stable"]
    random.Random(3).shuffle(entries)
    partial = decode_partial(render(entries)).partial
    assert [r.version for r in partial.releases] == list(
        dict.fromkeys(e["version"] for e in entries)
    )
    assert {r.version: r.stable for r in partial.releases} == {"3.14.0-rc.1": False, "3.13.1": True}
    assert encode_partial(partial) == encode_partial(lane_partial("x64", VERSIONS))


def test_flat_entries_default_release_url_to_empty() -> None:
    entries = _flat(_releases())
    for entry in entries:
        del entry["release_url"]
    partial = decode_partial(render(entries)).partial
    assert {r.release_url for r in partial.releases} == {""}


def test_flat_entries_of_one_release_must_agree_on_release_fields() -> None:
    entries = _flat(_releases())
    assert entries[0]["version"] == entries[2]["version"]
    entries[2]["stable"] = not entries[0]["stable"]
    error = _expect(
        render(entries),
        "entries of release 3.14.0-rc.1 disagree on stable: false at $[0], true here",
        "$[2].stable",
        PolicyError,
    )
    assert "same stable" in error.hint


def test_flat_locations_point_at_the_input_entry() -> None:
    entries = _flat(_releases())
    entries[5]["arch"] = "arm64"
    decoded = decode_partial(render(entries), location="p.json")
    r, f = next(
        (r, f)
        for r, rel in enumerate(decoded.partial.releases)
        for f, file in enumerate(rel.files)
        if file.arch == "arm64"
    )
    assert decoded.locate(r, f) == "$[5]"
    with pytest.raises(PolicyError) as info:
        check_decoded(decoded, "x64", StoreConfig())
    assert info.value.location.startswith("$[5].")


def test_manifest_shape_locations_point_at_the_input_file() -> None:
    releases = _releases()
    decoded = decode_partial(render(releases))
    assert decoded.locate(1, 2) == "$[1].files[2]"
    assert decoded.locate(1, None) == "$[1]"


def _pz_files() -> list[Path]:
    folder = shared_data() / "python-versions-pz" / "versions-manifests"
    return [folder / n for n in ("3.10.0-ppc64le.json", "3.13.1-s390x.json", "3.14.3-ppc64le.json")]


def test_python_versions_pz_partials_normalise_like_the_other_shapes() -> None:
    for path in _pz_files():
        data = path.read_bytes()
        releases = json.loads(data)
        manifest = decode_partial(data)
        assert manifest.shape == "manifest"
        canonical = decode_partial(render({"releases": releases}))
        flat = decode_partial(render(_flat(releases)))
        assert encode_partial(manifest.partial) == encode_partial(canonical.partial)
        assert encode_partial(manifest.partial) == encode_partial(flat.partial)
        lane = path.stem.rsplit("-", 1)[1]
        config = StoreConfig(
            url_prefix="https://github.com/IBM/python-versions-pz/releases/download/{version}/"
        )
        check_decoded(manifest, lane, config)


def test_python_versions_pz_alpha_partials_are_refused_for_their_misparsed_fields() -> None:
    path = shared_data() / "python-versions-pz" / "versions-manifests" / "3.15.0-alpha.1-22.04.json"
    decoded = decode_partial(path.read_bytes())
    with pytest.raises(PolicyError) as info:
        check_decoded(decoded, "s390x", StoreConfig())
    assert info.value.location == "$[0].files[0].filename"
    assert info.value.message == (
        "filename 'python-3.15.0-alpha.1-linux-22.04-s390x.tar.gz' says platform 'linux'"
        " but the entry says 'alpha.1'"
    )


# --- canonical encoding ----------------------------------------------------------------------


def test_encode_partial_is_the_same_for_the_same_content_in_any_order() -> None:
    base = lane_partial(
        "arm64",
        ("3.13.1", "3.14.0-rc.1", "3.12.8"),
        retractions=[
            retract("3.11.1"),
            retract("3.12.0", "python-3.12.0-win32-arm64.zip"),
            retract("3.12.0"),
        ],
        run="42",
    )
    expected = encode_partial(base)
    rng = random.Random(7)
    for _ in range(5):
        releases = [
            msgspec.structs.replace(r, files=tuple(rng.sample(r.files, len(r.files))))
            for r in base.releases
        ]
        rng.shuffle(releases)
        shuffled = msgspec.structs.replace(
            base,
            releases=tuple(releases),
            retract=tuple(rng.sample(base.retract, len(base.retract))),
        )
        assert encode_partial(shuffled) == expected


def test_encode_partial_puts_releases_newest_first_and_files_by_name() -> None:
    partial = canonical_partial(lane_partial("x64", ("3.9.1", "3.15.0-alpha.2", "3.13.0")))
    assert [r.version for r in partial.releases] == ["3.15.0-alpha.2", "3.13.0", "3.9.1"]
    for release in partial.releases:
        names = [f.filename for f in release.files]
        assert names == sorted(names)


def test_encode_partial_renders_two_space_json_with_final_newline() -> None:
    data = encode_partial(lane_partial("x64", ("3.13.1",), with_lane=True, run="7"))
    assert data.endswith(b"}\n")
    assert data.startswith(b'{\n  "lane": "x64",\n  "releases": [')
    assert json.loads(data)["provenance"] == {"run_id": "7"}


def test_stored_partial_round_trips_through_encode() -> None:
    partial = canonical_partial(
        lane_partial("x64", VERSIONS, retractions=[retract("3.12.0")], with_lane=True, run="9")
    )
    assert decode_stored_partial(encode_partial(partial)) == partial
    assert encode_partial(decode_stored_partial(encode_partial(partial))) == encode_partial(partial)


def test_stored_partial_accepts_only_the_canonical_shape() -> None:
    with pytest.raises(SchemaError) as info:
        decode_stored_partial(render(_releases()), location="lane x64")
    assert info.value.location == "lane x64: $"
    assert info.value.message == "expected object, got array"


def test_partial_versions_lists_releases_then_retractions_once_each() -> None:
    partial = lane_partial(
        "x64", ("3.13.1", "3.12.0"), retractions=[retract("3.12.0", "x"), retract("3.11.0")]
    )
    assert partial_versions(partial) == ["3.13.1", "3.12.0", "3.11.0"]


def test_canonical_object_accepts_retractions_and_provenance() -> None:
    data = render(
        {
            "lane": "x64",
            "retract": [{"version": "3.13.1", "filename": "python-3.13.1-win32-x64.zip"}],
            "provenance": {"run_id": "1", "source_commit": "abc", "builder": "gha"},
        }
    )
    partial = decode_partial(data).partial
    assert partial == Partial(
        lane="x64",
        retract=(retract("3.13.1", "python-3.13.1-win32-x64.zip"),),
        provenance=Provenance(run_id="1", source_commit="abc", builder="gha"),
    )


# --- refused input, each with its place ------------------------------------------------------


def test_truncated_json_is_reported_with_line_and_column() -> None:
    data = b'{\n  "releases": [\n    {"version": "3.13.1", "sta'
    error = _expect(data, "malformed JSON: Unterminated string starting at", "line 3 column 27")
    assert "truncated" in error.hint


def test_truncated_real_sized_partial_is_reported_on_its_last_line() -> None:
    data = render({"releases": _releases()})
    cut = data[: data.rindex(b"}", 0, -3)]
    with pytest.raises(SchemaError) as info:
        decode_partial(cut)
    assert info.value.message.startswith("malformed JSON: ")
    lines = len(cut.splitlines())
    assert info.value.location.startswith(f"line {lines} column ")


def test_malformed_json_is_reported_with_line_and_column() -> None:
    _expect(
        b'{\n  "releases": [\n    1,,\n  ]\n}', "malformed JSON: Expecting value", "line 3 column 7"
    )


def test_trailing_garbage_is_malformed_json() -> None:
    _expect(b"{}\n{}", "malformed JSON: Extra data", "line 2 column 1")


def test_byte_order_mark_is_refused_with_a_hint() -> None:
    error = _expect(
        b"\xef\xbb\xbf" + render({"releases": []}), "partial starts with a UTF-8 byte-order mark"
    )
    assert "utf8NoBOM" in error.hint


def test_non_utf8_input_is_refused_with_the_byte_offset() -> None:
    data = '{"releases": [], "provenance": {"builder": "Jürgen"}}'.encode("latin-1")
    _expect(data, f"partial is not valid UTF-8 (byte {data.index(bytes([0xFC]))})")


def test_utf16_input_is_refused_as_not_utf8() -> None:
    _expect('{"releases": []}'.encode("utf-16"), "partial is not valid UTF-8 (byte 0)")


@pytest.mark.parametrize("data", [b"", b"  \n\t "])
def test_empty_input_is_refused(data: bytes) -> None:
    _expect(data, "partial is empty")


def test_empty_array_is_refused() -> None:
    error = _expect(b"[]", "partial is an empty array")
    assert "at least one release or retraction" in error.hint


@pytest.mark.parametrize(
    ("data", "name"),
    [(b"null", "null"), (b'"x"', "string"), (b"3", "number"), (b"true", "boolean")],
)
def test_scalar_document_is_refused_naming_its_json_type(data: bytes, name: str) -> None:
    _expect(data, f"partial must be a JSON object or array, not {name}")


def test_duplicate_key_is_refused_at_its_json_path() -> None:
    text = render({"releases": _releases()}).decode()
    text = text.replace('"arch": "x64",', '"arch": "x64", "arch": "arm64",', 2)
    error = _expect(
        text.encode(), "duplicate key 'arch' in a JSON object", "$.releases[0].files[0].arch"
    )
    assert "disagree on which copy wins" in error.hint


def test_duplicate_top_level_key_is_refused() -> None:
    _expect(b'{"lane": "x64", "lane": "arm64"}', "duplicate key 'lane' in a JSON object", "$.lane")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_at_their_json_path(constant: str) -> None:
    releases = _releases()
    text = render({"releases": releases}).decode()
    first = releases[0]["files"][0]["download_url"]
    text = text.replace(
        f'"download_url": "{first}"', f'"download_url": "{first}", "size": {constant}', 1
    )
    _expect(text.encode(), f"{constant} is not valid JSON", "$.releases[0].files[0].size")


def test_integer_beyond_javascript_precision_is_refused() -> None:
    _expect(
        b'{"releases": [], "retract": [], "x": [9007199254740993]}',
        "integer 9007199254740993 is outside JavaScript's safe range (2**53 - 1)",
        "$.x[0]",
    )


def test_integer_with_thousands_of_digits_is_refused_not_crashed() -> None:
    error = _expect(
        b'{"x": ' + b"1" * 5000 + b"}",
        "integer 11111111111111111111... (5000 digits) is outside JavaScript's safe range (2**53 - 1)",
        "$.x",
    )
    assert error.kind == "schema"


def test_unpaired_surrogate_is_refused_before_it_can_break_encoding() -> None:
    _expect(
        b'{"retract": [{"version": "3.13.1"}], "provenance": {"run_id": "\\ud800"}}',
        "string contains an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)",
        "$.provenance.run_id",
    )


def test_paired_surrogate_escape_is_accepted() -> None:
    partial = decode_partial(
        b'{"retract": [{"version": "3.13.1"}], "provenance": {"builder": "\\ud83d\\ude00"}}'
    ).partial
    assert partial.provenance.builder == "\N{GRINNING FACE}"
    assert "\N{GRINNING FACE}".encode() in encode_partial(partial)


def test_files_as_an_object_is_refused_with_a_hint_about_arrays() -> None:
    releases = _releases()
    releases[1]["files"] = releases[1]["files"][0]
    for data, where in (
        (render(releases), "$[1].files"),
        (render({"releases": releases}), "$.releases[1].files"),
    ):
        error = _expect(data, "expected array, got object", where)
        assert "'files' must be an array even with one file" in error.hint


def test_unknown_field_is_refused_naming_field_and_path() -> None:
    releases = _releases()
    releases[0]["files"][1]["checksum"] = "abc"
    _expect(render(releases), "object contains unknown field checksum", "$[0].files[1]")
    _expect(render({"releases": [], "note": "x"}), "object contains unknown field note", "$")


def test_unknown_flat_field_is_refused_naming_the_entry() -> None:
    entries = _flat(_releases())
    entries[3]["sbom"] = "x.json"
    _expect(render(entries), "object contains unknown field sbom", "$[3]")


def test_wrong_type_is_refused_at_its_path() -> None:
    releases = _releases()
    releases[0]["files"][2]["arch"] = 64
    _expect(render({"releases": releases}), "expected str, got int", "$.releases[0].files[2].arch")


def test_oversize_partial_is_refused_before_parsing() -> None:
    data = b"[" + b" " * MAX_PARTIAL_BYTES + b"]"
    error = _expect(
        data, f"partial is {len(data):,} bytes, over the {MAX_PARTIAL_BYTES:,}-byte limit"
    )
    assert "far smaller" in error.hint


def test_partial_at_the_size_limit_is_parsed() -> None:
    body = render({"releases": _releases()})
    data = body[:-2] + b" " * (MAX_PARTIAL_BYTES - len(body)) + body[-2:]
    assert len(data) == MAX_PARTIAL_BYTES
    assert decode_partial(data).partial == decode_partial(body).partial


def test_deeply_nested_input_is_refused() -> None:
    _expect(b"[" * 100_000 + b"]" * 100_000, "partial is nested too deeply")


def test_strict_json_parser_names_what_it_parses() -> None:
    with pytest.raises(SchemaError) as info:
        parse_strict_json(b"", what="manifest", limit=10)
    assert (info.value.message, info.value.location) == ("manifest is empty", "")


def test_strict_json_parser_keeps_ordinary_documents_intact() -> None:
    value = {"a": [1, -2, 3.5, None, True, "\u00e9"], "b": {"c": 9007199254740991}}
    assert parse_strict_json(json.dumps(value).encode(), what="x", limit=1000) == value
