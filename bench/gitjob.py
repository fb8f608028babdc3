"""One baseline build job: publish one entry the way release pipelines do it today.

Run as a script (``python bench/gitjob.py SPEC.json``), standard library and git CLI
only, because that is all such a pipeline has: clone the manifest repository, merge the
entry into ``versions-manifest.json`` with a JSON load/dump, commit, push; when the push
is rejected, ``git pull --rebase`` (optionally ``-X ours``) and push again.

Mode ``rebase``: a rebase that stops on a conflict is aborted, the job resets to the
remote tip and redoes its JSON merge, as a careful pipeline does. Mode ``ours``: the job
passes ``-X ours`` to "keep local changes". During a rebase the sides are swapped: the
branch being rebased onto (upstream) is "ours" and the job's own commit is "theirs", so
every conflicting hunk silently resolves to upstream's text and the job's entry is
dropped while the push then succeeds. The job reports what it did as JSON on stdout.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

MANIFEST = "versions-manifest.json"


def _key(version: str) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
    """Version precedence good enough for the versions this benchmark publishes."""
    core, _, pre = version.partition("-")
    major, minor, patch = (int(x) for x in core.split("."))
    ids = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split(".")) if pre else ()
    return major, minor, patch, 0 if pre else 1, ids


def merge_entry(path: Path, release: dict[str, object], entry: dict[str, object]) -> None:
    """Add or replace one file entry, keeping releases newest first and files by name."""
    releases = json.loads(path.read_text())
    for existing in releases:
        if existing["version"] == release["version"]:
            files = [f for f in existing["files"] if f["filename"] != entry["filename"]]
            files.append(entry)
            existing["files"] = sorted(files, key=lambda f: f["filename"])
            break
    else:
        releases.append(dict(release, files=[entry]))
        releases.sort(key=lambda r: _key(r["version"]), reverse=True)
    path.write_text(json.dumps(releases, indent=2) + "\n")


class Job:
    def __init__(self, spec: dict[str, object]) -> None:
        self.spec = spec
        self.work = Path(str(spec["workdir"]))
        self.git_ops = 0
        self.push_attempts = 0
        self.retries = 0
        self.conflicts = 0
        self.dropped_own_change = 0

    def git(self, *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        self.git_ops += 1
        return subprocess.run(
            ["git", *argv], cwd=cwd or self.work, capture_output=True, text=True, check=False
        )

    def must(self, *argv: str, cwd: Path | None = None) -> None:
        done = self.git(*argv, cwd=cwd)
        if done.returncode != 0:
            raise RuntimeError(f"git {' '.join(argv)} failed: {done.stderr.strip()}")

    def edit_and_commit(self) -> None:
        merge_entry(self.work / MANIFEST, dict(self.spec["release"]), dict(self.spec["entry"]))  # type: ignore[call-overload]
        self.must("commit", "-q", "-a", "-m", f"Update manifest: {self.spec['entry']['filename']}")  # type: ignore[index]

    def own_entry_present(self) -> bool:
        name = self.spec["entry"]["filename"]  # type: ignore[index]
        return bool(re.search(rf'"filename": "{re.escape(str(name))}"', (self.work / MANIFEST).read_text()))

    def run(self) -> dict[str, object]:
        start = time.perf_counter()
        self.must("clone", "-q", str(self.spec["origin"]), str(self.work), cwd=self.work.parent)
        self.edit_and_commit()
        mode = self.spec["mode"]
        pushed = False
        for _ in range(int(self.spec["attempts"])):  # type: ignore[call-overload]
            self.push_attempts += 1
            if self.git("push", "-q", "origin", "HEAD:main").returncode == 0:
                pushed = True
                break
            self.retries += 1
            extra = ["-X", "ours"] if mode == "ours" else []
            pulled = self.git("pull", "-q", "--rebase", *extra, "origin", "main")
            if pulled.returncode != 0:
                self.conflicts += 1
                self.git("rebase", "--abort")
                self.must("reset", "-q", "--hard", "origin/main")
                self.edit_and_commit()
            elif not self.own_entry_present():
                self.dropped_own_change += 1
        return {
            "index": self.spec["index"],
            "pushed": pushed,
            "git_ops": self.git_ops,
            "push_attempts": self.push_attempts,
            "retries": self.retries,
            "conflicts": self.conflicts,
            "dropped_own_change": self.dropped_own_change,
            "seconds": time.perf_counter() - start,
        }


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[1]).read_text())
    try:
        result = Job(spec).run()
    except RuntimeError as exc:
        result = {"index": spec["index"], "pushed": False, "error": str(exc)}
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
