"""Appending a partial to its lane: validate, write one commit, compare-and-swap the lane.

Submitting never reads or touches the public manifest beyond its config, and never
merges text: on a lost race the same tree is re-parented onto the lane's new tip.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import msgspec
import pygit2
from msgspec import UNSET

from refold.manifests.errors import ContentionError, PolicyError, RefoldError
from refold.manifests.lanes import check_lane, clashing_lane, lane_ref
from refold.manifests.partial import (
    Partial,
    Provenance,
    decode_partial,
    decode_stored_partial,
    encode_partial,
    partial_versions,
)
from refold.manifests.validate import check_decoded
from refold.store.faults import fault_point
from refold.store.refs import LostRace, backoff
from refold.store.repo import (
    PARTIAL_FILE,
    Store,
    blob_at,
    read_config,
    ref_target,
    signature,
)
from refold.store.transport import lane_names, refresh, update_ref

MAX_SUBMIT_RETRIES = 50


class SubmitResult(msgspec.Struct, frozen=True):
    lane: str
    commit: str
    noop: bool
    retries: int = 0


_ENV_PROVENANCE = {
    "run_id": "GITHUB_RUN_ID",
    "run_attempt": "GITHUB_RUN_ATTEMPT",
    "repository": "GITHUB_REPOSITORY",
    "source_commit": "GITHUB_SHA",
    "workflow": "GITHUB_WORKFLOW",
    "job": "GITHUB_JOB",
    "builder": "RUNNER_NAME",
}


def provenance_from_env(env: Mapping[str, str]) -> Provenance:
    """Build identity of the CI run, GitHub Actions style, from the environment."""
    fields = {name: env[var] for name, var in _ENV_PROVENANCE.items() if env.get(var)}
    if env.get("GITHUB_SERVER_URL") and env.get("GITHUB_REPOSITORY") and env.get("GITHUB_RUN_ID"):
        fields["run_url"] = (
            f"{env['GITHUB_SERVER_URL']}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
        )
    return Provenance(**fields)


def _with_env_provenance(partial: Partial, env: Mapping[str, str]) -> Partial:
    given = msgspec.structs.asdict(partial.provenance)
    from_env = msgspec.structs.asdict(provenance_from_env(env))
    merged = {k: (given[k] if given[k] is not UNSET else from_env[k]) for k in given}
    return msgspec.structs.replace(partial, lane=UNSET, provenance=Provenance(**merged))


def commit_message(lane: str, partial: Partial) -> str:
    added = sum(len(r.files) for r in partial.releases)
    versions = partial_versions(partial)
    summary = f"partial {lane}: {', '.join(versions[:4])}{' ...' if len(versions) > 4 else ''}"
    body = [f"{added} file(s) added or replaced, {len(partial.retract)} retraction(s)."]
    trailers = [f"Refold-Lane: {lane}"] + [f"Refold-Version: {v}" for v in versions]
    prov = partial.provenance
    for key, value in msgspec.structs.asdict(prov).items():
        if value is not UNSET:
            trailers.append(f"Refold-{key.replace('_', '-').title()}: {value}")
    return f"{summary}\n\n{body[0]}\n\n" + "\n".join(trailers) + "\n"


def _same_content(repo: pygit2.Repository, tip: pygit2.Oid | None, partial: Partial) -> bool:
    """Whether the lane tip already holds this content (provenance aside): a rerun job."""
    if tip is None:
        return False
    data = blob_at(repo, repo[tip].peel(pygit2.Commit), PARTIAL_FILE)
    if data is None:
        return False
    try:
        current = decode_stored_partial(data)
    except RefoldError:
        return False
    return current.releases == partial.releases and current.retract == partial.retract


def _check_clash(store: Store, lane: str) -> None:
    clash = clashing_lane(lane, lane_names(store))
    if clash is not None:
        raise PolicyError(
            f"lane {lane!r} clashes with existing lane {clash!r}: git cannot hold both refs",
            location="--lane",
            hint=f"use lane {clash!r}, or a qualifier that is not a prefix of another lane",
        )


def submit(
    store: Store,
    lane: str,
    data: bytes,
    *,
    location: str = "",
    env: Mapping[str, str] | None = None,
    max_retries: int = MAX_SUBMIT_RETRIES,
) -> SubmitResult:
    """Validate ``data`` for ``lane`` and append it; an identical resubmission is a no-op.

    A remote store is asked only for the public ref (for the config) and this lane, and on
    a lost race only for this lane again.
    """
    env = os.environ if env is None else env
    check_lane(lane, location="--lane")
    repo = store.repo
    name = lane_ref(lane)
    refresh(store, [store.public_ref, name])
    config = read_config(store)
    decoded = decode_partial(data, location=location)
    try:
        check_decoded(decoded, lane, config)
    except RefoldError as exc:
        raise (exc.at(location) if location else exc) from None
    encoded = encode_partial(_with_env_provenance(decoded.partial, env))
    canonical = decode_stored_partial(encoded)
    _check_clash(store, lane)
    blob = repo.create_blob(encoded)
    builder = repo.TreeBuilder()
    builder.insert(PARTIAL_FILE, blob, pygit2.enums.FileMode.BLOB)
    tree = builder.write()
    message = commit_message(lane, canonical)
    for attempt in range(max_retries + 1):
        if attempt:
            refresh(store, [name])
            # A lost race may have been a clashing lane created since the first check.
            _check_clash(store, lane)
        tip = ref_target(repo, name)
        if _same_content(repo, tip, canonical):
            assert tip is not None
            return SubmitResult(lane=lane, commit=str(tip), noop=True, retries=attempt)
        sig = signature(env=env)
        commit = repo.create_commit(None, sig, sig, message, tree, [tip] if tip else [])
        fault_point("submit.objects-written")
        try:
            update_ref(store, name, tip, commit, f"refold submit {lane}")
        except LostRace:
            backoff(attempt)
            continue
        return SubmitResult(lane=lane, commit=str(commit), noop=False, retries=attempt)
    raise ContentionError(
        f"lane {lane!r} kept moving: gave up after {max_retries} retries",
        location=name,
        hint="another job is submitting to the same lane in a tight loop; retry later",
    )
