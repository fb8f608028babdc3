"""Argument helpers shared by subcommands: where the store is, reading input files."""

from __future__ import annotations

import argparse
import os
import sys

from refold.manifests.errors import UsageError
from refold.store.repo import Store, open_store


def store_path(args: argparse.Namespace) -> str:
    """The store from --store, else $REFOLD_STORE; a usage error when neither is set."""
    path = getattr(args, "store", None) or os.environ.get("REFOLD_STORE", "")
    if not path:
        raise UsageError("no store given", hint="pass --store PATH or set REFOLD_STORE")
    return str(path)


def open_from_args(args: argparse.Namespace) -> Store:
    return open_store(store_path(args))


def read_input(path: str) -> tuple[bytes, str]:
    """The bytes of FILE (or stdin for '-') and a name for error locations."""
    if path == "-":
        return sys.stdin.buffer.read(), "<stdin>"
    try:
        with open(path, "rb") as handle:
            return handle.read(), path
    except FileNotFoundError:
        raise UsageError(f"file {path!r} does not exist", hint="check the path") from None
    except IsADirectoryError:
        raise UsageError(f"{path!r} is a directory, not a file") from None
    except PermissionError:
        raise UsageError(f"cannot read {path!r}: permission denied") from None
