"""refold submit --lane LANE (FILE|- | --generate (--dir DIR | --assets FILE) [generate options])"""

from __future__ import annotations

import argparse

from refold.cli import github
from refold.cli.args import open_from_args, read_input
from refold.cli.commands import generate
from refold.cli.output import EXIT_OK, emit, short
from refold.manifests.errors import UsageError
from refold.manifests.partial import MAX_PARTIAL_BYTES, encode_partial
from refold.store.repo import read_published
from refold.store.submit import submit


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "submit",
        help="validate a partial and append it to a lane",
        description="Validate a partial (the entries one build job adds or replaces) and "
        "append it to refs/partials/LANE. Never touches the public manifest. Submitting "
        "the same content again is a no-op.",
    )
    parser.add_argument(
        "--lane",
        required=True,
        help="the lane: an arch (ppc64le) or an arch with a qualifier (x64/linux-24.04)",
    )
    parser.add_argument(
        "file", metavar="FILE", nargs="?", help="the partial as JSON, or - for stdin"
    )
    parser.add_argument(
        "--generate",
        action="store_true",
        help="generate the partial from --dir or --assets (as refold generate does) and submit it",
    )
    generate.add_generate_options(parser, required=False)
    parser.set_defaults(run=run)
    return parser


def _check_usage(args: argparse.Namespace) -> None:
    given = generate.generate_options_given(args)
    if args.generate and args.file is not None:
        raise UsageError("give FILE or --generate, not both", location="FILE")
    if args.generate and not (args.dir or args.assets):
        raise UsageError("--generate needs --dir or --assets", location="--generate")
    if not args.generate and given:
        raise UsageError(f"{given[0]} needs --generate", location=given[0])
    if not args.generate and args.file is None:
        raise UsageError("no partial given", location="FILE", hint="pass FILE, - for stdin, or --generate")


def run(args: argparse.Namespace) -> int:
    _check_usage(args)
    github.mask_secrets(getattr(args, "store", None))
    store = open_from_args(args, lanes=False)
    summary = ""
    if args.generate:
        config = read_published(store).config
        generated, checks = generate.generate_from_args(args, lane=args.lane, config=config)
        data, location = encode_partial(generated.partial), "generated partial"
        summary = "\n" + generate.generate_summary(generated, checks)
    else:
        data, location = read_input(args.file, limit=MAX_PARTIAL_BYTES, what="partial")
    result = submit(store, args.lane, data, location=location)
    text = (
        f"lane {result.lane}: already holds this partial at {short(result.commit)} (nothing to do)"
        if result.noop
        else f"lane {result.lane}: submitted {short(result.commit)}"
    )
    emit(args, result, text)
    github.report_submit(result, extra=summary)
    return EXIT_OK
