"""Changing the store config: one commit on the public branch, by compare-and-swap.

The config lives in the public tree (``.refold/config.json``) so every fold can be
replayed under the config it was made with. A change is therefore a publication of its
own: first parent the public tip, no other parents (it folds nothing), the manifest moved
or re-rendered when the setting affects it, and a message whose trailers name the key and
the old and new values as JSON, so ``git log`` answers "who changed the URL policy, when".
"""

from __future__ import annotations

from typing import Any

import msgspec
import pygit2

from refold.manifests.config import StoreConfig, encode_config
from refold.manifests.errors import ContentionError, PolicyError, RefoldError, UsageError
from refold.manifests.lanes import check_lane
from refold.manifests.model import Manifest
from refold.manifests.render import render_manifest
from refold.manifests.validate import check_download_url
from refold.store.refs import LostRace, backoff
from refold.store.repo import (
    CONFIG_PATH,
    Store,
    blob_at,
    public_tip,
    read_published,
    resolve_commit,
    signature,
)
from refold.store.transport import refresh, update_ref

MAX_CONFIG_RETRIES = 30

SETTABLE = {
    "manifest_path": "the manifest's path in the public tree (the file moves)",
    "indent": "JSON indent of the manifest, 0 to 8 (the manifest is re-rendered)",
    "final_newline": "whether the manifest ends with a newline (re-rendered)",
    "url_prefix": "URL policy: download URLs must start with this ({version} allowed); null for none",
    "lane_arches": "lane -> arches it may publish, a JSON object; or lane_arches.LANE with a JSON list (null removes)",
    "required_lanes": "lanes every new release waits for, a JSON list",
    "tools": "artifact prefixes allowed in filenames, a JSON list (empty allows any)",
}
_RENDERING = ("indent", "final_newline")
_STRINGS = ("manifest_path", "url_prefix")
_LISTS = ("required_lanes", "tools")


class ConfigChange(msgspec.Struct):
    key: str
    old: Any
    new: Any
    commit: str | None
    """The new public commit, or None when the value was already set (nothing to do)."""
    previous: str
    warnings: list[str] = []
    retries: int = 0


def _parse_value(key: str, raw: str) -> Any:
    """JSON when it parses; otherwise plain text for text settings and a comma list for
    list settings, so ``config set url_prefix https://...`` needs no quoting."""
    try:
        return msgspec.json.decode(raw.encode())
    except msgspec.DecodeError:
        pass
    if key in _STRINGS:
        return raw if raw or key != "url_prefix" else None
    if key in _LISTS or key.startswith("lane_arches."):
        return [part.strip() for part in raw.split(",") if part.strip()]
    raise UsageError(
        f"{raw!r} is not a JSON value", location=f"VALUE for {key}", hint=SETTABLE.get(key, "")
    )


def _normal_key(key: str) -> str:
    head, dot, rest = key.partition(".")
    return head.replace("-", "_") + dot + rest


def apply_setting(config: StoreConfig, key: str, raw: str) -> tuple[StoreConfig, Any, Any]:
    """The config with ``key`` set from its command-line text, and the old and new value.

    Every rule of StoreConfig applies (it is rebuilt from scratch), so an invalid value is
    an error here and never reaches the store.
    """
    key = _normal_key(key)
    fields = msgspec.to_builtins(config)
    head, _, lane = key.partition(".")
    if head not in SETTABLE or (lane and head != "lane_arches"):
        known = ", ".join([*SETTABLE, "lane_arches.LANE"])
        raise UsageError(
            f"unknown config key {key!r}", location="KEY", hint=f"settable keys: {known}"
        )
    value = _parse_value(key, raw)
    if lane:
        check_lane(lane, location="KEY")
        table = dict(fields.get("lane_arches", {}))
        old = table.get(lane)
        if value is None:
            table.pop(lane, None)
        else:
            table[lane] = value
        fields["lane_arches"] = table
    else:
        old = fields.get(head)
        fields[head] = value
    try:
        updated = msgspec.convert(fields, StoreConfig)
    except PolicyError as exc:
        raise exc.at(f"config {key}") from None
    except msgspec.ValidationError as exc:
        text = str(exc).split(" - at ", 1)[0]
        raise UsageError(
            f"{key}: {text[:1].lower() + text[1:]}", location="VALUE", hint=SETTABLE[head]
        ) from None
    new = msgspec.to_builtins(updated.lane_arches.get(lane) if lane else getattr(updated, head))
    return updated, old, new


def _warnings(key: str, config: StoreConfig, manifest: Manifest) -> list[str]:
    """What a new URL policy would refuse among entries already published (kept as they are)."""
    if not key.startswith("url_prefix") or config.url_prefix is None:
        return []
    outside = []
    for release in manifest:
        for file in release.files:
            try:
                check_download_url(file, release.version, config, "")
            except RefoldError:
                outside.append(f"{release.version}/{file.filename}")
    if not outside:
        return []
    shown = ", ".join(outside[:5]) + (" ..." if len(outside) > 5 else "")
    return [
        f"{len(outside)} published entries are outside the new URL policy (kept as published): {shown}"
    ]


def _tree(
    repo: pygit2.Repository, base: pygit2.Tree, files: dict[str, bytes], remove: str | None
) -> pygit2.Oid:
    index = pygit2.Index()
    index.read_tree(base)
    if remove is not None:
        index.remove(remove)
    for path, data in files.items():
        index.add(pygit2.IndexEntry(path, repo.create_blob(data), pygit2.enums.FileMode.BLOB))
    return index.write_tree(repo)


def _message(key: str, old: Any, new: Any) -> str:
    def show(value: Any) -> str:
        return msgspec.json.encode(value).decode()

    return (
        f"config: {key} {show(old)} -> {show(new)}\n\n"
        f"Refold-Config: {key}\nRefold-Config-Old: {show(old)}\nRefold-Config-New: {show(new)}\n"
    )


def set_config(
    store: Store, key: str, raw: str, *, max_retries: int = MAX_CONFIG_RETRIES
) -> ConfigChange:
    """Set one config key and publish the change; a lost race recomputes from the new tip."""
    repo = store.repo
    for attempt in range(max_retries + 1):
        refresh(store, [store.public_ref])
        tip = public_tip(store)
        published = read_published(store, str(tip))
        config, old, new = apply_setting(published.config, key, raw)
        name = _normal_key(key)
        if config == published.config:
            return ConfigChange(
                key=name, old=old, new=new, commit=None, previous=str(tip), retries=attempt
            )
        files = {CONFIG_PATH: encode_config(config)}
        moved = config.manifest_path != published.config.manifest_path
        rerender = any(getattr(config, f) != getattr(published.config, f) for f in _RENDERING)
        manifest = (
            render_manifest(published.manifest, config) if rerender else published.manifest_bytes
        )
        files[config.manifest_path] = manifest
        base = repo[tip].peel(pygit2.Commit)
        tree = _tree(repo, base.tree, files, published.config.manifest_path if moved else None)
        sig = signature()
        commit = repo.create_commit(None, sig, sig, _message(name, old, new), tree, [tip])
        try:
            update_ref(store, store.public_ref, tip, commit, f"refold config {name}")
        except LostRace:
            backoff(attempt)
            continue
        return ConfigChange(
            key=name,
            old=old,
            new=new,
            commit=str(commit),
            previous=str(tip),
            warnings=_warnings(name, config, published.manifest),
            retries=attempt,
        )
    raise ContentionError(
        f"{store.public_ref} kept moving: gave up after {max_retries} retries",
        location=store.public_ref,
        hint="folds are publishing continuously; retry when they pause",
    )


def config_bytes(store: Store, rev: str | None = None) -> tuple[str, bytes]:
    """The commit and the exact bytes of ``.refold/config.json`` at ``rev``."""
    commit = resolve_commit(store, rev)
    data = blob_at(store.repo, commit, CONFIG_PATH)
    if data is None:
        raise UsageError(
            f"{CONFIG_PATH} is missing at {str(commit.id)[:12]}", location=rev or store.branch
        )
    return str(commit.id), data
