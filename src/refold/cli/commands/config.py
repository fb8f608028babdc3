"""refold config show [--rev REV] | refold config set KEY VALUE"""

from __future__ import annotations

import argparse
import sys

import msgspec

from refold.cli.args import add_common_options, open_from_args
from refold.cli.output import EXIT_OK, emit, short
from refold.store.config import SETTABLE, config_bytes, set_config


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "config",
        help="show or change the store's versioned config",
        description="The config lives in the public tree (.refold/config.json); a change is "
        "a commit on the public branch, by compare-and-swap, naming the key and both values.",
    )
    actions = parser.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print .refold/config.json as published")
    show.add_argument("--rev", help="a revision of the public branch (default: its tip)")
    show.set_defaults(run=run_show)
    add_common_options(show, top=False)
    keys = "\n".join(f"  {key}: {text}" for key, text in SETTABLE.items())
    change = actions.add_parser(
        "set",
        help="change one key and publish the change",
        description=f'Settable keys:\n{keys}\n\nVALUE is JSON (4, true, null, ["x64","x86"]); '
        "text keys also take plain text and list keys a comma list.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    change.add_argument("key", metavar="KEY", help="e.g. indent, url_prefix, lane_arches.x64/linux")
    change.add_argument("value", metavar="VALUE")
    change.set_defaults(run=run_set)
    add_common_options(change, top=False)
    return parser


def run_show(args: argparse.Namespace) -> int:
    commit, data = config_bytes(open_from_args(args), args.rev)
    if getattr(args, "json", False):
        emit(args, {"commit": commit, "config": msgspec.json.decode(data)}, "")
    else:
        sys.stdout.write(data.decode())
        sys.stdout.flush()
    return EXIT_OK


def run_set(args: argparse.Namespace) -> int:
    change = set_config(open_from_args(args), args.key, args.value)
    show = msgspec.json.encode
    if change.commit is None:
        text = f"{change.key} is already {show(change.new).decode()} (nothing to do)"
    else:
        text = (
            f"{change.key}: {show(change.old).decode()} -> {show(change.new).decode()}; "
            f"published {short(change.commit)} (was {short(change.previous)})"
        )
    text += "".join(f"\n  warning: {w}" for w in change.warnings)
    emit(args, change, text)
    return EXIT_OK
