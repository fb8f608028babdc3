"""Creating a store: a bare repository whose first public commit holds an empty (or
imported) manifest, the config and the provenance index.

A store given by URL is created on the server by pushing that first commit, and only
into a repository with no refs at all (the push is leased on the ref being absent).
"""

from __future__ import annotations

import os
from pathlib import Path

import pygit2

from refold.manifests.config import StoreConfig, encode_config
from refold.manifests.errors import UsageError
from refold.manifests.fold import import_provenance
from refold.manifests.imports import validate_import
from refold.manifests.model import Manifest
from refold.manifests.provenance import encode_provenance
from refold.manifests.render import canonical_order, render_manifest
from refold.store.refs import LostRace, compare_and_swap
from refold.store.remote import cache_lock, is_url, mirror, open_cache, parse_remote, push
from refold.store.repo import (
    CONFIG_PATH,
    PROVENANCE_PATH,
    Store,
    open_repository,
    open_store,
    signature,
    write_tree,
)


def init_store(
    path: str | os.PathLike[str],
    *,
    branch: str = "main",
    config: StoreConfig | None = None,
    import_data: bytes | None = None,
    import_location: str = "",
) -> Store:
    """Create the store at ``path`` (or adopt an empty repository there)."""
    location = os.fspath(path)
    config = config or StoreConfig()
    if not pygit2.reference_is_valid_name(f"refs/heads/{branch}"):
        raise UsageError(
            f"branch name {branch!r} is not a valid git branch name", location="--branch"
        )
    manifest: Manifest = ()
    if import_data is not None:
        manifest = validate_import(import_data, config, location=import_location)
    if is_url(location):
        return _init_remote(location, branch, config, manifest, imported=import_data is not None)
    target = Path(location)
    if target.exists() and not target.is_dir():
        raise UsageError(
            f"{location!r} exists and is not a directory",
            hint="choose a new directory, or an empty bare repository to adopt",
        )
    if target.exists() and any(target.iterdir()):
        try:
            repo = open_repository(location)
        except pygit2.GitError:
            raise UsageError(
                f"{location!r} exists and is not an empty git repository",
                hint="choose a new directory, or an empty bare repository to adopt",
            ) from None
        if list(repo.references):
            raise UsageError(
                f"{location!r} already has refs; refold adopts only empty repositories",
                hint="use a new directory, or open it as a store with --store if refold made it",
            )
    else:
        repo = pygit2.init_repository(location, bare=True, initial_head=branch)
    repo.config["refold.branch"] = branch
    commit = _first_commit(repo, config, manifest, imported=import_data is not None)
    try:
        compare_and_swap(repo, f"refs/heads/{branch}", None, commit, "refold init")
    except LostRace:
        raise UsageError(f"{location!r} was initialised by another process just now") from None
    repo.set_head(f"refs/heads/{branch}")
    return open_store(location)


def _first_commit(
    repo: pygit2.Repository, config: StoreConfig, manifest: Manifest, *, imported: bool
) -> pygit2.Oid:
    manifest = canonical_order(manifest)
    tree = write_tree(
        repo,
        None,
        {
            config.manifest_path: render_manifest(manifest, config),
            CONFIG_PATH: encode_config(config),
            PROVENANCE_PATH: encode_provenance(import_provenance(manifest)),
        },
    )
    what = f"import of {len(manifest)} releases" if imported else "empty manifest"
    sig = signature()
    return repo.create_commit(None, sig, sig, f"refold init: {what}\n", tree, [])


def _init_remote(
    location: str, branch: str, config: StoreConfig, manifest: Manifest, *, imported: bool
) -> Store:
    remote = parse_remote(location)
    repo = open_cache(remote)
    advertised = mirror(remote, repo, ())
    if advertised.refs:
        raise UsageError(
            f"{remote.url} already has refs; refold adopts only empty repositories",
            hint="create an empty repository on the server, or open this one with --store "
            "if refold made it",
        )
    with cache_lock(remote):
        # Whatever a cache of an earlier repository at this URL held is void now.
        for ref in list(repo.references.iterator()):
            ref.delete()
    commit = _first_commit(repo, config, manifest, imported=imported)
    try:
        push(remote, repo, f"refs/heads/{branch}", None, commit, "refold init")
    except LostRace:
        raise UsageError(f"{remote.url} was initialised by another process just now") from None
    repo.config["refold.branch"] = branch
    return open_store(location)
