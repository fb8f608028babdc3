"""Deterministic test data shaped like actions/python-versions, built without refold.

The generated manifest is rendered with the standard library (``json.dumps`` with a
2-space indent and a final newline, as upstream's PowerShell/Node writers produce), and
ordered with a sort key written here rather than refold's own, so a round trip through
refold is checked against an independent rendering.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from msgspec import UNSET, UnsetType

from refold.manifests.fold import Pending
from refold.manifests.model import File, Release
from refold.manifests.partial import Partial, Provenance, Retraction

REPO = "https://github.com/actions/python-versions"
DOWNLOAD = f"{REPO}/releases/download"

PLATFORMS: tuple[tuple[str, str | None], ...] = (
    ("darwin", None),
    ("linux", "22.04"),
    ("linux", "24.04"),
    ("win32", None),
)
ARCHES = ("x64", "arm64", "x86", "x64-freethreaded", "arm64-freethreaded")

PRERELEASES = [f"alpha.{n}" for n in range(1, 8)] + [f"beta.{n}" for n in range(1, 5)]
PRERELEASES += [f"rc.{n}" for n in range(1, 4)]
PATCHES = {5: 11, 6: 16, 7: 18, 8: 19, 9: 22, 10: 17, 11: 14, 12: 12, 13: 10, 14: 5}


# --- the generated manifest --------------------------------------------------------------


def _sort_key(version: str) -> tuple[Any, ...]:
    """node-semver precedence for the versions generated here (N.N.N[-label.N])."""
    core, _, pre = version.partition("-")
    numbers = tuple(int(n) for n in core.split("."))
    if not pre:
        return (*numbers, 1, "", 0)
    label, _, number = pre.partition(".")
    return (*numbers, 0, label, int(number))


def versions() -> list[str]:
    """About 250 versions, 3.5.0 to 3.15.0-rc.1, newest first (node-semver order)."""
    out = [f"3.{minor}.{patch}" for minor, count in PATCHES.items() for patch in range(count)]
    out += [f"3.{minor}.0-{pre}" for minor in range(8, 15) for pre in PRERELEASES]
    out += [f"3.15.0-alpha.{n}" for n in range(1, 9)] + [f"3.15.0-beta.{n}" for n in range(1, 5)]
    out += ["3.15.0-rc.1", "3.14.5-rc.1", "3.13.4-rc.1"]
    return sorted(out, key=_sort_key, reverse=True)


def minor_of(version: str) -> int:
    return int(version.split(".")[1])


def arches_of(version: str) -> tuple[str, ...]:
    """Which arches a release has, growing with the version as upstream's did."""
    minor = minor_of(version)
    arches = ["x64", "x86"]
    if minor >= 11:
        arches.append("arm64")
    if minor >= 13:
        arches += ["x64-freethreaded", "arm64-freethreaded"]
    return tuple(arches)


def platforms_of(arch: str) -> tuple[tuple[str, str | None], ...]:
    if arch.startswith("x86"):
        return (("win32", None),)
    return PLATFORMS


def run_id(version: str) -> str:
    return str(10_000_000_000 + zlib.crc32(version.encode()) % 9_000_000_000)


def filename(version: str, platform: str, platform_version: str | None, arch: str) -> str:
    ext = "zip" if platform == "win32" else "tar.gz"
    where = platform if platform_version is None else f"{platform}-{platform_version}"
    return f"python-{version}-{where}-{arch}.{ext}"


def file_dict(
    version: str, platform: str, platform_version: str | None, arch: str
) -> dict[str, Any]:
    name = filename(version, platform, platform_version, arch)
    entry: dict[str, Any] = {"filename": name, "arch": arch, "platform": platform}
    if platform_version is not None:
        entry["platform_version"] = platform_version
    entry["download_url"] = f"{DOWNLOAD}/{version}-{run_id(version)}/{name}"
    return entry


def release_dict(version: str) -> dict[str, Any]:
    files = [
        file_dict(version, platform, platform_version, arch)
        for arch in arches_of(version)
        for platform, platform_version in platforms_of(arch)
    ]
    return {
        "version": version,
        "stable": "-" not in version,
        "release_url": f"{REPO}/releases/tag/{version}-{run_id(version)}",
        "files": sorted(files, key=lambda f: f["filename"]),
    }


def manifest_dicts() -> list[dict[str, Any]]:
    return [release_dict(v) for v in versions()]


def render(value: Any, indent: int = 2) -> bytes:
    """What upstream writes: JSON.stringify(value, null, 2) plus a final newline."""
    return (json.dumps(value, indent=indent, ensure_ascii=False) + "\n").encode()


@lru_cache(maxsize=1)
def manifest_bytes() -> bytes:
    return render(manifest_dicts())


# --- structs for partials and folds --------------------------------------------------------


def make_file(
    version: str,
    arch: str = "x64",
    platform: str = "linux",
    platform_version: str | None | UnsetType = "24.04",
    *,
    name: str | None = None,
    download_url: str | None = None,
) -> File:
    pv = None if isinstance(platform_version, UnsetType) else platform_version
    name = name or filename(version, platform, pv, arch)
    return File(
        filename=name,
        arch=arch,
        platform=platform,
        platform_version=platform_version,
        download_url=download_url or f"{DOWNLOAD}/{version}-{run_id(version)}/{name}",
    )


def lane_platforms(lane: str) -> tuple[tuple[str, str | None], ...]:
    """The platforms a lane builds: all of its arch's, or the one its qualifier names."""
    arch, _, qualifier = lane.partition("/")
    choices = platforms_of(arch)
    if not qualifier:
        return choices
    return tuple((p, pv) for p, pv in choices if (p if pv is None else f"{p}-{pv}") == qualifier)


def lane_files(lane: str, version: str) -> tuple[File, ...]:
    arch = lane.split("/", 1)[0]
    files = (
        make_file(version, arch, p, UNSET if pv is None else pv) for p, pv in lane_platforms(lane)
    )
    return tuple(sorted(files, key=lambda f: f.filename))


def make_release(
    version: str,
    files: Iterable[File],
    *,
    stable: bool | None = None,
    release_url: str | None = None,
    lts: str | bool | UnsetType = UNSET,
) -> Release:
    return Release(
        version=version,
        stable=("-" not in version) if stable is None else stable,
        lts=lts,
        release_url=(
            f"{REPO}/releases/tag/{version}-{run_id(version)}"
            if release_url is None
            else release_url
        ),
        files=tuple(files),
    )


def retract(version: str, name: str | None = None) -> Retraction:
    return (
        Retraction(version=version) if name is None else Retraction(version=version, filename=name)
    )


def lane_partial(
    lane: str,
    versions: Sequence[str] = (),
    *,
    retractions: Sequence[Retraction] = (),
    stable: bool | None = None,
    release_url: str | None = None,
    lts: str | bool | UnsetType = UNSET,
    with_lane: bool = False,
    run: str | None = None,
) -> Partial:
    """A valid partial for ``lane``: every file its arch (and qualifier) builds per version."""
    releases = tuple(
        make_release(v, lane_files(lane, v), stable=stable, release_url=release_url, lts=lts)
        for v in versions
    )
    return Partial(
        lane=lane if with_lane else UNSET,
        releases=releases,
        retract=tuple(retractions),
        provenance=Provenance(run_id=run) if run else Provenance(),
    )


def commit_id(lane: str, index: int) -> str:
    return hashlib.sha1(f"{lane}#{index}".encode()).hexdigest()


def pending(lane: str, *partials: Partial, start: int = 0) -> list[Pending]:
    """The lane's partials as pending commits, oldest first, with reproducible ids."""
    return [
        Pending(lane=lane, commit=commit_id(lane, start + i), partial=p)
        for i, p in enumerate(partials)
    ]
