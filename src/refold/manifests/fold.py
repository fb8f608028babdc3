"""The fold: published manifest + pending partials -> next manifest, as a pure function.

Rules (DESIGN.md, "Merge rules"):

- Files are keyed by (version, filename). Within a lane later partials supersede earlier
  ones; lanes are applied one after another in name order, each lane's partials oldest
  first.
- An entry belongs to the lane that wrote it; imported entries belong to whichever lane
  is bound to their arch. Writing or retracting another lane's entry is a conflict.
- A partial that is invalid or conflicts holds its lane back from that partial on; the
  lane's earlier partials and every other lane still fold. ``strict`` publishes nothing
  if any lane is held back.
- Release-level fields are each lane's *claim*, kept in the provenance index; the
  published value is a function of the claims of the lanes that currently have files in
  the release, so it does not depend on how partials were batched into folds.
- With ``required_lanes`` configured, a release that is new in this fold is held back
  until each required lane has files in it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import msgspec
from msgspec import UNSET, UnsetType

from refold.manifests.config import StoreConfig, arches_for_lane
from refold.manifests.errors import ConflictError, RefoldError
from refold.manifests.lanes import IMPORT_LANE
from refold.manifests.model import File, Manifest, Release
from refold.manifests.ordering import version_key
from refold.manifests.partial import Partial
from refold.manifests.provenance import Claim, Origin, ProvenanceIndex, Rejection
from refold.manifests.render import canonical_order
from refold.manifests.resolve import regressions
from refold.manifests.validate import check_partial

HOLDING_KINDS = frozenset({"schema", "policy", "conflict"})
"""Held-back kinds that are errors (exit 3, strict refuses); ``incomplete`` is waiting."""


class Pending(msgspec.Struct, frozen=True):
    """One pending partial commit. A blob that did not decode arrives as its error."""

    lane: str
    commit: str
    partial: Partial | None
    error: RefoldError | None = None


class HeldBack(msgspec.Struct, frozen=True):
    commit: str
    kind: str
    reason: str
    location: str = ""
    hint: str = ""
    waiting: int = 1
    """How many partials of the lane stay pending (this one and those after it)."""


class LaneOutcome(msgspec.Struct):
    folded: int = 0
    upto: str | None = None
    """The last commit consumed (applied or rejected): the fold commit's parent for the lane."""
    rejected: list[str] = []
    held_back: HeldBack | None = None


class FoldReport(msgspec.Struct):
    lanes: dict[str, LaneOutcome]
    warnings: list[str]
    changed: list[str]
    """Versions whose release or files changed, newest first."""
    published: bool
    refused: list[str] = []
    """Why a strict fold published nothing with no lane held back (the resolve guard)."""

    @property
    def held_back(self) -> dict[str, HeldBack]:
        return {lane: o.held_back for lane, o in self.lanes.items() if o.held_back is not None}

    @property
    def has_errors(self) -> bool:
        return bool(self.refused) or any(h.kind in HOLDING_KINDS for h in self.held_back.values())

    @property
    def consumed(self) -> dict[str, str]:
        return {lane: o.upto for lane, o in self.lanes.items() if o.upto is not None}


class FoldResult(msgspec.Struct, frozen=True):
    manifest: Manifest
    provenance: ProvenanceIndex
    report: FoldReport


class _State:
    """Copy-on-write working copy of manifest and provenance: untouched releases are shared."""

    def __init__(self, manifest: Manifest, provenance: ProvenanceIndex) -> None:
        self.base = {release.version: release for release in manifest}
        self.provenance = provenance
        self.files: dict[str, dict[str, File]] = {}
        self.origins: dict[str, dict[str, Origin]] = {}
        self.claims: dict[str, dict[str, Claim]] = {}
        self.touched: set[str] = set()

    def _open(self, version: str) -> None:
        if version in self.touched:
            return
        self.touched.add(version)
        release = self.base.get(version)
        self.files[version] = {f.filename: f for f in release.files} if release else {}
        self.origins[version] = dict(self.provenance.files.get(version, {}))
        self.claims[version] = dict(self.provenance.claims.get(version, {}))

    def file(self, version: str, filename: str) -> File | None:
        if version in self.touched:
            return self.files[version].get(filename)
        release = self.base.get(version)
        if release is None:
            return None
        for f in release.files:
            if f.filename == filename:
                return f
        return None

    def origin(self, version: str, filename: str) -> Origin:
        table = self.origins[version] if version in self.touched else self.provenance.files.get(version, {})
        return table.get(filename) or Origin(lane=IMPORT_LANE)

    def filenames(self, version: str) -> list[str]:
        if version in self.touched:
            return list(self.files[version])
        release = self.base.get(version)
        return [f.filename for f in release.files] if release else []

    def put(self, version: str, file: File, origin: Origin, claim: Claim) -> None:
        self._open(version)
        self.files[version][file.filename] = file
        self.origins[version][file.filename] = origin
        self.claims[version][origin.lane] = claim

    def remove(self, version: str, filename: str) -> None:
        self._open(version)
        self.files[version].pop(filename, None)
        self.origins[version].pop(filename, None)


def _may_write(origin: Origin, lane: str, arch: str, config: StoreConfig) -> bool:
    if origin.lane == lane:
        return True
    return origin.lane == IMPORT_LANE and arch in arches_for_lane(config, lane)


def _conflict(
    version: str, current: File, origin: Origin, lane: str, verb: str, where: str
) -> ConflictError:
    if origin.lane == IMPORT_LANE:
        # An imported entry has no writer yet: it belongs to whichever lane its arch is bound to.
        return ConflictError(
            f"{current.filename!r} in release {version} was imported with arch {current.arch!r};"
            f" lane {lane!r} may not {verb} it",
            location=where,
            hint=f"only a lane bound to arch {current.arch!r} may change it (config lane_arches);"
            " or reject this partial with refold reject",
        )
    by = f" (partial {origin.commit[:12]})" if origin.commit else ""
    return ConflictError(
        f"{current.filename!r} in release {version} belongs to lane {origin.lane!r}{by}; "
        f"lane {lane!r} may not {verb} it",
        location=where,
        hint=f"only lane {origin.lane!r} may change it; or reject this partial with refold reject",
    )


def _plan(state: _State, lane: str, partial: Partial, config: StoreConfig) -> list[str]:
    """Raise ConflictError if the partial touches another lane's entry; else return warnings."""
    warnings: list[str] = []
    for r, release in enumerate(partial.releases):
        for f, file in enumerate(release.files):
            current = state.file(release.version, file.filename)
            if current is None:
                continue
            origin = state.origin(release.version, file.filename)
            if not _may_write(origin, lane, current.arch, config):
                where = f"$.releases[{r}].files[{f}]"
                raise _conflict(release.version, current, origin, lane, "replace", where)
    for t, retraction in enumerate(partial.retract):
        if isinstance(retraction.filename, UnsetType):
            continue
        current = state.file(retraction.version, retraction.filename)
        if current is None:
            warnings.append(
                f"lane {lane}: retraction of {retraction.filename} in {retraction.version} found nothing to remove"
            )
            continue
        origin = state.origin(retraction.version, retraction.filename)
        if not _may_write(origin, lane, current.arch, config):
            where = f"$.retract[{t}]"
            raise _conflict(retraction.version, current, origin, lane, "retract", where)
    return warnings


def _apply(state: _State, lane: str, commit: str, partial: Partial, config: StoreConfig) -> list[str]:
    warnings: list[str] = []
    for retraction in partial.retract:
        if not isinstance(retraction.filename, UnsetType):
            state.remove(retraction.version, retraction.filename)
            continue
        removed = 0
        for filename in state.filenames(retraction.version):
            current = state.file(retraction.version, filename)
            assert current is not None
            if _may_write(state.origin(retraction.version, filename), lane, current.arch, config):
                state.remove(retraction.version, filename)
                removed += 1
        if not removed:
            warnings.append(f"lane {lane}: retraction of release {retraction.version} found no files of this lane")
    origin = Origin(lane=lane, commit=commit)
    for release in partial.releases:
        claim = Claim(stable=release.stable, lts=release.lts, release_url=release.release_url)
        for file in release.files:
            state.put(release.version, file, origin, claim)
    return warnings


def _pick(values: Iterable[object]) -> object:
    """Most asserted value; ties go to the smallest by its JSON text, so order never matters."""
    counts = Counter(msgspec.json.encode(v) for v in values)
    best = min(counts.items(), key=lambda item: (-item[1], item[0]))[0]
    return msgspec.json.decode(best)


def _resolve(version: str, claims: Mapping[str, Claim], fallback: Release | None) -> tuple[Release, list[str]]:
    """The published release-level fields from the claims of lanes with files in the release."""
    if not claims:
        if fallback is None:
            return Release(version=version, stable=False, release_url="", files=()), []
        return fallback, []
    warnings = []
    stable = all(c.stable for c in claims.values())
    # An empty release_url (python-versions-pz leaves it empty) asserts nothing when a
    # lane with files in the release does give one.
    urls = [c.release_url for c in claims.values() if c.release_url] or [""]
    release_url = str(_pick(urls))
    lts_claims = [c.lts for c in claims.values() if not isinstance(c.lts, UnsetType)]
    lts: str | bool | UnsetType = UNSET
    if lts_claims:
        picked = _pick(lts_claims)
        assert isinstance(picked, (str, bool))
        lts = picked
    for name, values, published in (
        ("stable", [c.stable for c in claims.values()], stable),
        ("release_url", urls, release_url),
        ("lts", lts_claims, lts),
    ):
        if len({msgspec.json.encode(v) for v in values}) > 1:
            said = ", ".join(
                f"{lane}={msgspec.json.encode(getattr(c, name)).decode()}"
                for lane, c in sorted(claims.items())
                if not isinstance(getattr(c, name), UnsetType)
            )
            warnings.append(
                f"release {version}: lanes disagree on {name} ({said}); published "
                f"{msgspec.json.encode(published).decode()}"
            )
    return Release(version=version, stable=stable, lts=lts, release_url=release_url, files=()), warnings


def _lane_matches(owner: str, required: str) -> bool:
    return owner == required or owner.startswith(required + "/")


class _Run(msgspec.Struct):
    state: _State
    lanes: dict[str, LaneOutcome]
    warnings: list[str]
    contributed: dict[str, dict[str, int]]
    """lane -> version -> index of the first partial that put files into that version."""
    rejected: dict[str, Rejection]


def _run(
    manifest: Manifest,
    provenance: ProvenanceIndex,
    config: StoreConfig,
    pending: Mapping[str, Sequence[Pending]],
    rejections: Mapping[str, str],
    cuts: Mapping[str, tuple[int, str]],
) -> _Run:
    state = _State(manifest, provenance)
    run = _Run(state=state, lanes={}, warnings=[], contributed={}, rejected={})
    for lane in sorted(pending):
        outcome = run.lanes.setdefault(lane, LaneOutcome())
        partials = pending[lane]
        cut = cuts.get(lane)
        for index, item in enumerate(partials):
            waiting = len(partials) - index
            if cut is not None and index >= cut[0]:
                outcome.held_back = HeldBack(item.commit, "incomplete", cut[1], waiting=waiting)
                break
            if item.commit in rejections:
                outcome.rejected.append(item.commit)
                outcome.upto = item.commit
                run.rejected[item.commit] = Rejection(lane=lane, reason=rejections[item.commit])
                continue
            try:
                if item.error is not None:
                    raise item.error
                assert item.partial is not None
                check_partial(item.partial, lane, config)
                run.warnings += _plan(state, lane, item.partial, config)
            except RefoldError as exc:
                where = exc.location
                if item.error is None:
                    where = f"refs/partials/{lane}@{item.commit[:12]}:partial.json: {where}"
                outcome.held_back = HeldBack(
                    item.commit, exc.kind, exc.message, where, exc.hint, waiting=waiting
                )
                break
            run.warnings += _apply(state, lane, item.commit, item.partial, config)
            for release in item.partial.releases:
                run.contributed.setdefault(lane, {}).setdefault(release.version, index)
            outcome.folded += 1
            outcome.upto = item.commit
    return run


def _incomplete(run: _Run, config: StoreConfig) -> dict[str, tuple[int, str]]:
    """Cuts that hold back contributions to new releases some required lane has not joined."""
    cuts: dict[str, tuple[int, str]] = {}
    if not config.required_lanes:
        return cuts
    state = run.state
    for version in sorted(state.touched):
        if version in state.base or not state.files[version]:
            continue
        owners = {o.lane for o in state.origins[version].values()}
        missing = [
            req for req in config.required_lanes if not any(_lane_matches(o, req) for o in owners)
        ]
        if not missing:
            continue
        reason = f"release {version} waits for required lanes: {', '.join(missing)}"
        for lane, first in run.contributed.items():
            if version in first and (lane not in cuts or first[version] < cuts[lane][0]):
                cuts[lane] = (first[version], reason)
    return cuts


def fold(
    manifest: Manifest,
    provenance: ProvenanceIndex,
    config: StoreConfig,
    pending: Mapping[str, Sequence[Pending]],
    *,
    rejections: Mapping[str, str] | None = None,
    strict: bool = False,
) -> FoldResult:
    """Apply the pending partials of every lane; see the module docstring for the rules."""
    rejections = rejections or {}
    cuts: dict[str, tuple[int, str]] = {}
    while True:
        run = _run(manifest, provenance, config, pending, rejections, cuts)
        more = _incomplete(run, config)
        new = {lane: cut for lane, cut in more.items() if lane not in cuts or cut[0] < cuts[lane][0]}
        if not new:
            break
        cuts.update(new)
    report = FoldReport(lanes=run.lanes, warnings=run.warnings, changed=[], published=True)
    result = None if strict and report.has_errors else _finish(run, manifest, provenance, report)
    if result is not None and report.changed:
        lowered = [f"resolve guard: {line}" for line in regressions(manifest, result.manifest)]
        report.warnings += lowered
        report.refused = lowered if strict else []
    if strict and report.has_errors:
        report.published, report.changed = False, []
        for outcome in report.lanes.values():
            outcome.folded, outcome.upto, outcome.rejected = 0, None, []
        return FoldResult(manifest=manifest, provenance=provenance, report=report)
    assert result is not None
    return result


def _finish(run: _Run, manifest: Manifest, provenance: ProvenanceIndex, report: FoldReport) -> FoldResult:
    state = run.state
    files_index = dict(provenance.files)
    claims_index = dict(provenance.claims)
    releases = dict(state.base)
    changed = []
    for version in state.touched:
        files = state.files[version]
        origins = state.origins[version]
        if not files:
            releases.pop(version, None)
            files_index.pop(version, None)
            claims_index.pop(version, None)
            if version in state.base:
                changed.append(version)
            continue
        owners = {o.lane for o in origins.values()} | (
            {IMPORT_LANE} if len(origins) < len(files) else set()
        )
        claims = {lane: c for lane, c in state.claims[version].items() if lane in owners}
        header, warnings = _resolve(version, claims, state.base.get(version))
        report.warnings += warnings
        release = msgspec.structs.replace(
            header, files=tuple(files[name] for name in sorted(files))
        )
        if release != state.base.get(version):
            changed.append(version)
        releases[version] = release
        files_index[version] = {name: origins[name] for name in sorted(origins)}
        claims_index[version] = dict(sorted(claims.items()))
    rejected = dict(provenance.rejected)
    rejected.update(run.rejected)
    new_provenance = msgspec.structs.replace(
        provenance, files=files_index, claims=claims_index, rejected=rejected
    )
    report.changed = sorted(changed, key=version_key, reverse=True)
    return FoldResult(manifest=canonical_order(releases.values()), provenance=new_provenance, report=report)


def import_provenance(manifest: Manifest) -> ProvenanceIndex:
    """Provenance for a manifest adopted as-is: every entry imported, owned by its arch's lane."""
    imported = Origin(lane=IMPORT_LANE)
    return ProvenanceIndex(
        files={r.version: {f.filename: imported for f in r.files} for r in manifest},
        claims={
            r.version: {IMPORT_LANE: Claim(stable=r.stable, lts=r.lts, release_url=r.release_url)}
            for r in manifest
        },
    )


__all__ = [
    "FoldReport",
    "FoldResult",
    "HeldBack",
    "LaneOutcome",
    "Pending",
    "fold",
    "import_provenance",
]
