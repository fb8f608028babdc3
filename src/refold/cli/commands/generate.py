"""refold generate (--dir DIR | --assets FILE|-) [--lane LANE] [-o FILE] [URL options] [--check-binary]"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

import msgspec

from refold.cli import github
from refold.cli.args import read_input
from refold.cli.output import EXIT_OK, emit, plural
from refold.manifests.binaries import ArchiveCheck, check_archive
from refold.manifests.config import StoreConfig
from refold.manifests.errors import UsageError
from refold.manifests.generate import (
    DOWNLOAD_TEMPLATE,
    Asset,
    Exclusion,
    Generated,
    Templates,
    build_partial,
    decode_assets,
    select,
)
from refold.manifests.partial import encode_partial

_CHUNK = 1024 * 1024


def add_generate_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """The options that say what to describe and how; shared with ``submit --generate``."""
    group = parser.add_argument_group("generating a partial")
    source = group.add_mutually_exclusive_group(required=required)
    source.add_argument("--dir", metavar="DIR", help="a directory of built files (not recursive)")
    source.add_argument(
        "--assets",
        metavar="FILE",
        help="a release's asset list as JSON (GitHub's API, softprops/action-gh-release's"
        " 'assets' output), or - for stdin",
    )
    group.add_argument(
        "--url-template",
        metavar="T",
        help="download_url template with {filename} and any of {owner} {repo} {tag} {version}"
        f" (default with --tag: {DOWNLOAD_TEMPLATE})",
    )
    group.add_argument(
        "--release-url-template",
        metavar="T",
        help="release_url template with any of {owner} {repo} {tag} {version}"
        " (default with --tag: the GitHub release page)",
    )
    group.add_argument("--owner", help="fills {owner} (default: from $GITHUB_REPOSITORY)")
    group.add_argument("--repo", help="fills {repo} (default: from $GITHUB_REPOSITORY)")
    group.add_argument("--tag", help="the release tag; fills {tag}")
    group.add_argument(
        "--stable",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the releases' stable flag (default: false for prereleases, else true)",
    )
    group.add_argument(
        "--check-binary",
        action="store_true",
        help="open each archive (--dir only) and refuse executables built for another arch",
    )


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "generate",
        help="describe built files as a partial",
        description="Describe a build's release files as a partial (the canonical document"
        " refold submit takes): each filename is parsed into version, platform,"
        " platform_version and arch; SBOMs, scan reports, logs and checksums are left out"
        " and listed on stderr with the reason.",
    )
    add_generate_options(parser, required=True)
    parser.add_argument(
        "--lane", help="keep only this lane's files and check them as refold submit would"
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write the partial here (default: stdout)"
    )
    parser.set_defaults(run=run)
    return parser


def generate_options_given(args: argparse.Namespace) -> list[str]:
    names = ("dir", "assets", "url_template", "release_url_template", "owner", "repo", "tag", "stable")
    given = [f"--{n.replace('_', '-')}" for n in names if getattr(args, n, None) is not None]
    return given + (["--check-binary"] if getattr(args, "check_binary", False) else [])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def list_directory(directory: str) -> tuple[list[Asset], list[Exclusion]]:
    """The regular files of ``directory`` as assets (name only), the rest as exclusions."""
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except FileNotFoundError:
        raise UsageError(f"directory {directory!r} does not exist", location="--dir") from None
    except NotADirectoryError:
        raise UsageError(f"{directory!r} is not a directory", location="--dir") from None
    except PermissionError:
        raise UsageError(f"cannot read {directory!r}: permission denied", location="--dir") from None
    assets: list[Asset] = []
    excluded: list[Exclusion] = []
    for entry in entries:
        if entry.is_file():
            assets.append(Asset(name=entry.name))
        elif entry.is_dir():
            excluded.append(
                Exclusion(
                    entry.name,
                    f"{entry.name!r} is a directory, not a file",
                    "only the files directly in --dir are read",
                )
            )
        else:
            excluded.append(Exclusion(entry.name, f"{entry.name!r} is not a regular file"))
    return assets, excluded


def _templates(args: argparse.Namespace) -> Templates:
    owner, repo = args.owner, args.repo
    repository = os.environ.get("GITHUB_REPOSITORY", "")
    if "/" in repository:
        env_owner, env_repo = repository.split("/", 1)
        owner = owner or env_owner
        repo = repo or env_repo
    return Templates(
        download=args.url_template,
        release=args.release_url_template,
        owner=owner,
        repo=repo,
        tag=args.tag,
    )


def _say(args: argparse.Namespace, line: str) -> None:
    if not getattr(args, "json", False):
        sys.stderr.write(line + "\n")


def generate_from_args(
    args: argparse.Namespace, *, lane: str | None, config: StoreConfig
) -> tuple[Generated, list[ArchiveCheck]]:
    """Everything ``refold generate`` does short of writing the partial out.

    Exclusions are listed (stderr) before anything can fail, so a job that produced no
    release file still learns what it did produce.
    """
    if args.check_binary and args.dir is None:
        raise UsageError(
            "--check-binary needs the files themselves",
            location="--check-binary",
            hint="use --dir with the directory the build wrote its archives to",
        )
    pre_excluded: list[Exclusion] = []  # only --dir has entries that are not files
    if args.dir is not None:
        assets, pre_excluded = list_directory(args.dir)
    else:
        data, location = read_input(args.assets)
        assets = list(decode_assets(data, location=location))
    selection = select(assets, lane=lane, config=config)
    # Reported in name order, whichever check left a file out.
    excluded = sorted(pre_excluded + list(selection.excluded), key=lambda e: e.filename)
    for item in excluded:
        _say(args, f"refold: excluded: {item.reason}")
    kept = list(selection.kept)
    checks: list[ArchiveCheck] = []
    if args.dir is not None:
        for index, selected in enumerate(kept):
            path = Path(args.dir) / selected.asset.name
            if args.check_binary:
                check = check_archive(path, selected.artifact.arch, filename=selected.asset.name)
                checks.append(check)
                if check.skipped:
                    _say(args, f"refold: not checked {check.filename}: {check.skipped}")
                else:
                    first = check.checked[0]
                    _say(
                        args,
                        f"refold: checked {check.filename}: {plural(len(check.checked), 'executable')}"
                        f" for {check.arch} ({first.path}: {first.binary.describe()})",
                    )
            asset = Asset(name=selected.asset.name, sha256=_sha256(path), size=path.stat().st_size)
            kept[index] = msgspec.structs.replace(selected, asset=asset)
    partial = build_partial(
        kept,
        templates=_templates(args),
        stable=args.stable,
        lane=lane,
        config=config,
        excluded=len(excluded),
    )
    return Generated(partial=partial, files=tuple(kept), excluded=tuple(excluded)), checks


def generate_summary(generated: Generated, checks: list[ArchiveCheck]) -> str:
    """Markdown for the step summary: the files described and the files left out."""
    checked = {c.filename: c for c in checks}
    rows = []
    for selected in generated.files:
        artifact = selected.artifact
        check = checked.get(selected.asset.name)
        verdict = "" if check is None else (f"not checked: {check.skipped}" if check.skipped else "ok")
        rows.append([selected.asset.name, artifact.version, artifact.arch, verdict])
    parts = [github.summary_table(["file", "version", "arch", "binary check"], rows)]
    if generated.excluded:
        parts.append(
            github.summary_table(
                ["excluded", "reason"], [[e.filename, e.reason] for e in generated.excluded]
            )
        )
    return "\n".join(parts)


def run(args: argparse.Namespace) -> int:
    github.mask_secrets(getattr(args, "store", None))
    generated, checks = generate_from_args(args, lane=args.lane, config=StoreConfig())
    encoded = encode_partial(generated.partial)
    count = len(generated.files)
    if args.output:
        Path(args.output).write_bytes(encoded)
    if getattr(args, "json", False):
        emit(
            args,
            {
                "partial": generated.partial,
                "output": args.output,
                "files": [s.asset.name for s in generated.files],
                "excluded": generated.excluded,
                "checked": checks,
            },
            "",
        )
    elif args.output:
        emit(args, None, f"wrote {plural(count, 'file')} to {args.output}")
    else:
        sys.stdout.write(encoded.decode())
        sys.stdout.flush()
    if github.active():
        github.append_summary("### refold generate\n\n" + generate_summary(generated, checks))
        github.set_outputs(
            {
                "partial": args.output or "",
                "files": str(count),
                "excluded": str(len(generated.excluded)),
            }
        )
    return EXIT_OK
