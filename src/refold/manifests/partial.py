"""Partials: what one build job contributes, in one canonical document.

The canonical document is ``{"lane"?, "releases": [...], "retract": [...],
"provenance": {...}}``. Two other shapes that pipelines already produce are accepted
and normalised into it: a versions-manifest array (python-versions-pz keeps one per
version and arch) and a flat array of file entries that each carry ``version``.
Normalised partials are encoded canonically so that resubmitting the same content gives
the same blob, which is how resubmission becomes a no-op.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec
from msgspec import UNSET, UnsetType

from refold.manifests.errors import PolicyError, SchemaError
from refold.manifests.model import File, Release, encode_json, schema_error
from refold.manifests.ordering import is_valid_version, version_key
from refold.manifests.strictjson import parse_strict_json

MAX_PARTIAL_BYTES = 8 * 1024 * 1024
"""A partial is a few kilobytes; anything this large is a mistake, refused before parsing."""


class Retraction(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Remove one file, or (without ``filename``) all of the lane's files in a release."""

    version: str
    filename: str | UnsetType = UNSET


class Provenance(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Who built this partial. All optional: a local run has none of it."""

    run_id: str | UnsetType = UNSET
    run_attempt: str | UnsetType = UNSET
    repository: str | UnsetType = UNSET
    source_commit: str | UnsetType = UNSET
    workflow: str | UnsetType = UNSET
    job: str | UnsetType = UNSET
    builder: str | UnsetType = UNSET
    run_url: str | UnsetType = UNSET


class Partial(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    lane: str | UnsetType = UNSET
    releases: tuple[Release, ...] = ()
    retract: tuple[Retraction, ...] = ()
    provenance: Provenance = Provenance()


class FlatEntry(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """One file with its release's fields inlined, as partial-manifest generators print."""

    version: str
    stable: bool | UnsetType = UNSET
    lts: str | bool | UnsetType = UNSET
    release_url: str = ""
    filename: str
    arch: str
    platform: str
    platform_version: str | None | UnsetType = UNSET
    download_url: str
    sha256: str | UnsetType = UNSET
    size: int | UnsetType = UNSET


Locator = Callable[[int, int | None], str]
"""Maps (release index, file index) in the normalised partial to a JSON path in the input."""


class Decoded(msgspec.Struct, frozen=True):
    partial: Partial
    shape: str
    locate: Locator


_partial_decoder = msgspec.json.Decoder(Partial)


def _shown(value: object) -> str:
    return "absent" if isinstance(value, UnsetType) else msgspec.json.encode(value).decode()


_JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
}


def _derived_stable(version: str) -> bool:
    return "-" not in version.split("+", 1)[0]


def _from_flat(entries: tuple[FlatEntry, ...]) -> tuple[tuple[Release, ...], list[list[int]]]:
    """Group flat entries by version, keeping first-seen order; return the index map too."""
    order: list[str] = []
    grouped: dict[str, list[tuple[int, FlatEntry]]] = {}
    for index, entry in enumerate(entries):
        if entry.version not in grouped:
            order.append(entry.version)
            grouped[entry.version] = []
        grouped[entry.version].append((index, entry))
    releases = []
    index_map = []
    for version in order:
        items = grouped[version]
        first, head = items[0]
        # Release-level fields are repeated on every entry; silently keeping the first
        # would publish whatever line happened to come first.
        for index, entry in items[1:]:
            for name in ("stable", "lts", "release_url"):
                if getattr(entry, name) != getattr(head, name):
                    raise PolicyError(
                        f"entries of release {version} disagree on {name}: "
                        f"{_shown(getattr(head, name))} at $[{first}], "
                        f"{_shown(getattr(entry, name))} here",
                        location=f"$[{index}].{name}",
                        hint="give every entry of a release the same stable, lts and release_url",
                    )
        stable = head.stable if not isinstance(head.stable, UnsetType) else _derived_stable(version)
        files = tuple(
            File(
                filename=e.filename,
                arch=e.arch,
                platform=e.platform,
                platform_version=e.platform_version,
                download_url=e.download_url,
                sha256=e.sha256,
                size=e.size,
            )
            for _, e in items
        )
        releases.append(
            Release(version=version, stable=stable, lts=head.lts, release_url=head.release_url, files=files)
        )
        index_map.append([i for i, _ in items])
    return tuple(releases), index_map


def decode_partial(data: bytes, *, location: str = "") -> Decoded:
    """Decode any accepted input shape into a canonical Partial, strictly.

    Errors name the JSON path in the input as given, so a pipeline author can find it.
    """
    raw = parse_strict_json(data, what="partial", limit=MAX_PARTIAL_BYTES, location=location)
    locate: Locator
    try:
        if isinstance(raw, dict):
            partial = msgspec.convert(raw, Partial)
            shape = "partial"

            def locate(r: int, f: int | None) -> str:
                return f"$.releases[{r}]" + ("" if f is None else f".files[{f}]")

        elif isinstance(raw, list) and raw and isinstance(raw[0], dict) and "files" in raw[0]:
            partial = Partial(releases=msgspec.convert(raw, tuple[Release, ...]))
            shape = "manifest"

            def locate(r: int, f: int | None) -> str:
                return f"$[{r}]" + ("" if f is None else f".files[{f}]")

        elif isinstance(raw, list) and raw:
            releases, index_map = _from_flat(msgspec.convert(raw, tuple[FlatEntry, ...]))
            partial = Partial(releases=releases)
            shape = "flat"

            def locate(r: int, f: int | None) -> str:
                return f"$[{index_map[r][0 if f is None else f]}]"

        elif isinstance(raw, list):
            raise SchemaError(
                "partial is an empty array",
                location=location,
                hint="a partial needs at least one release or retraction",
            )
        else:
            raise SchemaError(
                "partial must be a JSON object or array, not "
                + _JSON_TYPES.get(type(raw), "null"),
                location=location,
                hint='give {"releases": [...]}, a versions-manifest array, or an array of file entries',
            )
    except PolicyError as exc:
        raise (exc.at(location) if location else exc) from None
    except msgspec.MsgspecError as exc:
        error = schema_error(exc, location=location)
        if "expected array, got object" in error.message and "files" in error.location:
            error = SchemaError(
                error.message,
                location=error.location,
                hint="'files' must be an array even with one file (a ConvertTo-Json quirk)",
            )
        raise error from None
    return Decoded(partial=partial, shape=shape, locate=locate)


def canonical_partial(partial: Partial) -> Partial:
    """Files by filename, releases newest first, retractions sorted: one text per content."""
    releases = tuple(
        sorted(
            (
                msgspec.structs.replace(r, files=tuple(sorted(r.files, key=lambda f: f.filename)))
                for r in partial.releases
            ),
            key=lambda r: (version_key(r.version) if is_valid_version(r.version) else (), r.version),
            reverse=True,
        )
    )
    retract = tuple(
        sorted(partial.retract, key=lambda t: (t.version, "" if isinstance(t.filename, UnsetType) else t.filename))
    )
    return msgspec.structs.replace(partial, releases=releases, retract=retract)


def encode_partial(partial: Partial) -> bytes:
    return encode_json(canonical_partial(partial), indent=2, final_newline=True)


def decode_stored_partial(data: bytes, *, location: str = "") -> Partial:
    """Decode a partial.json read back from a lane commit: canonical shape only."""
    try:
        return _partial_decoder.decode(data)
    except msgspec.MsgspecError as exc:
        raise schema_error(exc, location=location) from None


def partial_versions(partial: Partial) -> list[str]:
    seen = dict.fromkeys([r.version for r in partial.releases] + [t.version for t in partial.retract])
    return list(seen)


__all__ = [
    "MAX_PARTIAL_BYTES",
    "Decoded",
    "FlatEntry",
    "Partial",
    "Provenance",
    "Retraction",
    "canonical_partial",
    "decode_partial",
    "decode_stored_partial",
    "encode_partial",
    "partial_versions",
]
