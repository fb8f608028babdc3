"""refold report in a real browser: Debian's headless chromium opens the page from file://,
and the DOM it builds is checked (the matrix, the filters, the lane panel, and that no
hostile string from the store runs as script). Skipped when chromium is not installed;
CI installs it (.ci/run)."""

from __future__ import annotations

import shutil
import struct
import subprocess
from html.parser import HTMLParser
from itertools import count
from pathlib import Path

import pytest

from refold.cli.report_html import render_report, short
from refold.store.repo import open_store
from refold.store.report_data import gather_report

from .test_report import (
    EXPECTED_CELLS,
    HOSTILE_BUILD,
    HOSTILE_FILE,
    HOSTILE_LANE,
    HOSTILE_REASON,
    HOSTILE_VERSION,
    IMG_PAYLOAD,
    Audit,
    audit_store,
    hostile_store,
    label,
)

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)"
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)
_profiles = count()


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One headless chromium run with a fresh profile directory."""
    assert CHROMIUM is not None
    profile = tmp_path / f"profile-{next(_profiles)}"
    profile.mkdir()
    ran = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    return ran


def console(ran: subprocess.CompletedProcess[str]) -> list[str]:
    """What the page wrote to the browser console (script errors, CSP refusals)."""
    return [line for line in ran.stderr.splitlines() if ":CONSOLE" in line]


class Dom(HTMLParser):
    """The parts of a dumped DOM the tests read."""

    VOID = frozenset({"meta", "input", "br", "wbr", "img", "link", "hr", "col", "source"})

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ready = False
        self.ids: set[str] = set()
        self.hidden_ids: set[str] = set()
        self.flagged: list[str] = []
        self.hrefs: list[str] = []
        self.columns: list[str] = []
        self.rows: list[tuple[str, bool, list[int]]] = []
        self.row_text: list[str] = []
        self.drawer_hidden = True
        self.lanes: dict[str, str] = {}
        self.texts: dict[str, list[str]] = {}
        self._stack: list[tuple[str, str | None]] = []
        self.feed(text)
        self.close()

    def text(self, key: str) -> str:
        return "".join(self.texts.get(key, []))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html" and a.get("data-ready") == "1":
            self.ready = True
        if a.get("id"):
            self.ids.add(a["id"] or "")
            if "hidden" in a:
                self.hidden_ids.add(a["id"] or "")
        if "data-pwned" in a:
            self.flagged.append(tag)
        if tag == "a" and a.get("href") is not None:
            self.hrefs.append(a["href"] or "")
        if tag == "th" and "data-col" in a:
            self.columns.append(a["data-col"] or "")
        if tag == "tr" and "data-v" in a:
            self.rows.append((a["data-v"] or "", "hidden" in a, []))
        if tag == "td" and "data-c" in a and self.rows:
            self.rows[-1][2].append(int(a["data-c"] or "-1"))
        if tag in self.VOID:
            return
        key = None
        if tag == "title" and not any(t == "svg" for t, _ in self._stack):
            key = "title"
        elif tag == "aside" and a.get("id") == "drawer":
            key, self.drawer_hidden = "drawer", "hidden" in a
        elif tag == "article" and "data-lane" in a:
            key = f"lane:{a['data-lane']}"
        elif tag == "output" and a.get("id") == "f-count":
            key = "count"
        elif tag == "style" and a.get("id") == "mx-hide":
            key = "hide"
        elif tag == "th" and self._stack and self._stack[-1][0] == "tr" and self.rows:
            key = f"row:{len(self.rows) - 1}"
        self._stack.append((tag, key))

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, key in self._stack:
            if key is not None:
                self.texts.setdefault(key, []).append(data)

    def visible(self) -> list[str]:
        return [version for version, hidden, _ in self.rows if not hidden]


def write_report(store_path: Path, out: Path) -> Path:
    out.write_text(render_report(gather_report(open_store(store_path))))
    return out


def dump(tmp_path: Path, page: Path, fragment: str = "") -> tuple[Dom, list[str]]:
    ran = chromium(tmp_path, "--dump-dom", page.as_uri() + (f"#{fragment}" if fragment else ""))
    return Dom(ran.stdout), console(ran)


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> Audit:
    return audit_store(tmp_path_factory.mktemp("audit") / "audit.git")


@pytest.fixture(scope="module")
def page(audit: Audit, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(audit.path, tmp_path_factory.mktemp("page") / "report.html")


@pytest.fixture(scope="module")
def loaded(page: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Dom, list[str]]:
    """The page as chromium builds it with no filter, and what it logged."""
    return dump(tmp_path_factory.mktemp("loaded"), page)


def test_matrix_in_chromium_has_the_expected_cells_and_a_screenshot(
    page: Path, loaded: tuple[Dom, list[str]], tmp_path: Path
) -> None:
    shot = tmp_path / "report.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,1000", page.as_uri())
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1400, 1000)
    dom, logged = loaded
    assert dom.ready, "the page's script did not run to the end"
    assert logged == []
    assert [v for v, _, _ in dom.rows] == ["3.14.0-rc.1", "3.13.1", "3.12.8"]
    assert dom.visible() == ["3.14.0-rc.1", "3.13.1", "3.12.8"]
    cells = {version: {dom.columns[c] for c in present} for version, _, present in dom.rows}
    assert cells == EXPECTED_CELLS
    assert "pre" in dom.text("row:0") and "pre" not in dom.text("row:1")
    assert dom.text("count") == "3 of 3 releases \u00b7 5 of 5 columns"


@pytest.mark.parametrize(
    ("fragment", "visible", "columns"),
    [
        ("arch=ppc64le", ["3.13.1"], 1),
        ("platform=win32", ["3.14.0-rc.1", "3.13.1", "3.12.8"], 1),
        ("version=3.12&pre=1", ["3.12.8"], 5),
        ("version=3.1", [], 5),
        ("pre=0&q=s390x", ["3.13.1"], 5),
    ],
)
def test_filter_in_the_url_hides_the_releases_it_excludes(
    page: Path, tmp_path: Path, fragment: str, visible: list[str], columns: int
) -> None:
    dom, logged = dump(tmp_path, page, fragment)
    assert logged == []
    assert dom.visible() == visible
    assert dom.text("count") == f"{len(visible)} of 3 releases \u00b7 {columns} of 5 columns"
    hidden_columns = dom.text("hide").count("tbody tr>:nth-child")
    assert hidden_columns == 5 - columns
    assert ("none" in dom.hidden_ids) == bool(visible), (
        "the no-match note shows exactly when all rows are hidden"
    )


def test_search_finds_the_releases_a_partial_commit_wrote(
    page: Path, audit: Audit, tmp_path: Path
) -> None:
    dom, _ = dump(tmp_path, page, f"q={audit.x64[0][:10]}")
    assert dom.visible() == ["3.12.8"]


def test_clicked_cell_shows_lane_partial_build_and_fold(
    page: Path, audit: Audit, tmp_path: Path
) -> None:
    data = gather_report(open_store(audit.path))
    column = [label(c) for c in data.columns].index("win32 x64")
    dom, logged = dump(tmp_path, page, f"open=2.{column}")
    assert logged == []
    assert not dom.drawer_hidden
    drawer = dom.text("drawer")
    assert "python-3.12.8-win32-x64.zip" in drawer
    assert "x64/gh" in drawer
    assert audit.x64[0] in drawer
    assert "run id: 100" in drawer
    assert short(audit.folds[0]) in drawer
    assert "https://github.com/actions/python-versions/actions/runs/100" in dom.hrefs


def test_lane_panel_in_chromium_shows_held_back_and_rejected(
    loaded: tuple[Dom, list[str]], audit: Audit
) -> None:
    dom, _ = loaded
    canary = dom.text("lane:x64/canary")
    assert "held back" in canary and "belongs to lane 'x64/gh'" in canary
    assert short(audit.canary) in canary
    ppc = dom.text("lane:ppc64le")
    assert "built from the wrong tag" in ppc and short(audit.rejected) in ppc
    assert "1 pending" in dom.text("lane:arm64")


def test_hostile_strings_show_as_text_and_run_no_script(tmp_path: Path) -> None:
    hostile = hostile_store(tmp_path / "hostile.git")
    data = gather_report(open_store(hostile.path))
    release = data.releases[0]
    assert release.version == HOSTILE_VERSION
    file = next(f for f in release.files if f.filename == HOSTILE_FILE)
    column = [(c.platform, c.platform_version, c.arch) for c in data.columns].index(
        (file.platform, file.platform_version, file.arch)
    )
    page = tmp_path / "hostile.html"
    page.write_text(render_report(data))
    title = f"refold report: versions-manifest.json at {short(data.commit)}"
    doms = []
    for fragment in ("", f"q={HOSTILE_LANE}&open=0.{column}"):
        dom, logged = dump(tmp_path, page, fragment)
        doms.append(dom)
        assert dom.ready
        assert logged == [], "the console reports a script error or a CSP refusal"
        assert dom.text("title") == title
        assert "injected" not in dom.ids and dom.flagged == []
        assert not [h for h in dom.hrefs if h.strip().lower().startswith("javascript:")]
        assert dom.rows[0][0] == HOSTILE_VERSION
        assert dom.text("row:0").startswith(HOSTILE_VERSION)
        assert HOSTILE_REASON in dom.text(f"lane:{HOSTILE_LANE}")
    opened = doms[1]
    assert opened.visible() == [HOSTILE_VERSION]
    drawer = opened.text("drawer")
    assert not opened.drawer_hidden
    assert HOSTILE_FILE in drawer
    assert HOSTILE_BUILD["run_id"] in drawer and HOSTILE_BUILD["repository"] in drawer
    assert IMG_PAYLOAD in drawer
