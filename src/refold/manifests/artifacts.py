"""Release artifact filenames: what a toolchain archive is called, and what it is not.

actions/python-versions, node-versions, go-versions and IBM/python-versions-pz name
every archive ``{tool}-{version}-{platform}[-{platform_version}]-{arch}.{ext}``, and
``@actions/tool-cache`` trusts the entry's fields, not the name, to pick a download. So
a name is worth parsing twice over: to keep SBOMs, scan reports and logs out of the
manifest, and to catch entries whose fields disagree with the file they point at.

The version is semver and may itself contain ``-`` (``3.15.0-alpha.5``), so splitting on
``-`` goes wrong (python-versions-pz's published alpha partials are the proof). Parsing
therefore works from the right: extension, then arch (with its variant), then the last
known platform and its optional platform version, and what is left is tool and version.
Because the platform is the last thing before ``[-platform_version]-arch``, that split
is unique even for prereleases that contain platform-like words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import msgspec

from refold.manifests.errors import PolicyError

__all__ = [
    "ARCHES",
    "EXTENSIONS",
    "PLATFORMS",
    "VARIANTS",
    "Artifact",
    "check_entry_agrees",
    "expected_filename",
    "is_release_artifact",
    "parse_artifact",
]

PLATFORMS: tuple[str, ...] = (
    "darwin",
    "linux",
    "win32",
    "rhel",
    "aix",
    "freebsd",
    "openbsd",
    "sunos",
    "macos",
    "windows",
    "ubuntu",
)
ARCHES: tuple[str, ...] = (
    "x64",
    "x86",
    "arm64",
    "ppc64le",
    "s390x",
    "armv7l",
    "armv6l",
    "riscv64",
    "loong64",
    "ppc64",
    "386",
    "amd64",
    "arm",
    "aarch64",
)
VARIANTS: tuple[str, ...] = ("freethreaded", "debug")
# Longest first, so ``.tar.gz`` is never mistaken for a bare ``.gz``.
EXTENSIONS: tuple[str, ...] = ("tar.gz", "tar.xz", "tgz", "zip", "7z", "msi", "pkg")

# tool-cache and GitHub release assets both cap names well below this; longer is a bug.
_MAX_LENGTH = 255
_SAFE_CHARS = re.compile(r"[A-Za-z0-9._+-]+")


def _alternation(words: tuple[str, ...]) -> str:
    # Longest first so ``ppc64le`` wins over ``ppc64`` and ``arm64`` over ``arm``.
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_PLATFORM = f"(?:{_alternation(PLATFORMS)})"
_ARCH = f"(?:{_alternation(ARCHES)})(?:-(?:{_alternation(VARIANTS)}))?"
_PLATFORM_VERSION = r"[0-9]+(?:\.[0-9]+)*"
_TOOL = r"[a-z][a-z0-9_]*(?:-[a-z][a-z0-9_]*)*"
_IDENT = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_SEMVER = (
    r"(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)"
    rf"(?:-{_IDENT}(?:\.{_IDENT})*)?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)

_ARCH_TAIL = re.compile(rf"(?P<head>.*)-(?P<arch>{_ARCH})")
_PLATFORM_TAIL = re.compile(
    rf"(?P<lead>.*)-(?P<platform>{_PLATFORM})(?:-(?P<platform_version>{_PLATFORM_VERSION}))?"
)
_ANCHORED_REST = re.compile(
    rf"(?P<platform>{_PLATFORM})(?:-(?P<platform_version>{_PLATFORM_VERSION}))?"
    rf"-(?P<arch>{_ARCH})"
)
_TOOL_RE = re.compile(_TOOL)
_SEMVER_RE = re.compile(_SEMVER)
_PLATFORM_VERSION_RE = re.compile(_PLATFORM_VERSION)
_ARCH_RE = re.compile(_ARCH)
_TOOL_THEN_VERSION = re.compile(r"(?P<tool>.*?)-(?P<version>[0-9].*)")

_NAME_HINT = "give the artifact's base name, e.g. python-3.13.1-linux-22.04-x64.tar.gz"
_SHAPE_HINT = (
    "release artifacts are named {tool}-{version}-{platform}[-{platform_version}]-{arch}.{ext}"
)
_AGREE_HINT = (
    "make the entry's fields match its filename (or rename the artifact): tool-cache picks"
    " a download by the entry's fields, then fetches whatever file it names"
)


class Artifact(msgspec.Struct, frozen=True):
    """A release filename taken apart, so entries can be checked against their own file.

    ``arch`` keeps its variant (``arm64-freethreaded``) because the manifest's ``arch``
    field does, and a lane is bound to that whole string.
    """

    tool: str
    version: str
    platform: str
    platform_version: str | None
    arch: str
    ext: str


_SBOM = ("an SBOM", "publish SBOMs and scan reports as release assets, not manifest entries")
_SCAN = (
    "a vulnerability scan report",
    "publish SBOMs and scan reports as release assets, not manifest entries",
)
_LOG = ("a build log", "keep build logs as CI artifacts, not manifest entries")
_CHECKSUM = ("a checksum file", "publish checksum files as release assets, not manifest entries")
_SIGNATURE = (
    "a signature or attestation",
    "publish signatures and attestations as release assets, not manifest entries",
)
_RESULT = (
    "a test or gate result",
    "keep test and gate results as CI artifacts, not manifest entries",
)
_ARCHIVE_HINT = (
    "the manifest lists toolchain archives only (" + ", ".join("." + e for e in EXTENSIONS) + ")"
)


def _ends(*suffixes: str) -> Callable[[str], bool]:
    return lambda name: name.endswith(suffixes)


def _starts(*prefixes: str) -> Callable[[str], bool]:
    return lambda name: name.startswith(prefixes)


# Checked in order on the lowercased name: specific kinds before the catch-all suffixes,
# so ``trivy-results.json`` is called a scan report rather than a JSON document.
_NON_RELEASE: tuple[tuple[Callable[[str], bool], tuple[str, str]], ...] = (
    (_ends(".sbom.json", ".spdx.json", ".cdx.json", ".cdx.xml", ".spdx", ".sbom"), _SBOM),
    (_starts("sbom"), _SBOM),
    (_starts("trivy-", "grype-"), _SCAN),
    (_ends(".sarif", ".sarif.json"), _SCAN),
    (_ends(".log", ".log.gz"), _LOG),
    (_ends(".sha256", ".sha512", ".sha1", ".md5", ".sha256sum", ".sha512sum"), _CHECKSUM),
    (_starts("sha256sums", "sha512sums", "shasums", "md5sums", "checksums"), _CHECKSUM),
    (_ends(".sig", ".asc", ".sigstore", ".sigstore.json", ".intoto.jsonl"), _SIGNATURE),
    (_ends(".xml", "-results.json", "_results.json"), _RESULT),
    (_starts("gate-", "junit"), _RESULT),
    (_ends(".json", ".jsonl"), ("a JSON document", _ARCHIVE_HINT)),
    (_ends(".txt"), ("a text file", _ARCHIVE_HINT)),
    (_ends(".md"), ("a Markdown document", _ARCHIVE_HINT)),
    (_ends(".html", ".htm"), ("an HTML report", _ARCHIVE_HINT)),
)


def _screen(filename: str, location: str) -> None:
    """Refuse names that are not a plain file name, then names of known non-release files."""
    if not filename:
        raise PolicyError("filename is empty", location=location, hint=_NAME_HINT)
    if "/" in filename or "\\" in filename:
        raise PolicyError(
            f"filename {filename!r} contains a path separator",
            location=location,
            hint="give the base name only; download_url says where the file lives",
        )
    if filename in (".", ".."):
        raise PolicyError(
            f"filename {filename!r} is a relative path component, not a file name",
            location=location,
            hint=_NAME_HINT,
        )
    if filename.startswith("."):
        raise PolicyError(
            f"filename {filename!r} starts with '.' (a hidden file)",
            location=location,
            hint=_NAME_HINT,
        )
    # Cf too: a zero-width space or a right-to-left override makes a name lie on screen.
    hidden = [ch for ch in filename if unicodedata.category(ch) in ("Cc", "Cf")]
    if hidden:
        raise PolicyError(
            f"filename {filename!r} contains a control character (U+{ord(hidden[0]):04X})",
            location=location,
            hint=_NAME_HINT,
        )
    if any(ch.isspace() for ch in filename):
        raise PolicyError(
            f"filename {filename!r} contains whitespace", location=location, hint=_NAME_HINT
        )
    if len(filename.encode("utf-8")) > _MAX_LENGTH:
        raise PolicyError(
            f"filename {filename[:40]!r}... is longer than {_MAX_LENGTH} bytes",
            location=location,
            hint=_NAME_HINT,
        )
    lowered = filename.lower()
    for matches, (kind, hint) in _NON_RELEASE:
        if matches(lowered):
            raise PolicyError(
                f"{filename!r} is {kind}, not a release artifact", location=location, hint=hint
            )


def _split_extension(filename: str, location: str) -> tuple[str, str]:
    for ext in EXTENSIONS:
        if filename.endswith("." + ext) and len(filename) > len(ext) + 1:
            return filename[: -len(ext) - 1], ext
    known = ", ".join("." + e for e in EXTENSIONS)
    stem, _, last = filename.rpartition(".")
    if not stem or not last.isalnum():
        message = f"filename {filename!r} has no extension (release archives end in {known})"
    else:
        suffix = "." + last
        if stem.endswith(".tar"):
            suffix = ".tar" + suffix
        message = (
            f"filename {filename!r} has unknown extension {suffix!r}"
            f" (release archives end in {known})"
        )
    raise PolicyError(message, location=location, hint=_SHAPE_HINT)


def _arch_error(filename: str, stem: str, location: str) -> PolicyError:
    tokens = stem.split("-")
    last = tokens[-1]
    before = tokens[-2] if len(tokens) >= 2 else ""
    if before in ARCHES and last not in VARIANTS:
        message = (
            f"filename {filename!r} has unknown arch variant {last!r} after {before!r}"
            f" (known variants: {', '.join(VARIANTS)})"
        )
    elif last in VARIANTS:
        message = (
            f"filename {filename!r} has unknown arch {before!r} before variant {last!r}"
            f" (known arches: {', '.join(ARCHES)})"
        )
    else:
        message = (
            f"filename {filename!r} has unknown arch {last!r} (known arches: {', '.join(ARCHES)})"
        )
    return PolicyError(message, location=location, hint=_SHAPE_HINT)


def _platform_error(filename: str, head: str, arch: str, location: str) -> PolicyError:
    tokens = head.split("-")
    # The last known platform word, if any, tells what sits where a platform version should.
    for index in range(len(tokens) - 1, 0, -1):
        if tokens[index] in PLATFORMS:
            between = "-".join(tokens[index + 1 :])
            message = (
                f"filename {filename!r} has {between!r} between platform {tokens[index]!r}"
                f" and arch {arch!r}; only a platform version (digits and dots, e.g. 22.04)"
                " may go there"
            )
            return PolicyError(message, location=location, hint=_SHAPE_HINT)
    message = (
        f"filename {filename!r} has no known platform before arch {arch!r}"
        f" (known platforms: {', '.join(PLATFORMS)})"
    )
    return PolicyError(message, location=location, hint=_SHAPE_HINT)


def _parse_screened(filename: str, location: str) -> Artifact:
    if not _SAFE_CHARS.fullmatch(filename):
        odd = next(ch for ch in filename if not _SAFE_CHARS.fullmatch(ch))
        raise PolicyError(
            f"filename {filename!r} contains {odd!r}; release filenames use only letters,"
            " digits, '.', '-', '_' and '+'",
            location=location,
            hint=_SHAPE_HINT,
        )
    stem, ext = _split_extension(filename, location)
    arch_match = _ARCH_TAIL.fullmatch(stem)
    if arch_match is None:
        raise _arch_error(filename, stem, location)
    head, arch = arch_match["head"], arch_match["arch"]
    platform_match = _PLATFORM_TAIL.fullmatch(head)
    if platform_match is None:
        raise _platform_error(filename, head, arch, location)
    lead, platform = platform_match["lead"], platform_match["platform"]
    split = _TOOL_THEN_VERSION.fullmatch(lead)
    if split is None:
        raise PolicyError(
            f"filename {filename!r} has no version between the tool name and platform {platform!r}",
            location=location,
            hint=_SHAPE_HINT,
        )
    tool, version = split["tool"], split["version"]
    if not _TOOL_RE.fullmatch(tool):
        raise PolicyError(
            f"filename {filename!r} has tool name {tool!r}; tool names are lowercase letters,"
            " digits and '_' (words joined by '-')",
            location=location,
            hint=_SHAPE_HINT,
        )
    if not _SEMVER_RE.fullmatch(version):
        raise PolicyError(
            f"filename {filename!r} has version {version!r}, which is not semver"
            " (MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD])",
            location=location,
            hint=_SHAPE_HINT,
        )
    return Artifact(
        tool=tool,
        version=version,
        platform=platform,
        platform_version=platform_match["platform_version"],
        arch=arch,
        ext=ext,
    )


def parse_artifact(filename: str, *, location: str = "") -> Artifact:
    """Take a release filename apart, or say precisely why it is not one.

    Raises PolicyError: first for names that are not a plain file name at all, then for
    known non-release files (SBOMs, scan reports, logs, checksums, signatures, test
    results), then naming the part that does not parse.
    """
    _screen(filename, location)
    return _parse_screened(filename, location)


def is_release_artifact(filename: str) -> bool:
    """For filters that only need yes or no; the reason comes from parse_artifact."""
    try:
        parse_artifact(filename)
    except PolicyError:
        return False
    return True


def expected_filename(
    tool: str,
    version: str,
    platform: str,
    platform_version: str | None,
    arch: str,
    ext: str,
) -> str:
    """The name an entry with these fields should point at.

    Every component is checked, so the result always parses back to the same fields;
    a component that could not round-trip is a PolicyError naming it.
    """
    checks: tuple[tuple[str, str, bool, str], ...] = (
        ("tool", tool, bool(_TOOL_RE.fullmatch(tool)), "lowercase letters, digits and '_'"),
        ("version", version, bool(_SEMVER_RE.fullmatch(version)), "semver"),
        ("platform", platform, platform in PLATFORMS, ", ".join(PLATFORMS)),
        (
            "platform_version",
            platform_version or "",
            platform_version is None or bool(_PLATFORM_VERSION_RE.fullmatch(platform_version)),
            "digits and dots, or None",
        ),
        ("arch", arch, bool(_ARCH_RE.fullmatch(arch)), ", ".join(ARCHES) + " [-variant]"),
        ("ext", ext, ext in EXTENSIONS, ", ".join(EXTENSIONS)),
    )
    for field, value, ok, expected in checks:
        if not ok:
            raise PolicyError(
                f"cannot build a release filename from {field} {value!r} (expected {expected})",
                hint=_SHAPE_HINT,
            )
    platform_part = platform if platform_version is None else f"{platform}-{platform_version}"
    return f"{tool}-{version}-{platform_part}-{arch}.{ext}"


def _parse_with_version(filename: str, version: str) -> Artifact | None:
    """Parse with the entry's version as the anchor; None when the name does not fit it."""
    if not _SEMVER_RE.fullmatch(version):
        return None
    marker = f"-{version}-"
    at = filename.find(marker)
    if at <= 0:
        return None
    tool = filename[:at]
    if not _TOOL_RE.fullmatch(tool):
        return None
    rest = filename[at + len(marker) :]
    for ext in EXTENSIONS:
        if rest.endswith("." + ext):
            match = _ANCHORED_REST.fullmatch(rest[: -len(ext) - 1])
            if match is None:
                return None
            return Artifact(
                tool=tool,
                version=version,
                platform=match["platform"],
                platform_version=match["platform_version"],
                arch=match["arch"],
                ext=ext,
            )
    return None


def _show(value: str | None) -> str:
    return "none" if value is None else repr(value)


def check_entry_agrees(
    filename: str,
    *,
    version: str,
    platform: str,
    platform_version: str | None,
    arch: str,
    location: str = "",
) -> Artifact:
    """Parse a manifest entry's filename and insist its fields say the same thing.

    tool-cache selects by the entry's fields but downloads the named file, so a
    disagreement ships the wrong binary. ``platform_version=None`` stands for an absent
    field and matches only a filename without one. The first disagreeing field (in the
    order version, platform, platform_version, arch) is the one reported.
    """
    _screen(filename, location)
    artifact = _parse_with_version(filename, version) or _parse_screened(filename, location)
    fields: tuple[tuple[str, str | None, str | None], ...] = (
        ("version", artifact.version, version),
        ("platform", artifact.platform, platform),
        ("platform_version", artifact.platform_version, platform_version),
        ("arch", artifact.arch, arch),
    )
    for field, in_name, in_entry in fields:
        if in_name == in_entry:
            continue
        if in_name is None:
            message = f"filename {filename!r} has no {field} but the entry says {_show(in_entry)}"
        elif in_entry is None:
            message = f"filename {filename!r} says {field} {_show(in_name)} but the entry has none"
        else:
            message = (
                f"filename {filename!r} says {field} {_show(in_name)}"
                f" but the entry says {_show(in_entry)}"
            )
        raise PolicyError(message, location=location, hint=_AGREE_HINT)
    return artifact
