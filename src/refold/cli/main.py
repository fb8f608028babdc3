"""The ``refold`` command: parse arguments, run one subcommand, map errors to exit codes.

Exit codes: 0 done (or nothing to do), 2 bad input or usage (nothing changed), 3 a fold
published but held back some lanes (with --strict: published nothing), 4 gave up after
lost compare-and-swap races, 1 anything unexpected, 130 interrupted, 141 stdout closed early.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence

from refold import __version__
from refold.cli.args import ParseError, Parser, add_common_options
from refold.cli.commands import (
    blame,
    config,
    demo,
    diff,
    fold,
    generate,
    hook,
    import_,
    init,
    log,
    rebuild,
    reject,
    report,
    resolve,
    show,
    status,
    submit,
    verify,
)
from refold.cli.output import (
    EXIT_INTERRUPTED,
    quiet_broken_pipe,
    report_error,
    report_unexpected,
)
from refold.manifests.errors import RefoldError

EPILOG = """\
exit codes:
  0  done (also: nothing to do)
  2  bad input or usage; nothing was changed
  3  the fold held back some lanes and published the rest (--strict: published nothing)
  4  gave up after losing the compare-and-swap race repeatedly; nothing published
  1  unexpected (a bug: the traceback is printed)

run 'refold COMMAND --help' for a command's options"""

COMMANDS = (
    init,
    generate,
    submit,
    fold,
    status,
    show,
    demo,
    reject,
    import_,
    config,
    resolve,
    log,
    blame,
    diff,
    verify,
    rebuild,
    hook,
    report,
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="refold",
        description="A git-native manifest store with transactional merge:\n"
        "build jobs submit partials to their lanes, one fold publishes them all.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"refold {__version__}")
    add_common_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        child = command.add_parser(sub)
        add_common_options(child, top=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    context = "command line: " + shlex.join(["refold", *argv])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    except ParseError as error:
        as_json = "--json" in argv
        if not as_json:
            sys.stderr.write(error.usage)
        return report_error(None, error, as_json=as_json)
    try:
        return int(args.run(args))
    except RefoldError as error:
        return report_error(args, error, context=context)
    except KeyboardInterrupt:
        sys.stderr.write("refold: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return quiet_broken_pipe()
    except Exception as exc:  # noqa: BLE001 - the one place a bug becomes exit 1
        return report_unexpected(exc, as_json=bool(args.json), context=context)


def entry() -> None:
    sys.exit(main())
