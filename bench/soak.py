"""``python -m bench.soak``: sustained load for as long as you like.

Writers (one per lane) submit continuously to a store behind a loopback ``git daemon``
(``--local``: a local bare repository) while compactors fold; afterwards every
acknowledged partial must be published exactly once. Prints fold latency percentiles
(acknowledgement to publication) and how long one fold took; ``--out`` writes JSON.
Exit 1 if anything was lost, duplicated or failed a check.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--seconds", type=float, default=600.0, help="how long to hold load (default 600)"
    )
    parser.add_argument(
        "--writers", type=int, default=4, choices=range(1, 5), help="writer processes, one per lane"
    )
    parser.add_argument("--compactors", type=int, default=2, help="compactor processes (default 2)")
    parser.add_argument(
        "--pause", type=float, default=0.05, help="seconds each worker rests between operations"
    )
    parser.add_argument(
        "--local", action="store_true", help="a local bare repository instead of git daemon"
    )
    parser.add_argument(
        "--no-hook", action="store_true", help="serve without refold's pre-receive hook"
    )
    parser.add_argument("--workdir", help="where to create the store (default: a temp dir)")
    parser.add_argument("--out", metavar="FILE", help="write the figures as JSON to FILE")
    parser.add_argument("-v", "--verbose", action="store_true", help="progress every second")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from tests.reliability import harness

    log = (lambda line: print(line, flush=True)) if args.verbose else None
    with tempfile.TemporaryDirectory(dir=args.workdir) as scratch:
        figures = harness.run_soak(
            Path(scratch) / "soak",
            args.seconds,
            remote=not args.local,
            writers=args.writers,
            compactors=args.compactors,
            pause=args.pause,
            hook=not args.no_hook,
            log=log,
        )
    print(figures.summary())
    for problem in figures.problems:
        print(f"  PROBLEM {problem}")
    if args.out:
        Path(args.out).write_text(json.dumps(msgspec.to_builtins(figures), indent=2) + "\n")
    return 1 if figures.problems or figures.lost or figures.duplicated else 0


if __name__ == "__main__":
    sys.exit(main())
