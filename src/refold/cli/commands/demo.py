"""refold demo [DIR]: a matrix build's fan-in on a local store, end to end.

Six build "jobs" run as parallel processes, each calling ``refold submit`` like a CI job
would. Five publish their arch's files for two releases; the sixth submits an SBOM on
the wrong lane, is refused, and then pushes the same partial around refold with plain
git, as a misconfigured pipeline might. One fold then publishes the five good lanes and
holds back the bad one, and the demo prints what an auditor would run next.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from refold.cli.commands.fold import describe
from refold.cli.output import EXIT_OK, EXIT_UNEXPECTED, emit
from refold.manifests.config import StoreConfig
from refold.manifests.errors import UsageError
from refold.store.compact import fold_store
from refold.store.init import init_store
from refold.store.repo import open_store

REPO_URL = "https://github.com/actions/python-versions"
RELEASES = {"3.13.1": "12345", "3.14.0-rc.1": "12399"}
LANES: dict[str, list[tuple[str, str | None]]] = {
    "x64": [("linux", "22.04"), ("linux", "24.04"), ("darwin", None), ("win32", None)],
    "arm64": [("linux", "24.04"), ("darwin", None)],
    "x64-freethreaded": [("linux", "24.04"), ("win32", None)],
    "ppc64le": [("linux", "22.04"), ("linux", "24.04")],
    "s390x": [("linux", "22.04"), ("linux", "24.04")],
}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "demo",
        help="run a six-job matrix fan-in on a local store",
        description="Run six build jobs in parallel against a new local store (five good "
        "architectures and one that submits an SBOM), fold once, and print the git "
        "commands an auditor would run next. Ignores --store.",
    )
    parser.add_argument(
        "dir",
        nargs="?",
        metavar="DIR",
        help="a new or empty directory for the store (default: a temp dir)",
    )
    parser.set_defaults(run=run)
    return parser


def _file(version: str, platform: str, platform_version: str | None, arch: str) -> dict[str, str]:
    ext = "zip" if platform == "win32" else "tar.gz"
    middle = f"{platform}-{platform_version}" if platform_version else platform
    name = f"python-{version}-{middle}-{arch}.{ext}"
    entry = {"filename": name, "arch": arch, "platform": platform}
    if platform_version:
        entry["platform_version"] = platform_version
    entry["download_url"] = f"{REPO_URL}/releases/download/{version}-{RELEASES[version]}/{name}"
    return entry


def _partial(version: str, lane: str) -> list[dict[str, object]]:
    """What a python-versions-pz style job writes: a one-release versions-manifest array."""
    return [
        {
            "version": version,
            "stable": "-" not in version,
            "release_url": f"{REPO_URL}/releases/tag/{version}-{RELEASES[version]}",
            "files": [_file(version, p, pv, lane) for p, pv in LANES[lane]],
        }
    ]


def _bad_partial() -> list[dict[str, object]]:
    name = "python-3.13.1-linux-24.04-s390x.sbom.json"
    sbom = {
        "filename": name,
        "arch": "s390x",
        "platform": "linux",
        "platform_version": "24.04",
        "download_url": f"{REPO_URL}/releases/download/3.13.1-12345/{name}",
    }
    release: dict[str, object] = dict(_partial("3.13.1", "s390x")[0])
    release["files"] = [sbom]
    return [release]


def _job_script(store: str, lane: str, files: list[Path]) -> list[str]:
    submits = " && ".join(
        f"{shlex.quote(sys.executable)} -m refold --store {shlex.quote(store)} submit --lane {lane} {shlex.quote(str(f))}"
        for f in files
    )
    return ["sh", "-c", submits]


def _push_around_refold(store: str, lane: str, partial: Path) -> None:
    """What a pipeline that bypasses refold does: write the lane commit with plain git."""

    def git(*argv: str, stdin: bytes | None = None) -> str:
        out = subprocess.run(
            ["git", "-C", store, *argv], input=stdin, capture_output=True, check=True
        )
        return out.stdout.decode().strip()

    wrapped = json.dumps({"releases": json.loads(partial.read_bytes())}, indent=2).encode() + b"\n"
    blob = git("hash-object", "-w", "--stdin", stdin=wrapped)
    tree = git("mktree", stdin=f"100644 blob {blob}\tpartial.json\n".encode())
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="rogue-job",
        GIT_AUTHOR_EMAIL="ci@example.invalid",
        GIT_COMMITTER_NAME="rogue-job",
        GIT_COMMITTER_EMAIL="ci@example.invalid",
    )
    parent = (
        subprocess.run(
            ["git", "-C", store, "rev-parse", "-q", "--verify", f"refs/partials/{lane}"],
            capture_output=True,
            check=False,
        )
        .stdout.decode()
        .strip()
    )
    argv = [
        "git",
        "-C",
        store,
        "commit-tree",
        tree,
        "-m",
        f"partial {lane} (pushed with plain git)",
    ]
    if parent:
        argv += ["-p", parent]
    commit = subprocess.run(argv, capture_output=True, check=True, env=env).stdout.decode().strip()
    git("update-ref", f"refs/partials/{lane}", commit)


def run(args: argparse.Namespace) -> int:
    root = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="refold-demo-"))
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise UsageError(
            "the demo needs a new or empty directory",
            location=str(root),
            hint="give another DIR, or none for a temporary one",
        )
    root = root.resolve()
    store_dir = root / "store.git"
    work = root / "partials"
    work.mkdir(parents=True, exist_ok=True)

    def say(text: str) -> None:
        if not args.json:
            print(text, flush=True)

    init_store(store_dir, config=StoreConfig(url_prefix=f"{REPO_URL}/releases/download/"))
    say(f"store: {store_dir}\n")

    jobs: dict[str, list[Path]] = {}
    for lane in LANES:
        for version in RELEASES:
            path = work / f"{version}-{lane}.json"
            path.write_text(json.dumps(_partial(version, lane), indent=2) + "\n")
            jobs.setdefault(lane, []).append(path)
    bad = work / "3.13.1-s390x-sbom.json"
    bad.write_text(json.dumps(_bad_partial(), indent=2) + "\n")
    jobs["ppc64le-sbom"] = [bad]

    say("running 6 build jobs in parallel (refold submit) ...")
    procs = {}
    for job, files in jobs.items():
        lane = "ppc64le" if job == "ppc64le-sbom" else job
        procs[job] = subprocess.Popen(
            _job_script(str(store_dir), lane, files), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    results = {}
    for job, proc in procs.items():
        out, err = proc.communicate()
        results[job] = {
            "exit_code": proc.returncode,
            "stdout": out.decode(),
            "stderr": err.decode(),
        }
        mark = "ok" if proc.returncode == 0 else f"refused (exit {proc.returncode})"
        say(f"  job {job:<18} {mark}")
        for line in (out.decode() + err.decode()).splitlines():
            say(f"      {line}")
    good = all(results[j]["exit_code"] == 0 for j in LANES)
    refused = results["ppc64le-sbom"]["exit_code"] == 2

    say("\nthe sbom job now pushes the same partial with plain git (around refold) ...")
    _push_around_refold(str(store_dir), "s390x", bad)

    say("\nrefold fold:")
    outcome = fold_store(open_store(store_dir))
    say("\n".join("  " + line for line in describe(outcome).splitlines()))
    held = outcome.report.held_back
    beside = Path(sys.executable).with_name("refold")
    refold = str(beside) if beside.exists() else "refold"
    say(
        "\nwhat an auditor would run (plain git):\n"
        f"  git -C {store_dir} log --first-parent --format='%h %ci %s' main      # publication history\n"
        f"  git -C {store_dir} log --format='%h %an %s%n%b' refs/partials/x64   # one lane's history\n"
        f"  git -C {store_dir} show main:.refold/provenance.json | head -40     # who wrote each entry\n"
        f"  git -C {store_dir} show main:versions-manifest.json | head -30      # the published file\n"
        "\nand with refold itself:\n"
        f"  {refold} --store {store_dir} status                 # pending and held back\n"
        f"  {refold} --store {store_dir} blame 3.13.1           # which job wrote each file\n"
        f"  {refold} --store {store_dir} verify                 # replay and check all history\n"
        f"  {refold} --store {store_dir} report --html report.html   # the audit page"
    )
    ok = good and refused and outcome.commit is not None and "s390x" in held
    emit(
        args,
        {"store": str(store_dir), "jobs": results, "fold": outcome, "ok": ok},
        "" if ok else "demo: something did not go as expected (see above)",
    )
    return EXIT_OK if ok else EXIT_UNEXPECTED
