"""refold init STORE [--import FILE] [--branch B] [--manifest-path P]"""

from __future__ import annotations

import argparse

from refold.cli.args import read_input, store_path
from refold.cli.output import EXIT_OK, emit, short
from refold.manifests.config import StoreConfig
from refold.store.init import init_store
from refold.store.repo import read_published


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser("init", help="create a store (a bare git repository)")
    parser.add_argument("path", metavar="STORE", nargs="?", help="directory to create (default: --store)")
    parser.add_argument("--import", dest="import_file", metavar="FILE", help="start from this manifest")
    parser.add_argument("--branch", default="main", help="the public branch (default: main)")
    parser.add_argument(
        "--manifest-path", default="versions-manifest.json", help="manifest path in the public tree"
    )
    parser.add_argument("--indent", type=int, default=2, help="JSON indent of the manifest (default: 2)")
    parser.add_argument("--url-prefix", help="URL policy: download URLs must start with this")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    path = args.path or store_path(args)
    config = StoreConfig(
        manifest_path=args.manifest_path, indent=args.indent, url_prefix=args.url_prefix
    )
    data, location = read_input(args.import_file) if args.import_file else (None, "")
    store = init_store(path, branch=args.branch, config=config, import_data=data, import_location=location)
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
        f"{len(published.manifest)} releases, {files} files)",
    )
    return EXIT_OK
