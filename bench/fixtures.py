"""Generated inputs shaped like actions/python-versions' published manifest.

The benchmarks must stand alone on a fresh clone, so the realistic manifest is made
here rather than read from ``../shared/data``: about 250 releases with alpha, beta and
rc prereleases, about 2,200 files whose per-release platform mix follows the upstream
eras (old releases: a few x64/x86 builds; new ones: arm64, free-threaded, rhel), real
filename and URL shapes, releases in node-semver order and 2-space indent. Everything is
a pure function of its arguments, so every run measures the same bytes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

import msgspec

from refold.manifests.ordering import version_key

REPO_URL = "https://github.com/actions/python-versions"

Combo = tuple[str, str | None, str]
"""(platform, platform_version or None, arch): one file slot of a release."""

_OLD: tuple[Combo, ...] = (
    ("darwin", None, "x64"),
    ("linux", "16.04", "x64"),
    ("linux", "18.04", "x64"),
    ("win32", None, "x64"),
    ("win32", None, "x86"),
)
_MIDDLE: tuple[Combo, ...] = (
    ("darwin", None, "x64"),
    ("linux", "18.04", "x64"),
    ("linux", "20.04", "x64"),
    ("linux", "22.04", "x64"),
    ("linux", "22.04", "arm64"),
    ("win32", None, "x64"),
    ("win32", None, "x86"),
)
_NEW: tuple[Combo, ...] = (
    ("darwin", None, "arm64"),
    ("darwin", None, "x64"),
    ("linux", "20.04", "x64"),
    ("linux", "22.04", "arm64"),
    ("linux", "22.04", "x64"),
    ("linux", "24.04", "arm64"),
    ("linux", "24.04", "x64"),
    ("win32", None, "arm64"),
    ("win32", None, "x64"),
    ("win32", None, "x86"),
)
_FREETHREADED: tuple[Combo, ...] = (
    ("darwin", None, "arm64-freethreaded"),
    ("darwin", None, "x64-freethreaded"),
    ("linux", "22.04", "arm64-freethreaded"),
    ("linux", "22.04", "x64-freethreaded"),
    ("linux", "24.04", "arm64-freethreaded"),
    ("linux", "24.04", "x64-freethreaded"),
    ("win32", None, "arm64-freethreaded"),
    ("win32", None, "x64-freethreaded"),
    ("win32", None, "x86-freethreaded"),
    ("rhel", "9", "x64"),
    ("rhel", "10", "x64"),
)
_PRERELEASES = tuple(f"alpha.{i}" for i in range(1, 8)) + tuple(f"beta.{i}" for i in range(1, 5)) + (
    "rc.1",
    "rc.2",
)

JOB_COMBOS: tuple[Combo, ...] = (
    ("linux", "22.04", "x64"),
    ("linux", "24.04", "x64"),
    ("linux", "26.04", "x64"),
    ("linux", "22.04", "arm64"),
    ("linux", "24.04", "arm64"),
    ("linux", "26.04", "arm64"),
    ("darwin", None, "x64"),
    ("darwin", None, "arm64"),
    ("win32", None, "x64"),
    ("win32", None, "x86"),
    ("win32", None, "arm64"),
    ("linux", "24.04", "x64-freethreaded"),
    ("linux", "24.04", "arm64-freethreaded"),
    ("darwin", None, "x64-freethreaded"),
    ("darwin", None, "arm64-freethreaded"),
    ("win32", None, "x64-freethreaded"),
)
"""The 16 build jobs of one release in a fan-in (one per platform and arch)."""

JOB_VERSIONS = ("3.15.0-rc.2", "3.14.8", "3.13.12", "3.12.13", "3.11.15", "3.10.20")
"""Releases the fan-in jobs build: 16 jobs per release, newest first (new versions)."""


def _series() -> Iterator[tuple[str, tuple[Combo, ...]]]:
    """(version, combos) for the whole generated history, oldest era first."""
    patches = {
        (2, 7): 18, (3, 4): 10, (3, 5): 10, (3, 6): 15, (3, 7): 17, (3, 8): 20, (3, 9): 25,
        (3, 10): 19, (3, 11): 14, (3, 12): 12, (3, 13): 11, (3, 14): 7,
    }  # fmt: skip
    for (major, minor), last in patches.items():
        era = _OLD if minor < 8 else _MIDDLE if minor < 11 else _NEW
        if minor >= 13:
            era = _NEW + _FREETHREADED
        if minor >= 9:
            for pre in _PRERELEASES[:8]:
                yield f"{major}.{minor}.0-{pre}", era
        for patch in range(0 if minor != 5 else 1, last + 1):
            yield f"{major}.{minor}.{patch}", era
    for pre in _PRERELEASES[:12]:
        yield f"3.15.0-{pre}", _NEW + _FREETHREADED


def file_entry(version: str, combo: Combo, run_id: int, *, size: int | None = None) -> dict[str, object]:
    platform, platform_version, arch = combo
    ext = "zip" if platform == "win32" else "tar.gz"
    middle = f"{platform}-{platform_version}" if platform_version else platform
    name = f"python-{version}-{middle}-{arch}.{ext}"
    entry: dict[str, object] = {"filename": name, "arch": arch, "platform": platform}
    if platform_version is not None:
        entry["platform_version"] = platform_version
    entry["download_url"] = f"{REPO_URL}/releases/download/{version}-{run_id}/{name}"
    if size is not None:
        entry["size"] = size
    return entry


def release_entry(version: str, combos: tuple[Combo, ...], run_id: int) -> dict[str, object]:
    files = sorted((file_entry(version, c, run_id) for c in combos), key=lambda f: str(f["filename"]))
    return {
        "version": version,
        "stable": "-" not in version,
        "release_url": f"{REPO_URL}/releases/tag/{version}-{run_id}",
        "files": files,
    }


def _run_id(rng: random.Random) -> int:
    return rng.randrange(10**8, 10**11)


def realistic_releases(*, seed: int = 7) -> list[dict[str, object]]:
    """About 250 releases and 2,200 files, newest first, as plain JSON values."""
    rng = random.Random(seed)
    releases = []
    for version, era in _series():
        # Platforms come and go: each release lacks a few of its era's builds.
        combos = tuple(c for c in era if rng.random() < 0.93)
        releases.append(release_entry(version, combos or era[:1], _run_id(rng)))
    return sort_releases(releases)


def scaled_releases(files: int, *, seed: int = 11) -> list[dict[str, object]]:
    """A manifest of about ``files`` files (10 per release) for the growth curves."""
    rng = random.Random(seed)
    releases = []
    count = max(1, files // len(_NEW))
    for i in range(count):
        version = f"{4 + i // 10000}.{(i // 100) % 100}.{i % 100}"
        releases.append(release_entry(version, _NEW, _run_id(rng)))
    return sort_releases(releases)


def sort_releases(releases: list[dict[str, object]]) -> list[dict[str, object]]:
    return sorted(releases, key=lambda r: version_key(str(r["version"])), reverse=True)


def render(releases: list[dict[str, object]]) -> bytes:
    """Upstream's layout: 2-space indent and a final newline (same bytes as refold's)."""
    return json.dumps(releases, indent=2).encode() + b"\n"


def realistic_manifest() -> bytes:
    return render(realistic_releases())


def count_files(data: bytes) -> tuple[int, int]:
    releases = msgspec.json.decode(data)
    return len(releases), sum(len(r["files"]) for r in releases)


class Job(msgspec.Struct, frozen=True):
    """One fan-in build job: the one entry it publishes, and the lane it publishes on."""

    index: int
    version: str
    combo: Combo
    run_id: int

    @property
    def lane(self) -> str:
        platform, platform_version, arch = self.combo
        return f"{arch}/{platform}-{platform_version}" if platform_version else f"{arch}/{platform}"

    def entry(self) -> dict[str, object]:
        return file_entry(self.version, self.combo, self.run_id)

    def partial(self) -> list[dict[str, object]]:
        """What a python-versions-pz style job writes: a one-release versions-manifest array."""
        return [
            {
                "version": self.version,
                "stable": "-" not in self.version,
                "release_url": f"{REPO_URL}/releases/tag/{self.version}-{self.run_id}",
                "files": [self.entry()],
            }
        ]

    def key(self) -> tuple[str, str]:
        return self.version, str(self.entry()["filename"])


def fan_in_jobs(n: int) -> list[Job]:
    """``n`` jobs: 16 per release (one per platform and arch), releases newest first."""
    if n > len(JOB_COMBOS) * len(JOB_VERSIONS):
        raise ValueError(f"at most {len(JOB_COMBOS) * len(JOB_VERSIONS)} jobs")
    jobs = []
    for i in range(n):
        version = JOB_VERSIONS[i // len(JOB_COMBOS)]
        jobs.append(Job(i, version, JOB_COMBOS[i % len(JOB_COMBOS)], 30966273682 + i // len(JOB_COMBOS)))
    return jobs
