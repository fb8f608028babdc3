"""The refold command as CI runs it: real processes, exit statuses, stdout vs stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ._helpers import manifest_bytes, partial_json, python_file, refold, refs, release, write


def test_a_matrix_pipeline_through_real_processes(tmp_path: Path) -> None:
    store = tmp_path / "store.git"
    env = dict(os.environ, REFOLD_STORE=str(store))
    assert refold("init", env=env).returncode == 0
    for arch in ("x64", "arm64"):
        source = write(tmp_path / f"{arch}.json", partial_json("3.13.1", arch))
        job = refold("submit", "--lane", arch, source, env=env)
        assert job.returncode == 0, job.stderr.decode()
        assert job.stderr == b""
    folded = refold("fold", "--json", env=env)
    assert folded.returncode == 0, folded.stderr.decode()
    assert json.loads(folded.stdout)["folded"] == {"arm64": 1, "x64": 1}
    shown = refold("show", env=env)
    assert [f["arch"] for f in json.loads(shown.stdout)[0]["files"]] == ["arm64", "x64"]
    assert refold("status", env=env).stdout.decode().count("up to date") == 2


def test_a_held_back_lane_gives_exit_status_3_in_a_real_process(held_back_store: Path) -> None:
    done = refold("--store", str(held_back_store), "fold")
    assert done.returncode == 3
    assert "x64/b: held back" in done.stdout.decode()
    assert done.stderr == b""


def test_bad_input_gives_exit_status_2_with_the_error_on_stderr_only(
    store: Path, tmp_path: Path
) -> None:
    before = refs(store)
    source = write(tmp_path / "x64.json", partial_json("3.13.1", "x64"))
    done = refold("--store", str(store), "submit", "--lane", "s390x", source)
    assert done.returncode == 2
    assert done.stdout == b""
    err = done.stderr.decode().splitlines()
    assert err[0].startswith("refold: error: ")
    assert err[1].startswith(f"  where: {source}: ")
    assert err[2].startswith("  hint:  ")
    assert refs(store) == before


def test_json_errors_from_a_real_process_are_one_document_on_stdout(tmp_path: Path) -> None:
    done = refold("--json", "show", "--store", str(tmp_path / "none.git"))
    assert done.returncode == 2
    doc = json.loads(done.stdout)
    assert doc["exit_code"] == 2 and doc["error"]["kind"] == "usage"
    assert done.stderr.decode().startswith("refold: error: store ")


def test_a_usage_error_prints_the_usage_line_and_exit_status_2(store: Path) -> None:
    done = refold("--store", str(store), "submit")
    assert done.returncode == 2
    err = done.stderr.decode()
    assert err.startswith("usage: refold submit ")
    assert "refold: error: the following arguments are required: --lane" in err
    assert "hint:  run 'refold submit --help'" in err


def test_a_reader_that_stops_early_ends_refold_quietly_with_141(tmp_path: Path) -> None:
    releases = [
        release(f"3.{minor}.{patch}", [python_file(f"3.{minor}.{patch}", "x64", "win32", None)])
        for minor in range(20, 0, -1)
        for patch in range(30, -1, -1)
    ]
    source = write(tmp_path / "big.json", manifest_bytes(releases))
    store = tmp_path / "store.git"
    assert refold("init", str(store), "--import", source).returncode == 0
    with subprocess.Popen(
        [sys.executable, "-m", "refold", "--store", str(store), "show", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.read(10).startswith(b"{")
        proc.stdout.close()
        err = proc.stderr.read()
        assert proc.wait(timeout=60) == 141
    assert err == b""
