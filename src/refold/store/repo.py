"""Opening a store and the small git object helpers everything else builds on.

A store is a git repository (bare by default). Which branch is public is kept in the
repository's own git config (``refold.branch``), since every other setting lives in the
public tree and has to be found from that branch first.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

import msgspec
import pygit2

from refold.manifests.config import StoreConfig, decode_config
from refold.manifests.errors import SchemaError, UsageError
from refold.manifests.lanes import LANE_REF_PREFIX
from refold.manifests.model import Manifest, decode_manifest
from refold.manifests.provenance import ProvenanceIndex, decode_provenance
from refold.store.remote import Remote, is_url, mirror, open_cache, parse_remote, public_branch

CONFIG_PATH = ".refold/config.json"
PROVENANCE_PATH = ".refold/provenance.json"
PARTIAL_FILE = "partial.json"
DEFAULT_BRANCH = "main"


class Store(msgspec.Struct, frozen=True):
    """An open store: the repository and the name of its public ref."""

    path: str
    repo: pygit2.Repository
    public_ref: str
    remote: Remote | None = None
    """Set for a store opened by URL: ``repo`` is then a disposable cache clone, read after
    ``refold.store.transport.refresh`` and written only through its ``update_ref``."""

    @property
    def branch(self) -> str:
        return self.public_ref.removeprefix("refs/heads/")


class Published(msgspec.Struct, frozen=True):
    """One publication (a commit on the public ref) read back from git."""

    commit: str
    config: StoreConfig
    manifest_bytes: bytes
    manifest: Manifest
    provenance: ProvenanceIndex


def open_store(path: str | os.PathLike[str], *, lanes: bool = True) -> Store:
    """The store at a path or URL. A remote store's cache is brought up to date first: the
    public ref, and with ``lanes`` every lane (what read-only commands need to be right)."""
    location = os.fspath(path)
    if not location:
        raise UsageError("no store given", hint="pass --store PATH or set REFOLD_STORE")
    if is_url(location):
        return _open_remote(location, lanes=lanes)
    try:
        repo = open_repository(location)
    except (pygit2.GitError, KeyError):
        hint = "create one with: refold init " + location
        if not Path(location).exists():
            raise UsageError(f"store {location!r} does not exist", hint=hint) from None
        raise UsageError(f"{location!r} is not a git repository", hint=hint) from None
    branch = DEFAULT_BRANCH
    try:
        branch = str(repo.config["refold.branch"])
    except KeyError:
        pass
    store = Store(path=location, repo=repo, public_ref=f"refs/heads/{branch}")
    if store.public_ref not in repo.references:
        raise UsageError(
            f"{location!r} has no public ref {store.public_ref}: not a refold store",
            hint="create one with: refold init " + location,
        )
    return store


def _open_remote(location: str, *, lanes: bool) -> Store:
    remote = parse_remote(location)
    repo = open_cache(remote)
    configured = str(repo.config["refold.branch"]) if "refold.branch" in repo.config else ""
    prefixes = (LANE_REF_PREFIX,) if lanes else ()
    advertised = mirror(remote, repo, (), prefixes, public=configured)
    branch = public_branch(advertised, configured or None)
    hint = "create one with: refold init " + remote.url
    if branch is None and not advertised.refs:
        raise UsageError(f"{remote.url} is an empty repository, not a refold store yet", hint=hint)
    if branch is None:
        raise UsageError(
            f"cannot tell which branch of {remote.url} is the public one",
            hint="point the server's HEAD at the public branch (or name it main)",
        )
    public_ref = f"refs/heads/{branch}"
    remote.fresh = (frozenset({public_ref}), prefixes)
    return Store(path=remote.url, repo=repo, public_ref=public_ref, remote=remote)


def open_repository(location: str) -> pygit2.Repository:
    """The repository at exactly ``location``, never one found in a parent directory."""
    return pygit2.Repository(location, pygit2.enums.RepositoryOpenFlag.NO_SEARCH)


def ref_target(repo: pygit2.Repository, name: str) -> pygit2.Oid | None:
    """What ``name`` points at (following a symbolic ref), or None if it does not exist."""
    ref = repo.references.get(name)
    if ref is None:
        return None
    target = ref.resolve().target
    assert isinstance(target, pygit2.Oid)
    return target


def public_tip(store: Store) -> pygit2.Oid:
    tip = ref_target(store.repo, store.public_ref)
    if tip is None:
        raise UsageError(f"{store.path!r} has no public ref {store.public_ref}: not a refold store")
    return tip


def signature(
    name_var: str = "", email_var: str = "", *, env: Mapping[str, str] | None = None
) -> pygit2.Signature:
    """Who a commit is by: the CI actor when there is one, else refold itself."""
    env = os.environ if env is None else env
    name = env.get(name_var or "GITHUB_ACTOR") or env.get("REFOLD_AUTHOR") or "refold"
    email = env.get(email_var or "REFOLD_EMAIL") or f"{name}@refold.invalid"
    return pygit2.Signature(name, email, int(time.time()), 0)


def blob_at(repo: pygit2.Repository, commit: pygit2.Commit, path: str) -> bytes | None:
    try:
        entry = commit.tree[path]
    except KeyError:
        return None
    if entry.type != pygit2.enums.ObjectType.BLOB:
        return None
    # A raw odb read: looking the blob up as an object and copying .data costs ~2 ms
    # more per 700 KB manifest, on every fold and status.
    return repo.read(entry.id)[1]


def resolve_commit(store: Store, rev: str | None = None) -> pygit2.Commit:
    spec = rev or store.public_ref
    try:
        obj = store.repo.revparse_single(spec)
        commit = obj.peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        raise UsageError(
            f"unknown revision {spec!r}", hint="give a commit id, a ref name or main~N"
        ) from None
    assert isinstance(commit, pygit2.Commit)
    return commit


def _read_config(store: Store, commit: pygit2.Commit, where: str) -> StoreConfig:
    raw_config = blob_at(store.repo, commit, CONFIG_PATH)
    if raw_config is None:
        raise SchemaError(
            f"{CONFIG_PATH} is missing", location=where, hint="this commit was not made by refold"
        )
    return decode_config(raw_config, location=f"{where}:{CONFIG_PATH}")


def read_config(store: Store, rev: str | None = None) -> StoreConfig:
    """The store config at ``rev`` (default: the public tip), without decoding the manifest."""
    commit = resolve_commit(store, rev)
    return _read_config(store, commit, f"{rev or store.branch}@{str(commit.id)[:12]}")


def read_published(store: Store, rev: str | None = None) -> Published:
    commit = resolve_commit(store, rev)
    where = f"{rev or store.branch}@{str(commit.id)[:12]}"
    config = _read_config(store, commit, where)
    manifest_bytes = blob_at(store.repo, commit, config.manifest_path)
    if manifest_bytes is None:
        raise SchemaError(f"{config.manifest_path} is missing", location=where)
    raw_provenance = blob_at(store.repo, commit, PROVENANCE_PATH) or b"{}"
    return Published(
        commit=str(commit.id),
        config=config,
        manifest_bytes=manifest_bytes,
        manifest=decode_manifest(manifest_bytes, location=f"{where}:{config.manifest_path}"),
        provenance=decode_provenance(raw_provenance, location=f"{where}:{PROVENANCE_PATH}"),
    )


def write_tree(
    repo: pygit2.Repository, base: pygit2.Tree | None, files: Mapping[str, bytes]
) -> pygit2.Oid:
    """``base`` with ``files`` (slash paths) written in; everything else in ``base`` kept."""
    here: dict[str, bytes] = {}
    below: dict[str, dict[str, bytes]] = {}
    for path, data in files.items():
        head, _, rest = path.partition("/")
        if rest:
            below.setdefault(head, {})[rest] = data
        else:
            here[head] = data
    builder = repo.TreeBuilder(base) if base is not None else repo.TreeBuilder()
    for name, data in here.items():
        builder.insert(name, repo.create_blob(data), pygit2.enums.FileMode.BLOB)
    for name, sub in below.items():
        sub_base = None
        if base is not None and name in base:
            existing = repo[base[name].id]
            sub_base = existing if isinstance(existing, pygit2.Tree) else None
        builder.insert(name, write_tree(repo, sub_base, sub), pygit2.enums.FileMode.TREE)
    return builder.write()


def lane_refs(repo: pygit2.Repository) -> dict[str, pygit2.Oid]:
    """Every lane and its tip, by lane name."""
    out: dict[str, pygit2.Oid] = {}
    for ref in repo.references.iterator():
        if ref.name.startswith(LANE_REF_PREFIX):
            target = ref.resolve().target
            assert isinstance(target, pygit2.Oid)
            out[ref.name[len(LANE_REF_PREFIX) :]] = target
    return dict(sorted(out.items()))


def all_refs(repo: pygit2.Repository) -> dict[str, str]:
    """Every ref and what it points at: what tests compare before and after bad input."""
    out = {}
    for ref in repo.references.iterator():
        out[ref.name] = str(ref.target)
    return dict(sorted(out.items()))
