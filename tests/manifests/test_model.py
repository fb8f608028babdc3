"""refold.manifests.model: strict decoding of the versions-manifest format, absent vs null."""

from __future__ import annotations

import json

import msgspec
import pytest
from msgspec import UNSET

from refold.manifests.config import StoreConfig
from refold.manifests.errors import SchemaError
from refold.manifests.model import File, Manifest, Release, decode_manifest, encode_json
from refold.manifests.render import render_manifest

from ._data import shared_data
from .fixtures import ARCHES, render


def _as_json(manifest_bytes: bytes) -> list[dict[str, object]]:
    value = json.loads(manifest_bytes)
    assert isinstance(value, list)
    return value


# --- the generated fixture ------------------------------------------------------------------


def test_generated_manifest_is_shaped_like_python_versions(generated: Manifest) -> None:
    files = [f for r in generated for f in r.files]
    assert 240 <= len(generated) <= 270
    assert 2000 <= len(files) <= 2400
    assert {f.arch for f in files} == set(ARCHES)
    assert {(f.platform, f.platform_version) for f in files} == {
        ("darwin", UNSET),
        ("win32", UNSET),
        ("linux", "22.04"),
        ("linux", "24.04"),
    }
    prereleases = [r.version for r in generated if "-" in r.version]
    assert any("-alpha." in v for v in prereleases)
    assert any("-beta." in v for v in prereleases)
    assert any("-rc." in v for v in prereleases)
    assert all(r.stable is ("-" not in r.version) for r in generated)


def test_decode_then_render_reproduces_generated_manifest_byte_for_byte(
    generated_bytes: bytes,
) -> None:
    assert render_manifest(decode_manifest(generated_bytes), StoreConfig()) == generated_bytes


@pytest.mark.parametrize("name", ["python-versions", "node-versions", "go-versions"])
def test_decode_then_render_reproduces_real_manifest_byte_for_byte(name: str) -> None:
    data = (shared_data() / name / "versions-manifest.json").read_bytes()
    assert render_manifest(decode_manifest(data), StoreConfig()) == data


def test_real_python_manifest_keeps_platform_version_absent_on_darwin_and_win32() -> None:
    data = (shared_data() / "python-versions" / "versions-manifest.json").read_bytes()
    files = [f for r in decode_manifest(data) for f in r.files]
    assert all(f.platform_version is UNSET for f in files if f.platform in ("darwin", "win32"))
    assert all(isinstance(f.platform_version, str) for f in files if f.platform == "linux")


def test_real_node_manifest_keeps_lts_codenames_and_absences() -> None:
    data = (shared_data() / "node-versions" / "versions-manifest.json").read_bytes()
    manifest = decode_manifest(data)
    raw = _as_json(data)
    assert [r.lts for r in manifest] == [entry.get("lts", UNSET) for entry in raw]
    assert any(r.lts is UNSET for r in manifest)
    assert any(isinstance(r.lts, str) for r in manifest)


# --- absent is not null ---------------------------------------------------------------------


def _one_release(file_fields: dict[str, object], **release_fields: object) -> bytes:
    file = {
        "filename": "python-3.13.1-linux-24.04-x64.tar.gz",
        "arch": "x64",
        "platform": "linux",
        **file_fields,
        "download_url": "https://example.org/python-3.13.1-linux-24.04-x64.tar.gz",
    }
    release = {
        "version": "3.13.1",
        "stable": True,
        **release_fields,
        "release_url": "",
        "files": [file],
    }
    return render([release])


def test_absent_platform_version_decodes_as_unset_and_renders_absent() -> None:
    data = _one_release({})
    manifest = decode_manifest(data)
    assert manifest[0].files[0].platform_version is UNSET
    rendered = render_manifest(manifest, StoreConfig())
    assert rendered == data
    assert b"platform_version" not in rendered


def test_null_platform_version_decodes_as_none_and_renders_null() -> None:
    data = _one_release({"platform_version": None})
    manifest = decode_manifest(data)
    assert manifest[0].files[0].platform_version is None
    rendered = render_manifest(manifest, StoreConfig())
    assert rendered == data
    assert b'"platform_version": null' in rendered


@pytest.mark.parametrize("lts", ["Jod", False, True])
def test_lts_value_round_trips_in_its_key_position(lts: object) -> None:
    data = _one_release({}, lts=lts)
    manifest = decode_manifest(data)
    assert manifest[0].lts == lts
    assert render_manifest(manifest, StoreConfig()) == data


def test_optional_sha256_and_size_render_after_download_url() -> None:
    file = File(
        filename="python-3.13.1-win32-x64.zip",
        arch="x64",
        platform="win32",
        download_url="https://example.org/python-3.13.1-win32-x64.zip",
        sha256="0" * 64,
        size=123,
    )
    release = Release(version="3.13.1", stable=True, release_url="", files=(file,))
    keys = list(json.loads(render_manifest((release,), StoreConfig()))[0]["files"][0])
    assert keys == ["filename", "arch", "platform", "download_url", "sha256", "size"]


# --- errors name the place ------------------------------------------------------------------


def _mutated(generated_bytes: bytes, release: int, file: int, key: str, value: object) -> bytes:
    raw = _as_json(generated_bytes)
    files = raw[release]["files"]
    assert isinstance(files, list)
    files[file][key] = value
    return render(raw)


def test_wrong_type_error_names_exact_json_path(generated_bytes: bytes) -> None:
    data = _mutated(generated_bytes, 12, 3, "arch", 64)
    with pytest.raises(SchemaError) as info:
        decode_manifest(data)
    assert info.value.message == "expected str, got int"
    assert info.value.location == "$[12].files[3].arch"
    assert str(info.value) == "$[12].files[3].arch: expected str, got int"


def test_wrong_type_error_puts_the_file_before_the_path(generated_bytes: bytes) -> None:
    data = _mutated(generated_bytes, 12, 3, "arch", 64)
    with pytest.raises(SchemaError) as info:
        decode_manifest(data, location="versions-manifest.json")
    assert info.value.location == "versions-manifest.json: $[12].files[3].arch"


def test_unknown_file_field_error_names_field_and_path(generated_bytes: bytes) -> None:
    data = _mutated(generated_bytes, 7, 1, "checksum", "abc")
    with pytest.raises(SchemaError) as info:
        decode_manifest(data)
    assert info.value.kind == "schema"
    assert info.value.message == "object contains unknown field checksum"
    assert info.value.location == "$[7].files[1]"


def test_unknown_release_field_error_names_field_and_path() -> None:
    data = _one_release({}, date="2024-01-01")
    with pytest.raises(SchemaError) as info:
        decode_manifest(data)
    assert (info.value.message, info.value.location) == (
        "object contains unknown field date",
        "$[0]",
    )


def test_missing_field_error_names_field_and_path(generated_bytes: bytes) -> None:
    raw = _as_json(generated_bytes)
    files = raw[2]["files"]
    assert isinstance(files, list)
    del files[0]["download_url"]
    with pytest.raises(SchemaError) as info:
        decode_manifest(render(raw))
    assert info.value.message == "object missing required field download_url"
    assert info.value.location == "$[2].files[0]"


def test_null_stable_is_a_type_error_not_false() -> None:
    data = render([{"version": "3.13.1", "stable": None, "release_url": "", "files": []}])
    with pytest.raises(SchemaError) as info:
        decode_manifest(data)
    assert (info.value.message, info.value.location) == ("expected bool, got null", "$[0].stable")


def test_malformed_manifest_error_keeps_json_capitalised_and_hints_at_encoding() -> None:
    with pytest.raises(SchemaError) as info:
        decode_manifest(b"\xef\xbb\xbf[]")
    assert info.value.message.startswith("JSON is malformed")
    assert "byte-order mark" in info.value.hint


def test_truncated_manifest_is_a_schema_error() -> None:
    with pytest.raises(SchemaError) as info:
        decode_manifest(b'[{"version": "3.13.1"')
    assert info.value.message == "input data was truncated"


def test_manifest_must_be_an_array() -> None:
    with pytest.raises(SchemaError) as info:
        decode_manifest(b'{"releases": []}')
    assert (info.value.message, info.value.location) == ("expected array, got object", "$")


# --- encode_json ----------------------------------------------------------------------------


@pytest.mark.parametrize("indent", [0, 1, 2, 4])
@pytest.mark.parametrize("final_newline", [True, False])
def test_encode_json_matches_json_stringify_layout(indent: int, final_newline: bool) -> None:
    value = [{"a": [1, {"b": None}], "c": "x", "d": []}]
    expected = (
        json.dumps(value, indent=indent) if indent else json.dumps(value, separators=(",", ":"))
    )
    expected += "\n" if final_newline else ""
    assert encode_json(value, indent=indent, final_newline=final_newline) == expected.encode()


def test_structs_are_frozen() -> None:
    release = Release(version="3.13.1", stable=True, release_url="", files=())
    with pytest.raises(AttributeError):
        release.stable = False  # type: ignore[misc]
    assert msgspec.structs.replace(release, stable=False).stable is False
