"""refold.manifests.fold: the merge rules, one behaviour per test."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec
from msgspec import UNSET

from refold.manifests.config import StoreConfig
from refold.manifests.errors import SchemaError
from refold.manifests.fold import FoldResult, Pending, fold, import_provenance
from refold.manifests.lanes import IMPORT_LANE
from refold.manifests.model import File, Manifest, Release, decode_manifest
from refold.manifests.partial import Partial
from refold.manifests.provenance import Claim, Origin, ProvenanceIndex, Rejection
from refold.manifests.render import render_manifest

from .fixtures import (
    REPO,
    commit_id,
    lane_files,
    lane_partial,
    make_file,
    make_release,
    pending,
    release_dict,
    render,
    retract,
)

BASE_VERSIONS = ("3.14.0-rc.1", "3.13.1", "3.12.8")
NEW = "3.14.0"
CONFIG = StoreConfig()


def _base() -> Manifest:
    return decode_manifest(render([release_dict(v) for v in BASE_VERSIONS]))


def _fold(
    lanes: Mapping[str, Sequence[Pending]],
    manifest: Manifest | None = None,
    provenance: ProvenanceIndex | None = None,
    config: StoreConfig = CONFIG,
    **options: object,
) -> FoldResult:
    manifest = _base() if manifest is None else manifest
    provenance = import_provenance(manifest) if provenance is None else provenance
    return fold(manifest, provenance, config, lanes, **options)  # type: ignore[arg-type]


def _release(result: FoldResult, version: str) -> Release:
    return next(r for r in result.manifest if r.version == version)


def _names(result: FoldResult, version: str) -> list[str]:
    return [f.filename for f in _release(result, version).files]


def _merge_warnings(result: FoldResult) -> list[str]:
    """The merge rules' warnings, without the resolve guard's (tested with resolve)."""
    return [w for w in result.report.warnings if not w.startswith("resolve guard: ")]


def _file(result: FoldResult, version: str, name: str) -> File:
    return next(f for f in _release(result, version).files if f.filename == name)


# --- upserts ------------------------------------------------------------------------------------


def test_fold_publishes_a_new_release_from_one_lane() -> None:
    result = _fold({"x64": pending("x64", lane_partial("x64", (NEW,)))})
    release = _release(result, NEW)
    assert release.files == lane_files("x64", NEW)
    assert release.stable is True
    assert release.release_url.startswith(f"{REPO}/releases/tag/{NEW}-")
    assert [r.version for r in result.manifest] == ["3.14.0", *BASE_VERSIONS]
    outcome = result.report.lanes["x64"]
    assert (outcome.folded, outcome.upto, outcome.held_back) == (1, commit_id("x64", 0), None)
    assert result.report.changed == [NEW]
    assert result.report.published is True
    assert result.report.consumed == {"x64": commit_id("x64", 0)}


def test_fold_result_renders_canonically() -> None:
    result = _fold({"x64": pending("x64", lane_partial("x64", (NEW,)))})
    rendered = render_manifest(result.manifest, CONFIG)
    assert render_manifest(decode_manifest(rendered), CONFIG) == rendered
    assert result.manifest == decode_manifest(rendered)


def test_fold_records_lane_and_commit_for_every_file_it_writes() -> None:
    result = _fold({"arm64": pending("arm64", lane_partial("arm64", (NEW,)))})
    origins = result.provenance.files[NEW]
    assert origins == {
        f.filename: Origin(lane="arm64", commit=commit_id("arm64", 0))
        for f in lane_files("arm64", NEW)
    }
    assert result.provenance.files["3.13.1"] == import_provenance(_base()).files["3.13.1"]
    assert set(result.provenance.files["3.13.1"].values()) == {
        Origin(lane=IMPORT_LANE, commit=None)
    }


def test_later_partial_of_a_lane_supersedes_its_earlier_one() -> None:
    first = make_file(NEW, download_url=f"https://example.org/a/{make_file(NEW).filename}")
    second = make_file(NEW, download_url=f"https://example.org/b/{make_file(NEW).filename}")
    lanes = {
        "x64": pending(
            "x64",
            Partial(releases=(make_release(NEW, [first]),)),
            Partial(releases=(make_release(NEW, [second]),)),
        )
    }
    result = _fold(lanes)
    assert _release(result, NEW).files == (second,)
    assert result.provenance.files[NEW][second.filename] == Origin(
        lane="x64", commit=commit_id("x64", 1)
    )
    assert result.report.lanes["x64"].folded == 2


def test_lane_may_replace_an_imported_entry_of_its_arch() -> None:
    old = _file(_fold({}), "3.13.1", "python-3.13.1-win32-x64.zip")
    new = msgspec.structs.replace(old, download_url=f"https://example.org/rebuild/{old.filename}")
    result = _fold({"x64": pending("x64", Partial(releases=(make_release("3.13.1", [new]),)))})
    assert _file(result, "3.13.1", old.filename) == new
    assert result.provenance.files["3.13.1"][old.filename] == Origin(
        lane="x64", commit=commit_id("x64", 0)
    )
    assert len(_names(result, "3.13.1")) == len(_names(_fold({}), "3.13.1"))
    assert result.report.changed == ["3.13.1"]


def test_republishing_an_identical_entry_changes_no_release() -> None:
    old = _file(_fold({}), "3.13.1", "python-3.13.1-win32-x64.zip")
    release = _release(_fold({}), "3.13.1")
    partial = Partial(releases=(msgspec.structs.replace(release, files=(old,)),))
    result = _fold({"x64": pending("x64", partial)})
    assert result.manifest == _fold({}).manifest
    assert result.report.changed == []


# --- retractions -------------------------------------------------------------------------------


def test_retracting_a_file_removes_it_and_its_provenance() -> None:
    name = "python-3.13.1-linux-24.04-x64.tar.gz"
    result = _fold({"x64": pending("x64", Partial(retract=(retract("3.13.1", name),)))})
    assert name not in _names(result, "3.13.1")
    assert name not in result.provenance.files["3.13.1"]
    assert len(_names(result, "3.13.1")) == len(_names(_fold({}), "3.13.1")) - 1
    assert _merge_warnings(result) == []


def test_retracting_a_release_removes_only_the_lanes_files() -> None:
    result = _fold({"x64": pending("x64", Partial(retract=(retract("3.13.1"),)))})
    before = _release(_fold({}), "3.13.1")
    after = _release(result, "3.13.1")
    assert [f.filename for f in after.files] == [
        f.filename for f in before.files if f.arch != "x64"
    ]
    assert (after.stable, after.release_url) == (before.stable, before.release_url)


def test_retracting_every_file_of_a_release_removes_the_release_and_its_index() -> None:
    manifest = decode_manifest(render([release_dict("3.10.4")]))
    lanes = {
        "x64": pending("x64", Partial(retract=(retract("3.10.4"),))),
        "x86": pending("x86", Partial(retract=(retract("3.10.4"),))),
    }
    result = _fold(lanes, manifest)
    assert result.manifest == ()
    assert "3.10.4" not in result.provenance.files
    assert "3.10.4" not in result.provenance.claims
    assert result.report.changed == ["3.10.4"]


def test_retracting_a_missing_file_warns_and_consumes_the_partial() -> None:
    name = "python-3.13.1-linux-20.04-x64.tar.gz"
    result = _fold({"x64": pending("x64", Partial(retract=(retract("3.13.1", name),)))})
    assert _merge_warnings(result) == [
        f"lane x64: retraction of {name} in 3.13.1 found nothing to remove"
    ]
    assert result.report.lanes["x64"].folded == 1
    assert result.manifest == _fold({}).manifest


def test_retracting_a_release_without_files_of_the_lane_warns() -> None:
    result = _fold(
        {"arm64-freethreaded": pending("arm64-freethreaded", Partial(retract=(retract("3.12.8"),)))}
    )
    assert _merge_warnings(result) == [
        "lane arm64-freethreaded: retraction of release 3.12.8 found no files of this lane"
    ]
    assert result.manifest == _fold({}).manifest


def test_lane_may_retract_its_own_file_from_an_earlier_partial() -> None:
    files = lane_files("x64", NEW)
    lanes = {
        "x64": pending(
            "x64", lane_partial("x64", (NEW,)), Partial(retract=(retract(NEW, files[0].filename),))
        )
    }
    result = _fold(lanes)
    assert _release(result, NEW).files == files[1:]


# --- ownership and conflicts ---------------------------------------------------------------------

OWNER = "x64/linux-24.04"
INTRUDER = "x64/linux-22.04"
F24 = "python-3.14.0-linux-24.04-x64.tar.gz"


def _owned() -> FoldResult:
    """NEW's linux-24.04 x64 file, written by lane x64/linux-24.04."""
    return _fold({OWNER: pending(OWNER, lane_partial(OWNER, (NEW,)))})


def test_fold_holds_back_lane_on_conflict() -> None:
    owned = _owned()
    intruder = pending(
        INTRUDER,
        lane_partial(INTRUDER, ("3.15.0-alpha.1",), stable=False, release_url=""),
        Partial(releases=(make_release(NEW, [make_file(NEW, "x64", "linux", "24.04")]),)),
        lane_partial(INTRUDER, ("3.15.0-alpha.2",)),
    )
    others = pending("arm64", lane_partial("arm64", (NEW,)))
    result = fold(owned.manifest, owned.provenance, CONFIG, {INTRUDER: intruder, "arm64": others})
    held = result.report.held_back[INTRUDER]
    assert held.kind == "conflict"
    assert held.commit == commit_id(INTRUDER, 1)
    assert held.reason == (
        f"{F24!r} in release {NEW} belongs to lane {OWNER!r} (partial {commit_id(OWNER, 0)[:12]}); "
        f"lane {INTRUDER!r} may not replace it"
    )
    assert held.location == (
        f"refs/partials/{INTRUDER}@{commit_id(INTRUDER, 1)[:12]}:partial.json: $.releases[0].files[0]"
    )
    assert held.waiting == 2
    assert "refold reject" in held.hint
    # The intruder's earlier partial and the other lane still fold.
    assert result.report.lanes[INTRUDER].folded == 1
    assert result.report.lanes[INTRUDER].upto == commit_id(INTRUDER, 0)
    assert "3.15.0-alpha.1" in {r.version for r in result.manifest}
    assert "3.15.0-alpha.2" not in {r.version for r in result.manifest}
    assert result.report.lanes["arm64"].folded == 1
    assert result.provenance.files[NEW][F24] == Origin(lane=OWNER, commit=commit_id(OWNER, 0))
    assert result.report.has_errors


def test_retracting_another_lanes_entry_is_a_conflict() -> None:
    owned = _owned()
    lanes = {INTRUDER: pending(INTRUDER, Partial(retract=(retract("3.12.8"), retract(NEW, F24))))}
    result = fold(owned.manifest, owned.provenance, CONFIG, lanes)
    held = result.report.held_back[INTRUDER]
    assert held.kind == "conflict"
    assert held.location.endswith(":partial.json: $.retract[1]")
    assert held.reason.endswith(f"lane {INTRUDER!r} may not retract it")
    assert result.manifest == owned.manifest


def test_retracting_a_release_leaves_other_lanes_files_without_conflict() -> None:
    owned = _owned()
    lanes = {INTRUDER: pending(INTRUDER, Partial(retract=(retract(NEW),)))}
    result = fold(owned.manifest, owned.provenance, CONFIG, lanes)
    assert result.report.held_back == {}
    assert _names(result, NEW) == [F24]
    assert _merge_warnings(result) == [
        f"lane {INTRUDER}: retraction of release {NEW} found no files of this lane"
    ]


def test_lane_may_not_retract_an_imported_entry_of_another_arch() -> None:
    name = "python-3.13.1-win32-x86.zip"
    result = _fold({"x64": pending("x64", Partial(retract=(retract("3.13.1", name),)))})
    held = result.report.held_back["x64"]
    assert held.kind == "conflict"
    assert (
        held.reason
        == f"{name!r} in release 3.13.1 was imported with arch 'x86'; lane 'x64' may not retract it"
    )
    assert "bound to arch 'x86'" in held.hint


def test_lane_mapped_to_an_arch_may_take_over_imported_entries_of_it() -> None:
    config = StoreConfig(lane_arches={"win": ["x86", "x64"]})
    name = "python-3.13.1-win32-x86.zip"
    result = _fold(
        {"win": pending("win", Partial(retract=(retract("3.13.1", name),)))}, config=config
    )
    assert result.report.held_back == {}
    assert name not in _names(result, "3.13.1")


def test_two_lanes_writing_the_same_new_entry_conflict_in_lane_name_order() -> None:
    partial = Partial(releases=(make_release(NEW, [make_file(NEW, "x64", "linux", "24.04")]),))
    result = _fold({"x64/b": pending("x64/b", partial), "x64/a": pending("x64/a", partial)})
    assert result.report.lanes["x64/a"].folded == 1
    assert result.report.held_back["x64/b"].kind == "conflict"


# --- invalid partials -----------------------------------------------------------------------------


def test_undecodable_partial_holds_back_its_lane_from_there_on() -> None:
    error = SchemaError(
        "expected str, got int", location="refs/partials/x64: $.releases[0].version"
    )
    items = pending("x64", lane_partial("x64", ("3.15.0-alpha.1",)))
    items.append(Pending(lane="x64", commit=commit_id("x64", 1), partial=None, error=error))
    items += pending("x64", lane_partial("x64", (NEW,)), start=2)
    result = _fold({"x64": items, "arm64": pending("arm64", lane_partial("arm64", (NEW,)))})
    held = result.report.held_back["x64"]
    assert (held.commit, held.kind, held.reason, held.location, held.waiting) == (
        commit_id("x64", 1),
        "schema",
        "expected str, got int",
        "refs/partials/x64: $.releases[0].version",
        2,
    )
    assert result.report.lanes["x64"].upto == commit_id("x64", 0)
    assert _names(result, NEW) == [f.filename for f in lane_files("arm64", NEW)]
    assert "3.15.0-alpha.1" in {r.version for r in result.manifest}


def test_partial_failing_validation_holds_back_its_lane() -> None:
    bad = Partial(releases=(make_release(NEW, [make_file(NEW, "arm64")]),))
    result = _fold({"x64": pending("x64", bad, lane_partial("x64", (NEW,)))})
    held = result.report.held_back["x64"]
    assert (held.kind, held.waiting) == ("policy", 2)
    assert held.location == f"refs/partials/x64@{held.commit[:12]}:partial.json: $.releases[0].files[0].arch"
    assert held.reason == "arch 'arm64' may not be published on lane 'x64' (allowed: x64)"
    assert result.report.lanes["x64"].upto is None
    assert NEW not in {r.version for r in result.manifest}


def test_partial_for_another_lane_is_held_back_at_fold() -> None:
    result = _fold({"x64": pending("x64", lane_partial("arm64", (NEW,), with_lane=True))})
    assert result.report.held_back["x64"].location.endswith(":partial.json: $.lane")


def test_strict_fold_publishes_nothing_and_reports_every_held_lane() -> None:
    bad = Partial(releases=(make_release(NEW, [make_file(NEW, "arm64")]),))
    lanes = {
        "x64": pending("x64", lane_partial("x64", ("3.15.0-alpha.1",)), bad),
        "x86": pending("x86", Partial()),
        "arm64": pending("arm64", lane_partial("arm64", (NEW,))),
    }
    base = _base()
    provenance = import_provenance(base)
    result = fold(base, provenance, CONFIG, lanes, strict=True)
    assert result.report.published is False
    assert result.manifest is base and result.provenance is provenance
    assert set(result.report.held_back) == {"x64", "x86"}
    assert result.report.held_back["x86"].reason == "partial has no releases and no retractions"
    assert all(
        (o.folded, o.upto, o.rejected) == (0, None, []) for o in result.report.lanes.values()
    )
    assert result.report.consumed == {}


def test_strict_fold_without_errors_publishes_like_a_normal_fold() -> None:
    lanes = {"arm64": pending("arm64", lane_partial("arm64", (NEW,)))}
    strict = _fold(lanes, strict=True)
    assert strict.report.published is True
    assert strict.manifest == _fold(lanes).manifest


# --- operator rejections --------------------------------------------------------------------------


def test_rejected_partial_is_consumed_recorded_and_the_lane_moves_on() -> None:
    bad = Partial(releases=(make_release(NEW, [make_file(NEW, "arm64")]),))
    lanes = {"x64": pending("x64", bad, lane_partial("x64", (NEW,)))}
    rejected = commit_id("x64", 0)
    result = _fold(lanes, rejections={rejected: "wrong arch, rebuilt in run 12"})
    outcome = result.report.lanes["x64"]
    assert (outcome.folded, outcome.rejected, outcome.upto, outcome.held_back) == (
        1,
        [rejected],
        commit_id("x64", 1),
        None,
    )
    assert result.provenance.rejected == {
        rejected: Rejection(lane="x64", reason="wrong arch, rebuilt in run 12")
    }
    assert _release(result, NEW).files == lane_files("x64", NEW)


def test_rejecting_a_valid_partial_skips_its_content() -> None:
    lanes = {"x64": pending("x64", lane_partial("x64", (NEW,)))}
    result = _fold(lanes, rejections={commit_id("x64", 0): "withdrawn"})
    assert NEW not in {r.version for r in result.manifest}
    assert result.report.lanes["x64"].upto == commit_id("x64", 0)


def test_earlier_rejections_stay_in_the_index() -> None:
    first = _fold({"x64": pending("x64", Partial())}, rejections={commit_id("x64", 0): "empty"})
    second = fold(
        first.manifest,
        first.provenance,
        CONFIG,
        {"arm64": pending("arm64", lane_partial("arm64", (NEW,)))},
    )
    assert second.provenance.rejected == {
        commit_id("x64", 0): Rejection(lane="x64", reason="empty")
    }


# --- release-level fields -------------------------------------------------------------------------


def test_stable_is_published_only_if_every_contributing_lane_says_so() -> None:
    lanes = {
        "x64": pending("x64", lane_partial("x64", (NEW,), stable=True)),
        "arm64": pending("arm64", lane_partial("arm64", (NEW,), stable=False)),
    }
    result = _fold(lanes)
    assert _release(result, NEW).stable is False
    assert _merge_warnings(result) == [
        f"release {NEW}: lanes disagree on stable (arm64=false, x64=true); published false"
    ]
    assert result.provenance.claims[NEW]["x64"].stable is True


def test_release_url_is_the_most_asserted_value() -> None:
    a, b = "https://example.org/b", "https://example.org/a"
    lanes = {
        "x64": pending("x64", lane_partial("x64", (NEW,), release_url=a)),
        "x86": pending("x86", lane_partial("x86", (NEW,), release_url=a)),
        "arm64": pending("arm64", lane_partial("arm64", (NEW,), release_url=b)),
    }
    result = _fold(lanes)
    assert _release(result, NEW).release_url == a
    assert _merge_warnings(result) == [
        f'release {NEW}: lanes disagree on release_url (arm64="{b}", x64="{a}", x86="{a}"); published "{a}"'
    ]


def test_release_url_tie_goes_to_the_smallest_value() -> None:
    lanes = {
        "x64": pending("x64", lane_partial("x64", (NEW,), release_url="https://example.org/b")),
        "arm64": pending(
            "arm64", lane_partial("arm64", (NEW,), release_url="https://example.org/a")
        ),
    }
    assert _release(_fold(lanes), NEW).release_url == "https://example.org/a"


def test_lts_ignores_lanes_that_do_not_assert_it_and_ties_go_to_the_smallest() -> None:
    lanes = {
        "x64": pending("x64", lane_partial("x64", (NEW,), lts="Jod")),
        "arm64": pending("arm64", lane_partial("arm64", (NEW,), lts="Iron")),
        "x86": pending("x86", lane_partial("x86", (NEW,))),
    }
    result = _fold(lanes)
    assert _release(result, NEW).lts == "Iron"
    assert _merge_warnings(result) == [
        f'release {NEW}: lanes disagree on lts (arm64="Iron", x64="Jod"); published "Iron"'
    ]


def test_lts_stays_absent_when_no_lane_asserts_it() -> None:
    result = _fold({"x64": pending("x64", lane_partial("x64", (NEW,)))})
    assert _release(result, NEW).lts is UNSET
    assert b'"lts"' not in render_manifest(result.manifest, CONFIG)


def test_only_lanes_that_still_have_files_decide_release_fields() -> None:
    first = _fold(
        {
            "x64": pending("x64", lane_partial("x64", (NEW,), stable=True)),
            "arm64": pending("arm64", lane_partial("arm64", (NEW,), stable=False)),
        }
    )
    assert _release(first, NEW).stable is False
    second = fold(
        first.manifest,
        first.provenance,
        CONFIG,
        {"arm64": pending("arm64", Partial(retract=(retract(NEW),)), start=1)},
    )
    assert _release(second, NEW).stable is True
    assert set(second.provenance.claims[NEW]) == {"x64"}
    assert second.report.changed == [NEW]


def test_imported_claim_counts_while_imported_files_remain() -> None:
    rc = "3.14.0-rc.1"
    imported = _release(_fold({}), rc)
    replacement = lane_partial("x64", (rc,), stable=True, release_url="https://example.org/rc")
    result = _fold({"x64": pending("x64", replacement)})
    release = _release(result, rc)
    assert release.stable is False
    assert set(result.provenance.claims[rc]) == {IMPORT_LANE, "x64"}
    # One import claim against one lane: a tie, so the smaller URL wins, with a warning.
    assert release.release_url == "https://example.org/rc"
    assert _merge_warnings(result) == [
        f"release {rc}: lanes disagree on stable (:import=false, x64=true); published false",
        (
            f'release {rc}: lanes disagree on release_url (:import="{imported.release_url}",'
            ' x64="https://example.org/rc"); published "https://example.org/rc"'
        ),
    ]


def test_imported_claim_stops_counting_once_every_imported_file_is_replaced() -> None:
    version = "3.10.4"
    manifest = decode_manifest(render([release_dict(version)]))
    lanes = {
        lane: pending(lane, lane_partial(lane, (version,), release_url="https://example.org/new"))
        for lane in ("x64", "x86")
    }
    result = _fold(lanes, manifest)
    assert _release(result, version).release_url == "https://example.org/new"
    assert set(result.provenance.claims[version]) == {"x64", "x86"}
    assert _merge_warnings(result) == []


def test_release_fields_of_untouched_releases_never_change() -> None:
    result = _fold({"x64": pending("x64", lane_partial("x64", (NEW,), stable=False))})
    assert [r for r in result.manifest if r.version != NEW] == list(_fold({}).manifest)


# --- completeness (required lanes) ----------------------------------------------------------------

REQUIRED = StoreConfig(required_lanes=["x64", "arm64"])


def test_new_release_waits_for_every_required_lane() -> None:
    result = _fold({"x64": pending("x64", lane_partial("x64", (NEW,)))}, config=REQUIRED)
    held = result.report.held_back["x64"]
    assert (held.kind, held.reason, held.commit) == (
        "incomplete",
        f"release {NEW} waits for required lanes: arm64",
        commit_id("x64", 0),
    )
    assert NEW not in {r.version for r in result.manifest}
    assert result.report.has_errors is False
    assert result.report.lanes["x64"].upto is None


def test_new_release_folds_once_every_required_lane_has_contributed() -> None:
    lanes = {
        "x64": pending("x64", lane_partial("x64", (NEW,))),
        "arm64": pending("arm64", lane_partial("arm64", (NEW,))),
        "x86": pending("x86", lane_partial("x86", (NEW,))),
    }
    result = _fold(lanes, config=REQUIRED)
    assert result.report.held_back == {}
    assert {f.arch for f in _release(result, NEW).files} == {"x64", "arm64", "x86"}


def test_non_required_lanes_wait_with_the_release_too() -> None:
    result = _fold({"x86": pending("x86", lane_partial("x86", (NEW,)))}, config=REQUIRED)
    assert (
        result.report.held_back["x86"].reason
        == f"release {NEW} waits for required lanes: x64, arm64"
    )


def test_qualified_lanes_satisfy_their_required_arch_lane() -> None:
    lanes = {
        "x64/linux-24.04": pending("x64/linux-24.04", lane_partial("x64/linux-24.04", (NEW,))),
        "arm64": pending("arm64", lane_partial("arm64", (NEW,))),
    }
    assert _fold(lanes, config=REQUIRED).report.held_back == {}


def test_existing_releases_are_not_held_for_completeness() -> None:
    result = _fold({"x64": pending("x64", lane_partial("x64", ("3.13.1",)))}, config=REQUIRED)
    assert result.report.held_back == {}


def test_incomplete_hold_keeps_the_lanes_earlier_partials() -> None:
    lanes = {
        "x64": pending("x64", lane_partial("x64", ("3.13.1",)), lane_partial("x64", (NEW,))),
        "arm64": pending("arm64", lane_partial("arm64", ("3.12.8",))),
    }
    result = _fold(lanes, config=REQUIRED)
    assert result.report.lanes["x64"].folded == 1
    assert result.report.held_back["x64"].commit == commit_id("x64", 1)
    assert result.report.lanes["arm64"].folded == 1


def test_incomplete_hold_cascades_to_releases_that_needed_the_held_partials() -> None:
    other = "3.15.0-alpha.1"
    lanes = {
        "x64": pending("x64", lane_partial("x64", (NEW,)), lane_partial("x64", (other,))),
        "arm64": pending("arm64", lane_partial("arm64", (other,))),
    }
    result = _fold(lanes, config=REQUIRED)
    assert result.report.held_back["x64"].reason == f"release {NEW} waits for required lanes: arm64"
    assert (
        result.report.held_back["arm64"].reason == f"release {other} waits for required lanes: x64"
    )
    assert result.manifest == _fold({}).manifest


def test_release_held_for_completeness_folds_in_a_later_fold() -> None:
    first = _fold({"x64": pending("x64", lane_partial("x64", (NEW,)))}, config=REQUIRED)
    lanes = {
        "x64": pending("x64", lane_partial("x64", (NEW,))),
        "arm64": pending("arm64", lane_partial("arm64", (NEW,))),
    }
    second = fold(first.manifest, first.provenance, REQUIRED, lanes)
    assert second.report.held_back == {}
    assert second.manifest == _fold(lanes, config=REQUIRED).manifest


# --- report details -------------------------------------------------------------------------------


def test_fold_without_pending_partials_changes_nothing() -> None:
    base = _base()
    result = fold(base, import_provenance(base), CONFIG, {})
    assert result.manifest == base
    assert result.provenance == import_provenance(base)
    assert (
        result.report.changed == [] and _merge_warnings(result) == [] and result.report.lanes == {}
    )


def test_changed_lists_versions_newest_first() -> None:
    lanes = {
        "x64": pending(
            "x64", lane_partial("x64", ("3.12.8", "3.15.0-alpha.1", NEW), release_url="")
        )
    }
    # 3.12.8 is republished unchanged: an empty release_url asserts nothing, so the
    # imported URL stands and the release is not listed as changed.
    assert _fold(lanes).report.changed == ["3.15.0-alpha.1", NEW]


def test_import_provenance_owns_every_entry_and_claims_every_release() -> None:
    base = _base()
    index = import_provenance(base)
    assert set(index.files) == set(index.claims) == set(BASE_VERSIONS)
    release = base[0]
    assert index.claims[release.version] == {
        IMPORT_LANE: Claim(stable=release.stable, lts=release.lts, release_url=release.release_url)
    }
    assert all(
        o == Origin(lane=IMPORT_LANE) for files in index.files.values() for o in files.values()
    )
