"""The benchmark suite's correctness figures, at its smallest sizes (never its timings).

``python -m bench --smoke`` runs every measured scenario end to end with real processes
and real repositories; this asserts what it found: refold publishes every job's entry
and loses nothing, and every baseline job at least completes. The lost-update counter
and the ``-X ours`` claim the benchmark documents are checked on their own as well.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _git(*argv: str, cwd: Path) -> str:
    env = dict(
        os.environ,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.invalid",
    )
    done = subprocess.run(["git", *argv], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    return f"{done.returncode}\n{done.stdout}{done.stderr}"


def test_smoke_run_completes_every_scenario_and_refold_loses_no_update(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--only", "model,fanin,floor,growth,remote", "--out", str(out),
         "--workdir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(out.read_text())["correctness"]

    assert figures["model"] == {"entry_published": True, "entries_lost": 0, "roundtrip_identical": True}

    runs = {(r["method"], r["jobs"]): r for r in figures["fanin"]}
    for method in ("refold submit + 1 fold", "refold submit + 2 compactors"):
        run = runs[(method, 4)]
        assert run["lost_updates"] == 0, method
        assert run["other_entries_lost"] == 0, method
        assert run["failed_jobs"] == 0, method
        assert run["manifest_valid"] is True, method
    careful = runs[("git pull --rebase", 4)]
    assert careful["failed_jobs"] == 0
    assert careful["lost_updates"] == 0
    assert ("git pull --rebase -X ours", 4) in runs

    for kind in ("add", "replace"):
        assert figures["floor"][kind] == {
            "partial_published_every_rep": True,
            "floor_wrote_same_manifest_blob": True,
        }
    assert figures["growth"] == {"manifest size": True, "pending partials": True, "history": True}
    assert figures["remote"] == {"local": True, "file://": True, "git://": True, "git:// + hook": True}


def test_lost_update_count_is_the_job_entries_missing_from_the_final_manifest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    from bench.fanin import count_losses
    from bench.fixtures import fan_in_jobs, realistic_manifest, render

    initial = realistic_manifest()
    jobs = fan_in_jobs(3)
    releases = json.loads(initial)
    releases.insert(0, dict(jobs[0].partial()[0], files=[jobs[0].entry(), jobs[2].entry()]))
    dropped = releases.pop()
    final = render(releases)

    losses = count_losses(initial, final, jobs)

    assert losses.lost_updates == 1
    assert losses.other_entries_lost == len(dropped["files"])
    assert losses.manifest_valid is True


def test_a_final_manifest_that_is_not_json_loses_every_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    from bench.fanin import count_losses
    from bench.fixtures import count_files, fan_in_jobs, realistic_manifest

    initial = realistic_manifest()
    losses = count_losses(initial, initial[:-200], fan_in_jobs(4))

    assert losses.lost_updates == 4
    assert losses.other_entries_lost == count_files(initial)[1]
    assert losses.manifest_valid is False


def test_rebase_with_x_ours_keeps_upstream_and_drops_the_jobs_own_adjacent_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the baseline's ``-X ours`` variant relies on: during a rebase "ours" is the
    upstream side, so a conflicting hunk silently takes upstream's text and the push
    that follows succeeds without the job's entry."""
    monkeypatch.syspath_prepend(str(ROOT))
    from bench.fixtures import fan_in_jobs, realistic_manifest
    from bench.gitjob import merge_entry

    origin, seed = tmp_path / "origin.git", tmp_path / "seed"
    _git("init", "-q", "--bare", "-b", "main", str(origin), cwd=tmp_path)
    _git("init", "-q", "-b", "main", str(seed), cwd=tmp_path)
    (seed / "versions-manifest.json").write_bytes(realistic_manifest())
    _git("add", ".", cwd=seed)
    _git("commit", "-q", "-m", "seed", cwd=seed)
    _git("push", "-q", str(origin), "main", cwd=seed)
    first, second = fan_in_jobs(2)
    clones = {}
    for job in (first, second):
        work = tmp_path / f"job-{job.index}"
        _git("clone", "-q", str(origin), str(work), cwd=tmp_path)
        release = {k: v for k, v in job.partial()[0].items() if k != "files"}
        merge_entry(work / "versions-manifest.json", release, job.entry())
        _git("commit", "-q", "-a", "-m", f"job {job.index}", cwd=work)
        clones[job.index] = work

    assert _git("push", "-q", "origin", "HEAD:main", cwd=clones[0]).startswith("0\n")
    assert not _git("push", "-q", "origin", "HEAD:main", cwd=clones[1]).startswith("0\n")
    assert _git("pull", "-q", "--rebase", "-X", "ours", "origin", "main", cwd=clones[1]).startswith("0\n")
    assert _git("push", "-q", "origin", "HEAD:main", cwd=clones[1]).startswith("0\n")

    published = _git("show", "main:versions-manifest.json", cwd=origin)
    assert str(first.entry()["filename"]) in published
    assert str(second.entry()["filename"]) not in published
