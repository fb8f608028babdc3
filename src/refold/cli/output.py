"""Everything the CLI prints, and the one place errors become messages and exit codes."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import Any

import msgspec

from refold.cli import github
from refold.manifests.errors import ContentionError, RefoldError, UsageError

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2
EXIT_HELD_BACK = 3
EXIT_CONTENTION = 4
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE, what a shell reports for a writer whose reader went away (``| head``)."""


def exit_code_for(error: RefoldError) -> int:
    return EXIT_CONTENTION if isinstance(error, ContentionError) else EXIT_BAD_INPUT


def to_builtins(value: Any) -> Any:
    return msgspec.to_builtins(value)


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    """One JSON document on stdout with --json, else the short human text."""
    if getattr(args, "json", False):
        _write_json(data)
    elif text:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def _write_json(data: Any) -> None:
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(to_builtins(data)), indent=2).decode())
    sys.stdout.write("\n")
    sys.stdout.flush()


def report_error(
    args: argparse.Namespace | None,
    error: RefoldError,
    *,
    as_json: bool | None = None,
    context: str = "",
) -> int:
    """Print ``error`` as what, where and a hint on stderr (and as JSON on stdout with
    --json); ``context`` stands in for the location when the error carries none."""
    code = exit_code_for(error)
    where = error.location or context
    hint = error.hint
    command = getattr(args, "command", None)
    if not hint and command and isinstance(error, UsageError):
        hint = f"run 'refold {command} --help'"
    if as_json is None:
        as_json = bool(getattr(args, "json", False))
    if as_json:
        _write_json(
            {"error": {**error.to_dict(), "location": where, "hint": hint}, "exit_code": code}
        )
    lines = [f"refold: error: {error.message}"]
    if where:
        lines.append(f"  where: {where}")
    if hint:
        lines.append(f"  hint:  {hint}")
    sys.stderr.write("\n".join(lines) + "\n")
    github.annotate_error(error, where=where, hint=hint)
    return code


def quiet_broken_pipe() -> int:
    """The reader of stdout went away: nothing to report, and nothing more may be written
    (Python's own flush at exit would complain on stderr)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def report_unexpected(exc: BaseException, *, as_json: bool, context: str = "") -> int:
    """A bug: the traceback on stderr (and a JSON error document with --json), exit 1."""
    traceback.print_exception(type(exc), exc, exc.__traceback__)
    hint = (
        "a bug in refold, or a damaged store (git fsck tells): please report it with the traceback"
    )
    if as_json:
        error = {
            "kind": "unexpected",
            "message": f"{type(exc).__name__}: {exc}",
            "location": context,
            "hint": hint,
        }
        _write_json({"error": error, "exit_code": EXIT_UNEXPECTED})
    sys.stderr.write(f"refold: unexpected error: {type(exc).__name__}: {exc}\n")
    if context:
        sys.stderr.write(f"  where: {context}\n")
    sys.stderr.write(f"  hint:  {hint}\n")
    return EXIT_UNEXPECTED


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def short(commit: str | None) -> str:
    return commit[:12] if commit else "-"
