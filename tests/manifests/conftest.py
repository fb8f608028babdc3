"""Fixtures for the manifests layer: the generated python-versions-shaped manifest."""

from __future__ import annotations

import pytest

from refold.manifests.model import Manifest, decode_manifest

from .fixtures import manifest_bytes


@pytest.fixture(scope="session")
def generated_bytes() -> bytes:
    return manifest_bytes()


@pytest.fixture(scope="session")
def generated(generated_bytes: bytes) -> Manifest:
    return decode_manifest(generated_bytes)
