"""GitHub Actions integration: annotations, step summary and outputs, with exact content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from refold.cli import github
from refold.manifests.errors import SchemaError
from refold.store.repo import open_store
from refold.store.submit import submit

from ._helpers import cli, partial_json, refs, write


class Actions:
    """A GitHub Actions step's environment: the flag and the two files the runner reads."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.summary = tmp_path / "step_summary.md"
        self.output = tmp_path / "github_output.txt"
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(self.summary))
        monkeypatch.setenv("GITHUB_OUTPUT", str(self.output))

    def summary_text(self) -> str:
        return self.summary.read_text() if self.summary.exists() else ""

    def output_text(self) -> str:
        return self.output.read_text() if self.output.exists() else ""


@pytest.fixture
def actions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Actions:
    return Actions(tmp_path, monkeypatch)


def test_command_escapes_data_and_properties_so_text_cannot_end_or_start_a_command() -> None:
    line = github.command(
        "error",
        "100% wrong\nline two\r\n::add-mask::x",
        {"file": "a:b,c.json", "line": 3, "col": None, "title": "refold: x"},
    )
    assert line == (
        "::error file=a%3Ab%2Cc.json,line=3,title=refold%3A x::"
        "100%25 wrong%0Aline two%0D%0A::add-mask::x\n"
    )
    assert line.count("\n") == 1


def test_annotate_is_silent_outside_github_actions(capsys: pytest.CaptureFixture[str]) -> None:
    github.annotate("error", "boom", env={})
    github.annotate("error", "boom", env={"GITHUB_ACTIONS": "false"})
    assert capsys.readouterr().err == ""
    github.annotate("warning", "boom", title="t", env={"GITHUB_ACTIONS": "true"})
    assert capsys.readouterr().err == "::warning title=t::boom\n"


DOC = """[
  {
    "version": "3.13.1",
    "files": [
      {"filename": "a.tar.gz"},
      {
        "filename": "b.tar.gz",
        "arch": "x64"
      }
    ]
  }
]
"""


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("$", 1),
        ("$[0]", 2),
        ("$[0].version", 3),
        ("$[0].files[0]", 5),
        ("$[0].files[0].filename", 5),
        ("$[0].files[1]", 6),
        ("$[0].files[1].arch", 8),
        ("$[0].files[1].platform", 6),  # missing field: the object that lacks it
        ("$[3].files", 1),
    ],
)
def test_json_path_line_finds_where_a_value_starts(path: str, line: int) -> None:
    assert github.json_path_line(DOC, path) == line


def test_json_path_line_gives_up_on_text_that_does_not_parse() -> None:
    assert github.json_path_line('[{"a": ', "$[0].a") is None


def test_error_position_takes_file_line_and_column_from_the_location(tmp_path: Path) -> None:
    partial = tmp_path / "partial.json"
    partial.write_text(DOC)
    assert github.error_position(f"{partial}: line 4 column 9") == (str(partial), 4, 9)
    assert github.error_position(f"{partial}: $[0].files[1].arch") == (str(partial), 8, None)
    assert github.error_position(str(partial)) == (str(partial), None, None)
    # Lanes, refs, options and stdin are not files.
    for location in ("--lane", "refs/partials/x64", "<stdin>: line 1 column 1", "$.lane", ""):
        assert github.error_position(location) == (None, None, None)


def test_set_outputs_uses_the_delimiter_form_with_a_delimiter_absent_from_the_value(
    actions: Actions,
) -> None:
    github.set_outputs({"commit": "abc", "notes": "two\nlines", "tricky": "x\nrefold_EOF\ny"})
    assert actions.output_text() == (
        "commit<<refold_EOF\nabc\nrefold_EOF\n"
        "notes<<refold_EOF\ntwo\nlines\nrefold_EOF\n"
        "tricky<<refold_EOF_1\nx\nrefold_EOF\ny\nrefold_EOF_1\n"
    )


def test_summary_and_outputs_append_and_need_both_the_flag_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary, output = tmp_path / "s.md", tmp_path / "o.txt"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    github.append_summary("ignored")
    github.set_outputs({"a": "1"})
    assert not summary.exists() and not output.exists()
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    summary.write_text("earlier step\n")
    github.append_summary("### mine")
    assert summary.read_text() == "earlier step\n### mine\n"


def test_mask_secrets_masks_the_token_and_a_password_in_the_store_url(
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {
        "GITHUB_ACTIONS": "true",
        "REFOLD_TOKEN": "tok-123",
        "REFOLD_STORE": "https://user:pa55@git.example/store.git",
    }
    github.mask_secrets("https://ghp_secretvalue@git.example/other.git", env=env)
    assert capsys.readouterr().err == (
        "::add-mask::tok-123\n::add-mask::ghp_secretvalue\n::add-mask::pa55\n"
    )
    github.mask_secrets(None, env={**env, "GITHUB_ACTIONS": ""})
    assert capsys.readouterr().err == ""


def test_markdown_cells_cannot_break_the_table() -> None:
    assert github.cell("a | b\nc <script>") == "a \\| b c &lt;script&gt;"


def test_fold_with_a_held_back_lane_annotates_summarises_and_sets_outputs(
    capsys: pytest.CaptureFixture[str], held_back_store: Path, actions: Actions
) -> None:
    ran = cli(capsys, "--store", str(held_back_store), "fold", "--json")
    assert ran.code == 3
    doc = json.loads(ran.out)
    commit, previous = doc["commit"], doc["previous"]
    held = doc["held_back"]["x64/b"]
    assert commit == refs(held_back_store)["refs/heads/main"]
    reason = f"{held['kind']}: {held['reason']}"
    assert actions.summary_text() == (
        "### refold fold\n"
        "\n"
        "| lane | folded | held back | reason |\n"
        "| --- | --- | --- | --- |\n"
        "| arm64 | 1 | no |  |\n"
        "| x64/a | 1 | no |  |\n"
        f"| x64/b | 0 | yes, 1 pending from {held['commit'][:12]} | {reason} (at {held['location']}) |\n"
        "\n"
        "**Releases added or changed:** 3.13.1\n"
        "\n"
        f"**Fold commit:** `{commit}` (previous: `{previous}`)\n"
    )
    assert actions.output_text() == (
        f"commit<<refold_EOF\n{commit}\nrefold_EOF\n"
        'folded<<refold_EOF\n["arm64","x64/a"]\nrefold_EOF\n'
        'held-back<<refold_EOF\n["x64/b"]\nrefold_EOF\n'
    )
    message = "%0A".join(
        [
            reason,
            f"partial: {held['commit']} (1 pending)",
            f"where: {held['location']}",
            f"hint: {held['hint']}",
        ]
    )
    assert ran.err == f"::error title=refold%3A lane x64/b held back::{message}\n"


def test_strict_fold_outputs_an_empty_commit_and_says_why(
    capsys: pytest.CaptureFixture[str], held_back_store: Path, actions: Actions
) -> None:
    before = refs(held_back_store)
    ran = cli(capsys, "--store", str(held_back_store), "fold", "--strict")
    assert ran.code == 3
    assert refs(held_back_store) == before
    summary = actions.summary_text()
    assert summary.endswith(
        "**Fold commit:** none (strict: a lane is held back, nothing was published)\n"
    )
    assert "| x64/b | 0 | yes, 1 pending from" in summary
    assert actions.output_text() == (
        "commit<<refold_EOF\n\nrefold_EOF\n"
        "folded<<refold_EOF\n[]\nrefold_EOF\n"
        'held-back<<refold_EOF\n["x64/b"]\nrefold_EOF\n'
    )


def test_fold_with_nothing_pending(
    capsys: pytest.CaptureFixture[str], store: Path, actions: Actions
) -> None:
    ran = cli(capsys, "--store", str(store), "fold")
    assert ran.code == 0
    assert ran.err == ""
    assert actions.summary_text() == (
        "### refold fold\n\nNo pending partials.\n\n**Releases added or changed:** none\n\n"
        "**Fold commit:** none (nothing to publish)\n"
    )
    assert actions.output_text() == (
        "commit<<refold_EOF\n\nrefold_EOF\n"
        "folded<<refold_EOF\n[]\nrefold_EOF\n"
        "held-back<<refold_EOF\n[]\nrefold_EOF\n"
    )


def test_submit_summary_and_outputs(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path, actions: Actions
) -> None:
    source = write(tmp_path / "p.json", partial_json("3.13.1", "x64"))
    ran = cli(capsys, "--store", str(store), "submit", "--lane", "x64", source)
    assert ran.code == 0
    tip = refs(store)["refs/partials/x64"]
    assert actions.summary_text() == f"### refold submit\n\nLane `x64`: submitted `{tip}`\n"
    assert actions.output_text() == (
        f"commit<<refold_EOF\n{tip}\nrefold_EOF\n"
        "lane<<refold_EOF\nx64\nrefold_EOF\n"
        "noop<<refold_EOF\nfalse\nrefold_EOF\n"
    )


def test_malformed_json_error_is_annotated_at_its_line_and_column(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path, actions: Actions
) -> None:
    source = write(tmp_path / "broken.json", b'[\n  {"version": "3.13.1",\n   "files": [}\n]\n')
    before = refs(store)
    ran = cli(capsys, "--store", str(store), "submit", "--lane", "x64", source)
    assert ran.code == 2
    assert refs(store) == before
    annotation = ran.err.splitlines()[-1]
    assert annotation == (
        f"::error file={source},line=3,col=14,title=refold%3A schema error::"
        "malformed JSON: Expecting value"
        f"%0Awhere: {source}: line 3 column 14"
        "%0Ahint: check the file is complete (not truncated) and valid JSON"
    )
    assert actions.output_text() == "" and actions.summary_text() == ""


def test_a_rule_broken_at_a_json_path_is_annotated_at_that_line(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path, actions: Actions
) -> None:
    source = write(tmp_path / "wrong-lane.json", partial_json("3.13.1", "arm64"))
    before = refs(store)
    ran = cli(capsys, "--store", str(store), "submit", "--lane", "x64", source)
    assert ran.code == 2
    assert refs(store) == before
    lines = Path(source).read_text().splitlines()
    arch_line = next(i for i, text in enumerate(lines, 1) if '"arch": "arm64"' in text)
    annotation = ran.err.splitlines()[-1]
    assert annotation.startswith(
        f"::error file={source},line={arch_line},title=refold%3A policy error::"
        "arch 'arm64' may not be published on lane 'x64'"
    )


def test_errors_without_a_file_are_annotated_without_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, actions: Actions
) -> None:
    ran = cli(capsys, "--store", str(tmp_path / "missing.git"), "fold")
    assert ran.code == 2
    annotation = ran.err.splitlines()[-1]
    assert annotation.startswith("::error title=refold%3A usage error::")
    assert "file=" not in annotation


def test_outside_github_actions_nothing_is_annotated_or_written(
    capsys: pytest.CaptureFixture[str], held_back_store: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    summary, output = tmp_path / "s.md", tmp_path / "o.txt"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    ran = cli(capsys, "--store", str(held_back_store), "fold")
    assert ran.code == 3
    assert "::" not in ran.err + ran.out
    assert not summary.exists() and not output.exists()


def test_the_token_is_only_ever_printed_inside_an_add_mask_command(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path, actions: Actions,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REFOLD_TOKEN", "s3cr3t-token-value")
    opened = open_store(store)
    submit(opened, "x64", partial_json("3.13.1", "x64"))
    ran = cli(capsys, "--store", str(store), "fold")
    assert ran.code == 0
    assert ran.err.splitlines()[0] == "::add-mask::s3cr3t-token-value"
    assert (ran.out + ran.err).count("s3cr3t-token-value") == 1
    assert "s3cr3t" not in actions.summary_text() + actions.output_text()


def test_annotate_error_points_at_the_file_of_a_schema_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    partial = tmp_path / "p.json"
    partial.write_text(DOC)
    error = SchemaError("object missing required field `platform`", location=f"{partial}: $[0].files[1]", hint="h")
    github.annotate_error(error, env={"GITHUB_ACTIONS": "true"})
    assert capsys.readouterr().err == (
        f"::error file={partial},line=6,title=refold%3A schema error::"
        f"object missing required field `platform`%0Awhere: {partial}: $[0].files[1]%0Ahint: h\n"
    )


def test_files_inside_the_workspace_are_annotated_by_their_relative_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "dist").mkdir()
    partial = tmp_path / "dist" / "p.json"
    partial.write_text(DOC)
    error = SchemaError("bad", location=f"{partial}: line 2 column 3")
    github.annotate_error(error, env={"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tmp_path)})
    assert capsys.readouterr().err.startswith("::error file=dist/p.json,line=2,col=3,")
    github.annotate_error(error, env={"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tmp_path / "elsewhere")})
    assert capsys.readouterr().err.startswith(f"::error file={partial},line=2,col=3,")
