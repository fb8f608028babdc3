"""refold fold: the JSON report, exit codes 0/3/4, --strict, --dry-run, real contention."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pygit2
import pytest

from refold.store.compact import MAX_FOLD_RETRIES
from refold.store.repo import open_store
from refold.store.submit import submit

from ._helpers import cli, partial_json, refold, refs, the_json

FOLD_FIELDS = {"commit", "folded", "held_back", "warnings"}


def test_fold_publishes_every_lane_and_reports_it_as_json(
    capsys: pytest.CaptureFixture[str], store: Path
) -> None:
    opened = open_store(store)
    submit(opened, "x64", partial_json("3.13.1", "x64"))
    submit(opened, "x64", partial_json("3.14.0", "x64"))
    submit(opened, "arm64", partial_json("3.13.1", "arm64"))
    previous = refs(store)["refs/heads/main"]
    ran = cli(capsys, "--store", str(store), "fold", "--json")
    assert ran.code == 0, ran.err
    doc = the_json(ran.out)
    assert FOLD_FIELDS <= set(doc)
    assert doc["commit"] == refs(store)["refs/heads/main"] != previous
    assert doc["previous"] == previous
    assert doc["folded"] == {"x64": 2, "arm64": 1}
    assert doc["held_back"] == {}
    assert doc["warnings"] == []
    assert doc["changed"] == ["3.14.0", "3.13.1"]


def test_fold_with_nothing_pending_exits_0_and_publishes_nothing(
    capsys: pytest.CaptureFixture[str], store: Path
) -> None:
    before = refs(store)
    ran = cli(capsys, "--store", str(store), "fold")
    assert (ran.code, ran.out) == (0, "nothing to fold\n")
    doc = the_json(cli(capsys, "--store", str(store), "fold", "--json").out)
    assert doc["commit"] is None and doc["folded"] == {} and doc["held_back"] == {}
    assert refs(store) == before


def test_a_held_back_lane_exits_3_while_the_other_lanes_publish(
    capsys: pytest.CaptureFixture[str], held_back_store: Path
) -> None:
    before = refs(held_back_store)
    ran = cli(capsys, "--store", str(held_back_store), "--json", "fold")
    assert ran.code == 3
    doc = the_json(ran.out)
    after = refs(held_back_store)
    assert doc["commit"] == after["refs/heads/main"] != before["refs/heads/main"]
    assert doc["folded"] == {"arm64": 1, "x64/a": 1}
    held = doc["held_back"]["x64/b"]
    assert held["commit"] == before["refs/partials/x64/b"]
    assert held["kind"] == "conflict"
    assert "x64/a" in held["reason"]
    assert set(doc["held_back"]) == {"x64/b"}
    assert {k: v for k, v in after.items() if k != "refs/heads/main"} == {
        k: v for k, v in before.items() if k != "refs/heads/main"
    }


def test_the_human_fold_report_names_folded_and_held_back_lanes(
    capsys: pytest.CaptureFixture[str], held_back_store: Path
) -> None:
    ran = cli(capsys, "--store", str(held_back_store), "fold")
    assert ran.code == 3
    lines = ran.out.splitlines()
    assert lines[0].startswith("published ")
    assert "  arm64: folded 1" in lines and "  x64/a: folded 1" in lines
    held = next(line for line in lines if line.startswith("  x64/b: held back at "))
    assert "conflict:" in held and "belongs to lane 'x64/a'" in held
    again = cli(capsys, "--store", str(held_back_store), "fold")
    assert again.code == 3
    assert again.out.splitlines()[0] == "nothing to publish: every pending partial is held back"


def test_strict_fold_with_a_held_back_lane_exits_3_and_publishes_nothing(
    capsys: pytest.CaptureFixture[str], held_back_store: Path
) -> None:
    before = refs(held_back_store)
    ran = cli(capsys, "--store", str(held_back_store), "fold", "--strict", "--json")
    assert ran.code == 3
    doc = the_json(ran.out)
    assert doc["commit"] is None
    assert doc["published"] is False
    assert set(doc["held_back"]) == {"x64/b"}
    assert refs(held_back_store) == before
    human = cli(capsys, "--store", str(held_back_store), "fold", "--strict")
    assert human.code == 3
    assert human.out.startswith("strict: published nothing")
    assert refs(held_back_store) == before


def test_dry_run_reports_what_would_be_published_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], held_back_store: Path
) -> None:
    before = refs(held_back_store)
    objects = sum(1 for _ in pygit2.Repository(str(held_back_store)).odb)
    ran = cli(capsys, "--store", str(held_back_store), "fold", "--dry-run", "--json")
    assert ran.code == 3
    doc = the_json(ran.out)
    assert (doc["commit"], doc["dry_run"]) == (None, True)
    assert doc["folded"] == {"arm64": 1, "x64/a": 1}
    assert refs(held_back_store) == before
    assert sum(1 for _ in pygit2.Repository(str(held_back_store)).odb) == objects
    human = cli(capsys, "--store", str(held_back_store), "fold", "--dry-run")
    assert human.out.startswith("dry run: would publish on top of ")


def test_negative_max_retries_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], held_back_store: Path
) -> None:
    before = refs(held_back_store)
    ran = cli(capsys, "--store", str(held_back_store), "fold", "--max-retries", "-1")
    assert ran.code == 2
    assert "where: --max-retries" in ran.err
    assert refs(held_back_store) == before


@contextmanager
def ref_locked(store: Path, ref: str, *, keep_fresh: bool = False) -> Iterator[Path]:
    """Hold ``ref``'s lock file the way git and libgit2 do while they move a ref: another
    writer is mid-update, so every compare-and-swap on ``ref`` loses until it is released.
    ``keep_fresh`` touches it every second so it never looks like a dead process's lock."""
    lock = store / f"{ref}.lock"
    lock.write_bytes(b"")
    stop = threading.Event()

    def touch() -> None:
        while not stop.wait(1.0):
            os.utime(lock)

    toucher = threading.Thread(target=touch, daemon=True)
    if keep_fresh:
        toucher.start()
    try:
        yield lock
    finally:
        stop.set()
        if keep_fresh:
            toucher.join()
        lock.unlink(missing_ok=True)


def test_losing_the_race_for_the_public_branch_exits_4_and_publishes_nothing(
    capsys: pytest.CaptureFixture[str], held_back_store: Path
) -> None:
    before = refs(held_back_store)
    with ref_locked(held_back_store, "refs/heads/main"):
        ran = cli(capsys, "--store", str(held_back_store), "fold", "--max-retries", "0", "--json")
        assert ran.code == 4
        error = the_json(ran.out)["error"]
        assert error["kind"] == "contention"
        assert error["location"] == "refs/heads/main"
        assert "refold: error: refs/heads/main kept moving" in ran.err
        assert refs(held_back_store) == before
        human = refold("--store", str(held_back_store), "fold", "--max-retries", "2")
        assert human.returncode == 4, human.stderr.decode()
        assert "gave up after 2 retries" in human.stderr.decode()
        assert refs(held_back_store) == before
    after = cli(capsys, "--store", str(held_back_store), "fold")
    assert after.code == 3
    assert refs(held_back_store)["refs/heads/main"] != before["refs/heads/main"]


@pytest.mark.slow
def test_default_fold_gives_up_with_exit_4_while_another_writer_holds_the_ref(
    held_back_store: Path,
) -> None:
    before = refs(held_back_store)
    with ref_locked(held_back_store, "refs/heads/main", keep_fresh=True):
        done = refold("--store", str(held_back_store), "fold")
        assert done.returncode == 4, done.stderr.decode()
        assert f"gave up after {MAX_FOLD_RETRIES} retries" in done.stderr.decode()
    assert refs(held_back_store) == before
