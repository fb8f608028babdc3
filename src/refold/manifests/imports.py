"""Adopting a manifest a pipeline already publishes, checked like any other input."""

from __future__ import annotations

import msgspec

from refold.manifests.config import StoreConfig
from refold.manifests.errors import PolicyError
from refold.manifests.model import Manifest, Release, schema_error
from refold.manifests.strictjson import parse_strict_json
from refold.manifests.validate import check_file, check_release

MAX_MANIFEST_BYTES = 256 * 1024 * 1024


def validate_import(data: bytes, config: StoreConfig, *, location: str = "") -> Manifest:
    """Decode and check an existing manifest; no lane binding (entries go to their arch)."""
    raw = parse_strict_json(data, what="manifest", limit=MAX_MANIFEST_BYTES, location=location)
    try:
        manifest = msgspec.convert(raw, tuple[Release, ...])
    except msgspec.MsgspecError as exc:
        raise schema_error(exc, location=location) from None
    versions: dict[str, int] = {}
    for r, release in enumerate(manifest):
        where = f"$[{r}]"
        try:
            check_release(release, where)
            if release.version in versions:
                raise PolicyError(
                    f"release {release.version} appears twice (also at $[{versions[release.version]}])",
                    location=where,
                    hint="merge the two entries into one release",
                )
            versions[release.version] = r
            names: set[str] = set()
            for f, file in enumerate(release.files):
                if file.filename in names:
                    raise PolicyError(
                        f"duplicate entry {file.filename!r} in release {release.version}",
                        location=f"{where}.files[{f}]",
                        hint="list each file once",
                    )
                names.add(file.filename)
                check_file(file, release, None, config, f"{where}.files[{f}]")
        except PolicyError as exc:
            raise (exc.at(location) if location else exc) from None
    return manifest
