"""Properties of the fold over random conflict-free partials (DESIGN.md invariant 4).

Each lane writes only its own arch (qualified lanes only their own platform), retracts
only its own files, and publishes varying release-level claims. Whatever the batching,
the lane listing order or a repeated fold, the rendered manifest and the encoded
provenance must be the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec import UNSET, UnsetType

from refold.manifests.config import StoreConfig
from refold.manifests.fold import FoldResult, Pending, fold, import_provenance
from refold.manifests.model import Manifest, decode_manifest
from refold.manifests.partial import Partial, Retraction
from refold.manifests.provenance import ProvenanceIndex, decode_provenance, encode_provenance
from refold.manifests.render import render_manifest

from .fixtures import commit_id, lane_files, make_file, make_release, release_dict, render, retract

CONFIG = StoreConfig()
LANES = ("x64", "x86", "x64-freethreaded", "arm64/linux-22.04", "arm64/linux-24.04")
# Few versions, so that lanes meet in the same releases and their claims compete.
BASE_VERSIONS = ("3.13.1", "3.15.0-alpha.1")
VERSIONS = (*BASE_VERSIONS, "3.14.0", "3.15.0-beta.2")
PROPERTY = settings(max_examples=60, deadline=None)


def _base() -> Manifest:
    return decode_manifest(render([release_dict(v) for v in BASE_VERSIONS]))


BASE = _base()
BASE_PROVENANCE = import_provenance(BASE)

stables = st.booleans()
urls = st.sampled_from(["https://example.org/r1", "https://example.org/r2", ""])
ltss: st.SearchStrategy[str | bool | UnsetType] = st.sampled_from(
    [UNSET, UNSET, "Jod", "Iron", False]
)


@st.composite
def partials(draw: st.DrawFn, lane: str) -> Partial:
    published = draw(st.lists(st.sampled_from(VERSIONS), unique=True, max_size=2))
    releases = []
    for version in published:
        own = lane_files(lane, version)
        chosen = draw(st.lists(st.sampled_from(own), unique=True, min_size=1, max_size=len(own)))
        build = draw(st.integers(0, 2))
        files = [
            make_file(
                version,
                f.arch,
                f.platform,
                f.platform_version,
                download_url=f"https://example.org/b{build}/{f.filename}",
            )
            for f in chosen
        ]
        releases.append(
            make_release(
                version, files, stable=draw(stables), release_url=draw(urls), lts=draw(ltss)
            )
        )
    others = [v for v in VERSIONS if v not in published]
    retractions: list[Retraction] = []
    for version in draw(st.lists(st.sampled_from(others), unique=True, max_size=1)):
        names = [f.filename for f in lane_files(lane, version)]
        name = draw(st.none() | st.sampled_from(names))
        retractions.append(retract(version, name))
    if not releases and not retractions:
        version = draw(st.sampled_from(VERSIONS))
        releases.append(make_release(version, lane_files(lane, version)))
    return Partial(releases=tuple(releases), retract=tuple(retractions))


@dataclass(frozen=True)
class Scenario:
    lanes: dict[str, list[Pending]]
    batches: list[dict[str, list[Pending]]]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    chosen = draw(st.lists(st.sampled_from(LANES), unique=True, min_size=2, max_size=len(LANES)))
    count = draw(st.integers(1, 3))
    lanes: dict[str, list[Pending]] = {}
    batches: list[dict[str, list[Pending]]] = [{} for _ in range(count)]
    for lane in chosen:
        items = [
            Pending(lane=lane, commit=commit_id(lane, i), partial=draw(partials(lane)))
            for i in range(draw(st.integers(1, 4)))
        ]
        lanes[lane] = items
        # Each lane's partials go to the folds in order: a non-decreasing batch per partial.
        cuts = sorted(
            draw(st.lists(st.integers(0, count - 1), min_size=len(items), max_size=len(items)))
        )
        for item, batch in zip(items, cuts):
            batches[batch].setdefault(lane, []).append(item)
    # The order lanes are listed in each batch is itself arbitrary.
    order = draw(st.permutations(chosen))
    batches = [{lane: batch[lane] for lane in order if lane in batch} for batch in batches]
    return Scenario(lanes=lanes, batches=batches)


def _bytes(result: FoldResult) -> tuple[bytes, bytes]:
    return render_manifest(result.manifest, CONFIG), encode_provenance(result.provenance)


def _one_fold(
    lanes: dict[str, list[Pending]],
    manifest: Manifest = BASE,
    provenance: ProvenanceIndex = BASE_PROVENANCE,
) -> FoldResult:
    result = fold(manifest, provenance, CONFIG, lanes)
    assert result.report.held_back == {}, result.report.held_back
    return result


@PROPERTY
@given(scenarios())
def test_any_batching_of_lanes_into_folds_gives_the_same_bytes(scenario: Scenario) -> None:
    expected = _bytes(_one_fold(scenario.lanes))
    manifest, provenance = BASE, BASE_PROVENANCE
    for batch in scenario.batches:
        result = _one_fold(batch, manifest, provenance)
        manifest, provenance = result.manifest, result.provenance
    assert (render_manifest(manifest, CONFIG), encode_provenance(provenance)) == expected


@PROPERTY
@given(scenarios())
def test_folding_the_same_partials_again_changes_nothing(scenario: Scenario) -> None:
    once = _one_fold(scenario.lanes)
    twice = _one_fold(scenario.lanes, once.manifest, once.provenance)
    assert _bytes(twice) == _bytes(once)


@PROPERTY
@given(scenarios())
def test_fold_output_round_trips_through_decode_and_render(scenario: Scenario) -> None:
    result = _one_fold(scenario.lanes)
    rendered, encoded = _bytes(result)
    assert decode_manifest(rendered) == result.manifest
    assert render_manifest(decode_manifest(rendered), CONFIG) == rendered
    assert decode_provenance(encoded) == result.provenance
    assert encode_provenance(decode_provenance(encoded)) == encoded


@PROPERTY
@given(scenarios(), st.randoms(use_true_random=False))
def test_lane_listing_order_in_pending_does_not_matter(scenario: Scenario, rng: object) -> None:
    names = list(scenario.lanes)
    rng.shuffle(names)  # type: ignore[attr-defined]
    shuffled = {lane: scenario.lanes[lane] for lane in names}
    reversed_ = {lane: scenario.lanes[lane] for lane in reversed(names)}
    assert (
        _bytes(_one_fold(shuffled))
        == _bytes(_one_fold(reversed_))
        == _bytes(_one_fold(scenario.lanes))
    )


@PROPERTY
@given(scenarios())
def test_provenance_names_a_writer_for_every_published_file(scenario: Scenario) -> None:
    result = _one_fold(scenario.lanes)
    commits = {p.commit: lane for lane, items in scenario.lanes.items() for p in items}
    for release in result.manifest:
        origins = result.provenance.files[release.version]
        assert set(origins) == {f.filename for f in release.files}
        for origin in origins.values():
            assert origin.commit is None or commits[origin.commit] == origin.lane
        assert set(result.provenance.claims[release.version]) == {o.lane for o in origins.values()}
    assert set(result.provenance.files) == {r.version for r in result.manifest}
