"""Is this partial acceptable on this lane under this config? (invariant 7)

Checked at submit (so a job learns at once) and again at fold (a partial may have been
pushed around refold, or the config may have changed since). Each rule raises a
PolicyError or SchemaError naming the JSON path in the input as the job wrote it.
"""

from __future__ import annotations

import re

from msgspec import UnsetType

from refold.manifests.artifacts import check_entry_agrees
from refold.manifests.config import StoreConfig, arches_for_lane
from refold.manifests.errors import PolicyError
from refold.manifests.lanes import check_lane
from refold.manifests.model import File, Release
from refold.manifests.ordering import parse_version
from refold.manifests.partial import Decoded, Locator, Partial

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# For ASCII text, exactly the characters the per-character test below refuses: ? # \,
# whitespace (space, \t-\r, \x1c-\x1f) and the non-printable controls and DEL.
_ODD_ASCII_URL_CHAR_RE = re.compile(r"[?#\\ \x00-\x1f\x7f]")


def check_download_url(file: File, version: str, config: StoreConfig, where: str) -> None:
    url = file.download_url
    if not url.startswith("https://"):
        scheme = url.split(":", 1)[0] + ":" if ":" in url else repr(url)
        raise PolicyError(
            f"download_url must be https, not {scheme}",
            location=f"{where}.download_url",
            hint="consumers download over https only; publish the release asset URL",
        )
    if url.isascii():
        found = _ODD_ASCII_URL_CHAR_RE.search(url)
        odd = found.group() if found else None
    else:
        odd = next((ch for ch in url if ch in "?#\\" or ch.isspace() or not ch.isprintable()), None)
    if odd is not None:
        raise PolicyError(
            f"download_url contains {odd!r}",
            location=f"{where}.download_url",
            hint="give the plain asset URL: no query, fragment, backslash or whitespace"
            " (with them the URL can end in the filename yet fetch another file)",
        )
    host = url[len("https://") :].split("/", 1)[0]
    if not host or "@" in host:
        raise PolicyError(
            f"download_url {url!r} has {'no host' if not host else 'credentials before its host'}",
            location=f"{where}.download_url",
            hint="give the asset URL as https://HOST/PATH/FILENAME",
        )
    if "untagged-" in url:
        raise PolicyError(
            f"download_url {url!r} points at a draft release (untagged-...)",
            location=f"{where}.download_url",
            hint="draft URLs change on publish; submit after the release is published",
        )
    if not url.endswith("/" + file.filename):
        raise PolicyError(
            f"download_url does not end with the filename {file.filename!r}",
            location=f"{where}.download_url",
            hint="the URL's last path segment must be the file's name",
        )
    if any(part in ("..", ".") for part in url[len("https://") :].split("/")):
        raise PolicyError(
            "download_url contains a '..' or '.' path segment",
            location=f"{where}.download_url",
            hint="give the canonical URL",
        )
    if config.url_prefix is not None:
        prefix = config.url_prefix.replace("{version}", version)
        if not url.startswith(prefix):
            raise PolicyError(
                f"download_url {url!r} is outside the store's URL policy",
                location=f"{where}.download_url",
                hint=f"URLs must start with {prefix!r} (refold config url_prefix)",
            )


def check_file(
    file: File, release: Release, lane: str | None, config: StoreConfig, where: str
) -> None:
    """Check one entry; ``lane`` None skips the lane binding (imports)."""
    artifact = check_entry_agrees(
        file.filename,
        version=release.version,
        platform=file.platform,
        platform_version=None if isinstance(file.platform_version, UnsetType) else file.platform_version,
        arch=file.arch,
        location=f"{where}.filename",
    )
    if config.tools:
        tool = artifact.tool
        if tool not in config.tools:
            raise PolicyError(
                f"filename {file.filename!r} is a {tool!r} artifact; this store publishes {', '.join(config.tools)}",
                location=f"{where}.filename",
                hint="submit to the store for that tool",
            )
    allowed = arches_for_lane(config, lane) if lane is not None else frozenset({file.arch})
    if file.arch not in allowed:
        raise PolicyError(
            f"arch {file.arch!r} may not be published on lane {lane!r} (allowed: {', '.join(sorted(allowed))})",
            location=f"{where}.arch",
            hint="submit on the lane for that arch, or map the lane in config lane_arches",
        )
    check_download_url(file, release.version, config, where)
    if not isinstance(file.sha256, UnsetType) and not _SHA256_RE.match(file.sha256):
        raise PolicyError(
            "sha256 must be 64 lowercase hex digits",
            location=f"{where}.sha256",
            hint="give the hex digest from sha256sum",
        )
    if not isinstance(file.size, UnsetType) and file.size < 0:
        raise PolicyError("size must not be negative", location=f"{where}.size")


def check_release(release: Release, where: str) -> None:
    parse_version(release.version, location=f"{where}.version")
    if release.release_url and not release.release_url.startswith("https://"):
        raise PolicyError(
            "release_url must be an https URL or empty",
            location=f"{where}.release_url",
            hint="use the release page URL",
        )
    if not release.files:
        raise PolicyError(
            f"release {release.version} has no files",
            location=f"{where}.files",
            hint="to remove files, use retract",
        )


def check_partial(partial: Partial, lane: str, config: StoreConfig, locate: Locator | None = None) -> None:
    """Raise the first rule this partial breaks on ``lane``; return None if acceptable."""

    def at(r: int, f: int | None = None) -> str:
        if locate is not None:
            return locate(r, f)
        return f"$.releases[{r}]" + ("" if f is None else f".files[{f}]")

    check_lane(lane)
    if not isinstance(partial.lane, UnsetType) and partial.lane != lane:
        raise PolicyError(
            f"partial says lane {partial.lane!r} but was submitted on lane {lane!r}",
            location="$.lane",
            hint="submit it with --lane matching the document, or drop the field",
        )
    if not partial.releases and not partial.retract:
        raise PolicyError(
            "partial has no releases and no retractions", hint="a partial must change something"
        )
    seen_versions: dict[str, int] = {}
    keys: set[tuple[str, str]] = set()
    for r, release in enumerate(partial.releases):
        check_release(release, at(r))
        if release.version in seen_versions:
            raise PolicyError(
                f"release {release.version} appears twice (also at {at(seen_versions[release.version])})",
                location=at(r),
                hint="list each release once with all its files",
            )
        seen_versions[release.version] = r
        for f, file in enumerate(release.files):
            where = at(r, f)
            key = (release.version, file.filename)
            if key in keys:
                raise PolicyError(
                    f"duplicate entry {file.filename!r} in release {release.version}",
                    location=where,
                    hint="list each file once",
                )
            keys.add(key)
            check_file(file, release, lane, config, where)
    for t, retraction in enumerate(partial.retract):
        where = f"$.retract[{t}]"
        parse_version(retraction.version, location=f"{where}.version")
        if isinstance(retraction.filename, UnsetType):
            if retraction.version in seen_versions:
                raise PolicyError(
                    f"release {retraction.version} is both retracted and published",
                    location=where,
                    hint="a partial either retracts a release's files or publishes them",
                )
            continue
        if (retraction.version, retraction.filename) in keys:
            raise PolicyError(
                f"{retraction.filename!r} is both retracted and published",
                location=where,
                hint="publishing an entry already replaces it; drop the retraction",
            )
        if not retraction.filename:
            raise PolicyError(
                "retracted filename is empty",
                location=f"{where}.filename",
                hint="omit filename to retract all of the lane's files in the release",
            )
        if "/" in retraction.filename or "\\" in retraction.filename or ".." in retraction.filename:
            raise PolicyError(
                f"retracted filename {retraction.filename!r} contains a path separator or '..'",
                location=f"{where}.filename",
            )


def check_decoded(decoded: Decoded, lane: str, config: StoreConfig) -> None:
    check_partial(decoded.partial, lane, config, decoded.locate)
