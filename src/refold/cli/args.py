"""Argument helpers shared by subcommands: the parser, where the store is, reading input."""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from refold.manifests.errors import SchemaError, UsageError
from refold.store.repo import Store, open_store


class ParseError(UsageError):
    """A command line argparse rejected, carrying the usage line of the (sub)command."""

    def __init__(self, message: str, *, prog: str, usage: str) -> None:
        super().__init__(message, location=f"command line: {prog}", hint=f"run '{prog} --help'")
        self.usage = usage


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so usage errors share the error format
    (and the --json error document) of every other bad input."""

    def error(self, message: str) -> NoReturn:
        raise ParseError(message, prog=self.prog, usage=self.format_usage())


def add_common_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--store and --json, accepted before (``top``) or after the subcommand."""
    parser.add_argument(
        "--store",
        default=None if top else argparse.SUPPRESS,
        metavar="STORE",
        help="the store: a path or a git URL (default: $REFOLD_STORE)",
    )
    add_json_option(parser, top=top)


def add_json_option(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="print one JSON document on stdout (errors too)",
    )


def positive_int(text: str) -> int:
    """argparse type for counts such as -n N: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def store_path(args: argparse.Namespace) -> str:
    """The store from --store, else $REFOLD_STORE; a usage error when neither is set."""
    path = getattr(args, "store", None) or os.environ.get("REFOLD_STORE", "")
    if not path:
        raise UsageError(
            "no store given",
            location="--store / $REFOLD_STORE",
            hint="pass --store PATH or set REFOLD_STORE",
        )
    return str(path)


def store_source(args: argparse.Namespace) -> str:
    """Which of --store and $REFOLD_STORE named the store, for error locations."""
    return "--store" if getattr(args, "store", None) else "$REFOLD_STORE"


def open_from_args(args: argparse.Namespace, *, lanes: bool = True) -> Store:
    """Open the store; ``lanes=False`` fetches no lane refs from a remote (submit's case)."""
    path = store_path(args)
    try:
        return open_store(path, lanes=lanes)
    except UsageError as error:
        raise error.at(store_source(args)) from None


def read_input(path: str, *, limit: int | None = None, what: str = "input") -> tuple[bytes, str]:
    """The bytes of FILE (or stdin for '-') and a name for error locations.

    With ``limit``, at most ``limit + 1`` bytes are read, so a runaway file is refused
    without being held in memory; the decoder then reports it as over the limit.
    """
    if path == "-":
        if sys.stdin is None:
            raise UsageError("standard input is closed", location="<stdin>", hint="pass a FILE")
        stream = sys.stdin.buffer
        return (stream.read() if limit is None else stream.read(limit + 1)), "<stdin>"
    try:
        with open(path, "rb") as handle:
            if limit is not None:
                size = os.fstat(handle.fileno()).st_size
                if size > limit:
                    raise SchemaError(
                        f"{what} is {size:,} bytes, over the {limit:,}-byte limit",
                        location=path,
                        hint=f"check that the right file was given; a {what} is far smaller",
                    )
                return handle.read(limit + 1), path
            return handle.read(), path
    except FileNotFoundError:
        raise UsageError(
            f"file {path!r} does not exist", location=path, hint="check the path"
        ) from None
    except IsADirectoryError:
        raise UsageError(f"{path!r} is a directory, not a file", location=path) from None
    except PermissionError:
        raise UsageError(f"cannot read {path!r}: permission denied", location=path) from None
