"""``find_match`` agrees with ``@actions/tool-cache``'s own ``findFromManifest``.

The package is installed from the npm registry into a temporary directory once per
session (skipped cleanly when node or npm is missing or the install fails) and called
in-process by a small node script on a manifest given as data: no network beyond the
install. tool-cache reads the platform and OS version from the machine, so the script
fakes exactly those inputs (``os.platform``, ``/etc/lsb-release``, ``sw_vers`` output
with its trailing newline) and nothing inside tool-cache itself.

Two versions are pinned: 2.0.2 is what ``actions/setup-python`` ships (``^2.0.1``, with
node-semver 6); 4.0.0 is the current one (node-semver 7, which refold's ordering ports).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import msgspec
import pytest
from msgspec import UNSET

from refold.manifests.model import File, Manifest, Release, decode_manifest
from refold.manifests.render import canonical_order
from refold.manifests.resolve import find_match

from ._data import shared_data

TOOL_CACHE_VERSIONS = ("2.0.2", "4.0.0")
DOWNLOAD = "https://github.com/actions/python-versions/releases/download"

NODE_SCRIPT = r"""
const fs = require('fs');
const os = require('os');
const cp = require('child_process');
const path = require('path');
const { pathToFileURL } = require('url');
const { syncBuiltinESMExports } = require('module');

async function main() {
  const [root, inputPath, outputPath] = process.argv.slice(2);
  const pkgDir = path.join(root, 'node_modules', '@actions', 'tool-cache');
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  const loaded = await import(pathToFileURL(path.join(pkgDir, pkg.main)).href);
  const tc = typeof loaded.findFromManifest === 'function' ? loaded : loaded.default;
  const input = JSON.parse(fs.readFileSync(inputPath, 'utf8'));
  const realExists = fs.existsSync;
  const realRead = fs.readFileSync;
  const realWrite = fs.writeFileSync;
  const LSB = '/etc/lsb-release';
  const machine = { platform: 'linux', osVersion: '' };
  os.platform = () => machine.platform;
  cp.execSync = () => Buffer.from(machine.osVersion + '\n');
  fs.existsSync = (p) => (p === LSB ? true : realExists(p));
  fs.readFileSync = (p, ...rest) =>
    p === LSB
      ? Buffer.from(`DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=${machine.osVersion}\n`)
      : realRead(p, ...rest);
  syncBuiltinESMExports();
  const answers = [];
  for (const q of input.queries) {
    machine.platform = q.platform;
    machine.osVersion = q.os_version;
    const found = await tc.findFromManifest(q.spec, q.stable, input.manifest, q.arch);
    answers.push(found ? { version: found.version, filename: found.files[0].filename } : null);
  }
  realWrite(outputPath, JSON.stringify(answers));
}
main().catch((err) => { console.error(err); process.exit(1); });
"""


@pytest.fixture(scope="session", params=TOOL_CACHE_VERSIONS)
def tool_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with @actions/tool-cache installed from npm (once per session)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run @actions/tool-cache")
    version = request.param
    root = tmp_path_factory.mktemp(f"tool-cache-{version}")
    env = dict(os.environ)
    env.update(
        npm_config_cache=str(root / ".npm-cache"),
        npm_config_update_notifier="false",
        npm_config_fund="false",
        npm_config_audit="false",
        npm_config_fetch_retries="1",
        npm_config_fetch_timeout="30000",
    )
    try:
        result = subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(root),
                "--ignore-scripts",
                "--no-save",
                "--no-package-lock",
                f"@actions/tool-cache@{version}",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"npm install @actions/tool-cache@{version} timed out")
    if result.returncode != 0 or not (root / "node_modules/@actions/tool-cache").is_dir():
        pytest.skip(f"npm install @actions/tool-cache@{version} failed: {result.stderr[-300:]}")
    (root / "find.cjs").write_text(NODE_SCRIPT)
    return root


def run_tool_cache(root: Path, manifest: Manifest, queries: list[dict[str, Any]]) -> list[Any]:
    (root / "input.json").write_bytes(
        msgspec.json.encode({"manifest": manifest, "queries": queries})
    )
    output = root / "output.json"
    output.unlink(missing_ok=True)
    done = subprocess.run(
        ["node", str(root / "find.cjs"), str(root), str(root / "input.json"), str(output)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answers: list[Any] = json.loads(output.read_text())
    return answers


# --- a realistic manifest --------------------------------------------------------------

PLAIN = ("x64", "arm64")
FREETHREADED = ("x64-freethreaded", "arm64-freethreaded")


def _file(version: str, arch: str, platform: str, pv: str | None, tag: str | None = None) -> File:
    ext = "zip" if platform == "win32" else "tar.gz"
    where = tag or (f"{platform}-{pv}" if pv else platform)
    name = f"python-{version}-{where}-{arch}.{ext}"
    return File(
        filename=name,
        arch=arch,
        platform=platform,
        platform_version=UNSET if pv is None else pv,
        download_url=f"{DOWNLOAD}/{version}-1/{name}",
    )


def _files(version: str, minor: int, patch: int) -> list[File]:
    arches = list(PLAIN) + (list(FREETHREADED) if minor >= 13 else [])
    files = []
    for arch in arches:
        linux = ("22.04", "24.04") if minor >= 11 else ("20.04", "22.04")
        files += [_file(version, arch, "linux", pv) for pv in linux]
        if arch.startswith("x64") or minor >= 11:
            # macOS builds carry a range as platform_version on newer minors, none on older.
            darwin_pv = ">=13.0.0" if minor >= 12 else None
            if minor == 12 and patch % 3 == 0:
                darwin_pv = "14.x"
            files.append(_file(version, arch, "darwin", darwin_pv, tag="darwin"))
        files.append(_file(version, arch, "win32", None))
    files.append(_file(version, "x86", "win32", None))
    if minor == 13 and patch % 2 == 0:
        # An exact-match macOS build next to the range build: first in file order wins.
        files.append(_file(version, "arm64", "darwin", "14.5", tag="darwin-14.5"))
    return files


def realistic_manifest() -> Manifest:
    releases = []
    for minor, patches in ((9, 8), (10, 10), (11, 9), (12, 9), (13, 6), (14, 3)):
        for patch in range(patches):
            version = f"3.{minor}.{patch}"
            # 3.12.8 was pulled back to unstable: --stable must skip it.
            stable = version != "3.12.8"
            releases.append(
                Release(
                    version=version,
                    stable=stable,
                    release_url="",
                    files=tuple(_files(version, minor, patch)),
                )
            )
    for minor, labels in (
        (14, ("alpha.1", "beta.2", "rc.1", "rc.2")),
        (15, ("alpha.1", "alpha.2", "alpha.10", "beta.1")),
    ):
        for label in labels:
            version = f"3.{minor}.0-{label}"
            files = [f for f in _files(version, minor, 0) if f.platform != "darwin" or minor == 14]
            releases.append(
                Release(version=version, stable=False, release_url="", files=tuple(files))
            )
    # A rebuild published with build metadata: same precedence as 3.11.8.
    releases.append(
        Release(
            version="3.11.8+rebuild.1",
            stable=True,
            release_url="",
            files=tuple(_files("3.11.8+rebuild.1", 11, 8)),
        )
    )
    return canonical_order(releases)


SPECS = [
    "3",
    "3.x",
    "3.12",
    "3.12.x",
    "3.13",
    "3.14",
    "3.15",
    "3.9",
    "3.10",
    "3.11",
    "2",
    "4",
    "3.12.4",
    "=3.12.4",
    "v3.12.4",
    "3.11.8",
    "~3.12.1",
    "~3.13",
    "^3.11",
    "^3.14.0-rc.1",
    ">=3.10 <3.13",
    ">3.12.5",
    "<=3.10",
    "<3.11.0",
    "3.10 - 3.12",
    "3.9 || 3.13",
    "3.14.0-rc.1",
    "3.14.0-alpha.1",
    "3.15.0-alpha.10",
    "3.15.0-alpha.2",
    ">=3.15.0-alpha.1",
    "~3.15.0-0",
    "~3.14.0-0",
    "^3.15.0-alpha",
    "3.14.0-rc",
    "*",
    "x",
    "",
    ">=3.12.8 <3.12.9",
    "3.12.8",
    ">=0.0.0",
    "3.11.x || 3.14.0-beta.2",
    "^3.16",
    "3.15.0",
    "3.14.3",
]
ARCHES = [*PLAIN, *FREETHREADED, "x86", "s390x"]
MACHINES = [
    ("linux", "22.04"),
    ("linux", "24.04"),
    ("linux", "20.04"),
    ("linux", ""),
    ("darwin", "14.5"),
    ("darwin", "14.5.0"),
    ("darwin", "13.6.1"),
    ("darwin", "12.7.6"),
    ("darwin", "15.0.0"),
    ("win32", ""),
    ("win32", "10.0.22631"),
    ("freebsd", "14.1"),
]


def queries(count: int) -> list[dict[str, Any]]:
    rng = random.Random(20240905)
    out = []
    for _ in range(count):
        platform, os_version = rng.choice(MACHINES)
        out.append(
            {
                "spec": rng.choice(SPECS),
                "arch": rng.choice(ARCHES),
                "platform": platform,
                "os_version": os_version,
                "stable": rng.random() < 0.3,
            }
        )
    return out


def refold_answers(manifest: Manifest, asked: list[dict[str, Any]]) -> list[Any]:
    answers: list[Any] = []
    for q in asked:
        found = find_match(
            manifest,
            q["spec"],
            arch=q["arch"],
            platform=q["platform"],
            platform_version=q["os_version"],
            stable=q["stable"],
        )
        answers.append(
            {"version": found.release.version, "filename": found.file.filename} if found else None
        )
    return answers


def test_the_query_set_exercises_prereleases_freethreaded_and_platform_version_ranges() -> None:
    manifest = realistic_manifest()
    asked = queries(400)
    ours = refold_answers(manifest, asked)
    picked = [(q, a) for q, a in zip(asked, ours) if a is not None]
    assert len(picked) >= 100 and len(ours) - len(picked) >= 50
    assert any("-" in a["version"].split("+")[0] for _, a in picked)
    assert any(q["arch"].endswith("-freethreaded") for q, _ in picked)
    ranged = {
        f.filename for r in manifest for f in r.files if f.platform_version in (">=13.0.0", "14.x")
    }
    assert any(a["filename"] in ranged for _, a in picked)
    assert any(q["stable"] for q, _ in picked)


def test_find_match_agrees_with_tool_cache_find_from_manifest(tool_cache: Path) -> None:
    manifest = realistic_manifest()
    asked = queries(400)
    theirs = run_tool_cache(tool_cache, manifest, asked)
    ours = refold_answers(manifest, asked)
    disagreements = [(q, a, b) for q, a, b in zip(asked, ours, theirs) if a != b]
    assert disagreements == []


def test_agreement_on_the_published_python_versions_manifest(tool_cache: Path) -> None:
    data = shared_data() / "python-versions" / "versions-manifest.json"
    manifest = decode_manifest(data.read_bytes())
    rng = random.Random(7)
    arches = sorted({f.arch for r in manifest for f in r.files})
    asked = [
        {
            "spec": rng.choice(
                [
                    "3",
                    "3.13",
                    "3.12",
                    "3.14",
                    "3.9",
                    "3.15.0-alpha.1",
                    "~3.14.0-0",
                    "3.8.10",
                    "3.13.0-rc.1",
                    ">=3.11 <3.13",
                ]
            ),
            "arch": rng.choice(arches),
            "platform": platform,
            "os_version": os_version,
            "stable": rng.random() < 0.5,
        }
        for platform, os_version in [
            rng.choice([*MACHINES, ("linux", "26.04")]) for _ in range(200)
        ]
    ]
    assert refold_answers(manifest, asked) == run_tool_cache(tool_cache, manifest, asked)
