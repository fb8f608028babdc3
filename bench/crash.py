"""``python -m bench.crash``: the crash-injection campaigns of the reliability tests, longer.

Each round runs one writer per lane and a compactor as real processes and SIGKILLs them
at fault points (REFOLD_FAULT) and random instants; every invariant is checked after
every round (see tests/reliability/harness.py). Prints the figures docs/reliability.md
quotes; ``--out`` also writes them as JSON. Exit 1 if anything was lost, duplicated or
failed a check.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.crash", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--rounds", type=int, default=100, help="rounds per store kind (default 100)"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="picks kill occurrences and random delays"
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--local-only", action="store_true", help="only the local bare repository")
    which.add_argument(
        "--remote-only", action="store_true", help="only the store behind git daemon"
    )
    parser.add_argument(
        "--hook",
        action="store_true",
        help="install refold's pre-receive hook on the git server (as operators do; slower)",
    )
    parser.add_argument("--workdir", help="where to create the stores (default: a temp dir)")
    parser.add_argument("--out", metavar="FILE", help="write the figures as JSON to FILE")
    parser.add_argument("-v", "--verbose", action="store_true", help="a line per round")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from tests.reliability import harness

    kinds = [False] if args.local_only else [True] if args.remote_only else [False, True]
    log = (lambda line: print(line, flush=True)) if args.verbose else None
    results: dict[str, object] = {}
    total = harness.Figures(kills_by_point={})
    with tempfile.TemporaryDirectory(dir=args.workdir) as scratch:
        for remote in kinds:
            name = "remote" if remote else "local"
            started = time.monotonic()
            figures = harness.run_campaign(
                Path(scratch) / name,
                remote=remote,
                rounds=args.rounds,
                seed=args.seed,
                hook=args.hook,
                log=log,
            )
            print(f"{name}: {figures.summary()}  [{time.monotonic() - started:.0f} s]", flush=True)
            for point, count in sorted(figures.kills_by_point.items()):
                print(f"  {point:28} {count:5} kills")
            for problem in figures.problems:
                print(f"  PROBLEM {problem}")
            results[name] = msgspec.to_builtins(figures)
            total.add(figures)
    print(f"total: {total.summary()}")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    bad = total.problems or total.lost or total.duplicated or total.failed_runs
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
