"""The provenance index (``.refold/provenance.json``): who last wrote each entry.

It records, per (version, filename), the lane and the partial commit that wrote the
current entry, and per release each lane's assertion of the release-level fields. The
fold commit id is deliberately absent: the index must be the same bytes however the
same partials were batched into folds (invariant 4), and the fold that published an
entry is recoverable from git (the first fold whose history contains the partial).
"""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType

from refold.manifests.model import schema_error

PROVENANCE_SCHEMA = 1


class Origin(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True, gc=False):
    """The lane and partial commit that wrote an entry; ``commit`` is None for imports."""

    lane: str
    commit: str | None = None


class Claim(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True, gc=False):
    """One lane's assertion of a release's shared fields."""

    stable: bool
    lts: str | bool | UnsetType = UNSET
    release_url: str


class Rejection(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    lane: str
    reason: str


class ProvenanceIndex(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    schema: int = PROVENANCE_SCHEMA
    files: dict[str, dict[str, Origin]] = {}
    claims: dict[str, dict[str, Claim]] = {}
    rejected: dict[str, Rejection] = {}


_decoder = msgspec.json.Decoder(ProvenanceIndex)
_encoder = msgspec.json.Encoder(order="deterministic")


def decode_provenance(data: bytes, *, location: str = ".refold/provenance.json") -> ProvenanceIndex:
    try:
        return _decoder.decode(data)
    except msgspec.MsgspecError as exc:
        raise schema_error(exc, location=location) from None


def encode_provenance(index: ProvenanceIndex) -> bytes:
    """Sorted keys, one entry per line: stable bytes and readable ``git diff`` for auditors."""
    raw = _encoder.encode(index)
    return msgspec.json.format(raw, indent=1) + b"\n"
