"""Parsing untrusted JSON strictly, before any schema is applied.

msgspec (like most parsers) quietly keeps the last of two duplicate keys and happily
reads a BOM-less-but-Latin-1 file as an error at some byte; for input that build jobs
control, refold wants each of those to be its own clear error, and a size bound first
so a runaway file costs nothing.
"""

from __future__ import annotations

import json
import re

from refold.manifests.errors import SchemaError

MAX_SAFE_INTEGER = 2**53 - 1
"""Consumers (``@actions/tool-cache``) are JavaScript: larger integers change on reading."""


class _Flaw:
    """A problem found while parsing, left in the tree so a walk can tell where it is."""

    __slots__ = ("hint", "message")

    def __init__(self, message: str, hint: str) -> None:
        self.message = message
        self.hint = hint


class _DuplicateKeys(dict[str, object]):
    """An object that had a key twice; keeps the first value and remembers the key."""

    duplicate: str


class _Hooks:
    """Parser hooks that leave flaws in the tree (and note that they did) instead of raising,
    because a hook does not know where in the document it is."""

    def __init__(self) -> None:
        self.flawed = False

    def pairs(self, pairs: list[tuple[str, object]]) -> dict[str, object]:
        seen: dict[str, object] = {}
        for key, value in pairs:
            if key in seen:
                self.flawed = True
                flagged = _DuplicateKeys(seen)
                flagged.duplicate = key
                return flagged
            seen[key] = value
        return seen

    def constant(self, name: str) -> object:
        self.flawed = True
        return _Flaw(f"{name} is not valid JSON", "use a number or a string")

    def integer(self, text: str) -> object:
        digits = text.lstrip("-")
        # Length first: int() of thousands of digits is slow, and refused past 4300.
        if len(digits) > 16 or int(digits) > MAX_SAFE_INTEGER:
            self.flawed = True
            shown = text if len(text) <= 24 else f"{text[:20]}... ({len(digits)} digits)"
            return _Flaw(
                f"integer {shown} is outside JavaScript's safe range (2**53 - 1)",
                "manifest consumers are JavaScript and would read a different number",
            )
        return int(text)


_SURROGATE = re.compile("[\ud800-\udfff]")
# Only an escape can put a surrogate into parsed text (the input is valid UTF-8), so
# input without one skips the walk.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _has_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def _member(path: str, key: str) -> str:
    return f"{path}.{key}"


def _find_flaw(value: object) -> SchemaError | None:
    """The first flaw in document order, as an error located at its JSON path."""
    stack: list[tuple[object, str]] = [(value, "$")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _Flaw):
            return SchemaError(node.message, location=path, hint=node.hint)
        if isinstance(node, str):
            if _has_surrogate(node):
                return _surrogate_error(path)
        elif isinstance(node, dict):
            if isinstance(node, _DuplicateKeys):
                return SchemaError(
                    f"duplicate key {node.duplicate!r} in a JSON object",
                    location=_member(path, node.duplicate),
                    hint="each key may appear once; JSON parsers disagree on which copy wins",
                )
            children: list[tuple[object, str]] = []
            for key, child in node.items():
                if _has_surrogate(key):
                    return _surrogate_error(path)
                children.append((child, _member(path, key)))
            stack.extend(reversed(children))
        elif isinstance(node, list):
            stack.extend(reversed([(child, f"{path}[{i}]") for i, child in enumerate(node)]))
    return None


def _surrogate_error(path: str) -> SchemaError:
    return SchemaError(
        "string contains an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)",
        location=path,
        hint="escape characters outside the BMP as a complete surrogate pair, or write them as UTF-8",
    )


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
    """Parse ``data`` refusing oversize input, a BOM, bad UTF-8, duplicate keys, NaN,
    integers JavaScript cannot hold and unpaired surrogates, each located by JSON path."""
    text = check_json_bytes(data, what=what, limit=limit, location=location)
    hooks = _Hooks()
    try:
        value = json.loads(
            text,
            object_pairs_hook=hooks.pairs,
            parse_constant=hooks.constant,
            parse_int=hooks.integer,
        )
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
    flaw = _find_flaw(value) if hooks.flawed or _SURROGATE_ESCAPE.search(text) else None
    if flaw is not None:
        raise (flaw.at(location) if location else flaw)
    return value
