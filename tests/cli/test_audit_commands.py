"""refold log, blame, diff, verify and rebuild from the command line."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from refold.store.repo import open_store, read_published, write_tree

from ._helpers import cli, refold, refs, the_json

SIG = pygit2.Signature("someone", "someone@example.invalid", 1_700_000_000, 0)


def hand_edit(path: Path, old: bytes, new: bytes) -> str:
    """Replace ``old`` by ``new`` in the published manifest with a commit made around refold."""
    store = open_store(path)
    published = read_published(store)
    assert old in published.manifest_bytes
    repo = store.repo
    tip = repo.references[store.public_ref].target
    tree = write_tree(
        repo,
        repo[tip].peel(pygit2.Commit).tree,
        {"versions-manifest.json": published.manifest_bytes.replace(old, new)},
    )
    return str(repo.create_commit(store.public_ref, SIG, SIG, "fix by hand\n", tree, [tip]))


def test_log_lists_publications_newest_first(capsys: pytest.CaptureFixture[str], two_folds_store: Path) -> None:
    tips = refs(two_folds_store)
    ran = cli(capsys, "--store", str(two_folds_store), "log", "--json")
    assert ran.code == 0, ran.err
    entries = the_json(ran.out)["publications"]
    assert [e["kind"] for e in entries] == ["fold", "fold", "init"]
    assert entries[0]["commit"] == tips["refs/heads/main"]
    assert (entries[0]["added"], entries[1]["added"], entries[0]["folded"]) == (["3.14.0"], ["3.13.1"], {"x64": 1})
    text = cli(capsys, "--store", str(two_folds_store), "log", "-n", "1")
    assert text.code == 0
    assert text.out.startswith(tips["refs/heads/main"][:12])
    assert "    added: 3.14.0" in text.out.splitlines()
    assert "3.13.1" not in text.out


def test_log_lane_shows_each_partial_and_the_fold_that_published_it(
    capsys: pytest.CaptureFixture[str], two_folds_store: Path
) -> None:
    tips = refs(two_folds_store)
    ran = cli(capsys, "--store", str(two_folds_store), "log", "--lane", "x64", "--json")
    assert ran.code == 0, ran.err
    newest, oldest = the_json(ran.out)["entries"]
    assert newest["commit"] == tips["refs/partials/x64"]
    assert (newest["status"], newest["fold"]) == ("published", tips["refs/heads/main"])
    assert newest["added"] == [{"version": "3.14.0", "filename": "python-3.14.0-linux-24.04-x64.tar.gz"}]
    assert oldest["status"] == "published" and oldest["fold"] != newest["fold"]
    text = cli(capsys, "--store", str(two_folds_store), "log", "--lane", "x64", "--version", "3.13.1")
    assert text.code == 0
    assert f"published by {oldest['fold'][:12]}" in text.out
    assert newest["commit"][:12] not in text.out


def test_log_lane_shows_held_back_partials_and_why(
    capsys: pytest.CaptureFixture[str], held_back_store: Path
) -> None:
    ran = cli(capsys, "--store", str(held_back_store), "log", "--lane", "x64/b")
    assert ran.code == 0, ran.err
    assert "    held back: conflict: " in ran.out


@pytest.mark.parametrize(
    "argv",
    [
        ["log", "--since", "last tuesday"],
        ["log", "-n", "0"],
        ["log", "--lane", "riscv64"],
        ["blame", "9.9.9"],
        ["blame", "3.13.1", "python-nope.tar.gz"],
        ["diff", "main", "main~1", "main~2"],
        ["diff", "no-such-rev"],
        ["rebuild", "--from", "refs/partials/x64"],
    ],
)
def test_bad_arguments_exit_2_and_change_nothing(
    capsys: pytest.CaptureFixture[str], two_folds_store: Path, argv: list[str]
) -> None:
    before = refs(two_folds_store)
    ran = cli(capsys, "--store", str(two_folds_store), *argv)
    assert ran.code == 2
    assert "refold: error:" in ran.err
    assert refs(two_folds_store) == before


def test_log_since_takes_dates_and_unix_seconds(capsys: pytest.CaptureFixture[str], two_folds_store: Path) -> None:
    everything = cli(capsys, "--store", str(two_folds_store), "log", "--since", "@0", "--json")
    assert len(the_json(everything.out)["publications"]) == 3
    future = cli(capsys, "--store", str(two_folds_store), "log", "--since", "2999-01-01", "--json")
    assert the_json(future.out)["publications"] == []


def test_blame_names_lane_partial_and_fold(capsys: pytest.CaptureFixture[str], two_folds_store: Path) -> None:
    tips = refs(two_folds_store)
    ran = cli(capsys, "--store", str(two_folds_store), "blame", "3.14.0", "--json")
    assert ran.code == 0, ran.err
    [entry] = the_json(ran.out)["files"]
    assert (entry["lane"], entry["commit"], entry["fold"]) == (
        "x64",
        tips["refs/partials/x64"],
        tips["refs/heads/main"],
    )
    text = cli(capsys, "--store", str(two_folds_store), "blame", "3.14.0")
    assert f"    lane x64, partial {tips['refs/partials/x64'][:12]} by " in text.out
    assert f"    published by {tips['refs/heads/main'][:12]} (" in text.out


def test_diff_with_none_one_or_two_revisions(capsys: pytest.CaptureFixture[str], two_folds_store: Path) -> None:
    store = str(two_folds_store)
    last = cli(capsys, "--store", store, "diff")
    assert last.code == 0
    assert last.out.splitlines()[1:] == [
        "+ 3.14.0 (release added, 1 files)",
        '    stable: (absent) -> true',
        '    release_url: (absent) -> "https://github.com/actions/python-versions/releases/tag/3.14.0-1"',
        "    + python-3.14.0-linux-24.04-x64.tar.gz",
    ]
    one = the_json(cli(capsys, "--store", store, "diff", "main~1", "--json").out)
    assert [r["version"] for r in one["diff"]["releases"]] == ["3.13.1"]
    two = the_json(cli(capsys, "--store", store, "diff", "main~2", "main", "--json").out)
    assert [(r["version"], r["change"]) for r in two["diff"]["releases"]] == [("3.14.0", "added"), ("3.13.1", "added")]
    same = cli(capsys, "--store", store, "diff", "main", "main")
    assert same.out.splitlines()[1:] == ["no changes to the manifest"]


def test_verify_exits_0_on_a_clean_store_and_3_after_a_hand_edit(
    capsys: pytest.CaptureFixture[str], two_folds_store: Path
) -> None:
    store = str(two_folds_store)
    clean = cli(capsys, "--store", store, "verify")
    assert clean.code == 0, clean.out
    assert "no discrepancies" in clean.out and clean.err == ""
    edit = hand_edit(two_folds_store, b"3.14.0-1/python", b"3.14.0-6/python")
    before = refs(two_folds_store)
    bad = cli(capsys, "--store", store, "verify")
    assert bad.code == 3
    assert f"  {edit[:12]} manifest 3.14.0/python-3.14.0-linux-24.04-x64.tar.gz.download_url: " in bad.out
    assert "      got:      \"https://github.com/actions/python-versions/releases/download/3.14.0-6/" in bad.out
    as_json = the_json(cli(capsys, "--store", store, "verify", "--json").out)
    assert as_json["ok"] is False
    assert [(d["commit"], d["field"]) for d in as_json["discrepancies"]] == [(edit, "manifest")]
    assert refs(two_folds_store) == before


def test_rebuild_dry_run_then_rebuild_then_verify_passes(
    capsys: pytest.CaptureFixture[str], two_folds_store: Path
) -> None:
    store = str(two_folds_store)
    edit = hand_edit(two_folds_store, b"3.14.0-1/python", b"3.14.0-6/python")
    before = refs(two_folds_store)
    dry = cli(capsys, "--store", store, "rebuild", "--dry-run")
    assert dry.code == 0
    assert dry.out.startswith(f"dry run: would publish on top of {edit[:12]}")
    assert "        download_url: " in dry.out
    assert refs(two_folds_store) == before
    done = the_json(cli(capsys, "--store", store, "rebuild", "--json").out)
    assert done["previous"] == edit and done["commit"] == refs(two_folds_store)["refs/heads/main"]
    verified = cli(capsys, "--store", store, "verify")
    assert verified.code == 0
    assert f"      repaired by {done['commit'][:12]}" in verified.out
    again = cli(capsys, "--store", store, "rebuild")
    assert again.out.startswith("nothing to rebuild")


def test_verify_help_documents_its_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    ran = cli(capsys, "verify", "--help")
    assert ran.code == 0
    assert "exit 3: discrepancies found" in " ".join(ran.out.split())


def test_verify_as_a_process_exits_3_on_a_tampered_store(two_folds_store: Path) -> None:
    hand_edit(two_folds_store, b"3.13.1-1/python", b"3.13.1-2/python")
    done = refold("--store", str(two_folds_store), "verify", "--json")
    assert done.returncode == 3, done.stderr
    assert the_json(done.stdout.decode())["ok"] is False
    assert done.stderr == b""
