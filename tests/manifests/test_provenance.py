"""refold.manifests.provenance: the audit index, encoded the same whatever order it was built in."""

from __future__ import annotations

import pytest

from refold.manifests.errors import SchemaError
from refold.manifests.provenance import (
    Claim,
    Origin,
    ProvenanceIndex,
    Rejection,
    decode_provenance,
    encode_provenance,
)


def _index(order: list[str]) -> ProvenanceIndex:
    return ProvenanceIndex(
        files={
            v: {f"python-{v}-{a}.zip": Origin(lane=a, commit="c" * 40) for a in order}
            for v in order
        },
        claims={v: {a: Claim(stable=True, release_url="") for a in order} for v in order},
        rejected={c: Rejection(lane="x64", reason="bad") for c in order},
    )


def test_encoding_sorts_keys_so_construction_order_never_shows() -> None:
    assert encode_provenance(_index(["b", "a", "c"])) == encode_provenance(_index(["c", "b", "a"]))


def test_encoding_is_line_per_entry_with_final_newline_and_round_trips() -> None:
    index = _index(["a", "b"])
    data = encode_provenance(index)
    assert data.endswith(b"}\n")
    assert b'\n "schema": 1,' in data
    assert decode_provenance(data) == index


def test_import_origin_has_no_commit_and_claims_keep_lts_absent() -> None:
    index = ProvenanceIndex(
        files={"1.0.0": {"f": Origin(lane=":import")}},
        claims={"1.0.0": {":import": Claim(stable=False, release_url="")}},
    )
    data = encode_provenance(index)
    assert b'"commit": null' in data
    assert b"lts" not in data
    assert decode_provenance(data) == index


def test_decode_errors_name_the_provenance_file_and_path() -> None:
    with pytest.raises(SchemaError) as info:
        decode_provenance(b'{"files": {"1.0.0": {"f": {"lane": 3}}}}')
    assert info.value.location == ".refold/provenance.json: $.files[...][...].lane"
    assert info.value.message == "expected str, got int"
