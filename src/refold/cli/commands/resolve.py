"""refold resolve SPEC --arch A --platform P [--platform-version V] [--stable] [--rev REV]"""

from __future__ import annotations

import argparse

from refold.cli.args import open_from_args
from refold.cli.output import EXIT_BAD_INPUT, EXIT_OK, emit, short
from refold.manifests.resolve import find_match, near_misses
from refold.store.repo import read_published


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "resolve",
        help="which release and file setup-python would download",
        description="Apply @actions/tool-cache's findFromManifest rule to the published "
        "manifest: the first release in file order whose version satisfies SPEC (node-semver) "
        "and that has a file for the arch and platform. Exit 2 when nothing matches.",
    )
    parser.add_argument(
        "spec", metavar="SPEC", help="a node-semver range, e.g. 3.12, 3.x, ~3.14.0-0"
    )
    parser.add_argument("--arch", required=True, help="e.g. x64, arm64, x64-freethreaded")
    parser.add_argument(
        "--platform", required=True, help="linux, darwin or win32 (node's os.platform())"
    )
    parser.add_argument(
        "--platform-version",
        default="",
        metavar="V",
        help="the OS version tool-cache reads: 24.04 on Ubuntu, 14.5.0 on macOS (default: none)",
    )
    parser.add_argument("--stable", action="store_true", help="only releases marked stable")
    parser.add_argument("--rev", help="a revision of the public branch (default: its tip)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    published = read_published(open_from_args(args), args.rev)
    query = {
        "spec": args.spec,
        "arch": args.arch,
        "platform": args.platform,
        "platform_version": args.platform_version,
        "stable": args.stable,
    }
    found = find_match(published.manifest, **query)
    on = f"{args.arch}/{args.platform}" + (
        f" {args.platform_version}" if args.platform_version else ""
    )
    if found is None:
        searched = near_misses(published.manifest, **query)
        text = f"no match for {args.spec!r} on {on} at {short(published.commit)}\n" + "\n".join(
            f"  {line}" for line in searched
        )
        emit(args, {**query, "commit": published.commit, "match": None, "searched": searched}, text)
        return EXIT_BAD_INPUT
    file = found.file
    text = (
        f"{found.release.version} {file.filename}\n"
        f"  download_url: {file.download_url}\n"
        f"  release {found.index + 1} of {len(published.manifest)} in file order at {short(published.commit)}"
    )
    match = {
        "version": found.release.version,
        "stable": found.release.stable,
        "release_url": found.release.release_url,
        "index": found.index,
        "file": file,
    }
    emit(args, {**query, "commit": published.commit, "match": match}, text)
    return EXIT_OK
