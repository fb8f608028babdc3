"""The ``refold`` command: parse arguments, run one subcommand, map errors to exit codes.

Exit codes: 0 done (or nothing to do), 2 bad input or usage (nothing changed), 3 a fold
published but held back some lanes (with --strict: published nothing), 4 gave up after
lost compare-and-swap races, 1 anything unexpected, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from refold import __version__
from refold.cli.commands import demo, fold, init, show, status, submit
from refold.cli.output import EXIT_INTERRUPTED, EXIT_UNEXPECTED, report_error
from refold.manifests.errors import RefoldError

COMMANDS = (init, submit, fold, status, show, demo)


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--store and --json are accepted before or after the subcommand."""
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--store",
        default=default,
        metavar="STORE",
        help="the store (a path; default: $REFOLD_STORE)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="print one JSON document on stdout",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refold",
        description="A git-native manifest store with transactional merge.",
        epilog="exit codes: 0 done, 2 bad input or usage, 3 lanes held back, "
        "4 lost compare-and-swap races, 1 unexpected",
    )
    parser.add_argument("--version", action="version", version=f"refold {__version__}")
    _common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        child = command.add_parser(sub)
        _common(child, top=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        return int(args.run(args))
    except RefoldError as error:
        return report_error(args, error)
    except KeyboardInterrupt:
        sys.stderr.write("refold: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_UNEXPECTED
    except Exception:
        traceback.print_exc()
        sys.stderr.write("refold: unexpected error (a bug): please report it with the traceback above\n")
        return EXIT_UNEXPECTED


def entry() -> None:
    sys.exit(main())
