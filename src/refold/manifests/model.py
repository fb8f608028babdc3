"""The versions-manifest format, as actions/python-versions, node-versions and go-versions
publish it and as `@actions/tool-cache` reads it.

Structs are strict (unknown fields are an error, never a silent drop) and keep absence
apart from null: ``platform_version`` is absent on darwin/win32 files in real manifests
and null in some others, and a round trip must reproduce whichever it was. Field
declaration order is the format's key order, so encoding reproduces upstream bytes.
"""

from __future__ import annotations

import re

import msgspec
from msgspec import UNSET, UnsetType

from refold.manifests.errors import SchemaError


class File(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True, gc=False):
    """One downloadable artifact of a release.

    ``sha256`` and ``size`` are refold's own additions (from ``refold generate``); they
    stay absent on upstream entries so those round-trip unchanged.
    """

    filename: str
    arch: str
    platform: str
    platform_version: str | None | UnsetType = UNSET
    download_url: str
    sha256: str | UnsetType = UNSET
    size: int | UnsetType = UNSET


class Release(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True, gc=False):
    """One version and its files. ``lts`` is node-versions' codename (or false)."""

    version: str
    stable: bool
    lts: str | bool | UnsetType = UNSET
    release_url: str
    files: tuple[File, ...]


Manifest = tuple[Release, ...]

_manifest_decoder = msgspec.json.Decoder(Manifest)
_manifest_encoder = msgspec.json.Encoder()
_PATH_RE = re.compile(r"^(?P<msg>.*?) - at `(?P<path>[^`]*)`$", re.DOTALL)


def schema_error(exc: msgspec.MsgspecError, *, location: str = "", hint: str = "") -> SchemaError:
    """Turn msgspec's ``... - at `$[1].x``` text into a SchemaError whose location is the path."""
    text = str(exc)
    match = _PATH_RE.match(text)
    # msgspec names no path for an error at the root; "$" still tells the reader where.
    path = match.group("path") if match else ("$" if isinstance(exc, msgspec.ValidationError) else "")
    message = match.group("msg") if match else text
    if message[1:2].islower():  # "Expected ..." -> "expected ...", but "JSON is ..." stays
        message = message[:1].lower() + message[1:]
    message = message.replace("`", "")
    where = f"{location}: {path}" if location and path else (location or path)
    if isinstance(exc, msgspec.DecodeError) and not isinstance(exc, msgspec.ValidationError):
        hint = hint or "the input must be UTF-8 JSON without a byte-order mark"
    return SchemaError(message, location=where, hint=hint)


def decode_manifest(data: bytes, *, location: str = "") -> Manifest:
    """Decode manifest bytes strictly; errors name the JSON path (``$[12].files[3].arch``)."""
    try:
        return _manifest_decoder.decode(data)
    except msgspec.MsgspecError as exc:
        raise schema_error(exc, location=location) from None


def encode_json(value: object, *, indent: int, final_newline: bool) -> bytes:
    """Render JSON the way upstream manifests are written (2-space indent, final newline)."""
    raw = _manifest_encoder.encode(value)
    if indent > 0:
        raw = msgspec.json.format(raw, indent=indent)
    return raw + b"\n" if final_newline else raw
