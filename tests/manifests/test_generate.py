"""refold.manifests.generate: build outputs and asset lists to a checked, canonical partial."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from msgspec import UNSET

from refold.manifests.config import StoreConfig
from refold.manifests.errors import PolicyError, SchemaError, UsageError
from refold.manifests.generate import (
    Asset,
    Exclusion,
    Templates,
    decode_assets,
    fill_template,
    generate,
    select,
)
from refold.manifests.model import File
from refold.manifests.partial import decode_partial, encode_partial
from refold.manifests.validate import check_decoded

from ._data import shared_data

PZ = Templates(owner="IBM", repo="python-versions-pz", tag="3.15.0-alpha.5")
SHA = "ab" * 32


def names(*filenames: str) -> list[Asset]:
    return [Asset(name=n) for n in filenames]


def only_file(assets: list[Asset], **kwargs: Any) -> File:
    generated = generate(assets, **kwargs)
    (release,) = generated.partial.releases
    (file,) = release.files
    return file


# (filename, version, stable, platform, platform_version or None, arch), in the naming of
# actions/python-versions, IBM/python-versions-pz, actions/node-versions and go-versions.
# fmt: off
NAMING: list[tuple[str, str, bool, str, str | None, str]] = [
    ("python-3.13.1-linux-22.04-ppc64le.tar.gz", "3.13.1", True, "linux", "22.04", "ppc64le"),
    ("python-3.15.0-alpha.5-darwin-arm64-freethreaded.tar.gz", "3.15.0-alpha.5", False, "darwin", None, "arm64-freethreaded"),
    ("python-3.12.4-win32-x86.zip", "3.12.4", True, "win32", None, "x86"),
    ("python-3.15.0-alpha.1-linux-24.04-s390x.tar.gz", "3.15.0-alpha.1", False, "linux", "24.04", "s390x"),
    ("python-3.15.0-rc.1-win32-x86-freethreaded.zip", "3.15.0-rc.1", False, "win32", None, "x86-freethreaded"),
    ("python-3.15.0-rc.1-rhel-10-x64-freethreaded.tar.gz", "3.15.0-rc.1", False, "rhel", "10", "x64-freethreaded"),
    ("python-3.14.0-beta.3-linux-24.04-arm64-freethreaded.tar.gz", "3.14.0-beta.3", False, "linux", "24.04", "arm64-freethreaded"),
    ("python-3.9.12-darwin-x64.tar.gz", "3.9.12", True, "darwin", None, "x64"),
    ("node-26.4.0-darwin-arm64.tar.gz", "26.4.0", True, "darwin", None, "arm64"),
    ("node-22.0.0-win32-x64.7z", "22.0.0", True, "win32", None, "x64"),
    ("node-24.18.0-linux-arm64.tar.gz", "24.18.0", True, "linux", None, "arm64"),
    ("go-1.27.0-linux-x64.tar.gz", "1.27.0", True, "linux", None, "x64"),
    ("go-1.27.0-win32-arm64.zip", "1.27.0", True, "win32", None, "arm64"),
    ("go-1.22.0-rc.2-darwin-x64.tar.gz", "1.22.0-rc.2", False, "darwin", None, "x64"),
]
# fmt: on


@pytest.mark.parametrize(
    ("filename", "version", "stable", "platform", "platform_version", "arch"),
    NAMING,
    ids=[n[0] for n in NAMING],
)
def test_filename_becomes_an_entry_with_the_fields_it_names(
    filename: str,
    version: str,
    stable: bool,
    platform: str,
    platform_version: str | None,
    arch: str,
) -> None:
    generated = generate(names(filename), templates=Templates(owner="o", repo="r", tag="t"))
    (release,) = generated.partial.releases
    assert (release.version, release.stable) == (version, stable)
    assert release.files == (
        File(
            filename=filename,
            arch=arch,
            platform=platform,
            platform_version=UNSET if platform_version is None else platform_version,
            download_url=f"https://github.com/o/r/releases/download/t/{filename}",
        ),
    )
    assert generated.excluded == ()


def test_missing_platform_version_stays_absent_in_the_rendered_partial() -> None:
    generated = generate(names("python-3.12.4-win32-x86.zip"), templates=PZ)
    rendered = json.loads(encode_partial(generated.partial))
    assert "platform_version" not in rendered["releases"][0]["files"][0]


def test_pz_alpha_names_keep_their_fields_in_place() -> None:
    """python-versions-pz split these names on '-' and published platform 'alpha.1' and
    arch '22.04'; parsing anchored on the platform gives the real fields."""
    file = only_file(
        names("python-3.15.0-alpha.1-linux-22.04-s390x.tar.gz", "python-3.15.0-alpha.1-linux-22.04-ppc64le.tar.gz"),
        lane="s390x",
        templates=Templates(owner="IBM", repo="python-versions-pz", tag="3.15.0-alpha.1"),
    )
    assert (file.platform, file.platform_version, file.arch) == ("linux", "22.04", "s390x")


def test_pz_published_alpha_partials_regenerate_into_acceptable_ones() -> None:
    folder = shared_data() / "python-versions-pz" / "versions-manifests"
    for path in sorted(folder.glob("3.15.0-alpha.*.json")):
        (published,) = json.loads(path.read_bytes())
        for lane in ("ppc64le", "s390x"):
            assets = [Asset(name=f["filename"], url=f["download_url"]) for f in published["files"]]
            generated = generate(assets, lane=lane)
            (release,) = generated.partial.releases
            assert release.version == published["version"]
            assert release.stable is False  # published as true: an alpha is not stable
            for file in release.files:
                assert (file.platform, file.arch) == ("linux", lane)
                assert file.platform_version in ("22.04", "24.04")
            # The regenerated partial passes everything submit checks.
            check_decoded(decode_partial(encode_partial(generated.partial)), lane, StoreConfig())


EXCLUDED: list[tuple[str, str]] = [
    ("python-3.13.1-linux-22.04-ppc64le.sbom.json", "is an SBOM"),
    ("python-3.13.1-linux-22.04-ppc64le.spdx.json", "is an SBOM"),
    ("trivy-python-3.13.1-ppc64le.json", "is a vulnerability scan report"),
    ("grype-results.sarif", "is a vulnerability scan report"),
    ("build-ppc64le.log", "is a build log"),
    ("SHA256SUMS", "is a checksum file"),
    ("python-3.13.1-linux-22.04-ppc64le.tar.gz.sha256", "is a checksum file"),
    ("python-3.13.1-linux-22.04-ppc64le.tar.gz.sig", "is a signature or attestation"),
    ("gate-results.json", "is a test or gate result"),
    ("junit.xml", "is a test or gate result"),
    ("README.md", "is a Markdown document"),
    ("python-3.13.1-linux-22.04-ppc64le", "has no extension"),
    ("python-3.13.1-linux-22.04-ppc64le.deb", "has unknown extension '.deb'"),
    (".DS_Store", "starts with '.'"),
]


def test_every_non_release_file_is_excluded_and_reported_once_with_its_reason() -> None:
    release = "python-3.13.1-linux-22.04-ppc64le.tar.gz"
    assets = names(*[n for n, _ in EXCLUDED[:7]], release, *[n for n, _ in EXCLUDED[7:]])
    generated = generate(assets, lane="ppc64le", templates=PZ)
    assert [s.asset.name for s in generated.files] == [release]
    assert [e.filename for e in generated.excluded] == [n for n, _ in EXCLUDED]
    for exclusion, (_, reason) in zip(generated.excluded, EXCLUDED):
        assert reason in exclusion.reason


def test_with_a_lane_other_arches_are_excluded_naming_the_lane() -> None:
    selection = select(
        names(
            "python-3.13.1-linux-22.04-x64.tar.gz",
            "python-3.13.1-linux-22.04-x64-freethreaded.tar.gz",
            "python-3.13.1-linux-22.04-arm64.tar.gz",
        ),
        lane="x64-freethreaded",
    )
    assert [s.asset.name for s in selection.kept] == ["python-3.13.1-linux-22.04-x64-freethreaded.tar.gz"]
    assert selection.excluded == (
        Exclusion(
            "python-3.13.1-linux-22.04-x64.tar.gz",
            "'python-3.13.1-linux-22.04-x64.tar.gz' is for arch 'x64'; lane 'x64-freethreaded' publishes x64-freethreaded",
            "each lane submits its own arch's files",
        ),
        Exclusion(
            "python-3.13.1-linux-22.04-arm64.tar.gz",
            "'python-3.13.1-linux-22.04-arm64.tar.gz' is for arch 'arm64'; lane 'x64-freethreaded' publishes x64-freethreaded",
            "each lane submits its own arch's files",
        ),
    )


def test_a_qualified_lane_keeps_its_arch_and_the_config_can_map_more() -> None:
    assets = names("python-3.13.1-linux-24.04-x64.tar.gz", "python-3.13.1-linux-24.04-x64-freethreaded.tar.gz")
    assert len(select(assets, lane="x64/linux-24.04").kept) == 1
    config = StoreConfig(lane_arches={"x64": ["x64", "x64-freethreaded"]})
    assert len(select(assets, lane="x64/linux-24.04", config=config).kept) == 2


def test_the_store_tools_policy_excludes_other_tools() -> None:
    selection = select(
        names("node-24.1.0-linux-x64.tar.gz", "python-3.13.1-linux-24.04-x64.tar.gz"),
        config=StoreConfig(tools=["python"]),
    )
    assert [s.artifact.tool for s in selection.kept] == ["python"]
    assert selection.excluded[0].reason == "'node-24.1.0-linux-x64.tar.gz' is a 'node' artifact; this store publishes python"


def test_no_release_file_left_is_an_error_counting_the_exclusions() -> None:
    with pytest.raises(PolicyError, match=r"no release artifacts to describe \(2 file\(s\) excluded"):
        generate(names("build.log", "python-3.13.1-linux-22.04-ppc64le.sbom.json"), templates=PZ)


def test_a_name_listed_twice_is_refused() -> None:
    with pytest.raises(PolicyError, match="listed twice"):
        select(names("python-3.13.1-linux-24.04-x64.tar.gz", "python-3.13.1-linux-24.04-x64.tar.gz"))


def test_default_templates_give_github_release_urls() -> None:
    generated = generate(names("python-3.15.0-alpha.5-linux-22.04-ppc64le.tar.gz"), templates=PZ)
    (release,) = generated.partial.releases
    assert release.release_url == "https://github.com/IBM/python-versions-pz/releases/tag/3.15.0-alpha.5"
    assert release.files[0].download_url == (
        "https://github.com/IBM/python-versions-pz/releases/download/3.15.0-alpha.5/"
        "python-3.15.0-alpha.5-linux-22.04-ppc64le.tar.gz"
    )


def test_a_literal_template_needs_only_filename() -> None:
    template = "https://github.com/actions/python-versions/releases/download/3.13.1-12345/{filename}"
    file = only_file(names("python-3.13.1-darwin-arm64.tar.gz"), templates=Templates(download=template))
    assert file.download_url == template.replace("{filename}", "python-3.13.1-darwin-arm64.tar.gz")


def test_version_placeholder_and_release_template() -> None:
    templates = Templates(
        download="https://downloads.example.org/python/{version}/{filename}",
        release="https://downloads.example.org/python/{version}/",
    )
    generated = generate(names("python-3.13.1-linux-24.04-x64.tar.gz", "python-3.14.0-linux-24.04-x64.tar.gz"), templates=templates)
    releases = {r.version: r for r in generated.partial.releases}
    assert releases["3.14.0"].release_url == "https://downloads.example.org/python/3.14.0/"
    assert releases["3.13.1"].files[0].download_url.startswith("https://downloads.example.org/python/3.13.1/")


@pytest.mark.parametrize(
    ("templates", "message"),
    [
        (Templates(download="https://x.example/{owner}/{filename}"), "--url-template uses {owner} but no owner was given"),
        (Templates(download="https://x.example/{filename.__class__}/{filename}"), "--url-template has unknown placeholder {filename.__class__}"),
        (Templates(download="https://x.example/{run_id}/{filename}"), "--url-template has unknown placeholder {run_id}"),
        (Templates(download="https://x.example/{tag}/x.tar.gz", tag="v1"), "--url-template has no {filename} placeholder"),
        (Templates(download="https://x.example/{filename}}"), "--url-template has an unmatched brace"),
        (Templates(release="https://x.example/{filename}", tag="v1", owner="o", repo="r"), "--release-url-template has unknown placeholder {filename}"),
        (Templates(owner="o", repo="r", tag="untagged-1a2b3c"), "--tag 'untagged-1a2b3c' is a draft release's temporary name"),
        (Templates(owner="o/x", repo="r", tag="v1"), "--owner 'o/x' is not a plain owner name"),
        (Templates(owner="o", repo="r", tag="v1/../../x"), "--tag 'v1/../../x' is not a plain tag name"),
    ],
)
def test_bad_templates_and_values_are_usage_errors(templates: Templates, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        generate(names("python-3.13.1-linux-24.04-x64.tar.gz"), templates=templates)
    assert caught.value.message == message


def test_fill_template_substitutes_only_known_placeholders() -> None:
    filled = fill_template(
        "https://h.example/{owner}/{repo}/{tag}/{filename}",
        {"owner": "o", "repo": "r", "tag": "3.13.1-99", "filename": "f.tar.gz"},
        option="--url-template",
        allowed=("owner", "repo", "tag", "filename"),
    )
    assert filled == "https://h.example/o/r/3.13.1-99/f.tar.gz"


def test_asset_urls_are_used_without_a_template_and_name_their_release_page() -> None:
    url = "https://github.com/actions/node-versions/releases/download/24.18.0-555/node-24.18.0-linux-arm64.tar.gz"
    generated = generate([Asset(name="node-24.18.0-linux-arm64.tar.gz", url=url)])
    (release,) = generated.partial.releases
    assert release.files[0].download_url == url
    assert release.release_url == "https://github.com/actions/node-versions/releases/tag/24.18.0-555"


def test_draft_untagged_asset_urls_are_never_trusted() -> None:
    draft = "https://github.com/IBM/python-versions-pz/releases/download/untagged-5f1e2d/python-3.13.1-linux-22.04-ppc64le.tar.gz"
    asset = Asset(name="python-3.13.1-linux-22.04-ppc64le.tar.gz", url=draft)
    with pytest.raises(PolicyError, match="draft release's temporary URL") as caught:
        generate([asset])
    assert "--tag" in caught.value.hint
    file = only_file([asset], templates=Templates(owner="IBM", repo="python-versions-pz", tag="3.13.1"))
    assert "untagged-" not in file.download_url
    assert file.download_url.endswith("/releases/download/3.13.1/python-3.13.1-linux-22.04-ppc64le.tar.gz")


def test_a_local_file_without_url_or_template_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no download URL for 'python-3.13.1-linux-24.04-x64.tar.gz'"):
        generate(names("python-3.13.1-linux-24.04-x64.tar.gz"))


def test_stable_can_be_forced_and_sha256_and_size_are_recorded() -> None:
    asset = Asset(name="python-3.15.0-alpha.5-linux-22.04-ppc64le.tar.gz", sha256=SHA, size=1234)
    generated = generate([asset], templates=PZ, stable=True)
    (release,) = generated.partial.releases
    assert release.stable is True
    assert (release.files[0].sha256, release.files[0].size) == (SHA, 1234)


def test_the_binding_is_checked_like_submit_checks_it() -> None:
    templates = Templates(download="http://insecure.example/{filename}")
    with pytest.raises(PolicyError) as caught:
        generate(names("python-3.13.1-linux-24.04-x64.tar.gz"), lane="x64", templates=templates)
    assert caught.value.message == "download_url must be https, not http:"
    assert caught.value.location == "python-3.13.1-linux-24.04-x64.tar.gz: $.download_url"


def test_the_store_url_policy_applies() -> None:
    config = StoreConfig(url_prefix="https://github.com/actions/python-versions/releases/download/")
    with pytest.raises(PolicyError, match="outside the store's URL policy"):
        generate(names("python-3.13.1-linux-24.04-x64.tar.gz"), lane="x64", templates=PZ, config=config)


def test_output_is_canonical_whatever_the_input_order() -> None:
    files = [
        "python-3.13.1-linux-24.04-x64.tar.gz",
        "python-3.14.0-rc.1-linux-24.04-x64.tar.gz",
        "python-3.13.1-darwin-x64.tar.gz",
        "python-3.13.1-linux-22.04-x64.tar.gz",
    ]
    templates = Templates(owner="actions", repo="python-versions", tag="t")
    forward = encode_partial(generate(names(*files), lane="x64", templates=templates).partial)
    backward = encode_partial(generate(names(*reversed(files)), lane="x64", templates=templates).partial)
    assert forward == backward
    rendered = json.loads(forward)
    assert rendered["lane"] == "x64"
    assert [r["version"] for r in rendered["releases"]] == ["3.14.0-rc.1", "3.13.1"]
    assert [f["filename"] for f in rendered["releases"][1]["files"]] == sorted(files[:1] + files[2:])


def test_decode_assets_reads_githubs_asset_objects() -> None:
    api = [
        {
            "url": "https://api.github.com/repos/o/r/releases/assets/1",
            "id": 1,
            "name": "python-3.13.1-linux-22.04-ppc64le.tar.gz",
            "label": "",
            "content_type": "application/gzip",
            "state": "uploaded",
            "size": 31457280,
            "digest": "sha256:" + SHA,
            "browser_download_url": "https://github.com/o/r/releases/download/3.13.1/python-3.13.1-linux-22.04-ppc64le.tar.gz",
        },
        {"name": "trivy.json", "browser_download_url": "https://github.com/o/r/releases/download/3.13.1/trivy.json"},
        {"name": "old.tar.gz", "digest": "sha512:abc"},
    ]
    assets = decode_assets(json.dumps(api).encode())
    assert assets[0] == Asset(
        name="python-3.13.1-linux-22.04-ppc64le.tar.gz",
        url=api[0]["browser_download_url"],  # type: ignore[arg-type]
        sha256=SHA,
        size=31457280,
    )
    assert assets[2] == Asset(name="old.tar.gz")
    release_object = {"tag_name": "3.13.1", "assets": api}
    assert decode_assets(json.dumps(release_object).encode()) == assets


@pytest.mark.parametrize(
    ("data", "message", "location"),
    [
        (b'{"tag_name": "v1"}', "asset list must be a JSON array of assets or a release object with 'assets'", "assets.json"),
        (b'[{"name": "a"}, {"browser_download_url": "https://x"}]', "object missing required field name", "assets.json: $[1]"),
        (b'{"assets": [{"name": 5}]}', "expected str, got int", "assets.json: $.assets[0].name"),
        (b'[{"name": "a"', "malformed JSON: Expecting ',' delimiter", "assets.json: line 1 column 14"),
    ],
)
def test_decode_assets_errors_name_the_place(data: bytes, message: str, location: str) -> None:
    with pytest.raises(SchemaError) as caught:
        decode_assets(data, location="assets.json")
    assert (caught.value.message, caught.value.location) == (message, location)


def test_generated_partial_round_trips_through_submits_decoder() -> None:
    generated = generate(
        names("python-3.13.1-linux-22.04-ppc64le.tar.gz", "python-3.13.1-linux-24.04-ppc64le.tar.gz"),
        lane="ppc64le",
        templates=PZ,
    )
    decoded = decode_partial(encode_partial(generated.partial))
    assert decoded.shape == "partial"
    assert msgspec.structs.replace(decoded.partial) == decoded.partial
    check_decoded(decoded, "ppc64le", StoreConfig())
    with pytest.raises(PolicyError, match="partial says lane 'ppc64le' but was submitted on lane 's390x'"):
        check_decoded(decoded, "s390x", StoreConfig())
