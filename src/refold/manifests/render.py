"""Canonical rendering: the one byte sequence a manifest is published as (invariant 6).

Releases newest first by node-semver precedence (ties by text, so input order never
shows), files by filename (ordinal), keys in the format's order, indent and final
newline from the store config. An upstream manifest already in this form round-trips
byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from refold.manifests.config import StoreConfig
from refold.manifests.model import Manifest, Release, encode_json
from refold.manifests.ordering import is_valid_version, version_key


def _files_sorted(release: Release) -> bool:
    files = release.files
    return all(files[i].filename < files[i + 1].filename for i in range(len(files) - 1))


def _release_key(release: Release) -> tuple[int, object, str]:
    """Valid versions by precedence; a non-semver one (only from a manifest edited around
    refold) sorts after them instead of making the whole store unreadable."""
    if is_valid_version(release.version):
        return (1, version_key(release.version), release.version)
    return (0, (), release.version)


def canonical_order(releases: Iterable[Release]) -> Manifest:
    ordered = sorted(releases, key=_release_key, reverse=True)
    return tuple(
        r
        if _files_sorted(r)
        else msgspec.structs.replace(r, files=tuple(sorted(r.files, key=lambda f: f.filename)))
        for r in ordered
    )


def render_manifest(manifest: Manifest, config: StoreConfig) -> bytes:
    return encode_json(
        canonical_order(manifest), indent=config.indent, final_newline=config.final_newline
    )
