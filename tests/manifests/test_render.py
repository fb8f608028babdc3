"""refold.manifests.render: the one canonical byte sequence a manifest is published as."""

from __future__ import annotations

import json
import random

import msgspec
import pytest

from refold.manifests.config import StoreConfig, decode_config
from refold.manifests.model import Manifest, Release, decode_manifest
from refold.manifests.render import canonical_order, render_manifest

from .fixtures import make_file, make_release


def _shuffled(manifest: Manifest, seed: int) -> Manifest:
    rng = random.Random(seed)
    releases = []
    for release in manifest:
        files = list(release.files)
        rng.shuffle(files)
        releases.append(msgspec.structs.replace(release, files=tuple(files)))
    rng.shuffle(releases)
    return tuple(releases)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_render_restores_upstream_order_from_any_input_order(
    generated: Manifest, generated_bytes: bytes, seed: int
) -> None:
    assert render_manifest(_shuffled(generated, seed), StoreConfig()) == generated_bytes


def _versions(*versions: str) -> list[str]:
    releases = [make_release(v, [make_file(v)]) for v in versions]
    return [r.version for r in canonical_order(releases)]


def test_canonical_order_puts_releases_newest_first_by_node_semver() -> None:
    expected = [
        "3.15.0",
        "3.15.0-rc.1",
        "3.15.0-beta.2",
        "3.15.0-alpha.10",
        "3.15.0-alpha.9",
        "3.15.0-alpha.1",
        "3.15.0-alpha",
        "3.14.10",
        "3.14.9",
        "3.9.20",
    ]
    for seed in range(5):
        shuffled = expected[:]
        random.Random(seed).shuffle(shuffled)
        assert _versions(*shuffled) == expected


def test_canonical_order_ranks_numeric_prerelease_identifiers_below_alphanumeric() -> None:
    assert _versions("1.0.0-2", "1.0.0-a", "1.0.0-10") == ["1.0.0-a", "1.0.0-10", "1.0.0-2"]


def test_canonical_order_breaks_build_metadata_ties_by_text_whatever_the_input_order() -> None:
    assert _versions("1.0.0+a", "1.0.0+b") == _versions("1.0.0+b", "1.0.0+a")
    assert _versions("1.0.0+a", "1.0.0+b") == ["1.0.0+b", "1.0.0+a"]


def test_canonical_order_sorts_files_ordinally_by_filename() -> None:
    names = [
        "python-3.14.0-linux-24.04-x64.tar.gz",
        "python-3.14.0-darwin-arm64.tar.gz",
        "python-3.14.0-darwin-arm64-freethreaded.tar.gz",
        "python-3.14.0-win32-x86.zip",
        "python-3.14.0-darwin-x64.tar.gz",
    ]
    files = [make_file("3.14.0", name=n) for n in names]
    (release,) = canonical_order([make_release("3.14.0", files)])
    # '-' (0x2d) sorts before '.' (0x2e): freethreaded comes before the plain arm64 archive,
    # exactly as upstream lists them.
    assert [f.filename for f in release.files] == [
        "python-3.14.0-darwin-arm64-freethreaded.tar.gz",
        "python-3.14.0-darwin-arm64.tar.gz",
        "python-3.14.0-darwin-x64.tar.gz",
        "python-3.14.0-linux-24.04-x64.tar.gz",
        "python-3.14.0-win32-x86.zip",
    ]


def test_canonical_order_keeps_an_already_sorted_release_object() -> None:
    release = make_release(
        "3.14.0",
        sorted(
            [make_file("3.14.0", "x64"), make_file("3.14.0", "arm64")], key=lambda f: f.filename
        ),
    )
    assert canonical_order([release])[0] is release


def test_canonical_order_is_idempotent(generated: Manifest) -> None:
    once = canonical_order(_shuffled(generated, 9))
    assert canonical_order(once) == once == generated


@pytest.mark.parametrize("indent", [0, 4])
def test_render_honours_configured_indent(generated: Manifest, indent: int) -> None:
    config = decode_config(json.dumps({"indent": indent}).encode())
    rendered = render_manifest(generated[:5], config)
    raw = json.loads(rendered)
    expected = json.dumps(raw, indent=indent) if indent else json.dumps(raw, separators=(",", ":"))
    assert rendered == (expected + "\n").encode()


def test_render_honours_final_newline_off(generated: Manifest, generated_bytes: bytes) -> None:
    config = StoreConfig(final_newline=False)
    rendered = render_manifest(generated, config)
    assert rendered == generated_bytes[:-1]
    assert not rendered.endswith(b"\n")


def test_render_of_empty_manifest_is_an_empty_array() -> None:
    assert render_manifest((), StoreConfig()) == b"[]\n"


def test_render_keeps_format_key_order(generated: Manifest) -> None:
    raw = json.loads(render_manifest(generated[:1], StoreConfig()))
    assert list(raw[0]) == ["version", "stable", "release_url", "files"]
    node = msgspec.structs.replace(generated[0], lts="Jod")
    raw = json.loads(render_manifest((node,), StoreConfig()))
    assert list(raw[0]) == ["version", "stable", "lts", "release_url", "files"]


def test_render_output_decodes_back_to_the_same_manifest(generated: Manifest) -> None:
    shuffled = _shuffled(generated, 4)
    assert decode_manifest(render_manifest(shuffled, StoreConfig())) == generated


def test_canonical_order_puts_a_non_semver_release_last_instead_of_failing() -> None:
    from refold.manifests.render import canonical_order

    releases = [
        Release(version=v, stable=True, release_url="", files=())
        for v in ("3.12", "3.13.1", "3.14.0-rc.1")
    ]
    assert [r.version for r in canonical_order(releases)] == ["3.14.0-rc.1", "3.13.1", "3.12"]
