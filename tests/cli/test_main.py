"""refold.cli.main: where the store comes from, the error format, exit 1, help text."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pygit2
import pytest

from refold import __version__
from refold.cli.main import COMMANDS, build_parser, main

from ._helpers import cli, partial_json, refs, the_json, write


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


@pytest.mark.parametrize(
    "argv",
    [
        ["--store", "{store}", "--json", "status"],
        ["status", "--store", "{store}", "--json"],
        ["--json", "status", "--store", "{store}"],
        ["--store", "{store}", "status", "--json"],
    ],
    ids=["both-before", "both-after", "json-before", "store-before"],
)
def test_store_and_json_are_accepted_before_or_after_the_subcommand(
    capsys: pytest.CaptureFixture[str], store: Path, argv: list[str]
) -> None:
    ran = cli(capsys, *[a.format(store=store) for a in argv])
    assert ran.code == 0, ran.err
    assert the_json(ran.out)["public_commit"] == refs(store)["refs/heads/main"]


def test_refold_store_names_the_store_when_no_flag_does(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, store: Path
) -> None:
    monkeypatch.setenv("REFOLD_STORE", str(store))
    ran = cli(capsys, "status", "--json")
    assert ran.code == 0, ran.err
    assert the_json(ran.out)["public_commit"] == refs(store)["refs/heads/main"]


def test_the_store_flag_wins_over_refold_store(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, store: Path, tmp_path: Path
) -> None:
    monkeypatch.setenv("REFOLD_STORE", str(tmp_path / "elsewhere.git"))
    ran = cli(capsys, "status", "--json", "--store", str(store))
    assert ran.code == 0, ran.err
    assert not (tmp_path / "elsewhere.git").exists()


def test_no_store_at_all_exits_2_with_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    ran = cli(capsys, "status")
    assert ran.code == 2
    assert ran.out == ""
    assert "refold: error: no store given" in ran.err
    assert "where: --store / $REFOLD_STORE" in ran.err
    assert "hint:  pass --store PATH or set REFOLD_STORE" in ran.err


@pytest.mark.parametrize("source", ["--store", "$REFOLD_STORE"])
def test_a_store_that_does_not_exist_exits_2_says_where_it_was_named_and_is_not_created(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, source: str
) -> None:
    missing = tmp_path / "missing.git"
    if source == "--store":
        ran = cli(capsys, "--store", str(missing), "fold")
    else:
        monkeypatch.setenv("REFOLD_STORE", str(missing))
        ran = cli(capsys, "fold")
    assert ran.code == 2
    assert "does not exist" in ran.err
    assert f"where: {source}" in ran.err
    assert f"refold init {missing}" in ran.err
    assert not missing.exists()


def test_a_directory_that_is_not_a_store_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plain = tmp_path / "plain"
    pygit2.init_repository(str(plain), bare=True)
    ran = cli(capsys, "--store", str(plain), "status")
    assert ran.code == 2
    assert "not a refold store" in ran.err
    assert list(pygit2.Repository(str(plain)).references) == []


def test_an_unknown_revision_exits_2_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], two_folds_store: Path
) -> None:
    before = refs(two_folds_store)
    for argv in (["show", "--rev", "no-such-rev"], ["show", "--rev", "main~9"]):
        ran = cli(capsys, "--store", str(two_folds_store), *argv)
        assert ran.code == 2, argv
        assert ran.out == ""
        assert "refold: error: unknown revision" in ran.err
        assert "where: command line: refold --store" in ran.err
    assert refs(two_folds_store) == before


BAD_INVOCATIONS = {
    "no-store": ["status"],
    "unknown-revision": ["--store", "{store}", "show", "--rev", "nope"],
    "missing-file": ["--store", "{store}", "submit", "--lane", "x64", "{tmp}/absent.json"],
    "sbom": ["--store", "{store}", "submit", "--lane", "x64", "{tmp}/sbom.json"],
    "wrong-arch": ["--store", "{store}", "submit", "--lane", "arm64", "{tmp}/x64.json"],
    "bad-lane": ["--store", "{store}", "submit", "--lane", "x64/../main", "{tmp}/x64.json"],
    "missing-argument": ["--store", "{store}", "submit", "--lane", "x64"],
    "unknown-command": ["--store", "{store}", "publish"],
    "unknown-option": ["--store", "{store}", "fold", "--force"],
    "bad-indent": ["init", "{tmp}/new.git", "--indent", "12"],
    "init-existing": ["init", "{store}"],
}


def _bad_files(tmp_path: Path) -> None:
    write(tmp_path / "x64.json", partial_json("3.13.1", "x64"))
    sbom = json.loads(partial_json("3.13.1", "x64"))
    name = "python-3.13.1-linux-24.04-x64.sbom.json"
    sbom[0]["files"][0]["filename"] = name
    sbom[0]["files"][0]["download_url"] = (
        f"https://github.com/actions/python-versions/releases/download/3.13.1-1/{name}"
    )
    write(tmp_path / "sbom.json", json.dumps(sbom).encode())


@pytest.mark.parametrize("case", sorted(BAD_INVOCATIONS))
def test_human_errors_say_what_where_and_how_to_fix_on_stderr_and_change_nothing(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path, case: str
) -> None:
    _bad_files(tmp_path)
    before = refs(store)
    ran = cli(capsys, *[a.format(store=store, tmp=tmp_path) for a in BAD_INVOCATIONS[case]])
    assert ran.code == 2
    assert ran.out == ""
    lines = [line for line in ran.err.splitlines() if not line.startswith("usage:")]
    assert lines[0].startswith("refold: error: ")
    assert lines[1].startswith("  where: ") and len(lines[1]) > len("  where: ")
    assert lines[2].startswith("  hint:  ") and len(lines[2]) > len("  hint:  ")
    assert refs(store) == before
    assert not (tmp_path / "new.git").exists()


@pytest.mark.parametrize("case", sorted(BAD_INVOCATIONS))
def test_json_errors_print_one_error_document_on_stdout_and_still_explain_on_stderr(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path, case: str
) -> None:
    _bad_files(tmp_path)
    before = refs(store)
    argv = [a.format(store=store, tmp=tmp_path) for a in BAD_INVOCATIONS[case]]
    ran = cli(capsys, "--json", *argv)
    assert ran.code == 2
    doc = the_json(ran.out)
    assert doc["exit_code"] == 2
    assert set(doc["error"]) == {"kind", "message", "location", "hint"}
    assert doc["error"]["kind"] in {"usage", "schema", "policy"}
    assert doc["error"]["message"] and doc["error"]["location"] and doc["error"]["hint"]
    assert f"refold: error: {doc['error']['message']}" in ran.err
    assert refs(store) == before


def test_where_points_into_the_file_for_a_bad_partial(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path
) -> None:
    _bad_files(tmp_path)
    ran = cli(capsys, "--store", str(store), "submit", "--lane", "x64", str(tmp_path / "sbom.json"))
    assert ran.code == 2
    assert "SBOM" in ran.err
    assert f"where: {tmp_path / 'sbom.json'}: $[0].files[0].filename" in ran.err


def _corrupt_published_manifest(store: Path) -> None:
    """Overwrite the loose object of the published manifest with garbage, as a bad disk
    would: refold has no error type for that, so it is the unexpected path (exit 1)."""
    repo = pygit2.Repository(str(store))
    blob_id = str(repo.revparse_single("main:versions-manifest.json").id)
    obj = store / "objects" / blob_id[:2] / blob_id[2:]
    obj.chmod(0o644)
    obj.write_bytes(b"this is not a zlib stream")


def test_an_unexpected_failure_exits_1_with_a_traceback(
    capsys: pytest.CaptureFixture[str], store: Path
) -> None:
    _corrupt_published_manifest(store)
    ran = cli(capsys, "--store", str(store), "show")
    assert ran.code == 1
    assert ran.out == ""
    assert "Traceback (most recent call last)" in ran.err
    assert "refold: unexpected error: GitError" in ran.err
    assert "hint:" in ran.err


def test_an_unexpected_failure_in_json_mode_prints_an_error_document_too(
    capsys: pytest.CaptureFixture[str], store: Path
) -> None:
    _corrupt_published_manifest(store)
    ran = cli(capsys, "--store", str(store), "status", "--json")
    assert ran.code == 1
    doc = the_json(ran.out)
    assert doc["exit_code"] == 1
    assert doc["error"]["kind"] == "unexpected"
    assert doc["error"]["message"].startswith("GitError")
    assert "Traceback (most recent call last)" in ran.err


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    ran = cli(capsys, "--version")
    assert ran.code == 0
    assert ran.out.strip() == f"refold {__version__}"


def test_every_command_is_listed_described_and_documents_every_option() -> None:
    children = _subparsers(build_parser())
    assert len(children) == len(COMMANDS)
    for name, child in children.items():
        assert child.description and child.description.endswith("."), name
        for action in child._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help and action.help != argparse.SUPPRESS, (name, action.dest)
            if action.option_strings and action.nargs != 0:
                shown = action.metavar or action.dest.upper()
                assert "_" not in str(shown), f"{name} {action.option_strings[0]} shows {shown}"


@pytest.mark.parametrize("command", sorted(_subparsers(build_parser())))
def test_help_of_each_command_exits_0_and_fits_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    ran = cli(capsys, command, "--help")
    assert ran.code == 0
    assert ran.out.startswith(f"usage: refold {command}")
    assert "--store STORE" in ran.out and "--json" in ran.out
    assert max(len(line) for line in ran.out.splitlines()) <= 100


def test_top_level_help_lists_commands_and_exit_codes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    ran = cli(capsys, "--help")
    assert ran.code == 0
    for command in _subparsers(build_parser()):
        assert f"    {command} " in ran.out
    for code in ("0", "1", "2", "3", "4"):
        assert f"\n  {code}  " in ran.out
    assert max(len(line) for line in ran.out.splitlines()) <= 100


def test_main_reads_sys_argv_when_given_no_arguments(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, store: Path
) -> None:
    monkeypatch.setattr("sys.argv", ["refold", "--store", str(store), "status", "--json"])
    assert main() == 0
    assert the_json(capsys.readouterr().out)["releases"] == 0
