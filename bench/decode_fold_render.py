"""Scenario 1 (issue 2): decode + fold one partial + render, against msgspec's own floor.

The pure functions only, no git: how much does refold's strict model, merge rules and
canonical rendering cost on top of parsing and printing the same bytes? A real fold also
reads and writes the provenance index, so the figure is given with and without it.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import msgspec

from bench.common import fmt_ratio, fmt_seconds, per_call, table
from bench.fixtures import fan_in_jobs, realistic_manifest
from refold.manifests.config import StoreConfig
from refold.manifests.fold import Pending, fold
from refold.manifests.model import Manifest, decode_manifest
from refold.manifests.partial import decode_partial
from refold.manifests.provenance import (
    Claim,
    Origin,
    ProvenanceIndex,
    decode_provenance,
    encode_provenance,
)
from refold.manifests.render import render_manifest

FAKE_COMMIT = "5f3c9e0d1b2a4c6e8f0a1b2c3d4e5f60718293a4"


def lane_of(arch: str, platform: str, platform_version: str | None) -> str:
    return f"{arch}/{platform}-{platform_version}" if platform_version else f"{arch}/{platform}"


def lane_written_provenance(manifest: Manifest) -> ProvenanceIndex:
    """The index as it looks once every entry has come through a lane (the larger case)."""
    files: dict[str, dict[str, Origin]] = {}
    claims: dict[str, dict[str, Claim]] = {}
    for n, release in enumerate(manifest):
        commit = f"{n:08x}" + FAKE_COMMIT[8:]
        claim = Claim(stable=release.stable, lts=release.lts, release_url=release.release_url)
        for file in release.files:
            pv = file.platform_version if isinstance(file.platform_version, str) else None
            lane = lane_of(file.arch, file.platform, pv)
            files.setdefault(release.version, {})[file.filename] = Origin(lane=lane, commit=commit)
            claims.setdefault(release.version, {})[lane] = claim
    return ProvenanceIndex(files=files, claims=claims)


class Inputs(msgspec.Struct):
    manifest: bytes
    provenance: bytes
    pending: dict[str, list[Pending]]
    expected: tuple[str, str]
    config: StoreConfig


def inputs() -> Inputs:
    data = realistic_manifest()
    provenance = encode_provenance(lane_written_provenance(decode_manifest(data)))
    job = fan_in_jobs(1)[0]
    partial = decode_partial(json.dumps(job.partial()).encode()).partial
    pending = {job.lane: [Pending(lane=job.lane, commit=FAKE_COMMIT, partial=partial)]}
    return Inputs(
        manifest=data, provenance=provenance, pending=pending, expected=job.key(), config=StoreConfig()
    )


def refold_path(inp: Inputs, *, with_provenance: bool) -> Callable[[], bytes]:
    """decode, fold one partial, render; optionally also decode and encode the index."""
    decoded_index = decode_provenance(inp.provenance)

    def run() -> bytes:
        manifest = decode_manifest(inp.manifest)
        index = decode_provenance(inp.provenance) if with_provenance else decoded_index
        result = fold(manifest, index, inp.config, inp.pending)
        out = render_manifest(result.manifest, inp.config)
        if with_provenance:
            out += encode_provenance(result.provenance)
        return out

    return run


def check(inp: Inputs) -> dict[str, object]:
    """Correctness of what was timed: the partial's entry is in the output, nothing else lost."""
    out = refold_path(inp, with_provenance=False)()
    before = {(r["version"], f["filename"]) for r in msgspec.json.decode(inp.manifest) for f in r["files"]}
    after = {(r["version"], f["filename"]) for r in msgspec.json.decode(out) for f in r["files"]}
    return {
        "entry_published": inp.expected in after,
        "entries_lost": len(before - after),
        "roundtrip_identical": render_manifest(decode_manifest(inp.manifest), inp.config) == inp.manifest,
    }


def run(reps: int, *, batch_seconds: float = 0.05) -> dict[str, object]:
    inp = inputs()
    data = inp.manifest
    releases = msgspec.json.decode(data)

    def timing(fn: Callable[[], object]) -> float:
        return per_call(fn, reps, batch_seconds=batch_seconds)

    def plain() -> bytes:
        return msgspec.json.encode(msgspec.json.decode(data))

    def plain_indented() -> bytes:
        return msgspec.json.format(msgspec.json.encode(msgspec.json.decode(data)), indent=2)

    times = {
        "msgspec decode+encode": timing(plain),
        "msgspec decode+encode+indent": timing(plain_indented),
        "refold without provenance": timing(refold_path(inp, with_provenance=False)),
        "refold with provenance": timing(refold_path(inp, with_provenance=True)),
    }
    manifest = decode_manifest(data)
    index = decode_provenance(inp.provenance)
    result = fold(manifest, index, inp.config, inp.pending)
    parts = {
        "decode_manifest": timing(lambda: decode_manifest(data)),
        "fold (1 partial)": timing(lambda: fold(manifest, index, inp.config, inp.pending)),
        "render_manifest": timing(lambda: render_manifest(result.manifest, inp.config)),
        "decode_provenance": timing(lambda: decode_provenance(inp.provenance)),
        "encode_provenance": timing(lambda: encode_provenance(result.provenance)),
    }
    floor = times["msgspec decode+encode"]
    return {
        "manifest_bytes": len(data),
        "provenance_bytes": len(inp.provenance),
        "releases": len(releases),
        "files": sum(len(r["files"]) for r in releases),
        "seconds": times,
        "parts_seconds": parts,
        "ratio_without_provenance": times["refold without provenance"] / floor,
        "ratio_with_provenance": times["refold with provenance"] / floor,
        "target_ratio": 3.0,
        "correctness": check(inp),
    }


def render_table(result: dict[str, object]) -> str:
    seconds = result["seconds"]
    parts = result["parts_seconds"]
    assert isinstance(seconds, dict) and isinstance(parts, dict)
    floor = seconds["msgspec decode+encode"]
    rows = [[name, fmt_seconds(t), fmt_ratio(t / floor)] for name, t in seconds.items()]
    rows += [[f"  part: {name}", fmt_seconds(t), fmt_ratio(t / floor)] for name, t in parts.items()]
    head = (
        f"decode + fold 1 partial + render, {result['releases']} releases / {result['files']} files "
        f"({result['manifest_bytes']:,} B manifest, {result['provenance_bytes']:,} B provenance); "
        "ratio to msgspec decode+encode (target < 3x)"
    )
    return head + "\n\n" + table(["path", "best per call", "ratio"], rows)
