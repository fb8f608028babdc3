"""Lane names: a lane is a writer identity and also a git ref name under refs/partials/.

A lane is one ref component (``ppc64le``, ``x64-freethreaded``) or an arch with one
qualifier (``x64/linux-24.04``). Names are checked here, before git sees them, so a bad
name gets a message about the lane rather than a libgit2 error about a ref.
"""

from __future__ import annotations

import re

from refold.manifests.errors import PolicyError

LANE_REF_PREFIX = "refs/partials/"
IMPORT_LANE = ":import"
"""Owner recorded for entries that came from an imported manifest; never a valid lane."""

_COMPONENT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]*$")
_HINT = "use letters, digits, '.', '_', '-' and at most one '/' (arch/qualifier), e.g. x64/linux-24.04"


def _component_problem(part: str) -> str | None:
    if not part:
        return "has an empty component"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in part):
        return "contains a control character"
    if ".." in part:
        return "contains '..'"
    if "@{" in part:
        return "contains '@{'"
    if part.endswith(".lock"):
        return "ends with '.lock'"
    if part.endswith("."):
        return "ends with '.'"
    if part.startswith("."):
        return "starts with '.'"
    if not _COMPONENT_RE.match(part):
        bad = sorted({ch for ch in part if not re.match(r"[A-Za-z0-9._+-]", ch)})
        if not bad:
            return f"has a component starting with {part[0]!r}; start with a letter, digit or '_'"
        return f"contains {', '.join(repr(ch) for ch in bad)}"
    return None


def check_lane(lane: str, *, location: str = "lane") -> str:
    """Return ``lane`` if git and refold both accept it as a lane name, else raise."""
    parts = lane.split("/")
    if len(parts) > 2:
        raise PolicyError(
            f"lane {lane!r} has {len(parts)} components; at most arch/qualifier",
            location=location,
            hint=_HINT,
        )
    for part in parts:
        problem = _component_problem(part)
        if problem:
            raise PolicyError(f"lane {lane!r} {problem}", location=location, hint=_HINT)
    return lane


def lane_ref(lane: str) -> str:
    return LANE_REF_PREFIX + check_lane(lane)


def lane_from_ref(ref: str) -> str | None:
    return ref[len(LANE_REF_PREFIX) :] if ref.startswith(LANE_REF_PREFIX) else None


def clashing_lane(lane: str, existing: list[str] | set[str]) -> str | None:
    """An existing lane whose ref would be a directory or file where ``lane`` needs the other.

    ``x64`` and ``x64/linux`` cannot both exist as refs; git reports that obscurely.
    """
    for other in sorted(existing):
        if other == lane:
            continue
        if other.startswith(lane + "/") or lane.startswith(other + "/"):
            return other
    return None
