"""refold.manifests.imports: adopting an existing manifest, checked like any other input."""

from __future__ import annotations

import json

import pytest

from refold.manifests.config import StoreConfig
from refold.manifests.errors import PolicyError, SchemaError
from refold.manifests.imports import validate_import
from refold.manifests.model import decode_manifest

from ._data import shared_data
from .fixtures import render


def test_generated_manifest_imports_unchanged(generated_bytes: bytes) -> None:
    config = StoreConfig(
        url_prefix="https://github.com/actions/python-versions/releases/download/{version}-"
    )
    assert validate_import(generated_bytes, config) == decode_manifest(generated_bytes)


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("python-versions", "https://github.com/actions/python-versions/releases/download/"),
        ("node-versions", "https://github.com/actions/node-versions/releases/download/"),
        ("go-versions", "https://github.com/actions/go-versions/releases/download/"),
    ],
)
def test_real_manifests_import_under_their_url_policy(name: str, prefix: str) -> None:
    data = (shared_data() / name / "versions-manifest.json").read_bytes()
    manifest = validate_import(data, StoreConfig(url_prefix=prefix))
    assert manifest == decode_manifest(data)


def _raw(generated_bytes: bytes) -> list[dict[str, object]]:
    value = json.loads(generated_bytes)
    assert isinstance(value, list)
    return value[:20]


def test_import_refuses_an_sbom_entry_at_its_path(generated_bytes: bytes) -> None:
    raw = _raw(generated_bytes)
    files = raw[3]["files"]
    assert isinstance(files, list)
    files[1] = dict(
        files[1], filename="python.spdx.json", download_url="https://example.org/python.spdx.json"
    )
    with pytest.raises(PolicyError) as info:
        validate_import(render(raw), StoreConfig(), location="upstream.json")
    assert info.value.message == "'python.spdx.json' is an SBOM, not a release artifact"
    assert info.value.location == "upstream.json: $[3].files[1].filename"


def test_import_refuses_a_duplicate_release(generated_bytes: bytes) -> None:
    raw = _raw(generated_bytes)
    raw.append(raw[4])
    with pytest.raises(PolicyError) as info:
        validate_import(render(raw), StoreConfig())
    assert info.value.message == f"release {raw[4]['version']} appears twice (also at $[4])"
    assert info.value.location == "$[20]"


def test_import_refuses_a_duplicate_file(generated_bytes: bytes) -> None:
    raw = _raw(generated_bytes)
    files = raw[0]["files"]
    assert isinstance(files, list)
    files.append(files[0])
    with pytest.raises(PolicyError) as info:
        validate_import(render(raw), StoreConfig())
    assert (
        info.value.message
        == f"duplicate entry {files[0]['filename']!r} in release {raw[0]['version']}"
    )
    assert info.value.location == f"$[0].files[{len(files) - 1}]"


def test_import_has_no_lane_binding_but_checks_every_entry(generated_bytes: bytes) -> None:
    raw = _raw(generated_bytes)
    files = raw[0]["files"]
    assert isinstance(files, list)
    files[0] = dict(files[0], arch="x86")
    with pytest.raises(PolicyError) as info:
        validate_import(render(raw), StoreConfig())
    assert info.value.location == "$[0].files[0].filename"
    assert "but the entry says 'x86'" in info.value.message


def test_import_refuses_duplicate_keys_with_their_path() -> None:
    with pytest.raises(SchemaError) as info:
        validate_import(b'[{"version": "3.13.1", "version": "3.13.2"}]', StoreConfig())
    assert (info.value.message, info.value.location) == (
        "duplicate key 'version' in a JSON object",
        "$[0].version",
    )
