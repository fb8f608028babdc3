"""refold report: the page shows what the store says, and no string in the data can become
markup or script. The browser half is in test_report_browser.py."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
import pygit2
import pytest

from refold.cli.report_html import render_report, script_json
from refold.manifests.provenance import Origin, Rejection, encode_provenance
from refold.store.compact import fold_store
from refold.store.history import PublicationEntry, find_publishers
from refold.store.imports import import_as_lanes
from refold.store.init import init_store
from refold.store.repo import (
    PROVENANCE_PATH,
    Store,
    all_refs,
    open_store,
    read_published,
    write_tree,
)
from refold.store.report_data import (
    Column,
    FileInfo,
    HeldInfo,
    LaneInfo,
    PartialInfo,
    RejectionInfo,
    ReleaseInfo,
    ReportData,
    gather_report,
)
from refold.store.submit import submit

from ._helpers import cli, partial_json, shared_data

SIG = pygit2.Signature("test", "test@refold.invalid", 1_700_000_000, 0)
LINUX = ("linux", "24.04")
WIN = ("win32", None)


class Audit(NamedTuple):
    """A store with several lanes, a held-back lane, a rejection and a pending partial."""

    path: Path
    folds: list[str]
    """The four folds, oldest first."""
    x64: list[str]
    """x64/gh's partials: 3.12.8, 3.13.1, 3.14.0-rc.1."""
    rejected: str
    canary: str
    pending: str
    s390x: str


def build_env(run: int, lane: str) -> dict[str, str]:
    return {
        "GITHUB_RUN_ID": str(run),
        "GITHUB_REPOSITORY": "actions/python-versions",
        "GITHUB_SHA": f"{run:040x}",
        "GITHUB_WORKFLOW": "Build Python",
        "GITHUB_JOB": f"build-{lane}",
        "GITHUB_SERVER_URL": "https://github.com",
    }


def audit_store(path: Path) -> Audit:
    store = init_store(path)
    run = iter(range(100, 200))

    def put(lane: str, version: str, *platforms: tuple[str, str | None]) -> str:
        data = partial_json(version, lane.split("/")[0], *platforms)
        return submit(store, lane, data, env=build_env(next(run), lane)).commit

    def publish(**kwargs: Any) -> str:
        commit = fold_store(store, **kwargs).commit
        assert commit is not None
        return commit

    x64 = [put("x64/gh", "3.12.8", LINUX, WIN)]
    put("arm64", "3.12.8", LINUX)
    folds = [publish()]
    x64.append(put("x64/gh", "3.13.1", LINUX, WIN))
    put("arm64", "3.13.1", LINUX)
    put("ppc64le", "3.13.1", LINUX)
    folds.append(publish())
    x64.append(put("x64/gh", "3.14.0-rc.1", LINUX, WIN))
    rejected = put("ppc64le", "3.14.0", LINUX)
    folds.append(publish(rejections={rejected: "built from the wrong tag"}))
    canary = put("x64/canary", "3.13.1", LINUX)
    s390x = put("s390x", "3.13.1", LINUX)
    folds.append(publish())
    pending = put("arm64", "3.14.0-rc.1", LINUX)
    return Audit(path, folds, x64, rejected, canary, pending, s390x)


EXPECTED_CELLS = {
    "3.14.0-rc.1": {"linux 24.04 x64", "win32 x64"},
    "3.13.1": {
        "linux 24.04 arm64",
        "linux 24.04 ppc64le",
        "linux 24.04 s390x",
        "linux 24.04 x64",
        "win32 x64",
    },
    "3.12.8": {"linux 24.04 arm64", "linux 24.04 x64", "win32 x64"},
}


def label(file: FileInfo | Column) -> str:
    return " ".join(p for p in (file.platform, file.platform_version, file.arch) if p)


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> Audit:
    """Built once: every test here only reads it (and checks that the report wrote nothing)."""
    return audit_store(tmp_path_factory.mktemp("audit") / "audit.git")


def file_at(data: ReportData, version: str, column: str) -> FileInfo:
    release = next(r for r in data.releases if r.version == version)
    return next(f for f in release.files if label(f) == column)


def lane_info(data: ReportData, lane: str) -> LaneInfo:
    return next(info for info in data.lanes if info.lane == lane)


# --- what the report shows ----------------------------------------------------------------


def test_matrix_has_a_cell_for_every_published_file_newest_release_first(audit: Audit) -> None:
    data = gather_report(open_store(audit.path))
    assert [r.version for r in data.releases] == ["3.14.0-rc.1", "3.13.1", "3.12.8"]
    assert [r.prerelease for r in data.releases] == [True, False, False]
    assert {r.version: {label(f) for f in r.files} for r in data.releases} == EXPECTED_CELLS
    assert [label(c) for c in data.columns] == [
        "linux 24.04 arm64",
        "linux 24.04 ppc64le",
        "linux 24.04 s390x",
        "linux 24.04 x64",
        "win32 x64",
    ]


def test_each_file_names_its_lane_partial_build_and_the_fold_that_published_it(
    audit: Audit,
) -> None:
    data = gather_report(open_store(audit.path))
    first = file_at(data, "3.12.8", "win32 x64")
    assert (first.lane, first.commit) == ("x64/gh", audit.x64[0])
    partial = data.partials[audit.x64[0]]
    assert partial.status == "published"
    assert partial.fold == audit.folds[0]
    assert partial.build["run_id"] == "100"
    assert partial.build["run_url"] == "https://github.com/actions/python-versions/actions/runs/100"
    late = file_at(data, "3.13.1", "linux 24.04 s390x")
    assert late.commit == audit.s390x
    assert data.partials[late.commit or ""].fold == audit.folds[3]
    assert file_at(data, "3.14.0-rc.1", "linux 24.04 x64").commit == audit.x64[2]
    assert data.partials[audit.x64[2]].fold == audit.folds[2]


def test_fold_of_every_cell_agrees_with_the_history_walk_of_refold_blame(audit: Audit) -> None:
    store = open_store(audit.path)
    data = gather_report(store)
    targets = {f.commit: f.lane for r in data.releases for f in r.files if f.commit and f.lane}
    tip = store.repo.references[store.public_ref].target
    found, _ = find_publishers(store.repo, tip, targets)
    assert len(targets) == 7
    for commit in targets:
        publisher = found.publishers[commit]
        assert publisher is not None
        assert data.partials[commit].fold == publisher.fold


def test_partials_published_before_the_history_window_are_marked_earlier(audit: Audit) -> None:
    data = gather_report(open_store(audit.path), folds=2)
    assert not data.complete
    assert [f.commit for f in data.folds] == [audit.folds[3], audit.folds[2]]
    old = data.partials[file_at(data, "3.12.8", "win32 x64").commit or ""]
    assert (old.status, old.fold) == ("earlier", None)
    recent = data.partials[file_at(data, "3.13.1", "linux 24.04 s390x").commit or ""]
    assert (recent.status, recent.fold) == ("published", audit.folds[3])
    whole = gather_report(open_store(audit.path), folds=50)
    assert whole.complete
    assert not [p for p in whole.partials.values() if p.status == "earlier"]


def test_lane_panel_shows_held_back_reason_pending_and_rejection(audit: Audit) -> None:
    data = gather_report(open_store(audit.path))
    assert [info.lane for info in data.lanes] == [
        "arm64",
        "ppc64le",
        "s390x",
        "x64/canary",
        "x64/gh",
    ]
    canary = lane_info(data, "x64/canary")
    assert canary.held_back is not None
    assert canary.held_back.commit == audit.canary
    assert canary.held_back.kind == "conflict"
    assert "belongs to lane 'x64/gh'" in canary.held_back.reason
    assert [(p.commit, p.status) for p in canary.pending] == [(audit.canary, "held back")]
    arm64 = lane_info(data, "arm64")
    assert arm64.held_back is None
    assert [(p.commit, p.status) for p in arm64.pending] == [(audit.pending, "pending")]
    assert arm64.partials[0].commit == audit.pending
    assert [p.status for p in arm64.partials] == ["pending", "published", "published"]
    ppc = lane_info(data, "ppc64le")
    assert ppc.rejections == [
        RejectionInfo(
            commit=audit.rejected,
            lane="ppc64le",
            reason="built from the wrong tag",
            fold=audit.folds[2],
        )
    ]
    assert ppc.partials[0].status == "rejected"
    assert ppc.partials[0].reason == "built from the wrong tag"
    assert not ppc.pending and not ppc.more


def test_lane_panel_lists_only_the_newest_partials_of_a_long_lane(audit: Audit) -> None:
    data = gather_report(open_store(audit.path), lane_depth=2)
    x64 = lane_info(data, "x64/gh")
    assert [p.commit for p in x64.partials] == [audit.x64[2], audit.x64[1]]
    assert x64.more


def test_publication_log_names_the_lanes_and_releases_each_fold_changed(audit: Audit) -> None:
    data = gather_report(open_store(audit.path))
    assert [f.commit for f in data.folds[:4]] == list(reversed(audit.folds))
    last, rejecting = data.folds[0], data.folds[1]
    assert last.folded == {"s390x": 1}
    assert "x64/canary" in last.held_back
    assert last.changed == ["3.13.1"]
    assert rejecting.rejected == {"ppc64le": [audit.rejected]}
    assert rejecting.added == ["3.14.0-rc.1"]
    assert data.folds[-1].kind == "init"


def test_report_at_an_older_publication_shows_that_manifest_and_what_was_pending_then(
    audit: Audit,
) -> None:
    data = gather_report(open_store(audit.path), rev=audit.folds[0])
    assert not data.at_tip
    assert data.commit == audit.folds[0]
    assert [r.version for r in data.releases] == ["3.12.8"]
    x64 = lane_info(data, "x64/gh")
    assert [p.commit for p in x64.pending] == [audit.x64[1], audit.x64[2]]


def test_report_page_carries_the_matrix_lanes_and_publications(audit: Audit) -> None:
    page = render_report(gather_report(open_store(audit.path)))
    rows = re.findall(r'<tr data-r="\d+" data-v="([^"]*)"', page)
    assert rows == ["3.14.0-rc.1", "3.13.1", "3.12.8"]
    columns = re.findall(r'data-col="([^"]*)"', page)
    for version, body in re.findall(r'data-v="([^"]*)"[^>]*>(.*?)</tr>', page):
        present = {columns[int(c)] for c in re.findall(r'<td class="y [^"]*" data-c="(\d+)"', body)}
        assert present == EXPECTED_CELLS[version]
    assert 'data-lane="x64/canary"' in page
    assert "belongs to lane &#x27;x64/gh&#x27;" in page
    assert "built from the wrong tag" in page
    for fold in audit.folds:
        assert f'data-fold="{fold}"' in page


# --- the command ---------------------------------------------------------------------------


def test_report_command_writes_one_self_contained_page_and_changes_no_ref(
    audit: Audit, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = all_refs(open_store(audit.path).repo)
    out = tmp_path / "report.html"
    ran = cli(capsys, "--store", str(audit.path), "report", "--html", str(out), "--json")
    assert ran.code == 0, ran.err
    summary = json.loads(ran.out)
    page = out.read_text()
    assert summary["bytes"] == len(page.encode())
    assert (summary["releases"], summary["files"], summary["lanes"]) == (3, 10, 5)
    assert summary["commit"] == audit.folds[3]
    assert page.startswith("<!DOCTYPE html>")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    assert csp is not None and html.unescape(csp.group(1)).startswith("default-src 'none';")
    assert not re.search(r"<(link|img|iframe|object|embed)\b|\bsrc=|@import|url\(", page)
    assert all_refs(open_store(audit.path).repo) == before


def test_report_command_to_standard_output(
    audit: Audit, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    ran = cli(capsys, "--store", str(audit.path), "report", "--html", "-")
    assert ran.code == 0
    assert ran.out.startswith("<!DOCTYPE html>") and ran.out.rstrip().endswith("</html>")


@pytest.mark.parametrize(
    ("extra", "target", "message"),
    [
        (["--rev", "no-such-rev"], "report.html", "unknown revision"),
        ([], "missing-dir/report.html", "does not exist"),
        (["--folds", "0"], "report.html", "must be at least 1"),
    ],
)
def test_report_command_refuses_bad_input_and_writes_nothing(
    audit: Audit,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    target: str,
    message: str,
) -> None:
    before = all_refs(open_store(audit.path).repo)
    out = tmp_path / target
    ran = cli(capsys, "--store", str(audit.path), "report", "--html", str(out), *extra)
    assert ran.code == 2
    assert message in ran.err
    assert not out.exists()
    assert not list(tmp_path.glob(".refold-report-*"))
    assert all_refs(open_store(audit.path).repo) == before


# --- escaping ------------------------------------------------------------------------------

SCRIPT_PAYLOAD = "<script>document.title='PWNED'</script>"
IMG_PAYLOAD = "<img src=x onerror=\"document.title='PWNED'\">"
CLOSE_PAYLOAD = "</script><script>document.body.setAttribute('data-pwned','1')</script>"
HOSTILE_VERSION = f"3.14.0-rc.1{SCRIPT_PAYLOAD}"
HOSTILE_FILE = f'python-3.14.0"\'><b id="injected">x</b>{IMG_PAYLOAD}.tar.gz'
HOSTILE_FILE_2 = f"python-3.14.0-win32{CLOSE_PAYLOAD}\u2028.zip"
HOSTILE_LANE = "<i>lane</i>"
HOSTILE_REASON = f"bad build {IMG_PAYLOAD} {CLOSE_PAYLOAD}"
HOSTILE_BUILD = {
    "run_id": SCRIPT_PAYLOAD,
    "repository": '"><b id="injected">repo</b>',
    "run_url": "javascript:document.title='PWNED'",
}
HOSTILE_STRINGS = (
    HOSTILE_VERSION,
    HOSTILE_FILE,
    HOSTILE_FILE_2,
    HOSTILE_LANE,
    HOSTILE_REASON,
    *HOSTILE_BUILD.values(),
)


def hostile_data() -> ReportData:
    """Report data whose every string field is hostile, as a store built around refold's
    validation could make it."""
    commit = "a" * 40
    partial = PartialInfo(
        commit=commit,
        lane=HOSTILE_LANE,
        time=1_700_000_000,
        author=f"{SCRIPT_PAYLOAD} <x@y>",
        summary=CLOSE_PAYLOAD,
        build=dict(HOSTILE_BUILD),
        status="published",
        fold="f" * 40,
        reason=HOSTILE_REASON,
    )
    files = (
        FileInfo(
            filename=HOSTILE_FILE,
            arch='x64"><b id="injected">',
            platform=f"linux{CLOSE_PAYLOAD}",
            platform_version='24.04\u2029<b id="injected">',
            download_url=f"javascript:document.title='PWNED'//{HOSTILE_FILE}",
            sha256=CLOSE_PAYLOAD,
            size=1,
            lane=HOSTILE_LANE,
            commit=commit,
        ),
        FileInfo(
            filename=HOSTILE_FILE_2,
            arch="x64",
            platform="win32",
            platform_version=None,
            download_url=f"https://example.invalid/{CLOSE_PAYLOAD}",
            lane=HOSTILE_LANE,
            commit=commit,
        ),
    )
    columns = sorted({Column(f.platform, f.platform_version, f.arch) for f in files})
    fold = PublicationEntry(
        commit="f" * 40,
        time=1_700_000_100,
        author=SCRIPT_PAYLOAD,
        kind="other",
        summary=SCRIPT_PAYLOAD,
        folded={HOSTILE_LANE: 1},
        rejected={HOSTILE_LANE: [commit]},
        held_back={HOSTILE_LANE: HOSTILE_REASON},
        added=[HOSTILE_VERSION],
        error=IMG_PAYLOAD,
    )
    lane = LaneInfo(
        lane=HOSTILE_LANE,
        tip=commit,
        partials=[partial],
        more=False,
        pending=[partial],
        held_back=HeldInfo(
            commit=commit,
            kind="policy",
            reason=HOSTILE_REASON,
            location=SCRIPT_PAYLOAD,
            hint=IMG_PAYLOAD,
        ),
        rejections=[
            RejectionInfo(commit=commit, lane=HOSTILE_LANE, reason=HOSTILE_REASON, fold="f" * 40)
        ],
        error=SCRIPT_PAYLOAD,
    )
    return ReportData(
        store=f"/tmp/{SCRIPT_PAYLOAD}",
        public_ref="refs/heads/main",
        commit="f" * 40,
        time=1_700_000_100,
        summary=CLOSE_PAYLOAD,
        at_tip=False,
        manifest_path="versions-manifest.json",
        columns=columns,
        releases=[
            ReleaseInfo(
                version=HOSTILE_VERSION,
                stable=False,
                prerelease=True,
                lts=IMG_PAYLOAD,
                release_url="javascript:alert(1)",
                files=files,
            )
        ],
        partials={commit: partial},
        folds=[fold],
        window=50,
        complete=True,
        lanes=[lane],
        warnings=[HOSTILE_REASON],
    )


def embedded_data(page: str) -> Any:
    match = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', page, re.DOTALL
    )
    assert match is not None
    return json.loads(match.group(1))


def strings_in(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(strings_in(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(strings_in(v) for v in value)) if value else set()
    return set()


def assert_inert(page: str, strings: tuple[str, ...]) -> None:
    """No data string became markup: two scripts (ours), no element, event handler or
    javascript: link from the data, and every hostile string is still there, escaped in
    the markup or verbatim in the embedded JSON."""
    assert len(re.findall(r"<script", page, re.IGNORECASE)) == 2
    assert len(re.findall(r"</script", page, re.IGNORECASE)) == 2
    for marker in ("<img", "<b id=", "<i>lane", 'id="injected"', 'onerror="'):
        assert marker not in page, marker
    assert not re.search(r"""href=["']?\s*javascript:""", page, re.IGNORECASE)
    block = page[page.index('id="report-data">') : page.index("</script>")]
    assert "\u2028" not in block and "\u2029" not in block
    embedded = strings_in(embedded_data(page))
    for text in strings:
        assert text in embedded or html.escape(text, quote=True) in page, text


def test_renderer_turns_hostile_data_into_text() -> None:
    page = render_report(hostile_data())
    assert_inert(page, HOSTILE_STRINGS)
    for text in (HOSTILE_VERSION, HOSTILE_REASON, HOSTILE_LANE, SCRIPT_PAYLOAD):
        assert html.escape(text, quote=True) in page
    data = embedded_data(page)
    assert data["rows"][0][0] == HOSTILE_VERSION
    assert {f[1] for f in data["rows"][0][2]} == {HOSTILE_FILE, HOSTILE_FILE_2}


def test_script_json_cannot_close_its_element_and_parses_back_unchanged() -> None:
    value = {"a": "</script><!--<script>", "b": "x & y > z", "c": "line\u2028para\u2029end"}
    text = script_json(value)
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == value


def write_lane_commit(
    repo: pygit2.Repository, lane: str, document: dict[str, Any], message: str
) -> pygit2.Oid:
    """A lane commit pushed around refold: any partial.json, no validation."""
    ref = f"refs/partials/{lane}"
    parents = [repo.references[ref].target] if ref in repo.references else []
    builder = repo.TreeBuilder()
    blob = repo.create_blob(json.dumps(document, indent=2).encode())
    builder.insert("partial.json", blob, pygit2.enums.FileMode.BLOB)
    commit = repo.create_commit(None, SIG, SIG, message, builder.write(), parents)
    repo.create_reference_direct(ref, commit, True)
    return commit


def hostile_release() -> dict[str, Any]:
    files = [
        {
            "filename": HOSTILE_FILE,
            "arch": 'x64"><b id="injected">',
            "platform": f"linux{CLOSE_PAYLOAD}",
            "platform_version": '24.04\u2028<b id="injected">',
            "download_url": f"javascript:document.title='PWNED'//{HOSTILE_FILE}",
            "sha256": CLOSE_PAYLOAD,
        },
        {
            "filename": HOSTILE_FILE_2,
            "arch": "x64",
            "platform": "win32",
            "download_url": f"https://example.invalid/{CLOSE_PAYLOAD}",
        },
    ]
    return {
        "version": HOSTILE_VERSION,
        "stable": False,
        "release_url": "javascript:alert(1)",
        "files": files,
    }


class Hostile(NamedTuple):
    path: Path
    lane_commit: str
    pending: str


def hostile_store(path: Path) -> Hostile:
    """A store whose public manifest, provenance, lane names, build identities, commit
    messages and a rejection reason all carry markup, written directly with pygit2 where
    refold's own validation would refuse them."""
    store = init_store(path)
    submit(store, "x64", partial_json("3.13.1", "x64"), env=build_env(7, "x64"))
    refused = submit(store, "arm64", partial_json("3.13.1", "arm64")).commit
    assert fold_store(store, rejections={refused: HOSTILE_REASON}).commit is not None
    repo = store.repo
    release = hostile_release()
    document = {"releases": [release], "retract": [], "provenance": HOSTILE_BUILD}
    lane_commit = write_lane_commit(repo, HOSTILE_LANE, document, f"partial {SCRIPT_PAYLOAD}\n")
    published = read_published(store)
    manifest = [release, *msgspec.to_builtins(published.manifest)]
    origin = Origin(lane=HOSTILE_LANE, commit=str(lane_commit))
    provenance = msgspec.structs.replace(
        published.provenance,
        files={
            **published.provenance.files,
            HOSTILE_VERSION: {f["filename"]: origin for f in release["files"]},
        },
        rejected={
            **published.provenance.rejected,
            "b" * 40: Rejection(lane=HOSTILE_LANE, reason=HOSTILE_REASON),
        },
    )
    tip = repo.references[store.public_ref].target
    tree = write_tree(
        repo,
        repo[tip].peel(pygit2.Commit).tree,
        {
            published.config.manifest_path: json.dumps(manifest, indent=2).encode() + b"\n",
            PROVENANCE_PATH: encode_provenance(provenance),
        },
    )
    message = f"fold: {IMG_PAYLOAD}\n\nRefold-Folded: {HOSTILE_LANE} 1 {lane_commit}\n"
    commit = repo.create_commit(None, SIG, SIG, message, tree, [tip, lane_commit])
    repo.references[store.public_ref].set_target(commit)
    pending = write_lane_commit(repo, HOSTILE_LANE, document, f"partial again {CLOSE_PAYLOAD}\n")
    return Hostile(path, str(lane_commit), str(pending))


def test_hostile_store_gathers_every_field_verbatim_and_renders_it_inert(tmp_path: Path) -> None:
    hostile = hostile_store(tmp_path / "hostile.git")
    store = open_store(hostile.path)
    data = gather_report(store)
    release = data.releases[0]
    assert release.version == HOSTILE_VERSION and release.prerelease
    assert {f.filename for f in release.files} == {HOSTILE_FILE, HOSTILE_FILE_2}
    assert data.partials[hostile.lane_commit].build == HOSTILE_BUILD
    lane = lane_info(data, HOSTILE_LANE)
    assert [p.commit for p in lane.pending] == [hostile.pending]
    assert any(r.reason == HOSTILE_REASON for r in lane.rejections)
    assert any(r.reason == HOSTILE_REASON for r in lane_info(data, "arm64").rejections)
    page = render_report(data)
    assert_inert(page, HOSTILE_STRINGS)


# --- size ----------------------------------------------------------------------------------

DOWNLOAD = "https://github.com/actions/python-versions/releases/download"
SIZE_LANES: dict[str, list[tuple[str, str | None]]] = {
    "x64": [("linux", "22.04"), ("linux", "24.04"), ("darwin", None), ("win32", None)],
    "arm64": [("linux", "22.04"), ("linux", "24.04"), ("darwin", None)],
    "x86": [("win32", None)],
    "x64-freethreaded": [("linux", "24.04")],
}


def size_versions() -> list[str]:
    versions = [f"3.{minor}.{patch}" for minor in range(5, 14) for patch in range(25)]
    versions += [f"3.14.0-alpha.{k}" for k in range(1, 8)] + [
        f"3.14.0-beta.{k}" for k in range(1, 5)
    ]
    versions += [f"3.14.0-rc.{k}" for k in range(1, 4)] + [f"3.14.{p}" for p in range(11)]
    return versions


def size_entry(
    version: str, arch: str, platform: str, platform_version: str | None, n: int
) -> dict[str, Any]:
    middle = f"{platform}-{platform_version}" if platform_version else platform
    name = f"python-{version}-{middle}-{arch}.{'zip' if platform == 'win32' else 'tar.gz'}"
    entry: dict[str, Any] = {"filename": name, "arch": arch, "platform": platform}
    if platform_version:
        entry["platform_version"] = platform_version
    entry["download_url"] = f"{DOWNLOAD}/{version}-{12_000_000_000 + n}/{name}"
    entry["sha256"] = f"{n * 2_654_435_761:064x}"[-64:]
    entry["size"] = 30_000_000 + n * 7919
    return entry


def size_store(path: Path) -> Store:
    """250 releases and 2,200 files, one partial per release and lane (950 partials, each
    with its own build identity), folded five releases at a time (51 publications)."""
    store = init_store(path)
    n = 0
    for index, version in enumerate(size_versions()):
        for lane, platforms in SIZE_LANES.items():
            if lane == "x64-freethreaded" and index < 50:
                continue
            files = []
            for platform, platform_version in platforms:
                n += 1
                files.append(size_entry(version, lane, platform, platform_version, n))
            release = {
                "version": version,
                "stable": "-" not in version,
                "release_url": f"https://github.com/actions/python-versions/releases/tag/{version}",
                "files": files,
            }
            env = build_env(10_000_000 + n, lane) | {
                "GITHUB_RUN_ATTEMPT": "1",
                "RUNNER_NAME": f"runner-{n % 17}",
            }
            submit(store, lane, json.dumps([release]).encode(), env=env)
        if index % 5 == 4:
            fold_store(store)
    return store


def test_report_of_a_250_release_2200_file_store_is_under_2_mb(tmp_path: Path) -> None:
    store = size_store(tmp_path / "size.git")
    data = gather_report(store)
    assert (len(data.releases), sum(len(r.files) for r in data.releases)) == (250, 2200)
    assert len(data.partials) == 950 and not data.complete
    page = render_report(data).encode()
    assert len(page) < 2_000_000, len(page)


def test_report_of_the_real_python_versions_manifest_is_under_2_mb(tmp_path: Path) -> None:
    manifest = shared_data() / "python-versions" / "versions-manifest.json"
    store = init_store(tmp_path / "real.git")
    import_as_lanes(store, manifest.read_bytes())
    data = gather_report(store)
    assert sum(len(r.files) for r in data.releases) == 2237
    page = render_report(data).encode()
    assert len(page) < 2_000_000, len(page)
