"""Semantic versions exactly as node-semver (npm ``semver`` v7) parses, orders and matches them.

The published manifest is read by ``@actions/tool-cache``, which sorts and matches with
node-semver, so "semver order" here means node-semver's order, quirks included: numeric
prerelease identifiers sort below alphanumeric ones, alphanumeric ones compare as ASCII
(``a10 < a9``), and build metadata never affects precedence. ``satisfies`` is a port of
node-semver's range desugaring (same regular expressions, same rewriting steps) rather
than a reimplementation from the grammar, because its edge cases (``<=1.2`` meaning
``<1.3.0-0``, ``^0.0.x``, prereleases only matching a comparator on the same tuple) are
where hand-written matchers drift.

Deliberate differences from node-semver, all on input a manifest should never contain:

- ``parse_version`` is stricter: no leading ``v``, no surrounding whitespace, and numeric
  prerelease identifiers above ``2**53 - 1`` are refused (node keeps them as strings
  and compares them as lossy floats).
- Ties in ``sort_descending`` (same precedence, different build metadata) break by the
  text, ordinal ascending; node's ``rsort`` breaks them with ``compareBuild``.
- ``satisfies`` raises ``PolicyError`` on an invalid spec or version, where node returns
  false, so that a typo is reported instead of matching nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from refold.manifests.errors import PolicyError

__all__ = [
    "Version",
    "is_valid_version",
    "parse_version",
    "satisfies",
    "sort_descending",
    "version_key",
]

MAX_LENGTH = 256
"""node-semver refuses longer version strings outright."""

MAX_SAFE_INTEGER = 2**53 - 1
"""JavaScript's ``Number.MAX_SAFE_INTEGER``: larger numbers would compare inexactly in node."""

_FORMAT = "MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]"

# --- Regular expressions, transcribed from node-semver 7.6.3 internal/re.js -------------
# node runs its "safe" variants (bounded repeats), so these are the bounded forms. JS's
# \d is ASCII-only and its \s is a fixed set, so both are spelled out; Python's \d and \s
# would accept other Unicode digits and spaces. \Z replaces $, which in Python also
# matches before a trailing newline.

_WS_CHARS = (
    "\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
)
_WS = f"[{_WS_CHARS}]"
_S0 = f"{_WS}{{0,1}}"  # node's safe form of \s*
_S1 = f"{_WS}{{1,1}}"  # node's safe form of \s+

_NUM = "0|[1-9][0-9]{0,256}"
_NUM_LOOSE = "[0-9]{1,256}"
_NONNUM = "[0-9]{0,256}[a-zA-Z-][a-zA-Z0-9-]{0,250}"
_MAIN = f"({_NUM})\\.({_NUM})\\.({_NUM})"
_MAIN_LOOSE = f"({_NUM_LOOSE})\\.({_NUM_LOOSE})\\.({_NUM_LOOSE})"
_PRE_ID = f"(?:{_NUM}|{_NONNUM})"
_PRE_ID_LOOSE = f"(?:{_NUM_LOOSE}|{_NONNUM})"
_PRE = f"(?:-({_PRE_ID}(?:\\.{_PRE_ID})*))"
_PRE_LOOSE = f"(?:-?({_PRE_ID_LOOSE}(?:\\.{_PRE_ID_LOOSE})*))"
_BUILD_ID = "[a-zA-Z0-9-]{1,250}"
_BUILD = f"(?:\\+({_BUILD_ID}(?:\\.{_BUILD_ID})*))"
_FULL_PLAIN = f"v?{_MAIN}{_PRE}?{_BUILD}?"
_LOOSE_PLAIN = f"[v={_WS_CHARS}]*{_MAIN_LOOSE}{_PRE_LOOSE}?{_BUILD}?"
_GTLT = "((?:<|>)?=?)"
_XR_ID = f"{_NUM}|x|X|\\*"
_XR_PLAIN = f"[v={_WS_CHARS}]*({_XR_ID})(?:\\.({_XR_ID})(?:\\.({_XR_ID})(?:{_PRE})?{_BUILD}?)?)?"

# parse_version's grammar: node's FULL without the optional leading "v".
_STRICT_RE = re.compile(f"{_MAIN}{_PRE}?{_BUILD}?\\Z")
_FULL_RE = re.compile(f"{_FULL_PLAIN}\\Z")
_XRANGE_RE = re.compile(f"{_GTLT}{_S0}{_XR_PLAIN}\\Z")
_TILDE_RE = re.compile(f"(?:~>?){_XR_PLAIN}\\Z")
_CARET_RE = re.compile(f"(?:\\^){_XR_PLAIN}\\Z")
_TILDE_TRIM_RE = re.compile(f"({_S0})(?:~>?){_S1}")
_CARET_TRIM_RE = re.compile(f"({_S0})(?:\\^){_S1}")
_COMPARATOR_TRIM_RE = re.compile(f"({_S0}){_GTLT}{_S0}({_LOOSE_PLAIN}|{_XR_PLAIN})")
_COMPARATOR_RE = re.compile(f"{_GTLT}{_S0}({_FULL_PLAIN})\\Z|\\Z")
_HYPHEN_RE = re.compile(f"^{_S0}({_XR_PLAIN}){_S1}-{_S1}({_XR_PLAIN}){_S0}\\Z")
_STAR_RE = re.compile(f"(<|>)?=?{_S0}\\*")
_GTE0_RE = re.compile(f"^{_S0}>={_S0}0\\.0\\.0{_S0}\\Z")
_GTE0_PRE_RE = re.compile(f"^{_S0}>={_S0}0\\.0\\.0-0{_S0}\\Z")
_SPACES_RE = re.compile(f"{_WS}+")
_TRIM_RE = re.compile(f"^{_WS}+|{_WS}+\\Z")
_NONNUM_RE = re.compile(f"{_NONNUM}\\Z")
_NUM_RE = re.compile(f"(?:{_NUM})\\Z")
_BUILD_ID_RE = re.compile(f"{_BUILD_ID}\\Z")

PreKey = tuple[tuple[int, int] | tuple[int, str], ...]
VersionKey = tuple[int, int, int, int, PreKey]
"""``(major, minor, patch, 1 for a release else 0, prerelease identifiers)``.

Numeric identifiers become ``(0, n)`` and alphanumeric ones ``(1, s)``, so tuple order is
node-semver precedence and ints and strs are never compared with each other.
"""


@dataclass(frozen=True, eq=False, slots=True)
class Version:
    """A parsed semantic version.

    Comparisons are node-semver precedence, so ``==`` ignores build metadata:
    ``parse_version("1.0.0+a") == parse_version("1.0.0+b")``. That makes ``==`` an
    ordering equivalence, not identity; compare ``str(v)`` when the exact text matters
    (two manifest entries differing only in build metadata are still two entries).
    ``__hash__`` agrees with ``==``.
    """

    major: int
    minor: int
    patch: int
    prerelease: tuple[str | int, ...] = ()
    build: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Validated so that any Version prints as text parse_version accepts back.
        for name in ("major", "minor", "patch"):
            number = getattr(self, name)
            if type(number) is not int or not 0 <= number <= MAX_SAFE_INTEGER:
                raise ValueError(f"{name} must be an int in [0, 2**53 - 1], not {number!r}")
        for ident in self.prerelease:
            if type(ident) is int:
                if not 0 <= ident <= MAX_SAFE_INTEGER:
                    raise ValueError(f"numeric prerelease identifier out of range: {ident}")
            elif not (isinstance(ident, str) and _NONNUM_RE.match(ident)):
                raise ValueError(
                    f"prerelease identifier {ident!r} must be an int or contain a non-digit"
                )
        for ident in self.build:
            if not (isinstance(ident, str) and _BUILD_ID_RE.match(ident)):
                raise ValueError(f"build identifier {ident!r} must match [0-9A-Za-z-]+")

    @property
    def key(self) -> VersionKey:
        """Precedence as a plain tuple, so sorting compares tuples instead of objects."""
        if not self.prerelease:
            return (self.major, self.minor, self.patch, 1, ())
        pre: PreKey = tuple((0, i) if type(i) is int else (1, str(i)) for i in self.prerelease)
        return (self.major, self.minor, self.patch, 0, pre)

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(str(i) for i in self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.key == other.key

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.key != other.key

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.key < other.key

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.key <= other.key

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.key > other.key

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.key >= other.key


def _shown(text: str) -> str:
    """Quote user text for a message without letting a huge value flood the terminal."""
    return repr(text) if len(text) <= 64 else f"{text[:48]!r}... ({len(text)} characters)"


def _reject(text: str, reason: str, hint: str, location: str) -> PolicyError:
    return PolicyError(
        f"{_shown(text)} is not a semantic version: {reason}", location=location, hint=hint
    )


def _diagnose(text: str, location: str) -> PolicyError:
    """Name the most likely mistake, so the hint is about this text rather than generic."""
    expected = f"expected {_FORMAT}"
    core, _, build = text.partition("+")
    main, dash, pre = core.partition("-")
    parts = main.split(".")
    if not text:
        hint = "the version is empty; write one such as '3.12.0'"
    elif text != text.strip():
        hint = "remove the surrounding whitespace"
    elif text[:1] in ("v", "V", "="):
        hint = f"write {text[1:]!r}: a manifest version has no leading {text[0]!r}"
    elif len(parts) < 3 and all(p.isdecimal() and p.isascii() for p in parts):
        hint = (
            f"write {'.'.join(parts + ['0'] * (3 - len(parts)))!r}: a manifest version names "
            "one release; partial versions such as '3.10' are ranges"
        )
    elif (
        any(p == "" for p in parts)
        or (dash and any(p == "" for p in pre.split(".")))
        or ("+" in text and any(p == "" for p in build.split(".")))
    ):
        hint = "identifiers between dots must not be empty"
    elif any(len(p) > 1 and p.startswith("0") and p.isdecimal() for p in parts) or (
        dash and any(len(p) > 1 and p.startswith("0") and p.isdecimal() for p in pre.split("."))
    ):
        hint = "numeric identifiers must not have leading zeros (build metadata may)"
    else:
        hint = (
            "three dot-separated numbers, then optional '-' and dot-separated [0-9A-Za-z-] "
            "identifiers, then optional '+' and build metadata, e.g. '3.15.0-alpha.1'"
        )
    return _reject(text, expected, hint, location)


def _parse(text: str, location: str) -> Version:
    if len(text) > MAX_LENGTH:
        raise _reject(
            text,
            f"longer than {MAX_LENGTH} characters",
            "node-semver refuses longer versions",
            location,
        )
    match = _STRICT_RE.match(text)
    if match is None:
        raise _diagnose(text, location)
    return _from_match(text, match, location)


def _from_match(text: str, match: re.Match[str], location: str) -> Version:
    """Build a Version from a match of a grammar whose groups 1-5 are M, m, p, pre, build."""
    numbers = [int(match.group(i)) for i in (1, 2, 3)]
    for name, number in zip(("major", "minor", "patch"), numbers):
        if number > MAX_SAFE_INTEGER:
            raise _reject(
                text,
                f"{name} {number} is larger than {MAX_SAFE_INTEGER} (2**53 - 1)",
                "node-semver cannot represent it exactly",
                location,
            )
    prerelease: list[str | int] = []
    if match.group(4):
        for ident in match.group(4).split("."):
            if _NUM_RE.match(ident):
                number = int(ident)
                if number > MAX_SAFE_INTEGER:
                    raise _reject(
                        text,
                        f"prerelease number {number} is larger than {MAX_SAFE_INTEGER} (2**53 - 1)",
                        "node-semver cannot compare it exactly",
                        location,
                    )
                prerelease.append(number)
            else:
                prerelease.append(ident)
    build = tuple(match.group(5).split(".")) if match.group(5) else ()
    return Version(numbers[0], numbers[1], numbers[2], tuple(prerelease), build)


@lru_cache(maxsize=65536)
def _parse_cached(text: str) -> Version:
    return _parse(text, "")


def parse_version(text: str, *, location: str = "") -> Version:
    """Parse a manifest version, refusing anything a strict node-semver would not print back.

    A manifest version names exactly one release, so partial versions (``3.10``), a
    leading ``v`` and leading zeros are errors rather than being coerced.
    """
    try:
        return _parse_cached(text)
    except PolicyError as exc:
        if not location:
            raise
        raise PolicyError(exc.message, location=location, hint=exc.hint) from None


def is_valid_version(text: str) -> bool:
    """For callers that must sort or report invalid entries instead of stopping at the first."""
    try:
        _parse_cached(text)
    except PolicyError:
        return False
    return True


@lru_cache(maxsize=65536)
def version_key(text: str) -> VersionKey:
    """Sort key for node-semver precedence: ``sorted(..., key=version_key, reverse=True)``.

    Cached because a fold sorts every release of the manifest (hundreds to thousands) on
    each run. Raises ``PolicyError`` for text that is not a version.
    """
    return _parse_cached(text).key


def sort_descending(versions: Iterable[str]) -> list[str]:
    """Newest first, as ``semver.rsort`` would, with ties broken by the text itself.

    Versions of equal precedence (differing only in build metadata) come out in reverse
    ordinal order of their text, exactly as ``render.canonical_order`` places releases, so
    the result depends on the set of inputs and never on their order.
    """
    return sorted(versions, key=lambda v: (version_key(v), v), reverse=True)


# --- Ranges: a port of node-semver's classes/range.js and classes/comparator.js ---------

_ANY = None  # a comparator with no version: matches everything


@dataclass(frozen=True, slots=True)
class _Comparator:
    operator: str  # "", "<", "<=", ">", ">="
    version: Version | None

    @property
    def value(self) -> str:
        return "" if self.version is None else self.operator + _node_format(self.version)

    def test(self, version: Version) -> bool:
        if self.version is None:
            return True
        a, b = version.key, self.version.key
        if self.operator == "":
            return a == b
        if self.operator == "<":
            return a < b
        if self.operator == "<=":
            return a <= b
        if self.operator == ">":
            return a > b
        return a >= b


_NULL_SET = "<0.0.0-0"


def _node_format(version: Version) -> str:
    """node's ``SemVer.version``: the text without build metadata."""
    return str(Version(version.major, version.minor, version.patch, version.prerelease))


def _trim(text: str) -> str:
    """JavaScript's ``String.prototype.trim`` (its whitespace set, not Python's)."""
    return _TRIM_RE.sub("", text)


def _is_x(ident: str | None) -> bool:
    return not ident or ident.lower() == "x" or ident == "*"


def _replace_tilde(comp: str) -> str:
    match = _TILDE_RE.match(comp)
    if match is None:
        return comp
    major, minor, patch, pre = match.group(1, 2, 3, 4)
    if _is_x(major):
        return ""
    if _is_x(minor):
        return f">={major}.0.0 <{int(major) + 1}.0.0-0"
    if _is_x(patch):
        return f">={major}.{minor}.0 <{major}.{int(minor) + 1}.0-0"
    if pre:
        return f">={major}.{minor}.{patch}-{pre} <{major}.{int(minor) + 1}.0-0"
    return f">={major}.{minor}.{patch} <{major}.{int(minor) + 1}.0-0"


def _replace_caret(comp: str, include_prerelease: bool) -> str:
    match = _CARET_RE.match(comp)
    if match is None:
        return comp
    z = "-0" if include_prerelease else ""
    major, minor, patch, pre = match.group(1, 2, 3, 4)
    if _is_x(major):
        return ""
    if _is_x(minor):
        return f">={major}.0.0{z} <{int(major) + 1}.0.0-0"
    if _is_x(patch):
        if major == "0":
            return f">={major}.{minor}.0{z} <{major}.{int(minor) + 1}.0-0"
        return f">={major}.{minor}.0{z} <{int(major) + 1}.0.0-0"
    # node adds the -0 floor for include_prerelease only on 0.x carets without a prerelease.
    low = f">={major}.{minor}.{patch}" + (f"-{pre}" if pre else z if major == "0" else "")
    if major == "0":
        if minor == "0":
            return f"{low} <{major}.{minor}.{int(patch) + 1}-0"
        return f"{low} <{major}.{int(minor) + 1}.0-0"
    return f"{low} <{int(major) + 1}.0.0-0"


def _replace_xrange(comp: str, include_prerelease: bool) -> str:
    comp = _trim(comp)
    match = _XRANGE_RE.match(comp)
    if match is None:
        return comp
    gtlt, major, minor, patch = match.group(1, 2, 3, 4)
    x_major = _is_x(major)
    x_minor = x_major or _is_x(minor)
    x_patch = x_minor or _is_x(patch)
    if gtlt == "=" and x_patch:
        gtlt = ""
    pr = "-0" if include_prerelease else ""
    if x_major:
        return "<0.0.0-0" if gtlt in (">", "<") else "*"
    if gtlt and x_patch:
        big, mid = int(major), 0 if x_minor else int(minor)
        if gtlt == ">":
            gtlt = ">="
            if x_minor:
                big += 1
            else:
                mid += 1
        elif gtlt == "<=":
            gtlt = "<"
            if x_minor:
                big += 1
            else:
                mid += 1
        if gtlt == "<":
            pr = "-0"
        return f"{gtlt}{big}.{mid}.0{pr}"
    if x_minor:
        return f">={major}.0.0{pr} <{int(major) + 1}.0.0-0"
    if x_patch:
        return f">={major}.{minor}.0{pr} <{major}.{int(minor) + 1}.0-0"
    return match.group(0)


def _hyphen_replace(match: re.Match[str], include_prerelease: bool) -> str:
    low, f_major, f_minor, f_patch, f_pre = match.group(1, 2, 3, 4, 5)
    high, t_major, t_minor, t_patch, t_pre = match.group(7, 8, 9, 10, 11)
    z = "-0" if include_prerelease else ""
    if _is_x(f_major):
        low = ""
    elif _is_x(f_minor):
        low = f">={f_major}.0.0{z}"
    elif _is_x(f_patch):
        low = f">={f_major}.{f_minor}.0{z}"
    elif f_pre:
        low = f">={low}"
    else:
        low = f">={low}{z}"
    if _is_x(t_major):
        high = ""
    elif _is_x(t_minor):
        high = f"<{int(t_major) + 1}.0.0-0"
    elif _is_x(t_patch):
        high = f"<{t_major}.{int(t_minor) + 1}.0-0"
    elif t_pre:
        high = f"<={t_major}.{t_minor}.{t_patch}-{t_pre}"
    elif include_prerelease:
        high = f"<{t_major}.{t_minor}.{int(t_patch) + 1}-0"
    else:
        high = f"<={high}"
    return _trim(f"{low} {high}")


def _each_word(comp: str, replace: Callable[[str], str]) -> str:
    return " ".join(replace(c) for c in _SPACES_RE.split(_trim(comp)))


def _comparator(comp: str) -> _Comparator:
    match = _COMPARATOR_RE.match(_SPACES_RE.sub(" ", _trim(comp)))
    if match is None:
        raise ValueError(f"invalid comparator {comp!r}")
    if match.group(2) is None:
        return _Comparator("", _ANY)
    operator = "" if match.group(1) == "=" else match.group(1)
    text = match.group(2)
    if len(text) > MAX_LENGTH:
        raise ValueError(f"version in comparator {comp!r} is longer than {MAX_LENGTH}")
    full = _FULL_RE.match(text)
    if full is None:  # unreachable: group 2 already matched the same grammar
        raise ValueError(f"invalid version in comparator {comp!r}")
    try:
        return _Comparator(operator, _from_match(text, full, ""))
    except PolicyError as exc:
        raise ValueError(exc.message) from None


def _parse_set(text: str, include_prerelease: bool) -> list[_Comparator]:
    """One ``&&`` set, rewritten to plain comparators the way node's ``parseRange`` does."""
    text = _HYPHEN_RE.sub(lambda m: _hyphen_replace(m, include_prerelease), text, count=1)
    text = _COMPARATOR_TRIM_RE.sub(r"\1\2\3", text)
    text = _TILDE_TRIM_RE.sub(r"\1~", text)
    text = _CARET_TRIM_RE.sub(r"\1^", text)
    words: list[str] = []
    for comp in text.split(" "):
        comp = _each_word(comp, lambda c: _replace_caret(c, include_prerelease))
        comp = _each_word(comp, _replace_tilde)
        comp = " ".join(_replace_xrange(c, include_prerelease) for c in _SPACES_RE.split(comp))
        comp = _STAR_RE.sub("", _trim(comp), count=1)
        words.append(comp)
    gte0 = _GTE0_PRE_RE if include_prerelease else _GTE0_RE
    comparators = [
        _comparator(gte0.sub("", _trim(c), count=1)) for c in _SPACES_RE.split(" ".join(words))
    ]
    unique: dict[str, _Comparator] = {}
    for comparator in comparators:
        if comparator.value == _NULL_SET:
            return [comparator]
        unique[comparator.value] = comparator
    if len(unique) > 1:
        unique.pop("", None)
    return list(unique.values())


@lru_cache(maxsize=1024)
def _parse_range(spec: str, include_prerelease: bool) -> tuple[tuple[_Comparator, ...], ...]:
    raw = _SPACES_RE.sub(" ", _trim(spec))
    try:
        sets = [_parse_set(_trim(part), include_prerelease) for part in raw.split("||")]
    except ValueError as exc:
        raise PolicyError(
            f"{_shown(spec)} is not a valid version range: {exc}",
            hint=(
                "use node-semver range syntax: '3.12', '3.12.x', '>=3.10 <3.13', '~3.12.1', "
                "'^3.12', '3.10 - 3.12', joined with '||' for alternatives"
            ),
        ) from None
    if len(sets) > 1:
        first = sets[0]
        sets = [s for s in sets if s[0].value != _NULL_SET] or [first]
        if len(sets) > 1:
            for s in sets:
                if len(s) == 1 and s[0].version is None:
                    sets = [s]
                    break
    return tuple(tuple(s) for s in sets)


def _test_set(
    comparators: tuple[_Comparator, ...], version: Version, include_prerelease: bool
) -> bool:
    if not all(c.test(version) for c in comparators):
        return False
    if version.prerelease and not include_prerelease:
        # A prerelease only matches when the range names a prerelease of the same
        # major.minor.patch: ^1.2.3-pr.1 admits 1.2.3-pr.2 but not 1.2.4-alpha.
        return any(
            c.version is not None
            and c.version.prerelease
            and (c.version.major, c.version.minor, c.version.patch)
            == (version.major, version.minor, version.patch)
            for c in comparators
        )
    return True


def satisfies(version: str, spec: str, *, include_prerelease: bool = False) -> bool:
    """Whether ``version`` is in ``spec``, as ``@actions/tool-cache`` decides with node-semver.

    Used to predict which manifest entry ``setup-python`` / ``setup-node`` will pick for
    a user's version spec. Unlike node, an invalid spec or version raises ``PolicyError``
    instead of returning false, so a typo is reported rather than matching nothing.
    """
    parsed = parse_version(version)
    sets = _parse_range(spec, include_prerelease)
    return any(_test_set(s, parsed, include_prerelease) for s in sets)
