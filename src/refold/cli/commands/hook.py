"""refold hook install REPO [--branch B] [--force] | refold hook run (what the hook runs)"""

from __future__ import annotations

import argparse
import os
import sys

from refold.cli.args import add_json_option
from refold.cli.output import EXIT_BAD_INPUT, EXIT_OK, emit
from refold.manifests.errors import UsageError
from refold.store.hook import install_hook, run_hook


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "hook",
        help="make a git server enforce refold's rules (pre-receive hook)",
        description="Server-side enforcement for stores on GitLab, Gitea, GitHub Enterprise "
        "or any plain git server: a pre-receive hook that refuses force-pushed or deleted "
        "lanes, partials that are invalid for their lane, publications that are not exactly "
        "what folding gives (a hand-edited manifest), and every other ref.",
    )
    actions = parser.add_subparsers(dest="hook_command", metavar="ACTION", required=True)
    install = actions.add_parser(
        "install",
        help="write the pre-receive hook into a bare repository",
        description="Write hooks/pre-receive into the bare repository REPO. The hook runs "
        f"this Python ({sys.executable}) by absolute path, so refold must stay installed "
        "there. REPO's public branch is recorded in its git config (refold.branch).",
    )
    install.add_argument("repo", metavar="REPO", help="the bare repository the server serves")
    install.add_argument(
        "--branch",
        metavar="BRANCH",
        help="the public branch (default: what REPO records, else main)",
    )
    install.add_argument(
        "--force", action="store_true", help="replace a pre-receive hook refold did not write"
    )
    install.set_defaults(run=run_install)
    add_json_option(install)
    check = actions.add_parser(
        "run",
        help="check a push (git runs this from the installed hook)",
        description="Read pre-receive input ('<old> <new> <ref>' lines) on stdin, check every "
        "update against refold's rules in the repository $GIT_DIR (default: the current "
        "directory), print 'refold: rejected REF: REASON' for each refusal and exit 2 if "
        "there is one. Meant to be run by git, not by hand.",
    )
    check.set_defaults(run=run_check)
    add_json_option(check)
    return parser


def run_install(args: argparse.Namespace) -> int:
    path = install_hook(args.repo, branch=args.branch, force=args.force)
    emit(args, {"hook": str(path), "python": sys.executable}, f"installed {path}")
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    if sys.stdin is None:
        raise UsageError("standard input is closed", location="<stdin>")
    text = sys.stdin.read()
    refusals = run_hook(text, git_dir=os.environ.get("GIT_DIR") or ".", env=os.environ)
    for refusal in refusals:
        sys.stderr.write(f"refold: rejected {refusal.ref}: {refusal.reason}\n")
    emit(args, {"rejected": refusals}, "")
    return EXIT_BAD_INPUT if refusals else EXIT_OK
