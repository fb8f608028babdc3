"""A long-running compactor for the fan-in variant where folds race with the jobs.

Run as a script (``python bench/compactor.py STORE STOPFILE``): fold whatever is pending,
again and again, until the stop file exists and a last fold finds nothing left. Several
of these run at once, so their folds also race each other for the public ref; the
compare-and-swap decides, and the loser recomputes. Prints its counts as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from refold.store.compact import fold_store
from refold.store.repo import open_store


def main(argv: list[str]) -> int:
    store_path, stop = argv[1], Path(argv[2])
    folds = retries = idle = partials = 0
    while True:
        stopping = stop.exists()
        outcome = fold_store(open_store(store_path))
        retries += outcome.retries
        if outcome.commit is not None:
            folds += 1
            partials += sum(o.folded for o in outcome.report.lanes.values())
        elif stopping:
            break
        else:
            idle += 1
            time.sleep(0.005)
    sys.stdout.write(
        json.dumps({"folds": folds, "fold_retries": retries, "idle_polls": idle, "partials": partials})
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
