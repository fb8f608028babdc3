"""refold init STORE [--import FILE] [--branch B] [--manifest-path P]"""

from __future__ import annotations

import argparse

from refold.cli.args import read_input, store_path
from refold.cli.output import EXIT_OK, emit, plural, short
from refold.manifests.config import StoreConfig
from refold.manifests.errors import RefoldError
from refold.store.init import init_store
from refold.store.repo import read_published

_FLAGS = {
    "$.indent": "--indent",
    "$.manifest_path": "--manifest-path",
    "$.url_prefix": "--url-prefix",
}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "init",
        help="create a store (a bare git repository)",
        description="Create a store: a bare git repository whose public branch holds the "
        "manifest, its config and provenance. Start empty, or adopt the manifest you "
        "publish today with --import. An existing empty repository is adopted; anything "
        "else that exists is refused.",
    )
    parser.add_argument(
        "path", metavar="STORE", nargs="?", help="the directory to create (default: --store)"
    )
    parser.add_argument(
        "--import",
        dest="import_file",
        metavar="FILE",
        help="start from this manifest (- for stdin)",
    )
    parser.add_argument(
        "--branch", default="main", metavar="BRANCH", help="the public branch (default: main)"
    )
    parser.add_argument(
        "--manifest-path",
        default="versions-manifest.json",
        metavar="PATH",
        help="the manifest's path (default: versions-manifest.json)",
    )
    parser.add_argument(
        "--indent",
        type=int,
        default=2,
        metavar="N",
        help="JSON indent of the manifest (default: 2)",
    )
    parser.add_argument(
        "--url-prefix",
        metavar="URL",
        help="refuse download URLs that do not start with URL (default: any URL)",
    )
    parser.set_defaults(run=run)
    return parser


def _config(args: argparse.Namespace) -> StoreConfig:
    """The config from the flags; its errors name the flag the user typed, not a JSON path."""
    try:
        return StoreConfig(
            manifest_path=args.manifest_path, indent=args.indent, url_prefix=args.url_prefix
        )
    except RefoldError as error:
        flag = _FLAGS.get(error.location, error.location)
        raise type(error)(error.message, location=flag, hint=error.hint) from None


def run(args: argparse.Namespace) -> int:
    path = args.path or store_path(args)
    config = _config(args)
    data, location = read_input(args.import_file) if args.import_file else (None, "")
    store = init_store(
        path, branch=args.branch, config=config, import_data=data, import_location=location
    )
    published = read_published(store)
    files = sum(len(r.files) for r in published.manifest)
    emit(
        args,
        {
            "store": path,
            "branch": store.branch,
            "commit": published.commit,
            "releases": len(published.manifest),
            "files": files,
        },
        f"created store {path} ({store.branch} at {short(published.commit)}: "
        f"{plural(len(published.manifest), 'release')}, {plural(files, 'file')})",
    )
    return EXIT_OK
