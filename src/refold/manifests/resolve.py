"""Which release and file ``@actions/tool-cache`` would pick from a manifest.

This follows ``_findMatch`` in tool-cache's ``lib/manifest.js`` (what ``findFromManifest``
calls, and what ``actions/setup-python`` runs): walk the releases in file order; take the
first whose version satisfies the spec (node-semver, default options: prereleases only
match a spec that names one on the same major.minor.patch) and, when ``stable`` is asked
for, whose ``stable`` is true; within it take the first file whose ``arch`` and
``platform`` equal the query exactly and whose ``platform_version`` is empty or absent,
equal to the OS version, or a range the OS version satisfies. A release that satisfies
the spec but has no such file is skipped, not an answer.

tool-cache reads the OS version itself, and how it does so matters for exactness:

- linux: ``VERSION_ID`` / ``DISTRIB_RELEASE`` from ``/etc/lsb-release`` or
  ``/etc/os-release`` (``22.04``), which is never a semantic version, so only files with an
  equal ``platform_version`` match;
- darwin: the output of ``sw_vers -productVersion``, trailing newline included, so the
  equality test never succeeds and only a satisfied range matches (node-semver trims the
  newline when it parses);
- anything else: the empty string, so files with a ``platform_version`` never match.

The same walk is the fold's guard (``regressions``): a fold that makes a ``major`` or
``major.minor`` spec pick a lower version than before, for an arch and platform the old
manifest serves, is reported, because that is what users of setup-python would see.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import msgspec
from msgspec import UnsetType

from refold.manifests.errors import PolicyError
from refold.manifests.model import File, Manifest, Release
from refold.manifests.ordering import parse_version, satisfies, version_key

__all__ = [
    "Match",
    "file_matches",
    "find_match",
    "near_misses",
    "regressions",
    "reported_os_version",
]

_JS_SPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_LEADING_V = re.compile(r"^v(?=[0-9])")


class Match(msgspec.Struct, frozen=True):
    """The pick: the release as published (all its files) and the one file downloaded."""

    index: int
    """Position of the release in the manifest, in file order."""
    release: Release
    file: File


def reported_os_version(platform: str, platform_version: str) -> str:
    """The OS version string tool-cache compares with, on ``platform``, for this OS."""
    if platform == "linux":
        return platform_version
    if platform == "darwin":
        return platform_version + "\n" if platform_version else ""
    return ""


@functools.lru_cache(maxsize=4096)
def _node_version_satisfies(version: str, spec: str) -> bool:
    """``semver.satisfies(version, spec)`` for text that may not be a clean version:
    node trims JavaScript whitespace and allows a leading ``v``; anything it cannot parse,
    version or range, is simply no match."""
    text = _LEADING_V.sub("", version.strip(_JS_SPACE))
    try:
        return satisfies(text, spec)
    except PolicyError:
        return False


def _platform_version_ok(file: File, os_version: str) -> bool:
    wanted = file.platform_version
    if isinstance(wanted, UnsetType) or not wanted:
        return True
    return os_version == wanted or _node_version_satisfies(os_version, wanted)


def file_matches(file: File, arch: str, platform: str, os_version: str) -> bool:
    """tool-cache's per-file test; ``os_version`` as ``reported_os_version`` gives it."""
    return (
        file.arch == arch and file.platform == platform and _platform_version_ok(file, os_version)
    )


def _check_spec(spec: str) -> None:
    """Raise PolicyError for a spec node-semver cannot parse (node would match nothing)."""
    satisfies("0.0.0", spec)


def _release_satisfies(release: Release, spec: str) -> bool:
    return _version_satisfies(release.version, spec)


@functools.lru_cache(maxsize=65536)
def _version_satisfies(version: str, spec: str) -> bool:
    """Cached: the guard asks the same (version, spec) questions of every arch/platform."""
    try:
        return satisfies(version, spec)
    except PolicyError:
        return False


def find_match(
    manifest: Manifest,
    spec: str,
    *,
    arch: str,
    platform: str,
    platform_version: str = "",
    stable: bool = False,
) -> Match | None:
    """The release and file tool-cache picks for this query, or None.

    An invalid ``spec`` raises PolicyError (node would quietly match nothing).
    """
    _check_spec(spec)
    os_version = reported_os_version(platform, platform_version)
    for index, release in enumerate(manifest):
        if stable and release.stable is not True:
            continue
        if not _release_satisfies(release, spec):
            continue
        for file in release.files:
            if file_matches(file, arch, platform, os_version):
                return Match(index=index, release=release, file=file)
    return None


def near_misses(
    manifest: Manifest,
    spec: str,
    *,
    arch: str,
    platform: str,
    platform_version: str = "",
    stable: bool = False,
) -> list[str]:
    """Why nothing matched, in a few lines: what the spec admits and what those releases
    offer for this arch and platform, so a no-match points at the missing piece."""
    _check_spec(spec)
    admitted = [r for r in manifest if _release_satisfies(r, spec)]
    lines = [f"searched {len(manifest)} releases; {len(admitted)} satisfy {spec!r}"]
    if stable:
        unstable = [r.version for r in admitted if r.stable is not True]
        admitted = [r for r in admitted if r.stable is True]
        if unstable:
            lines.append(f"{len(unstable)} of them are not stable (e.g. {unstable[0]})")
    if not admitted:
        return lines
    same = [f for r in admitted for f in r.files if f.arch == arch and f.platform == platform]
    if not same:
        pairs = sorted({f"{f.arch}/{f.platform}" for r in admitted for f in r.files})
        shown = ", ".join(pairs[:12]) + (" ..." if len(pairs) > 12 else "")
        lines.append(f"none has a file for {arch}/{platform}; they have: {shown}")
        return lines
    wanted = sorted({str(f.platform_version) for f in same if f.platform_version})
    os_version = reported_os_version(platform, platform_version)
    lines.append(
        f"their {arch}/{platform} files all need a platform_version: {', '.join(wanted)}; "
        f"tool-cache compares with {os_version!r}"
    )
    if platform_version and platform not in ("linux", "darwin"):
        lines.append(
            f"tool-cache reads no OS version on {platform!r}; --platform-version is ignored there"
        )
    return lines


# --- the fold's guard ------------------------------------------------------------------

Combo = tuple[str, str, str]
"""(arch, platform, platform_version or ""): one kind of machine a manifest serves."""


def _guarded_specs(manifest: Manifest) -> list[str]:
    """``major`` and ``major.minor`` of every release: what pipelines usually pin."""
    specs: dict[str, None] = {}
    for release in manifest:
        parsed = parse_version(release.version)
        specs[str(parsed.major)] = None
        specs[f"{parsed.major}.{parsed.minor}"] = None
    return list(specs)


def _combos(manifest: Manifest) -> list[Combo]:
    seen: dict[Combo, None] = {}
    for release in manifest:
        for file in release.files:
            pv = file.platform_version
            seen[(file.arch, file.platform, pv if isinstance(pv, str) else "")] = None
    return sorted(seen)


def _resolve_all(
    manifest: Manifest, combos: Sequence[Combo], specs: Sequence[str]
) -> dict[tuple[int, int, bool], str]:
    """``find_match`` for every (combo, spec, stable) at once, in one walk of the manifest.

    The first release in file order that satisfies a spec and has a matching file for a
    combo is that combo's answer, exactly as ``find_match`` walks; doing it in one pass
    keeps the guard cheap enough to run on every fold.
    """
    by_pair: dict[tuple[str, str], list[int]] = {}
    os_versions = []
    for c, (arch, platform, pv) in enumerate(combos):
        by_pair.setdefault((arch, platform), []).append(c)
        os_versions.append(reported_os_version(platform, pv))
    answers: dict[tuple[int, int, bool], str] = {}
    for release in manifest:
        admitted = [s for s, spec in enumerate(specs) if _release_satisfies(release, spec)]
        if not admitted:
            continue
        served: set[int] = set()
        for file in release.files:
            for c in by_pair.get((file.arch, file.platform), ()):
                if c not in served and _platform_version_ok(file, os_versions[c]):
                    served.add(c)
        for c in served:
            for s in admitted:
                answers.setdefault((c, s, False), release.version)
                if release.stable is True:
                    answers.setdefault((c, s, True), release.version)
    return answers


def _descending(manifest: Manifest) -> bool:
    keys = [version_key(r.version) for r in manifest]
    return all(keys[i] >= keys[i + 1] for i in range(len(keys) - 1))


def _only_grows(old: Manifest, new: Manifest) -> bool:
    """True when no answer can go down: both manifests newest first, and every old
    (arch, platform, platform_version) still served by its release, which is no less
    stable. Then the first match in ``new`` is at least the first match in ``old``."""
    if not (_descending(old) and _descending(new)):
        return False
    now = {release.version: release for release in new}
    for before in old:
        after = now.get(before.version)
        if after is None:
            return False
        if after is before:
            continue
        if before.stable is True and after.stable is not True:
            return False
        if after.files != before.files:
            # Answers depend on a file's (arch, platform, platform_version) only, so a
            # re-released file (new URL, size or digest) cannot lower one.
            served = {(f.arch, f.platform, f.platform_version) for f in after.files}
            if any((f.arch, f.platform, f.platform_version) not in served for f in before.files):
                return False
    return True


def _where(combo: Combo) -> str:
    arch, platform, pv = combo
    return f"{arch}/{platform}" + (f" {pv}" if pv else "")


def regressions(old_manifest: Manifest, new_manifest: Manifest) -> list[str]:
    """One line per spec and outcome for every ``major`` / ``major.minor`` spec that the
    new manifest resolves lower than the old one (or not at all), naming the machines
    (arch/platform platform_version, as present in the old manifest) and both versions."""
    if not old_manifest or _only_grows(old_manifest, new_manifest):
        return []
    combos = _combos(old_manifest)
    specs = _guarded_specs(old_manifest)
    before = _resolve_all(old_manifest, combos, specs)
    after = _resolve_all(new_manifest, combos, specs)
    lowered: dict[tuple[int, int, bool], tuple[str, str | None]] = {}
    for key, was in before.items():
        now = after.get(key)
        if now is None or version_key(now) < version_key(was):
            lowered[key] = (was, now)
    grouped: dict[tuple[int, bool, str, str | None], list[int]] = {}
    for (c, s, stable), (was, now) in lowered.items():
        if stable and lowered.get((c, s, False)) == (was, now):
            continue
        grouped.setdefault((s, stable, was, now), []).append(c)
    lines = []
    for (s, stable, was, now), where in sorted(grouped.items(), key=lambda item: item[0][:3]):
        label = f"spec {specs[s]!r}" + (" (stable only)" if stable else "")
        outcome = (
            f"would resolve to {now} instead of {was}"
            if now
            else f"would match nothing instead of {was}"
        )
        machines = ", ".join(_where(combos[c]) for c in sorted(where))
        lines.append(f"{label} {outcome} on {machines}")
    return lines
