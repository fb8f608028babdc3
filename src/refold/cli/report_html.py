"""The report as one self-contained HTML page: inline CSS and script, no network, file://.

Build jobs control most of what the page shows (versions, filenames, URLs, build
identities, the text of rejection reasons), so no data string reaches the page as
markup. Text is passed through ``html.escape``; data for the script is JSON inside a
``<script type="application/json">`` element with ``<``, ``>``, ``&`` and U+2028/2029
written as escapes, so nothing in it can close the element; the script builds the DOM
with ``textContent`` only; only ``http(s)`` URLs become links; and the page's
Content-Security-Policy allows its own script (by hash) and nothing else, so even a
slip in escaping could not run a script or fetch anything.

Rendering is pure: the same data gives the same bytes, and nothing here touches git.
"""

from __future__ import annotations

import base64
import hashlib
import html
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from refold.store.history import PublicationEntry
    from refold.store.report_data import Column, LaneInfo, PartialInfo, ReportData

LANE_COLOURS = (
    "#2563eb",
    "#059669",
    "#d97706",
    "#7c3aed",
    "#db2777",
    "#0891b2",
    "#65a30d",
    "#4f46e5",
    "#b45309",
    "#0d9488",
    "#c026d3",
    "#475569",
)
IMPORTED_COLOUR = "#94a3b8"
STATUS_LABELS = {
    "published": "published",
    "earlier": "published earlier",
    "pending": "pending",
    "held back": "held back",
    "rejected": "rejected",
    "not published": "not published",
}
_URL_SCHEMES = ("https://", "http://")


def e(value: object) -> str:
    """Escape any data value for HTML text or a quoted attribute."""
    return html.escape(str(value), quote=True)


def script_json(value: Any) -> str:
    """JSON that can sit inside a ``<script>`` element whatever its strings contain.

    The replaced characters only ever occur inside JSON strings, where ``\\uXXXX`` is the
    same text, so the document still parses to the same value.
    """
    text = msgspec.json.encode(value).decode()
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def is_web_url(url: str) -> bool:
    return url.strip().lower().startswith(_URL_SCHEMES)


def link(url: str, text: str | None = None) -> str:
    """A link for an http(s) URL; anything else (``javascript:``, ``data:``) stays text."""
    shown = e(url if text is None else text)
    if not is_web_url(url):
        return f'<span class="url">{shown}</span>'
    return f'<a href="{e(url.strip())}" rel="noopener noreferrer">{shown}</a>'


def when(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds))


def short(commit: str | None) -> str:
    return commit[:12] if commit else "-"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


class _Lanes:
    """A colour class per lane, stable for the page: lanes sorted by name."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted(set(names))
        self.index = {name: i for i, name in enumerate(self.names)}

    def cls(self, lane: str | None, imported: bool = False) -> str:
        if imported or lane is None or lane not in self.index:
            return "li"
        return f"l{self.index[lane]}"

    def css(self) -> str:
        rules = [
            f".l{i}{{--lc:{LANE_COLOURS[i % len(LANE_COLOURS)]}}}" for i in range(len(self.names))
        ]
        return "\n".join(rules) + f"\n.li{{--lc:{IMPORTED_COLOUR}}}"

    def swatch(self, lane: str | None, imported: bool = False) -> str:
        return f'<i class="sw {self.cls(lane, imported)}"></i>'


def _lane_names(data: ReportData) -> list[str]:
    names = {lane.lane for lane in data.lanes}
    names |= {p.lane for p in data.partials.values()}
    names |= {f.lane for r in data.releases for f in r.files if f.lane and not f.imported}
    return sorted(names)


class _Strings:
    """A table for strings that repeat (URL prefixes, authors, build fields): the page
    stays small however many partials a store has."""

    def __init__(self) -> None:
        self.table: list[str] = []
        self.index: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = len(self.table)
            self.table.append(text)
        return found


def _payload(data: ReportData, lanes: _Lanes) -> dict[str, Any]:
    """What the script needs, in compact tables: cells name commits and folds by index,
    and a download URL that ends with its filename is kept as a shared prefix."""
    strings = _Strings()
    col_index = {(c.platform, c.platform_version, c.arch): i for i, c in enumerate(data.columns)}
    commits = list(data.partials.values())
    commit_index = {p.commit: i for i, p in enumerate(commits)}
    fold_ids = [f.commit for f in data.folds]
    fold_ids += list(dict.fromkeys(p.fold for p in commits if p.fold and p.fold not in fold_ids))
    fold_index = {fold: i for i, fold in enumerate(fold_ids)}
    known = {f.commit: f for f in data.folds}
    build_keys = list(dict.fromkeys(key for p in commits for key in p.build))
    rows = []
    for release in data.releases:
        files = []
        for f in release.files:
            url = f.download_url
            prefix = -1
            if f.filename and url.endswith(f.filename):
                prefix, url = strings(url[: -len(f.filename)]), ""
            files.append(
                [
                    col_index[(f.platform, f.platform_version, f.arch)],
                    f.filename,
                    prefix,
                    url,
                    f.sha256,
                    f.size,
                    lanes.index.get(f.lane, -1) if f.lane else -1,
                    commit_index.get(f.commit, -1) if f.commit else -1,
                    1 if f.imported else 0,
                ]
            )
        rows.append([release.version, 1 if release.prerelease else 0, files])
    packed_commits = []
    for p in commits:
        build = [strings(p.build[k]) if k in p.build else -1 for k in build_keys]
        while build and build[-1] == -1:
            build.pop()
        packed_commits.append(
            [
                p.commit,
                lanes.index.get(p.lane, -1),
                p.time,
                strings(p.author),
                p.summary,
                build,
                strings(p.status),
                fold_index.get(p.fold, -1) if p.fold else -1,
                p.reason,
            ]
        )
    return {
        "cols": [[c.platform, c.platform_version, c.arch] for c in data.columns],
        "lanes": lanes.names,
        "buildKeys": build_keys,
        "rows": rows,
        "commits": packed_commits,
        "folds": [
            [fold, known[fold].time, known[fold].summary] if fold in known else [fold, None, ""]
            for fold in fold_ids
        ],
        "strings": strings.table,
        "window": data.window,
        "complete": data.complete,
    }


def _header(data: ReportData, lanes: _Lanes) -> str:
    files = sum(len(r.files) for r in data.releases)
    pending = sum(len(lane.pending) for lane in data.lanes)
    held = sum(1 for lane in data.lanes if lane.held_back is not None)
    rejections = sum(len(lane.rejections) for lane in data.lanes)
    prereleases = sum(1 for r in data.releases if r.prerelease)
    tiles = [
        (
            "releases",
            len(data.releases),
            f"{prereleases} prerelease" + ("" if prereleases == 1 else "s"),
            "",
        ),
        ("files", files, f"{len(data.columns)} platform/arch columns", ""),
        ("lanes", len(data.lanes), "build identities writing here", ""),
        ("pending", pending, "partials not yet published", "warn" if pending else ""),
        ("held back", held, "lanes waiting on a decision", "bad" if held else ""),
        ("rejected", rejections, "partials an operator refused", ""),
    ]
    tile_html = "".join(
        f'<div class="tile {cls}"><b>{count}</b><span>{e(label)}</span><small>{e(note)}</small></div>'
        for label, count, note, cls in tiles
    )
    rev_note = ""
    if not data.at_tip:
        rev_note = (
            '<p class="banner">This report is for an older publication, not the tip of '
            f"{e(data.public_ref)}: pending and held-back partials are relative to it.</p>"
        )
    return (
        '<header class="top"><div class="wrap">'
        '<div class="brand">refold report</div>'
        f"<h1>{e(data.manifest_path)}</h1>"
        f'<p class="meta"><span>store <code>{e(data.store)}</code></span>'
        f'<span>{e(data.public_ref)} at <code title="{e(data.commit)}">{e(short(data.commit))}</code></span>'
        f"<span>published {e(when(data.time))}</span></p>"
        f'<p class="meta sub">{e(data.summary)}</p>'
        '<nav><a href="#matrix">Availability</a><a href="#lanes">Lanes</a>'
        '<a href="#publications">Publications</a></nav>'
        f'</div></header><main class="wrap">{rev_note}<div class="tiles">{tile_html}</div>'
    )


def _filters(data: ReportData) -> str:
    platforms = sorted({c.platform for c in data.columns})
    arches = sorted({c.arch for c in data.columns})

    def options(values: Sequence[str]) -> str:
        return '<option value="">all</option>' + "".join(
            f'<option value="{e(v)}">{e(v)}</option>' for v in values
        )

    return (
        '<form class="filters" id="filters" autocomplete="off">'
        '<label>Version<input id="f-version" name="version" placeholder="e.g. 3.13" spellcheck="false"></label>'
        f'<label>Platform<select id="f-platform" name="platform">{options(platforms)}</select></label>'
        f'<label>Arch<select id="f-arch" name="arch">{options(arches)}</select></label>'
        '<label class="grow">Search<input id="f-q" name="q" type="search" spellcheck="false" '
        'placeholder="filename, URL, sha256, lane, commit, run id"></label>'
        '<label class="check"><input id="f-pre" name="pre" type="checkbox" checked>prereleases</label>'
        '<button type="reset" id="f-reset">Reset</button>'
        f'<output id="f-count">{_plural(len(data.releases), "release")}</output>'
        "</form>"
    )


def _groups(columns: Sequence[Column], key: Any) -> list[tuple[Any, int, int]]:
    """Runs of consecutive columns sharing ``key``: (value, first index, last index)."""
    out: list[tuple[Any, int, int]] = []
    for index, column in enumerate(columns):
        value = key(column)
        if out and out[-1][0] == value:
            out[-1] = (value, out[-1][1], index)
        else:
            out.append((value, index, index))
    return out


def _matrix(data: ReportData, lanes: _Lanes) -> str:
    if not data.releases:
        return (
            '<section id="matrix"><h2>Availability</h2>'
            '<p class="empty">Nothing is published at this revision yet.</p></section>'
        )
    columns = data.columns
    by_platform = _groups(columns, lambda c: c.platform)
    by_version = _groups(columns, lambda c: (c.platform, c.platform_version))
    head1 = "".join(
        f'<th colspan="{b - a + 1}" data-cols="{a}-{b}" class="g">{e(p)}</th>'
        for p, a, b in by_platform
    )
    head2 = "".join(
        f'<th colspan="{b - a + 1}" data-cols="{a}-{b}" class="g2">{e(pv if pv is not None else "any")}</th>'
        for (_, pv), a, b in by_version
    )
    head3 = "".join(
        f'<th data-c="{i}" data-col="{e(_col_label(c))}" title="{e(_col_label(c))}">{e(c.arch).replace("-", "-<wbr>")}</th>'
        for i, c in enumerate(columns)
    )
    col_index = {(c.platform, c.platform_version, c.arch): i for i, c in enumerate(columns)}
    body = []
    for r, release in enumerate(data.releases):
        cells: dict[int, list[Any]] = {}
        for f in release.files:
            cells.setdefault(col_index[(f.platform, f.platform_version, f.arch)], []).append(f)
        tds = []
        for c in range(len(columns)):
            here = cells.get(c)
            if not here:
                tds.append("<td></td>")
                continue
            first = here[0]
            count = str(len(here)) if len(here) > 1 else ""
            tds.append(
                f'<td class="y {lanes.cls(first.lane, first.imported)}" data-c="{c}">{count}</td>'
            )
        badges = ""
        if release.prerelease:
            badges += '<span class="pre">pre</span>'
        if release.lts:
            badges += f'<span class="lts">{e(release.lts)}</span>'
        classes = ' class="p"' if release.prerelease else ""
        body.append(
            f'<tr data-r="{r}" data-v="{e(release.version)}"{classes}>'
            f"<th>{e(release.version)}{badges}</th>{''.join(tds)}</tr>"
        )
    legend = (
        "".join(f"<span>{lanes.swatch(name)}{e(name)}</span>" for name in lanes.names)
        + f"<span>{lanes.swatch(None, True)}imported</span>"
    )
    return (
        '<section id="matrix"><div class="sechead"><h2>Availability</h2>'
        "<p>Releases newest first by platform, platform version and arch; a filled cell is a "
        "published file, coloured by the lane that wrote it. Hover for the file, click for "
        "its full provenance.</p></div>"
        f"{_filters(data)}"
        f'<div class="legend">{legend}</div>'
        '<div class="scroll"><table id="mx" class="mx"><thead>'
        f'<tr class="h1"><th rowspan="3" class="corner">release</th>{head1}</tr>'
        f'<tr class="h2">{head2}</tr><tr class="h3">{head3}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
        '<p id="none" class="empty" hidden>No release matches the filters.</p></section>'
    )


def _col_label(column: Column) -> str:
    parts = [column.platform, column.platform_version or "", column.arch]
    return " ".join(p for p in parts if p)


def _build_text(build: dict[str, str]) -> str:
    names = {"run_id": "run", "run_attempt": "attempt", "source_commit": "source"}
    shown = []
    for key, value in build.items():
        if key == "run_url":
            continue
        label = names.get(key, key.replace("_", " "))
        shown.append(f"{label} {value[:12] if key == 'source_commit' else value}")
    return " · ".join(shown)


def _partial_line(p: PartialInfo, *, detail: bool = True) -> str:
    """One partial: id, status and when; with ``detail`` its build identity too."""
    status = STATUS_LABELS.get(p.status, p.status)
    verb = "in" if p.status == "rejected" else "by"
    fold = f' {verb} <code title="{e(p.fold)}">{e(short(p.fold))}</code>' if p.fold else ""
    build = _build_text(p.build)
    line = (
        f'<code title="{e(p.commit)}">{e(short(p.commit))}</code> '
        f'<span class="st s-{_status_class(p.status)}">{e(status)}</span>{fold}'
        f'<span class="dim"> · {e(when(p.time))}</span>'
    )
    if not detail:
        return f'<span title="{e(build)}">{line}</span>'
    run = f" {link(p.build['run_url'], 'run')}" if "run_url" in p.build else ""
    error = f'<div class="why">{e(p.error)}</div>' if p.error else ""
    return line + (f'<div class="build">{e(build)}{run}</div>' if build or run else "") + error


def _status_class(status: str) -> str:
    return status.replace(" ", "-")


def _timeline(lane: LaneInfo, folds: Sequence[PublicationEntry], span: tuple[int, int]) -> str:
    """Partials as dots on a time axis, and the folds that took this lane's work as ticks."""
    width, height, pad = 360, 46, 10
    start, end = span
    scale = (width - 2 * pad) / (end - start) if end > start else 0.0

    def x(t: int) -> float:
        return round(pad + (t - start) * scale if scale else width / 2, 1)

    parts = [f'<line class="ax" x1="{pad}" y1="22" x2="{width - pad}" y2="22"/>']
    for f in folds:
        if lane.lane in f.folded or lane.lane in f.rejected:
            parts.append(
                f'<line class="fk" x1="{x(f.time)}" y1="8" x2="{x(f.time)}" y2="36">'
                f"<title>fold {e(short(f.commit))} · {e(when(f.time))}</title></line>"
            )
    for p in reversed(lane.partials):
        label = f"{short(p.commit)} · {STATUS_LABELS.get(p.status, p.status)} · {when(p.time)}"
        parts.append(
            f'<circle class="s-{_status_class(p.status)}" cx="{x(p.time)}" cy="22" r="4.5">'
            f"<title>{e(label)}</title></circle>"
        )
    parts.append(f'<text x="{pad}" y="45">{e(when(start))}</text>')
    parts.append(f'<text x="{width - pad}" y="45" text-anchor="end">{e(when(end))}</text>')
    return (
        f'<svg class="tl" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="timeline of lane {e(lane.lane)}">{"".join(parts)}</svg>'
    )


def _lane_card(
    lane: LaneInfo, lanes: _Lanes, folds: Sequence[PublicationEntry], span: tuple[int, int]
) -> str:
    held = lane.held_back
    if held is not None and held.kind == "incomplete":
        badge = '<span class="badge warn">waiting</span>'
    elif held is not None:
        badge = '<span class="badge bad">held back</span>'
    elif lane.pending:
        badge = f'<span class="badge info">{len(lane.pending)} pending</span>'
    else:
        badge = '<span class="badge ok">up to date</span>'
    rows = []
    last = lane.partials[0] if lane.partials else None
    if last is not None:
        rows.append(f"<dt>Last partial</dt><dd>{_partial_line(last)}</dd>")
    if lane.error:
        rows.append(f'<dt>Problem</dt><dd class="held">{e(lane.error)}</dd>')
    if lane.pending:
        shown = lane.pending[:8]
        items = "".join(f"<li>{_partial_line(p, detail=False)}</li>" for p in shown)
        extra = len(lane.pending) - len(shown)
        if extra:
            items += f'<li class="dim">and {extra} more</li>'
        rows.append(f"<dt>Pending</dt><dd><ol>{items}</ol></dd>")
    if held is not None:
        cls = "waiting" if held.kind == "incomplete" else "held"
        detail = f'<div class="why">where: {e(held.location)}</div>' if held.location else ""
        detail += f'<div class="why">hint: {e(held.hint)}</div>' if held.hint else ""
        rows.append(
            f'<dt>Held back</dt><dd class="{cls}"><b>{e(held.kind)}</b>: {e(held.reason)}'
            f'<div class="why">at <code title="{e(held.commit)}">{e(short(held.commit))}</code>, '
            f"{e(_plural(held.waiting, 'partial'))} waiting</div>{detail}</dd>"
        )
    if lane.rejections:
        items = "".join(
            f'<li><code title="{e(r.commit)}">{e(short(r.commit))}</code> {e(r.reason)}'
            + (
                f' <span class="dim">in fold <code>{e(short(r.fold))}</code></span>'
                if r.fold
                else ""
            )
            + "</li>"
            for r in lane.rejections
        )
        rows.append(f'<dt>Rejected</dt><dd class="rej"><ul>{items}</ul></dd>')
    more = f'<p class="dim small">last {len(lane.partials)} partials shown</p>' if lane.more else ""
    return (
        f'<article class="lane" data-lane="{e(lane.lane)}">'
        f"<header>{lanes.swatch(lane.lane)}<h3>{e(lane.lane)}</h3>{badge}</header>"
        f"<dl>{''.join(rows)}</dl>{_timeline(lane, folds, span)}{more}</article>"
    )


def _lanes(data: ReportData, lanes: _Lanes) -> str:
    if not data.lanes:
        return '<section id="lanes"><h2>Lanes</h2><p class="empty">No lane has submitted anything yet.</p></section>'
    times = [p.time for lane in data.lanes for p in lane.partials]
    times += [f.time for f in data.folds if f.folded or f.rejected]
    span = (min(times), max(times)) if times else (data.time, data.time)
    legend = (
        "".join(
            f'<span><i class="dot s-{_status_class(s)}"></i>{e(label)}</span>'
            for s, label in STATUS_LABELS.items()
        )
        + '<span><i class="tick"></i>fold</span>'
    )
    cards = "".join(_lane_card(lane, lanes, data.folds, span) for lane in data.lanes)
    return (
        '<section id="lanes"><div class="sechead"><h2>Lanes</h2>'
        "<p>Per lane: the last partial, what is pending or held back and why, what an "
        "operator rejected, and a timeline of its recent partials and the folds that "
        f'published them.</p></div><div class="legend">{legend}</div>'
        f'<div class="cards">{cards}</div></section>'
    )


def _versions(label: str, versions: Sequence[str], cls: str) -> str:
    if not versions:
        return ""
    shown = ", ".join(e(v) for v in versions[:8])
    if len(versions) > 8:
        rest = ", ".join(e(v) for v in versions[8:])
        shown += f" <details><summary>and {len(versions) - 8} more</summary>{rest}</details>"
    return f'<div class="chg {cls}"><b>{e(label)}</b> {shown}</div>'


def _publication_row(f: PublicationEntry, lanes: _Lanes) -> str:
    chips = "".join(
        f'<span class="chip">{lanes.swatch(name)}{e(name)} <b>{count}</b></span>'
        for name, count in sorted(f.folded.items())
        if count
    )
    chips += "".join(
        f'<span class="chip rejchip" title="{e(", ".join(commits))}">{e(name)} rejected '
        f"<b>{len(commits)}</b></span>"
        for name, commits in sorted(f.rejected.items())
    )
    chips += "".join(
        f'<span class="chip heldchip" title="{e(why)}">{e(name)} held back</span>'
        for name, why in sorted(f.held_back.items())
    )
    changes = (
        _versions("added", f.added, "add")
        + _versions("changed", f.changed, "mod")
        + _versions("removed", f.removed, "del")
    )
    counts = []
    for label, n in (("+", f.files_added), ("~", f.files_changed), ("\u2212", f.files_removed)):
        if n:
            counts.append(f"{label}{n}")
    files = f'<div class="dim">files {e(" ".join(counts))}</div>' if counts else ""
    if f.config_changed:
        changes += '<div class="chg"><b>config</b> changed</div>'
    if f.error:
        changes += f'<div class="why">{e(f.error)}</div>'
    return (
        f'<tr data-fold="{e(f.commit)}"><td><code title="{e(f.commit)}">{e(short(f.commit))}</code>'
        + (f'<div class="dim small">{e(f.summary)}</div>' if f.kind != "fold" else "")
        + "</td>"
        f'<td class="nowrap">{e(when(f.time))}</td>'
        f'<td><span class="kind k-{e(f.kind)}">{e(f.kind)}</span></td>'
        f"<td>{chips or '<span class=dim>-</span>'}</td>"
        f"<td>{changes or '<span class=dim>no change</span>'}{files}</td></tr>"
    )


def _publications(data: ReportData, lanes: _Lanes) -> str:
    rows = "".join(_publication_row(f, lanes) for f in data.folds)
    scope = (
        "the whole history"
        if data.complete
        else f"the last {data.window} publications (cells published before them say so)"
    )
    return (
        '<section id="publications"><div class="sechead"><h2>Publications</h2>'
        f"<p>The public branch newest first, first parents only: {e(scope)}.</p></div>"
        '<table class="log"><thead><tr><th>publication</th><th>when</th><th>kind</th>'
        f"<th>lanes</th><th>what changed</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _warnings(data: ReportData) -> str:
    if not data.warnings:
        return ""
    items = "".join(f"<li>{e(w)}</li>" for w in data.warnings)
    return (
        f'<section class="warnings"><h2>Warnings from a dry-run fold</h2><ul>{items}</ul></section>'
    )


def _footer(data: ReportData, version: str) -> str:
    branch = data.public_ref.removeprefix("refs/heads/")
    return (
        '<footer class="wrap">'
        f"<p>Generated by refold {e(version)} from <code>{e(data.store)}</code>. Every answer "
        "here is in plain git: <code>git log --first-parent "
        f"{e(branch)}</code>, <code>git show {e(branch)}:.refold/provenance.json</code>, "
        f"<code>git log {e(branch)}..refs/partials/LANE</code>.</p></footer>"
    )


CSS = """
:root{--bg:#f6f7f9;--card:#fff;--ink:#1f2937;--dim:#6b7280;--line:#e5e7eb;--accent:#1d4ed8;
--ok:#059669;--warn:#b45309;--bad:#b91c1c;--info:#1d4ed8;--pre:#7c3aed}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:13px/1.45 system-ui,-apple-system,
"Segoe UI",Roboto,"Liberation Sans","DejaVu Sans",Arial,sans-serif}
code,.mono{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"Liberation Mono","DejaVu Sans Mono",monospace;font-size:12px}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
.wrap{max-width:1480px;margin:0 auto;padding:0 24px}
header.top{background:#111827;color:#e5e7eb;padding:18px 0 0}
header.top code{color:#f9fafb}
.brand{font-size:11px;letter-spacing:.12em;text-transform:uppercase;color:#9ca3af}
h1{margin:2px 0 4px;font-size:22px;font-weight:600;color:#fff}
.meta{margin:0;color:#9ca3af;display:flex;flex-wrap:wrap;gap:18px}
.meta.sub{margin-top:2px;font-size:12px}
nav{display:flex;gap:4px;margin-top:14px}
nav a{color:#d1d5db;padding:8px 14px;border-radius:6px 6px 0 0}
nav a:hover{background:#1f2937;text-decoration:none;color:#fff}
main.wrap{padding-top:18px;padding-bottom:24px}
.banner{background:#fef3c7;border:1px solid #fcd34d;color:#78350f;padding:8px 12px;border-radius:6px}
.tiles{display:grid;grid-template-columns:repeat(6,1fr);gap:12px;margin-bottom:22px}
.tile{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px;display:flex;flex-direction:column}
.tile b{font-size:24px;font-weight:600;line-height:1.1}
.tile span{font-weight:600;text-transform:uppercase;font-size:11px;letter-spacing:.06em;color:var(--dim);margin-top:2px}
.tile small{color:var(--dim)}
.tile.warn b{color:var(--warn)}.tile.bad b{color:var(--bad)}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;margin-bottom:22px}
.sechead{display:flex;align-items:baseline;gap:16px;flex-wrap:wrap}
h2{font-size:16px;margin:0 0 8px}
.sechead p{margin:0 0 8px;color:var(--dim)}
.filters{display:flex;flex-wrap:wrap;gap:10px 14px;align-items:flex-end;padding:10px 12px;background:#f9fafb;
border:1px solid var(--line);border-radius:8px;margin:6px 0 10px}
.filters label{display:flex;flex-direction:column;font-size:11px;font-weight:600;color:var(--dim);text-transform:uppercase;letter-spacing:.04em;gap:3px}
.filters label.grow{flex:1;min-width:220px}
.filters label.check{flex-direction:row;align-items:center;gap:6px;text-transform:none;font-size:13px;color:var(--ink);font-weight:400;padding-bottom:6px}
.filters input,.filters select{font:inherit;font-size:13px;padding:5px 8px;border:1px solid #d1d5db;border-radius:6px;background:#fff;color:var(--ink);min-width:120px}
.filters input:focus,.filters select:focus{outline:2px solid #93c5fd;border-color:#60a5fa}
.filters input[type=checkbox]{min-width:0;margin:0}
.filters label.grow input{width:100%}
.filters button{font:inherit;padding:5px 12px;border:1px solid #d1d5db;border-radius:6px;background:#fff;cursor:pointer}
.filters output{margin-left:auto;color:var(--dim);padding-bottom:6px}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;color:var(--dim);font-size:12px;margin:4px 0 10px}
.legend span{display:inline-flex;align-items:center;gap:6px}
.sw{display:inline-block;width:11px;height:11px;border-radius:3px;background:var(--lc);flex:none}
.scroll{overflow:auto;max-height:72vh;border:1px solid var(--line);border-radius:8px}
table.mx{border-collapse:separate;border-spacing:0;font-size:12px}
.mx th,.mx td{border-bottom:1px solid #f0f1f3;border-right:1px solid #f0f1f3}
.mx thead th{position:sticky;background:#f9fafb;z-index:2;font-weight:600;white-space:nowrap;padding:0 6px;height:24px;color:#374151}
.mx thead tr.h1 th{top:0}.mx thead tr.h2 th{top:24px;color:var(--dim);font-weight:500}
.mx thead tr.h3 th{top:48px;height:36px;font-weight:500;font-size:11px;line-height:1.2;color:var(--dim);min-width:36px;max-width:76px;white-space:normal;border-bottom:1px solid #d1d5db}
.mx thead th.g{border-left:2px solid #d1d5db;text-transform:uppercase;letter-spacing:.05em;font-size:11px}
.mx th.corner{left:0;z-index:4;text-align:left;vertical-align:bottom;padding:0 10px 6px;border-bottom:1px solid #d1d5db;font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--dim)}
.mx tbody th{position:sticky;left:0;background:#fff;z-index:1;text-align:left;font-weight:600;padding:3px 10px;white-space:nowrap;min-width:150px}
.mx tbody tr.p th{color:#4b5563;font-weight:500}
.mx tbody tr:hover th,.mx tbody tr:hover td{background:#f8fafc}
.mx td{text-align:center;padding:0;height:24px;min-width:34px}
.mx td.y{cursor:pointer;position:relative;font-size:10px;font-weight:700;color:#fff}
.mx td.y::before{content:"";position:absolute;top:5px;bottom:5px;left:calc(50% - 9px);width:18px;border-radius:4px;background:var(--lc);z-index:-1}
.mx td.y:hover::before,.mx td.y.sel::before{box-shadow:0 0 0 2px #fff,0 0 0 4px #111827}
.mx td.y:focus{outline:none}.mx td.y:focus-visible::before{box-shadow:0 0 0 2px #fff,0 0 0 4px #2563eb}
.mx td.y{line-height:24px}
.mx td.y{z-index:0}
.pre,.lts{display:inline-block;margin-left:6px;padding:0 5px;border-radius:4px;font-size:10px;font-weight:600;text-transform:uppercase;letter-spacing:.04em;vertical-align:1px}
.pre{background:#ede9fe;color:var(--pre)}.lts{background:#dcfce7;color:#166534}
.empty{color:var(--dim);font-style:italic}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:14px;align-items:start}
.lane{border:1px solid var(--line);border-radius:8px;padding:12px 14px;background:#fff}
.lane header{display:flex;align-items:center;gap:8px;margin-bottom:6px}
.lane h3{margin:0;font-size:14px;font-family:ui-monospace,Menlo,Consolas,"DejaVu Sans Mono",monospace}
.lane .sw{width:12px;height:12px}
.badge{margin-left:auto;font-size:11px;font-weight:600;padding:1px 8px;border-radius:10px}
.badge.ok{background:#d1fae5;color:#065f46}.badge.info{background:#dbeafe;color:#1e40af}
.badge.warn{background:#fef3c7;color:#92400e}.badge.bad{background:#fee2e2;color:#991b1b}
dl{margin:0;display:grid;grid-template-columns:92px 1fr;gap:6px 10px}
dt{color:var(--dim);font-size:11px;font-weight:600;text-transform:uppercase;letter-spacing:.04em;padding-top:2px}
dd{margin:0;min-width:0;overflow-wrap:anywhere}
dd ol,dd ul{margin:0;padding-left:18px}
dd.held{background:#fef2f2;border-left:3px solid var(--bad);padding:6px 8px;border-radius:4px;color:#7f1d1d}
dd.waiting{background:#fffbeb;border-left:3px solid var(--warn);padding:6px 8px;border-radius:4px;color:#78350f}
dd.rej{color:#7f1d1d}
.why{color:inherit;opacity:.85;font-size:12px;margin-top:2px;overflow-wrap:anywhere}
.build{color:var(--dim);font-size:12px}
.dim{color:var(--dim)}.small{font-size:11px}.nowrap{white-space:nowrap}
.st{font-size:11px;font-weight:600;padding:0 6px;border-radius:8px}
.st.s-published{background:#d1fae5;color:#065f46}.st.s-earlier{background:#f3f4f6;color:#4b5563}
.st.s-pending{background:#dbeafe;color:#1e40af}.st.s-held-back{background:#fee2e2;color:#991b1b}
.st.s-rejected{background:#fce7f3;color:#9d174d}.st.s-not-published{background:#fef3c7;color:#92400e}
svg.tl{display:block;width:100%;height:52px;margin-top:10px}
svg.tl .ax{stroke:#d1d5db;stroke-width:1.5}
svg.tl .fk{stroke:#9ca3af;stroke-width:1.5;stroke-dasharray:2 2}
svg.tl text{font-size:9px;fill:#9ca3af}
svg.tl circle{stroke:#fff;stroke-width:1.5}
.s-published{fill:#059669;background:#059669}.s-earlier{fill:#9ca3af;background:#9ca3af}
.s-pending{fill:#2563eb;background:#2563eb}.s-held-back{fill:#dc2626;background:#dc2626}
.s-rejected{fill:#9d174d;background:#9d174d}.s-not-published{fill:#d97706;background:#d97706}
i.dot{display:inline-block;width:10px;height:10px;border-radius:50%}
i.tick{display:inline-block;width:0;height:12px;border-left:2px dashed #9ca3af}
table.log{width:100%;border-collapse:collapse}
.log th{text-align:left;font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--dim);border-bottom:1px solid #d1d5db;padding:6px 8px}
.log td{border-bottom:1px solid var(--line);padding:7px 8px;vertical-align:top}
.log tr:target td,.log tr.hl td{background:#fffbeb}
.chip{display:inline-flex;align-items:center;gap:5px;border:1px solid var(--line);border-radius:10px;padding:0 8px;margin:0 4px 4px 0;font-size:12px;white-space:nowrap}
.rejchip{background:#fdf2f8;border-color:#fbcfe8;color:#9d174d}.heldchip{background:#fef2f2;border-color:#fecaca;color:#991b1b}
.kind{font-size:11px;font-weight:600;padding:1px 7px;border-radius:8px;background:#f3f4f6;color:#374151}
.k-fold{background:#e0e7ff;color:#3730a3}.k-config{background:#fef3c7;color:#92400e}.k-other{background:#fee2e2;color:#991b1b}
.chg{margin-bottom:2px}.chg b{font-size:11px;text-transform:uppercase;letter-spacing:.04em;margin-right:4px}
.chg.add b{color:var(--ok)}.chg.mod b{color:var(--info)}.chg.del b{color:var(--bad)}
details{display:inline}summary{cursor:pointer;color:var(--accent);display:inline}
.warnings{border-color:#fcd34d;background:#fffbeb}.warnings ul{margin:0;padding-left:18px}
footer{color:var(--dim);font-size:12px;padding-bottom:30px}
#tip{position:fixed;z-index:20;pointer-events:none;background:#111827;color:#f9fafb;border-radius:6px;padding:7px 10px;font-size:12px;max-width:460px;box-shadow:0 4px 14px rgba(0,0,0,.25)}
#tip div{overflow-wrap:anywhere}#tip .dim{color:#9ca3af}
#drawer{position:fixed;top:0;right:0;bottom:0;width:min(520px,92vw);z-index:30;background:#fff;border-left:1px solid #d1d5db;box-shadow:-8px 0 24px rgba(0,0,0,.12);overflow:auto;padding:18px 20px}
#drawer h3{margin:0 0 2px;font-size:17px}
#drawer .close{position:absolute;top:12px;right:14px;border:1px solid #d1d5db;background:#fff;border-radius:6px;font:inherit;padding:2px 10px;cursor:pointer}
#drawer .file{border:1px solid var(--line);border-radius:8px;padding:10px 12px;margin-top:12px}
#drawer .fname{font-weight:600;overflow-wrap:anywhere;margin-bottom:6px}
#drawer dl{grid-template-columns:110px 1fr}
#drawer dd{overflow-wrap:anywhere}
[hidden]{display:none!important}
@media (max-width:1000px){.tiles{grid-template-columns:repeat(3,1fr)}}
"""

SCRIPT = r"""
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("report-data").textContent);
  var table = document.getElementById("mx");
  if (!table) { return; }
  var rows = table.tBodies[0].rows;
  var hide = document.getElementById("mx-hide");
  var form = document.getElementById("filters");
  var fields = {
    version: document.getElementById("f-version"),
    platform: document.getElementById("f-platform"),
    arch: document.getElementById("f-arch"),
    q: document.getElementById("f-q"),
    pre: document.getElementById("f-pre")
  };
  var count = document.getElementById("f-count");
  var none = document.getElementById("none");
  var tip = document.getElementById("tip");
  var drawer = document.getElementById("drawer");

  function utc(t) {
    if (t === null || t === undefined) { return "-"; }
    return new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }
  var S = D.strings;
  var commits = D.commits.map(function (c) {
    var build = {};
    c[5].forEach(function (v, i) { if (v >= 0) { build[D.buildKeys[i]] = S[v]; } });
    return {
      id: c[0], lane: c[1] >= 0 ? D.lanes[c[1]] : null, time: c[2], author: S[c[3]],
      summary: c[4], build: build, status: S[c[6]], fold: c[7] >= 0 ? D.folds[c[7]] : null, reason: c[8]
    };
  });
  var releases = D.rows.map(function (row) {
    return {
      version: row[0],
      pre: row[1] === 1,
      files: row[2].map(function (f) {
        return {
          col: f[0], name: f[1], url: f[2] >= 0 ? S[f[2]] + f[1] : f[3], sha: f[4], size: f[5],
          lane: f[6] >= 0 ? D.lanes[f[6]] : null, commit: f[7] >= 0 ? commits[f[7]] : null,
          imported: f[8] === 1
        };
      })
    };
  });
  var haystack = releases.map(function (release) {
    return release.files.map(function (f) {
      var c = f.commit;
      var parts = [f.name, f.url, f.sha || "", f.lane || "", c ? c.id : ""];
      if (c) { for (var k in c.build) { parts.push(c.build[k]); } }
      return parts.join("\n").toLowerCase();
    });
  });

  function state() {
    return {
      version: fields.version.value.trim(),
      platform: fields.platform.value,
      arch: fields.arch.value,
      q: fields.q.value.trim().toLowerCase(),
      pre: fields.pre.checked
    };
  }
  function versionMatches(v, prefix) {
    if (!prefix) { return true; }
    if (v.lastIndexOf(prefix, 0) !== 0) { return false; }
    if (v.length === prefix.length) { return true; }
    return ".-+".indexOf(v.charAt(prefix.length)) >= 0 || ".-+".indexOf(prefix.charAt(prefix.length - 1)) >= 0;
  }
  function apply(s) {
    var visible = D.cols.map(function (c) {
      return (!s.platform || c[0] === s.platform) && (!s.arch || c[2] === s.arch);
    });
    var rules = [];
    visible.forEach(function (on, i) {
      if (!on) {
        rules.push("#mx tbody tr>:nth-child(" + (i + 2) + ")", "#mx thead tr.h3>:nth-child(" + (i + 1) + ")");
      }
    });
    hide.textContent = rules.length ? rules.join(",") + "{display:none}" : "";
    var groups = table.tHead.querySelectorAll("th[data-cols]");
    for (var g = 0; g < groups.length; g++) {
      var span = groups[g].getAttribute("data-cols").split("-");
      var n = 0;
      for (var i = +span[0]; i <= +span[1]; i++) { if (visible[i]) { n++; } }
      groups[g].hidden = n === 0;
      groups[g].colSpan = Math.max(n, 1);
    }
    var shown = 0;
    for (var r = 0; r < rows.length; r++) {
      var release = releases[r];
      var ok = versionMatches(release.version, s.version) && (s.pre || !release.pre);
      if (ok) {
        var hit = false;
        var versionHit = !s.q || release.version.toLowerCase().indexOf(s.q) >= 0;
        for (var f = 0; f < release.files.length && !hit; f++) {
          if (visible[release.files[f].col] && (versionHit || haystack[r][f].indexOf(s.q) >= 0)) { hit = true; }
        }
        ok = hit;
      }
      rows[r].hidden = !ok;
      if (ok) { shown++; }
    }
    var cols = visible.filter(Boolean).length;
    count.textContent = shown + " of " + rows.length + " releases \u00b7 " + cols + " of " + D.cols.length + " columns";
    none.hidden = shown !== 0;
  }
  function writeHash(s, open) {
    var p = new URLSearchParams();
    if (s.version) { p.set("version", s.version); }
    if (s.platform) { p.set("platform", s.platform); }
    if (s.arch) { p.set("arch", s.arch); }
    if (s.q) { p.set("q", s.q); }
    if (!s.pre) { p.set("pre", "0"); }
    if (open) { p.set("open", open); }
    var text = p.toString();
    try { history.replaceState(null, "", text ? "#" + text : location.pathname + location.search); } catch (err) { /* file:// may refuse */ }
  }
  function update() { var s = state(); apply(s); writeHash(s); }
  function setSelect(select, value) {
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === value) { select.selectedIndex = i; return; }
    }
  }
  function readHash() {
    var p = new URLSearchParams(location.hash.replace(/^#/, ""));
    fields.version.value = p.get("version") || "";
    setSelect(fields.platform, p.get("platform") || "");
    setSelect(fields.arch, p.get("arch") || "");
    fields.q.value = p.get("q") || "";
    fields.pre.checked = p.get("pre") !== "0";
    return p;
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function webLink(url, text) {
    if (/^\s*https?:\/\//i.test(url)) {
      var a = el("a", "", text || url);
      a.href = url.trim();
      a.rel = "noopener noreferrer";
      return a;
    }
    return el("span", "url", text || url);
  }
  function pair(dl, label, value) {
    dl.appendChild(el("dt", "", label));
    var dd = el("dd");
    if (value instanceof Node) { dd.appendChild(value); } else { dd.textContent = value; }
    dl.appendChild(dd);
  }
  function filesAt(r, c) {
    return releases[r].files.filter(function (f) { return f.col === c; });
  }
  function foldText(c) {
    if (!c) { return null; }
    if (c.fold) {
      return c.fold[0].slice(0, 12) + " \u00b7 " + utc(c.fold[1]) + (c.fold[2] ? " \u00b7 " + c.fold[2] : "");
    }
    if (c.status === "earlier") { return "before the last " + D.window + " publications"; }
    return c.status;
  }
  function colText(c) {
    var col = D.cols[c];
    return [col[0], col[1] || "", col[2]].filter(Boolean).join(" ");
  }
  function showTip(td, x, y) {
    var r = +td.parentNode.getAttribute("data-r");
    var files = filesAt(r, +td.getAttribute("data-c"));
    tip.textContent = "";
    files.forEach(function (f) {
      tip.appendChild(el("div", "", f.name));
      var c = f.commit;
      var lane = f.imported ? "imported" : (f.lane || "no lane recorded");
      var line = "lane " + lane + (c ? " \u00b7 " + c.id.slice(0, 12) : "");
      var fold = foldText(c);
      tip.appendChild(el("div", "dim", line + (fold ? " \u00b7 fold " + fold : "")));
    });
    tip.hidden = false;
    var w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = Math.min(x + 14, window.innerWidth - w - 8) + "px";
    tip.style.top = (y + 16 + h > window.innerHeight ? y - h - 10 : y + 16) + "px";
  }
  function openCell(r, c) {
    var files = filesAt(r, c);
    if (!files.length) { return; }
    var prev = table.querySelector("td.sel");
    if (prev) { prev.classList.remove("sel"); }
    var td = rows[r] && rows[r].querySelector('td[data-c="' + c + '"]');
    if (td) { td.classList.add("sel"); }
    var body = drawer.querySelector(".body");
    body.textContent = "";
    body.appendChild(el("h3", "", releases[r].version + (releases[r].pre ? " (prerelease)" : "")));
    body.appendChild(el("div", "dim", colText(c)));
    files.forEach(function (f) {
      var box = el("div", "file");
      box.appendChild(el("div", "fname", f.name));
      var dl = el("dl");
      pair(dl, "download", webLink(f.url));
      pair(dl, "sha256", f.sha || "not recorded");
      if (f.size !== null) { pair(dl, "size", f.size.toLocaleString("en-US") + " bytes"); }
      var c = f.commit;
      pair(dl, "lane", f.imported ? "imported with the store's base manifest" : (f.lane || "not recorded"));
      if (c) {
        pair(dl, "partial", c.id);
        pair(dl, "submitted", utc(c.time) + " by " + c.author);
        pair(dl, "summary", c.summary);
        var keys = Object.keys(c.build);
        if (keys.length) {
          var build = el("div");
          keys.forEach(function (k) {
            var line = el("div");
            line.appendChild(el("span", "dim", k.replace(/_/g, " ") + ": "));
            line.appendChild(k === "run_url" ? webLink(c.build[k]) : el("span", "", c.build[k]));
            build.appendChild(line);
          });
          pair(dl, "build", build);
        } else {
          pair(dl, "build", "none recorded");
        }
        pair(dl, "published by", foldText(c));
      } else if (!f.imported) {
        pair(dl, "partial", "not recorded in the provenance index");
      }
      box.appendChild(dl);
      body.appendChild(box);
    });
    drawer.hidden = false;
    writeHash(state(), r + "." + c);
  }
  function closeDrawer() {
    drawer.hidden = true;
    var prev = table.querySelector("td.sel");
    if (prev) { prev.classList.remove("sel"); }
    writeHash(state());
  }

  table.addEventListener("mouseover", function (ev) {
    var td = ev.target.closest && ev.target.closest("td[data-c]");
    if (td) { showTip(td, ev.clientX, ev.clientY); } else { tip.hidden = true; }
  });
  table.addEventListener("mouseleave", function () { tip.hidden = true; });
  table.addEventListener("click", function (ev) {
    var td = ev.target.closest && ev.target.closest("td[data-c]");
    if (td) { tip.hidden = true; openCell(+td.parentNode.getAttribute("data-r"), +td.getAttribute("data-c")); }
  });
  table.addEventListener("keydown", function (ev) {
    var td = ev.target.closest && ev.target.closest("td[data-c]");
    if (td && (ev.key === "Enter" || ev.key === " ")) {
      ev.preventDefault();
      openCell(+td.parentNode.getAttribute("data-r"), +td.getAttribute("data-c"));
    }
  });
  var cells = table.querySelectorAll("td[data-c]");
  for (var i = 0; i < cells.length; i++) { cells[i].tabIndex = 0; }
  drawer.querySelector(".close").addEventListener("click", closeDrawer);
  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape" && !drawer.hidden) { closeDrawer(); } });
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  form.addEventListener("submit", function (ev) { ev.preventDefault(); });
  form.addEventListener("reset", function () { setTimeout(update, 0); });
  window.addEventListener("hashchange", function () {
    if (location.hash.indexOf("=") >= 0) { readHash(); apply(state()); }
  });

  var initial = readHash();
  apply(state());
  var open = (initial.get("open") || "").split(".");
  if (open.length === 2 && rows[+open[0]]) { openCell(+open[0], +open[1]); }
  document.documentElement.setAttribute("data-ready", "1");
})();
"""

SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; "
    f"script-src '{SCRIPT_HASH}'; base-uri 'none'; form-action 'none'"
)


def render_report(data: ReportData, *, version: str = "") -> str:
    """The whole page as one string."""
    lanes = _Lanes(_lane_names(data))
    title = f"refold report: {data.manifest_path} at {short(data.commit)}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{e(title)}</title>"
        f"<style>{CSS}\n{lanes.css()}</style>"
        '<style id="mx-hide"></style></head><body>'
        f"{_header(data, lanes)}"
        f"{_warnings(data)}"
        f"{_matrix(data, lanes)}"
        f"{_lanes(data, lanes)}"
        f"{_publications(data, lanes)}"
        "</main>"
        f"{_footer(data, version)}"
        '<div id="tip" hidden></div>'
        '<aside id="drawer" hidden aria-label="file details">'
        '<button type="button" class="close">Close</button><div class="body"></div></aside>'
        f'<script type="application/json" id="report-data">{script_json(_payload(data, lanes))}</script>'
        f"<script>{SCRIPT}</script>"
        "</body></html>\n"
    )


__all__ = ["CSP", "render_report", "script_json"]
