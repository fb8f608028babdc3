"""refold.store.config: a config change is one compare-and-swap commit in the public history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pygit2
import pytest

from refold.manifests.config import StoreConfig
from refold.manifests.errors import PolicyError, RefoldError, UsageError
from refold.store.compact import fold_store
from refold.store.config import apply_setting, config_bytes, set_config
from refold.store.init import init_store
from refold.store.repo import CONFIG_PATH, Store, all_refs, read_published
from refold.store.submit import submit

from .helpers import partial_bytes, python_file, python_release


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = init_store(tmp_path / "store.git")
    submit(opened, "x64", partial_bytes("x64", "3.13.1", "3.12.8"))
    assert fold_store(opened).commit is not None
    return opened


def _tip(store: Store) -> pygit2.Commit:
    return store.repo.references[store.public_ref].peel(pygit2.Commit)


def _config(store: Store) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(config_bytes(store)[1])
    return data


def test_a_change_is_one_commit_on_the_tip_naming_key_old_and_new_value(store: Store) -> None:
    before = _tip(store)
    change = set_config(store, "indent", "4")
    commit = _tip(store)
    assert str(commit.id) == change.commit and change.previous == str(before.id)
    assert [p.id for p in commit.parents] == [before.id]
    assert commit.message.splitlines() == [
        "config: indent 2 -> 4",
        "",
        "Refold-Config: indent",
        "Refold-Config-Old: 2",
        "Refold-Config-New: 4",
    ]
    assert (change.old, change.new) == (2, 4)
    assert _config(store)["indent"] == 4


def test_changing_indent_re_renders_the_manifest(store: Store) -> None:
    old = read_published(store).manifest_bytes
    set_config(store, "indent", "4")
    new = read_published(store).manifest_bytes
    assert new != old
    assert new == (json.dumps(json.loads(old), indent=4) + "\n").encode()
    set_config(store, "final_newline", "false")
    assert read_published(store).manifest_bytes == new.rstrip(b"\n")


def test_changing_manifest_path_moves_the_file_and_later_folds_write_there(store: Store) -> None:
    old = read_published(store).manifest_bytes
    set_config(store, "manifest-path", "manifests/python.json")
    tree = _tip(store).tree
    assert "versions-manifest.json" not in tree
    assert store.repo[tree["manifests/python.json"].id].data == old
    submit(store, "x64", partial_bytes("x64", "3.14.0"))
    outcome = fold_store(store)
    assert outcome.commit is not None
    published = read_published(store)
    assert published.config.manifest_path == "manifests/python.json"
    assert published.manifest[0].version == "3.14.0"
    assert "versions-manifest.json" not in _tip(store).tree


def test_a_lane_can_be_mapped_to_more_arches_and_the_next_fold_obeys(store: Store) -> None:
    x86 = json.dumps(
        [python_release("3.13.1", [python_file("3.13.1", "x86", "win32", None)])]
    ).encode()
    with pytest.raises(PolicyError, match="may not be published on lane 'windows'"):
        submit(store, "windows", x86)
    change = set_config(store, "lane_arches.windows", '["x64","x86"]')
    assert (change.old, change.new) == (None, ["x64", "x86"])
    assert _config(store)["lane_arches"] == {"windows": ["x64", "x86"]}
    submit(store, "windows", x86)
    assert fold_store(store).report.held_back == {}
    set_config(store, "lane_arches.windows", "null")
    assert _config(store)["lane_arches"] == {}


def test_lists_take_json_or_a_comma_list_and_url_prefix_takes_plain_text(store: Store) -> None:
    set_config(store, "required_lanes", "x64, arm64")
    assert _config(store)["required_lanes"] == ["x64", "arm64"]
    set_config(store, "required_lanes", "[]")
    assert _config(store)["required_lanes"] == []
    prefix = "https://github.com/actions/python-versions/releases/download/"
    set_config(store, "url_prefix", prefix)
    assert _config(store)["url_prefix"] == prefix
    set_config(store, "url_prefix", "null")
    assert _config(store)["url_prefix"] is None


def test_a_url_policy_that_excludes_published_entries_warns_and_keeps_them(store: Store) -> None:
    before = read_published(store).manifest_bytes
    change = set_config(store, "url_prefix", "https://example.com/mirror/")
    outside = (
        "3.13.1/python-3.13.1-linux-24.04-x64.tar.gz, 3.12.8/python-3.12.8-linux-24.04-x64.tar.gz"
    )
    assert change.warnings == [
        f"2 published entries are outside the new URL policy (kept as published): {outside}"
    ]
    assert read_published(store).manifest_bytes == before
    with pytest.raises(PolicyError, match="outside the store's URL policy"):
        submit(store, "x64", partial_bytes("x64", "3.14.0"))


def test_setting_the_current_value_writes_nothing(store: Store) -> None:
    before = all_refs(store.repo)
    change = set_config(store, "indent", "2")
    assert change.commit is None and (change.old, change.new) == (2, 2)
    assert all_refs(store.repo) == before


def test_config_show_gives_the_published_bytes_at_any_revision(store: Store) -> None:
    first = config_bytes(store)
    set_config(store, "indent", "3")
    assert config_bytes(store, "main~1") == first
    commit, data = config_bytes(store)
    assert commit == str(_tip(store).id)
    assert data == store.repo[_tip(store).tree[CONFIG_PATH].id].data


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [
        ("indent", "9", "out of range"),
        ("indent", "four", "not a JSON value"),
        ("indent", '"4"', "expected `int`"),
        ("manifest_path", "../escape.json", "relative path outside .refold"),
        ("manifest_path", ".refold/manifest.json", "relative path outside .refold"),
        ("url_prefix", "http://insecure.example/", "not an https URL"),
        ("lane_arches.x64", "[]", "mapped to no arches"),
        ("lane_arches.x64/a/b", '["x64"]', "components"),
        ("lane_arches", '{"bad lane": ["x64"]}', "lane"),
        ("required_lanes", '["../x64"]', "lane"),
        ("required_lanes", '"x64"', "expected `array`"),
        ("schema", "2", "unknown config key"),
        ("format", "other", "unknown config key"),
        ("indent.x", "2", "unknown config key"),
        ("nonsense", "1", "unknown config key"),
    ],
)
def test_an_invalid_change_is_refused_and_leaves_every_ref_unchanged(
    store: Store, key: str, value: str, error: str
) -> None:
    before = all_refs(store.repo)
    with pytest.raises(RefoldError, match=error) as caught:
        set_config(store, key, value)
    assert isinstance(caught.value, (UsageError, PolicyError))
    assert all_refs(store.repo) == before


def test_apply_setting_is_pure_and_rebuilds_the_whole_config() -> None:
    config = StoreConfig()
    updated, old, new = apply_setting(config, "tools", "python")
    assert updated.tools == ["python"] and (old, new) == ([], ["python"])
    assert config.tools == []


def test_a_fold_after_a_config_change_keeps_the_change_in_first_parent_history(
    store: Store,
) -> None:
    set_config(store, "indent", "4")
    submit(store, "x64", partial_bytes("x64", "3.14.0"))
    fold_store(store)
    subjects = []
    commit = _tip(store)
    while commit.parents:
        subjects.append(commit.message.splitlines()[0])
        commit = commit.parents[0]
    assert subjects[1] == "config: indent 2 -> 4"
    assert subjects[0].startswith("fold:")
    assert read_published(store).config.indent == 4
