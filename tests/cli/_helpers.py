"""Helpers for the command-line tests: partial files, running refold, reading stores back.

The partials are written as python-versions-pz jobs write them (a versions-manifest
array with one release), with the standard library, so nothing here leans on refold's
own encoders.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from refold.cli.main import main
from refold.store.repo import all_refs, open_store

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
REPO_URL = "https://github.com/actions/python-versions"
SRC = Path(__file__).resolve().parents[2] / "src"


def shared_data() -> Path:
    """The real manifests in ../shared/data, or skip: the suite must stand alone without them."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (conformance data is optional)")
    return SHARED_DATA


class Ran(NamedTuple):
    code: int
    out: str
    err: str


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Ran:
    """``refold ARGV`` in this process: its exit code and everything it printed."""
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return Ran(code, captured.out, captured.err)


def refold(
    *argv: str,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """``python -m refold ARGV`` as a real process, the way a CI job runs it."""
    full_env = dict(os.environ if env is None else env)
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), full_env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "refold", *argv],
        input=stdin,
        capture_output=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def the_json(text: str) -> Any:
    """The one JSON document ``text`` must be: json.loads refuses trailing extra documents."""
    return json.loads(text)


def python_file(
    version: str, arch: str, platform: str = "linux", platform_version: str | None = "24.04"
) -> dict[str, str]:
    ext = "zip" if platform == "win32" else "tar.gz"
    middle = f"{platform}-{platform_version}" if platform_version else platform
    name = f"python-{version}-{middle}-{arch}.{ext}"
    entry = {"filename": name, "arch": arch, "platform": platform}
    if platform_version:
        entry["platform_version"] = platform_version
    entry["download_url"] = f"{REPO_URL}/releases/download/{version}-1/{name}"
    return entry


def release(version: str, files: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    return {
        "version": version,
        "stable": "-" not in version,
        "release_url": f"{REPO_URL}/releases/tag/{version}-1",
        "files": list(files),
    }


def partial_json(version: str, arch: str, *platforms: tuple[str, str | None]) -> bytes:
    """A one-release partial of ``arch`` files (default: linux 24.04), as a pz job writes it."""
    files = [python_file(version, arch, p, pv) for p, pv in (platforms or [("linux", "24.04")])]
    return json.dumps([release(version, files)], indent=2).encode() + b"\n"


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def manifest_bytes(releases: Sequence[Mapping[str, Any]]) -> bytes:
    """A versions-manifest rendered as upstream writes it (2-space indent, final newline)."""
    return json.dumps(list(releases), indent=2).encode() + b"\n"


def refs(store: Path) -> dict[str, str]:
    """Every ref of the store at ``store``: what bad-input tests compare before and after."""
    return all_refs(open_store(store).repo)
