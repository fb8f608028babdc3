"""From what a build job produced to a partial: pick the release files, describe them.

A job knows its files by name only (a directory listing, or the release's asset list);
everything a manifest entry says is in that name, so the name is parsed with the same
rules that check entries later (``parse_artifact``, anchored on the platform, so a
prerelease such as ``3.15.0-alpha.5`` is not split into fields the way a naive split on
``-`` does). Whatever is not a release artifact is left out and reported with the
reason, never dropped silently.

URLs are built from a template rather than trusted from the asset list: an asset of a
draft release has a temporary ``untagged-...`` URL that stops working once the release
is published, and a manifest entry pointing at one breaks every download.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import msgspec
from msgspec import UNSET

from refold.manifests.artifacts import Artifact, parse_artifact
from refold.manifests.config import StoreConfig, arches_for_lane
from refold.manifests.errors import PolicyError, SchemaError, UsageError
from refold.manifests.lanes import check_lane
from refold.manifests.model import File, Release, schema_error
from refold.manifests.partial import Partial
from refold.manifests.strictjson import parse_strict_json
from refold.manifests.validate import check_file, check_partial, check_release

__all__ = [
    "DOWNLOAD_TEMPLATE",
    "RELEASE_TEMPLATE",
    "Asset",
    "Exclusion",
    "Generated",
    "Selected",
    "Selection",
    "Templates",
    "build_partial",
    "decode_assets",
    "fill_template",
    "generate",
    "select",
]

DOWNLOAD_TEMPLATE = "https://github.com/{owner}/{repo}/releases/download/{tag}/{filename}"
RELEASE_TEMPLATE = "https://github.com/{owner}/{repo}/releases/tag/{tag}"
MAX_ASSETS_BYTES = 32 * 1024 * 1024
"""A release's asset list is kilobytes; far more than that is the wrong file."""


class Asset(msgspec.Struct, frozen=True):
    """One file a build produced: its name and what is known about it.

    ``url`` comes from a release's asset list; ``sha256`` and ``size`` from reading a
    local file (or the asset list's ``digest`` and ``size``).
    """

    name: str
    url: str | None = None
    sha256: str | None = None
    size: int | None = None


class Exclusion(msgspec.Struct, frozen=True):
    filename: str
    reason: str
    hint: str = ""


class Selected(msgspec.Struct, frozen=True):
    asset: Asset
    artifact: Artifact


class Selection(msgspec.Struct, frozen=True):
    kept: tuple[Selected, ...]
    excluded: tuple[Exclusion, ...]


class Templates(msgspec.Struct, frozen=True, kw_only=True):
    """How to build URLs. Without a download template, ``tag`` implies GitHub's release URLs.

    A template may hold ``{owner}``, ``{repo}``, ``{tag}`` and ``{version}`` (and, for
    downloads, ``{filename}``, which it must hold); a template that spells the owner,
    repository and tag out literally needs none of them.
    """

    download: str | None = None
    release: str | None = None
    owner: str | None = None
    repo: str | None = None
    tag: str | None = None


class Generated(msgspec.Struct, frozen=True):
    partial: Partial
    files: tuple[Selected, ...]
    excluded: tuple[Exclusion, ...]


_DEFAULT_CONFIG = StoreConfig()
_NO_TEMPLATES = Templates()
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_NAME_VALUE = re.compile(r"[A-Za-z0-9_.-]+")
_TAG_VALUE = re.compile(r"[A-Za-z0-9_.+-]+")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_GITHUB_DOWNLOAD = re.compile(
    r"https://github\.com/(?P<owner>[^/]+)/(?P<repo>[^/]+)/releases/download/(?P<tag>[^/]+)/[^/]+"
)


def _check_value(name: str, value: str) -> None:
    pattern = _TAG_VALUE if name == "tag" else _NAME_VALUE
    if name in ("owner", "repo", "tag") and not pattern.fullmatch(value):
        raise UsageError(
            f"--{name} {value!r} is not a plain {name} name",
            location=f"--{name}",
            hint="use letters, digits, '.', '_' and '-' (a tag may also hold '+')",
        )
    if name == "tag" and value.startswith("untagged-"):
        raise UsageError(
            f"--tag {value!r} is a draft release's temporary name",
            location="--tag",
            hint="give the tag the release is published under",
        )


def fill_template(
    template: str, values: Mapping[str, str | None], *, option: str, allowed: Iterable[str]
) -> str:
    """Replace ``{name}`` placeholders; refuse unknown ones and ones with no value given.

    Deliberately not ``str.format``: a template is user input, and format fields can
    reach attributes (``{filename.__class__}``).
    """
    names = set(allowed)
    used = _PLACEHOLDER.findall(template)
    for name in used:
        if name not in names:
            raise UsageError(
                f"{option} has unknown placeholder {{{name}}}",
                location=option,
                hint="placeholders: " + ", ".join("{" + n + "}" for n in sorted(names)),
            )
        value = values.get(name)
        if value is None:
            raise UsageError(
                f"{option} uses {{{name}}} but no {name} was given",
                location=option,
                hint=f"pass --{name}" + (" (in GitHub Actions, GITHUB_REPOSITORY gives it)" if name in ("owner", "repo") else ""),
            )
        _check_value(name, value)
    rest = _PLACEHOLDER.sub("", template)
    if "{" in rest or "}" in rest:
        raise UsageError(
            f"{option} has an unmatched brace", location=option, hint="placeholders look like {tag}"
        )
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)


def _check_templates(templates: Templates) -> None:
    if templates.download is not None and "{filename}" not in templates.download:
        raise UsageError(
            "--url-template has no {filename} placeholder",
            location="--url-template",
            hint=f"for example {DOWNLOAD_TEMPLATE}",
        )


def _download_url(selected: Selected, templates: Templates) -> str:
    template = templates.download
    if template is None and templates.tag is not None:
        template = DOWNLOAD_TEMPLATE
    name = selected.asset.name
    if template is not None:
        values = {
            "owner": templates.owner,
            "repo": templates.repo,
            "tag": templates.tag,
            "version": selected.artifact.version,
            "filename": name,
        }
        return fill_template(template, values, option="--url-template", allowed=values)
    url = selected.asset.url
    if url is None:
        raise UsageError(
            f"no download URL for {name!r}",
            location=name,
            hint="pass --url-template, or --tag (with --owner and --repo) for GitHub release URLs",
        )
    if "untagged-" in url:
        raise PolicyError(
            f"the asset URL of {name!r} is a draft release's temporary URL ({url})",
            location=name,
            hint="pass --tag (and --owner/--repo) or --url-template: refold builds the URL"
            " the file will have once the release is published",
        )
    return url


def _release_url(version: str, urls: Sequence[str], templates: Templates) -> str:
    template = templates.release
    if template is None and templates.tag is not None:
        template = RELEASE_TEMPLATE
    if template is not None:
        values = {
            "owner": templates.owner,
            "repo": templates.repo,
            "tag": templates.tag,
            "version": version,
        }
        return fill_template(template, values, option="--release-url-template", allowed=values)
    # A GitHub release download URL names its release page too.
    pages = {
        f"https://github.com/{m['owner']}/{m['repo']}/releases/tag/{m['tag']}"
        for m in (_GITHUB_DOWNLOAD.fullmatch(u) for u in urls)
        if m is not None
    }
    return pages.pop() if len(pages) == 1 else ""


def _derived_stable(version: str) -> bool:
    return "-" not in version.split("+", 1)[0]


def select(
    assets: Iterable[Asset], *, lane: str | None = None, config: StoreConfig = _DEFAULT_CONFIG
) -> Selection:
    """Split the assets into release files (parsed) and exclusions (with the reason).

    With a lane, files of arches the lane may not publish are excluded too: a matrix job
    often sees every job's files in a shared release.
    """
    allowed = arches_for_lane(config, check_lane(lane, location="--lane")) if lane else None
    kept: list[Selected] = []
    excluded: list[Exclusion] = []
    seen: set[str] = set()
    for asset in assets:
        if asset.name in seen:
            raise PolicyError(
                f"{asset.name!r} is listed twice", location=asset.name, hint="list each file once"
            )
        seen.add(asset.name)
        try:
            artifact = parse_artifact(asset.name, location=asset.name)
        except PolicyError as error:
            excluded.append(Exclusion(asset.name, error.message, error.hint))
            continue
        if config.tools and artifact.tool not in config.tools:
            excluded.append(
                Exclusion(
                    asset.name,
                    f"{asset.name!r} is a {artifact.tool!r} artifact;"
                    f" this store publishes {', '.join(config.tools)}",
                )
            )
            continue
        if allowed is not None and artifact.arch not in allowed:
            excluded.append(
                Exclusion(
                    asset.name,
                    f"{asset.name!r} is for arch {artifact.arch!r};"
                    f" lane {lane!r} publishes {', '.join(sorted(allowed))}",
                    "each lane submits its own arch's files",
                )
            )
            continue
        kept.append(Selected(asset=asset, artifact=artifact))
    return Selection(kept=tuple(kept), excluded=tuple(excluded))


def build_partial(
    kept: Sequence[Selected],
    *,
    templates: Templates = _NO_TEMPLATES,
    stable: bool | None = None,
    lane: str | None = None,
    config: StoreConfig = _DEFAULT_CONFIG,
    excluded: int = 0,
) -> Partial:
    """The partial describing ``kept``, checked as ``refold submit`` would check it.

    ``stable`` None derives it from each version (a prerelease is not stable).
    """
    if not kept:
        detail = f" ({excluded} file(s) excluded, listed above)" if excluded else ""
        raise PolicyError(
            f"no release artifacts to describe{detail}",
            hint="release archives are named {tool}-{version}-{platform}[-{platform_version}]-{arch}.{ext}",
        )
    _check_templates(templates)
    by_version: dict[str, list[tuple[Selected, str]]] = {}
    for selected in kept:
        url = _download_url(selected, templates)
        by_version.setdefault(selected.artifact.version, []).append((selected, url))
    releases = []
    for version, items in by_version.items():
        files = tuple(
            File(
                filename=s.asset.name,
                arch=s.artifact.arch,
                platform=s.artifact.platform,
                platform_version=UNSET if s.artifact.platform_version is None else s.artifact.platform_version,
                download_url=url,
                sha256=UNSET if s.asset.sha256 is None else s.asset.sha256,
                size=UNSET if s.asset.size is None else s.asset.size,
            )
            for s, url in items
        )
        releases.append(
            Release(
                version=version,
                stable=_derived_stable(version) if stable is None else stable,
                release_url=_release_url(version, [u for _, u in items], templates),
                files=files,
            )
        )
    partial = Partial(lane=UNSET if lane is None else lane, releases=tuple(releases))

    def locate(r: int, f: int | None) -> str:
        release = partial.releases[r]
        return f"release {release.version}: $" if f is None else f"{release.files[f].filename}: $"

    if lane is not None:
        check_partial(partial, lane, config, locate)
    else:
        for r, release in enumerate(partial.releases):
            check_release(release, locate(r, None))
            for f, file in enumerate(release.files):
                check_file(file, release, None, config, locate(r, f))
    return partial


def generate(
    assets: Iterable[Asset],
    *,
    lane: str | None = None,
    templates: Templates = _NO_TEMPLATES,
    stable: bool | None = None,
    config: StoreConfig = _DEFAULT_CONFIG,
) -> Generated:
    """``select`` then ``build_partial``: the whole of ``refold generate`` minus the I/O."""
    selection = select(assets, lane=lane, config=config)
    partial = build_partial(
        selection.kept,
        templates=templates,
        stable=stable,
        lane=lane,
        config=config,
        excluded=len(selection.excluded),
    )
    return Generated(partial=partial, files=selection.kept, excluded=selection.excluded)


class _ApiAsset(msgspec.Struct):
    """The fields refold reads from a GitHub release asset; the API sends many more."""

    name: str
    browser_download_url: str | None = None
    size: int | None = None
    digest: str | None = None


def _asset(raw: _ApiAsset) -> Asset:
    sha256 = None
    if raw.digest is not None and raw.digest.startswith("sha256:"):
        digest = raw.digest.removeprefix("sha256:")
        sha256 = digest if _SHA256.fullmatch(digest) else None
    return Asset(name=raw.name, url=raw.browser_download_url, sha256=sha256, size=raw.size)


def decode_assets(data: bytes, *, location: str = "") -> tuple[Asset, ...]:
    """Read a release asset list: GitHub's API (a release object or its ``assets`` array),
    or the ``assets`` output of softprops/action-gh-release."""
    raw = parse_strict_json(data, what="asset list", limit=MAX_ASSETS_BYTES, location=location)
    items = raw.get("assets") if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise SchemaError(
            "asset list must be a JSON array of assets or a release object with 'assets'",
            location=location,
            hint="give the release's assets as GitHub's API returns them",
        )
    prefix = "$.assets" if isinstance(raw, dict) else "$"
    assets = []
    for index, item in enumerate(items):
        try:
            assets.append(_asset(msgspec.convert(item, _ApiAsset)))
        except msgspec.ValidationError as exc:
            error = schema_error(exc)
            path = f"{prefix}[{index}]" + error.location.removeprefix("$")
            raise SchemaError(
                error.message,
                location=f"{location}: {path}" if location else path,
                hint="each asset needs a string 'name' (and 'browser_download_url')",
            ) from None
    return tuple(assets)
