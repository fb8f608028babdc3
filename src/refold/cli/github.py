"""GitHub Actions: annotations, the step summary and step outputs, when running there.

Everything here is a no-op unless ``GITHUB_ACTIONS=true``, so a local run prints exactly
what it printed before. Workflow commands go to stderr: the runner reads commands from
both streams, and stdout stays one JSON document with ``--json`` (or the partial that
``refold generate`` prints).

Text that came from a build job (filenames, error messages quoting them) is escaped the
way the runner unescapes it, so it can neither end a command early nor start a new one,
and step outputs use the ``name<<DELIMITER`` form with a delimiter checked to be absent
from the value.
"""

from __future__ import annotations

import bisect
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from refold.manifests.errors import RefoldError
from refold.manifests.fold import HOLDING_KINDS
from refold.store.compact import FoldOutcome
from refold.store.submit import SubmitResult

__all__ = [
    "active",
    "annotate",
    "annotate_error",
    "append_summary",
    "command",
    "error_position",
    "fold_summary",
    "json_path_line",
    "mask_secrets",
    "report_fold",
    "report_submit",
    "set_outputs",
    "summary_table",
]

Env = Mapping[str, str]
_LINE_COLUMN = re.compile(r"\bline (\d+) column (\d+)\b")
_JSON_PATH = re.compile(r"\$[^\s:]*")
MAX_LOCATE_BYTES = 8 * 1024 * 1024


def _env(env: Env | None) -> Env:
    return os.environ if env is None else env


def active(env: Env | None = None) -> bool:
    return _env(env).get("GITHUB_ACTIONS") == "true"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, properties: Mapping[str, str | int | None] | None = None) -> str:
    """One workflow command line: ``::name key=value,...::message``."""
    props = ",".join(
        f"{key}={_escape_property(str(value))}"
        for key, value in (properties or {}).items()
        if value is not None and value != ""
    )
    return f"::{name}{' ' + props if props else ''}::{_escape_data(message)}\n"


def _write(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def annotate(
    level: str,
    message: str,
    *,
    title: str = "",
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    env: Env | None = None,
) -> None:
    """An ``::error``/``::warning``/``::notice`` annotation, when in GitHub Actions."""
    if active(env):
        _write(command(level, message, {"file": file, "line": line, "col": col, "title": title}))


def _value_lines(text: str) -> dict[str, int]:
    """Line (1-based) where each value in a JSON document starts, keyed by msgspec-style path."""
    newlines = [i for i, ch in enumerate(text) if ch == "\n"]
    found: dict[str, int] = {}
    pos = 0

    def skip() -> None:
        nonlocal pos
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1

    def value(path: str) -> None:
        nonlocal pos
        skip()
        found[path] = bisect.bisect_right(newlines, pos - 1) + 1
        ch = text[pos]
        if ch == "{":
            pos += 1
            skip()
            while text[pos] != "}":
                key, pos = json.decoder.scanstring(text, pos + 1)  # type: ignore[attr-defined]
                skip()
                pos += 1  # the colon
                value(f"{path}.{key}")
                skip()
                if text[pos] == ",":
                    pos += 1
                    skip()
            pos += 1
        elif ch == "[":
            pos += 1
            skip()
            index = 0
            while text[pos] != "]":
                value(f"{path}[{index}]")
                index += 1
                skip()
                if text[pos] == ",":
                    pos += 1
            pos += 1
        elif ch == '"':
            _, pos = json.decoder.scanstring(text, pos + 1)  # type: ignore[attr-defined]
        else:
            while pos < len(text) and text[pos] not in ",]} \t\r\n":
                pos += 1

    value("$")
    return found


def json_path_line(text: str, path: str) -> int | None:
    """The line of ``path`` (``$[0].files[1].arch``) in the JSON ``text``; the nearest
    enclosing value's line when the path itself is absent (a missing field); None when
    the text does not parse."""
    try:
        lines = _value_lines(text)
    except (IndexError, ValueError, RecursionError):
        return None
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            break
        path = path[:cut]
    return lines.get("$")


def error_position(location: str) -> tuple[str | None, int | None, int | None]:
    """File, line and column that an error location names, as far as it names them.

    A location starts with the input file when there is one (``partial.json: $[0].arch``,
    ``partial.json: line 3 column 5``); only a file that exists counts, so lane names and
    refs are never mistaken for files.
    """
    head, _, rest = location.partition(": ")
    if not head or not os.path.isfile(head):
        return None, None, None
    match = _LINE_COLUMN.search(rest)
    if match:
        return head, int(match.group(1)), int(match.group(2))
    path = _JSON_PATH.search(rest)
    if path is None:
        return head, None, None
    try:
        if os.path.getsize(head) > MAX_LOCATE_BYTES:
            return head, None, None
        with open(head, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return head, None, None
    return head, json_path_line(text, path.group(0)), None


def annotate_error(error: RefoldError, *, where: str = "", hint: str = "", env: Env | None = None) -> None:
    """The ``::error`` annotation for an error refold reports, pointing at the file when it can."""
    if not active(env):
        return
    location = where or error.location
    file, line, col = error_position(location)
    workspace = _env(env).get("GITHUB_WORKSPACE", "")
    if file and workspace and os.path.isabs(file):
        # Annotations attach to a diff only by a path relative to the checkout.
        relative = os.path.relpath(file, workspace)
        file = file if relative.startswith("..") else relative.replace(os.sep, "/")
    parts = [error.message]
    if location:
        parts.append(f"where: {location}")
    if hint or error.hint:
        parts.append(f"hint: {hint or error.hint}")
    annotate(
        "error", "\n".join(parts), title=f"refold: {error.kind} error", file=file, line=line, col=col, env=env
    )


def append_summary(markdown: str, env: Env | None = None) -> None:
    """Append to the job's step summary ($GITHUB_STEP_SUMMARY), when in GitHub Actions."""
    environ = _env(env)
    path = environ.get("GITHUB_STEP_SUMMARY")
    if active(environ) and path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown if markdown.endswith("\n") else markdown + "\n")


def _delimiter(value: str) -> str:
    delimiter = "refold_EOF"
    count = 0
    while delimiter in value:
        count += 1
        delimiter = f"refold_EOF_{count}"
    return delimiter


def set_outputs(values: Mapping[str, str], env: Env | None = None) -> None:
    """Write step outputs to $GITHUB_OUTPUT, each as ``name<<DELIMITER`` ... ``DELIMITER``."""
    environ = _env(env)
    path = environ.get("GITHUB_OUTPUT")
    if not (active(environ) and path):
        return
    chunks = []
    for name, value in values.items():
        delimiter = _delimiter(value)
        chunks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("".join(chunks))


def mask_secrets(store: str | None = None, env: Env | None = None) -> None:
    """Ask the runner to hide secrets refold may hold, before anything could print them:
    the store token, and a password written into a store URL."""
    environ = _env(env)
    if not active(environ):
        return
    secrets = [environ.get("REFOLD_TOKEN", "")]
    for url in (store, environ.get("REFOLD_STORE")):
        if url and "://" in url:
            try:
                parts = urlsplit(url)
            except ValueError:
                continue
            secrets.append(parts.password or "")
            if parts.username and parts.password is None:
                secrets.append(parts.username)  # https://TOKEN@host/... carries it as the user
    for secret in dict.fromkeys(s for s in secrets if s):
        _write(command("add-mask", secret))


def cell(text: str) -> str:
    """Text safe inside one markdown table cell."""
    text = " ".join(text.split())
    for raw, safe in (("\\", "\\\\"), ("|", "\\|"), ("<", "&lt;"), (">", "&gt;")):
        text = text.replace(raw, safe)
    return text


def summary_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _lanes_json(lanes: Sequence[str]) -> str:
    return json.dumps(sorted(lanes), separators=(",", ":"))


def fold_summary(outcome: FoldOutcome) -> str:
    report = outcome.report
    rows = []
    for lane, lane_outcome in sorted(report.lanes.items()):
        folded = str(lane_outcome.folded)
        if lane_outcome.rejected:
            folded += f" ({len(lane_outcome.rejected)} rejected)"
        held = lane_outcome.held_back
        if held is None:
            rows.append([lane, folded, "no", ""])
            continue
        reason = f"{held.kind}: {held.reason}" + (f" (at {held.location})" if held.location else "")
        rows.append([lane, folded, f"yes, {held.waiting} pending from {held.commit[:12]}", reason])
    if outcome.commit:
        result = f"**Fold commit:** `{outcome.commit}` (previous: `{outcome.previous}`)"
    elif outcome.dry_run:
        result = "**Fold commit:** none (dry run)"
    elif not report.published:
        result = "**Fold commit:** none (strict: a lane is held back, nothing was published)"
    else:
        result = "**Fold commit:** none (nothing to publish)"
    parts = ["### refold fold\n"]
    if rows:
        parts.append(summary_table(["lane", "folded", "held back", "reason"], rows))
    else:
        parts.append("No pending partials.\n")
    changed = ", ".join(report.changed) if report.changed else "none"
    parts.append(f"**Releases added or changed:** {cell(changed)}\n")
    parts.append(result + "\n")
    parts += [f"> warning: {cell(w)}\n" for w in report.warnings]
    return "\n".join(parts)


def report_fold(outcome: FoldOutcome, env: Env | None = None) -> None:
    """Annotations for held-back lanes, the step summary and the outputs of a fold."""
    if not active(env):
        return
    report = outcome.report
    for lane, held in sorted(report.held_back.items()):
        level = "error" if held.kind in HOLDING_KINDS else "warning"
        parts = [f"{held.kind}: {held.reason}", f"partial: {held.commit} ({held.waiting} pending)"]
        if held.location:
            parts.append(f"where: {held.location}")
        if held.hint:
            parts.append(f"hint: {held.hint}")
        annotate(level, "\n".join(parts), title=f"refold: lane {lane} held back", env=env)
    for warning in report.warnings:
        annotate("warning", warning, title="refold fold", env=env)
    append_summary(fold_summary(outcome), env)
    set_outputs(
        {
            "commit": outcome.commit or "",
            "folded": _lanes_json([lane for lane, o in report.lanes.items() if o.folded]),
            "held-back": _lanes_json(list(report.held_back)),
        },
        env,
    )


def report_submit(result: SubmitResult, env: Env | None = None, *, extra: str = "") -> None:
    """The step summary and outputs (``commit``, ``lane``, ``noop``) of a submit."""
    if not active(env):
        return
    state = "already held this partial (nothing to do)" if result.noop else "submitted"
    append_summary(
        f"### refold submit\n\nLane `{cell(result.lane)}`: {state} `{result.commit}`\n" + extra, env
    )
    set_outputs(
        {"commit": result.commit, "lane": result.lane, "noop": "true" if result.noop else "false"},
        env,
    )
