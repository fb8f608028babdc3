"""Parsing untrusted JSON strictly, before any schema is applied.

msgspec (like most parsers) quietly keeps the last of two duplicate keys and happily
reads a BOM-less-but-Latin-1 file as an error at some byte; for input that build jobs
control, refold wants each of those to be its own clear error, and a size bound first
so a runaway file costs nothing.
"""

from __future__ import annotations

import json

from refold.manifests.errors import SchemaError


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    seen: dict[str, object] = {}
    for key, value in pairs:
        if key in seen:
            raise SchemaError(
                f"duplicate key {key!r} in a JSON object",
                hint="each key may appear once; JSON parsers disagree on which copy wins",
            )
        seen[key] = value
    return seen


def _reject_constant(name: str) -> object:
    raise SchemaError(f"{name} is not valid JSON", hint="use a number or a string")


def check_json_bytes(data: bytes, *, what: str, limit: int, location: str = "") -> str:
    """The text of ``data`` if it is a plausible JSON document by size and encoding."""
    if len(data) > limit:
        raise SchemaError(
            f"{what} is {len(data):,} bytes, over the {limit:,}-byte limit",
            location=location,
            hint=f"check that the right file was given; a {what} is far smaller",
        )
    if data.startswith(b"\xef\xbb\xbf"):
        raise SchemaError(
            f"{what} starts with a UTF-8 byte-order mark",
            location=location,
            hint="write the file without a BOM (e.g. Out-File -Encoding utf8NoBOM)",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SchemaError(
            f"{what} is not valid UTF-8 (byte {exc.start})",
            location=location,
            hint="JSON must be UTF-8",
        ) from None
    if not text.strip():
        raise SchemaError(f"{what} is empty", location=location, hint="give a JSON document")
    return text


def parse_strict_json(data: bytes, *, what: str, limit: int, location: str = "") -> object:
    """Parse ``data`` refusing oversize input, a BOM, bad UTF-8, duplicate keys and NaN."""
    text = check_json_bytes(data, what=what, limit=limit, location=location)
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant)
    except SchemaError as exc:
        raise (exc.at(location) if location else exc) from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise SchemaError(
            f"malformed JSON: {exc.msg}",
            location=f"{location}: {where}" if location else where,
            hint="check the file is complete (not truncated) and valid JSON",
        ) from None
    except RecursionError:
        raise SchemaError(
            f"{what} is nested too deeply", location=location, hint="check the file's structure"
        ) from None
