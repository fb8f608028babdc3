"""Everything the CLI prints, and the one place errors become messages and exit codes."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import msgspec

from refold.manifests.errors import ContentionError, RefoldError

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2
EXIT_HELD_BACK = 3
EXIT_CONTENTION = 4
EXIT_INTERRUPTED = 130


def exit_code_for(error: RefoldError) -> int:
    return EXIT_CONTENTION if isinstance(error, ContentionError) else EXIT_BAD_INPUT


def to_builtins(value: Any) -> Any:
    return msgspec.to_builtins(value)


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    """One JSON document on stdout with --json, else the short human text."""
    if getattr(args, "json", False):
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(to_builtins(data)), indent=2).decode())
        sys.stdout.write("\n")
    elif text:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def report_error(args: argparse.Namespace | None, error: RefoldError) -> int:
    code = exit_code_for(error)
    if args is not None and getattr(args, "json", False):
        emit(args, {"error": error.to_dict(), "exit_code": code}, "")
    lines = [f"refold: error: {error.message}"]
    if error.location:
        lines.append(f"  where: {error.location}")
    if error.hint:
        lines.append(f"  hint:  {error.hint}")
    sys.stderr.write("\n".join(lines) + "\n")
    return code


def short(commit: str | None) -> str:
    return commit[:12] if commit else "-"
