"""What changed between two manifests (and two provenance indexes), field by field.

Pure data: ``refold diff`` shows it, ``refold verify`` turns each change into a
discrepancy, ``refold rebuild --dry-run`` prints it. Absent and null are kept apart
(``platform_version`` may be either), so a field that disappears is reported with no
``new`` value rather than ``new: null``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from refold.manifests.model import File, Manifest, Release
from refold.manifests.ordering import is_valid_version, version_key
from refold.manifests.provenance import ProvenanceIndex

ADDED = "added"
REMOVED = "removed"
CHANGED = "changed"

_RELEASE_FIELDS = ("stable", "lts", "release_url")
_FILE_FIELDS = tuple(name for name in File.__struct_fields__ if name != "filename")


class FieldChange(msgspec.Struct, kw_only=True, frozen=True):
    """One field's old and new value; an absent side stays UNSET (omitted from JSON)."""

    field: str
    old: Any = UNSET
    new: Any = UNSET


class FileChange(msgspec.Struct, kw_only=True, frozen=True):
    filename: str
    change: str
    old: File | UnsetType = UNSET
    new: File | UnsetType = UNSET
    fields: tuple[FieldChange, ...] = ()


class ReleaseChange(msgspec.Struct, kw_only=True, frozen=True):
    version: str
    change: str
    fields: tuple[FieldChange, ...] = ()
    """Release-level fields (stable, lts, release_url) that changed; for a release added
    or removed, all of them, so the diff alone says what the release was."""
    files: tuple[FileChange, ...] = ()


class ManifestDiff(msgspec.Struct, kw_only=True, frozen=True):
    releases: tuple[ReleaseChange, ...] = ()
    """Newest version first, as the manifest itself is ordered."""

    @property
    def empty(self) -> bool:
        return not self.releases

    def versions(self, change: str) -> list[str]:
        return [r.version for r in self.releases if r.change == change]

    def file_count(self, change: str) -> int:
        return sum(1 for r in self.releases for f in r.files if f.change == change)


class Change(msgspec.Struct, kw_only=True, frozen=True):
    """One flattened difference: a dotted path (``3.13.1/python-....tar.gz.arch``) and values."""

    path: str
    old: Any = UNSET
    new: Any = UNSET


def _value(struct: msgspec.Struct, name: str) -> Any:
    value = getattr(struct, name)
    return value if isinstance(value, UnsetType) else msgspec.to_builtins(value)


def _field_changes(old: msgspec.Struct, new: msgspec.Struct, names: tuple[str, ...]) -> tuple[FieldChange, ...]:
    out = []
    for name in names:
        before, after = _value(old, name), _value(new, name)
        if isinstance(before, UnsetType) and isinstance(after, UnsetType):
            continue
        if type(before) is not type(after) or before != after:
            out.append(FieldChange(field=name, old=before, new=after))
    return tuple(out)


def _present(release: Release) -> list[tuple[str, Any]]:
    return [
        (name, _value(release, name))
        for name in _RELEASE_FIELDS
        if not isinstance(getattr(release, name), UnsetType)
    ]


def file_changes(old: File, new: File) -> tuple[FieldChange, ...]:
    """The fields of one entry that differ between two values of it."""
    return _field_changes(old, new, _FILE_FIELDS)


def _diff_release(old: Release | None, new: Release | None) -> ReleaseChange | None:
    if old is None and new is None:
        return None
    if old is None:
        assert new is not None
        files = tuple(FileChange(filename=f.filename, change=ADDED, new=f) for f in new.files)
        fields = tuple(FieldChange(field=n, new=v) for n, v in _present(new))
        return ReleaseChange(version=new.version, change=ADDED, fields=fields, files=files)
    if new is None:
        files = tuple(FileChange(filename=f.filename, change=REMOVED, old=f) for f in old.files)
        fields = tuple(FieldChange(field=n, old=v) for n, v in _present(old))
        return ReleaseChange(version=old.version, change=REMOVED, fields=fields, files=files)
    if old == new:
        return None
    before = {f.filename: f for f in old.files}
    after = {f.filename: f for f in new.files}
    changes = []
    for name in sorted(before.keys() | after.keys()):
        was, now = before.get(name), after.get(name)
        if was is None:
            changes.append(FileChange(filename=name, change=ADDED, new=now or UNSET))
        elif now is None:
            changes.append(FileChange(filename=name, change=REMOVED, old=was))
        elif was != now:
            fields = file_changes(was, now)
            changes.append(FileChange(filename=name, change=CHANGED, old=was, new=now, fields=fields))
    return ReleaseChange(
        version=new.version,
        change=CHANGED,
        fields=_field_changes(old, new, _RELEASE_FIELDS),
        files=tuple(changes),
    )


def _newest_first(version: str) -> tuple[int, tuple[object, ...], str]:
    """Semver precedence; text that is no version (a hand edit) sorts after all versions."""
    if is_valid_version(version):
        return (1, tuple(version_key(version)), version)
    return (0, (), version)


def _by_version(manifest: Manifest) -> dict[str, Release]:
    return {release.version: release for release in manifest}


def diff_manifests(old: Manifest, new: Manifest) -> ManifestDiff:
    """Releases and files added, removed and changed from ``old`` to ``new``."""
    before, after = _by_version(old), _by_version(new)
    versions = sorted(before.keys() | after.keys(), key=_newest_first, reverse=True)
    changes = []
    for version in versions:
        change = _diff_release(before.get(version), after.get(version))
        if change is not None:
            changes.append(change)
    return ManifestDiff(releases=tuple(changes))


def flatten(diff: ManifestDiff) -> Iterator[Change]:
    """Every difference as one path and its values: what a discrepancy report lists."""
    for release in diff.releases:
        if release.change != CHANGED:
            side = "new" if release.change == ADDED else "old"
            files = [f.filename for f in release.files]
            yield Change(path=release.version, **{side: f"release with {len(files)} file(s)"})
            continue
        for field in release.fields:
            yield Change(path=f"{release.version}.{field.field}", old=field.old, new=field.new)
        for file in release.files:
            path = f"{release.version}/{file.filename}"
            if file.change == CHANGED:
                for field in file.fields:
                    yield Change(path=f"{path}.{field.field}", old=field.old, new=field.new)
            elif file.change == ADDED:
                yield Change(path=path, new=msgspec.to_builtins(file.new))
            else:
                yield Change(path=path, old=msgspec.to_builtins(file.old))


def _section(
    name: str, old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]
) -> Iterator[Change]:
    for version in sorted(old.keys() | new.keys()):
        before, after = old.get(version, {}), new.get(version, {})
        if before == after:
            continue
        for key in sorted(before.keys() | after.keys()):
            was, now = before.get(key, UNSET), after.get(key, UNSET)
            if was != now:
                yield Change(
                    path=f"{name}.{version}/{key}",
                    old=UNSET if isinstance(was, UnsetType) else msgspec.to_builtins(was),
                    new=UNSET if isinstance(now, UnsetType) else msgspec.to_builtins(now),
                )


def diff_provenance(old: ProvenanceIndex, new: ProvenanceIndex) -> list[Change]:
    """Index entries (who wrote each file, each lane's claim, rejections) that differ."""
    out: list[Change] = []
    if old.schema != new.schema:
        out.append(Change(path="schema", old=old.schema, new=new.schema))
    out += _section("files", old.files, new.files)
    out += _section("claims", old.claims, new.claims)
    for commit in sorted(old.rejected.keys() | new.rejected.keys()):
        was, now = old.rejected.get(commit), new.rejected.get(commit)
        if was != now:
            out.append(
                Change(
                    path=f"rejected.{commit}",
                    old=UNSET if was is None else msgspec.to_builtins(was),
                    new=UNSET if now is None else msgspec.to_builtins(now),
                )
            )
    return out


__all__ = [
    "ADDED",
    "CHANGED",
    "REMOVED",
    "Change",
    "FieldChange",
    "FileChange",
    "ManifestDiff",
    "ReleaseChange",
    "diff_manifests",
    "diff_provenance",
    "file_changes",
    "flatten",
]
