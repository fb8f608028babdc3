"""The store's versioned configuration, kept at ``.refold/config.json`` in the public tree.

Config lives in the public history (not in git config) so that every fold can be
replayed under the config it was made with, and a change of policy is itself auditable.
New fields always get defaults so old stores keep decoding.
"""

from __future__ import annotations

import msgspec

from refold.manifests.errors import PolicyError
from refold.manifests.lanes import check_lane
from refold.manifests.model import encode_json, schema_error

CONFIG_SCHEMA = 1


class StoreConfig(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Settings that decide what a valid partial is and how the manifest is rendered.

    - ``url_prefix``: when set, every ``download_url`` must start with it after
      ``{version}`` is replaced by the entry's version (the URL policy).
    - ``lane_arches``: lane (full name or first component) to the arches it may publish;
      a lane not listed may publish only the arch its first component names.
    - ``required_lanes``: a new release is held back until each of these lanes has files
      in it (the completeness policy).
    - ``tools``: the artifact prefixes allowed in filenames (``python``, ``node``); empty
      allows any.
    """

    schema: int = CONFIG_SCHEMA
    format: str = "versions-manifest"
    manifest_path: str = "versions-manifest.json"
    indent: int = 2
    final_newline: bool = True
    url_prefix: str | None = None
    lane_arches: dict[str, list[str]] = {}
    required_lanes: list[str] = []
    tools: list[str] = []

    def __post_init__(self) -> None:
        if self.schema != CONFIG_SCHEMA:
            raise PolicyError(
                f"config schema {self.schema} is not supported (this refold reads {CONFIG_SCHEMA})",
                location="$.schema",
                hint="upgrade refold",
            )
        if not 0 <= self.indent <= 8:
            raise PolicyError(
                f"indent {self.indent} is out of range", location="$.indent", hint="use 0 to 8"
            )
        if self.url_prefix is not None and not self.url_prefix.startswith("https://"):
            raise PolicyError(
                f"url_prefix {self.url_prefix!r} is not an https URL",
                location="$.url_prefix",
                hint="use a prefix such as https://github.com/ORG/REPO/releases/download/",
            )
        path = self.manifest_path
        parts = path.split("/")
        if any(part in ("", ".", "..") for part in parts) or parts[0] == ".refold" or "\\" in path:
            raise PolicyError(
                f"manifest_path {path!r} must be a relative path outside .refold/",
                location="$.manifest_path",
                hint="for example versions-manifest.json",
            )
        for index, lane in enumerate(self.required_lanes):
            check_lane(lane, location=f"$.required_lanes[{index}]")
        for lane, arches in self.lane_arches.items():
            check_lane(lane, location=f"$.lane_arches.{lane}")
            if not arches:
                raise PolicyError(
                    f"lane {lane!r} is mapped to no arches",
                    location=f"$.lane_arches.{lane}",
                    hint="list the arches the lane may publish, or drop the entry",
                )


_decoder = msgspec.json.Decoder(StoreConfig)


def decode_config(data: bytes, *, location: str = ".refold/config.json") -> StoreConfig:
    try:
        return _decoder.decode(data)
    except PolicyError as exc:
        raise exc.at(location) from None
    except msgspec.MsgspecError as exc:
        raise schema_error(exc, location=location) from None


def encode_config(config: StoreConfig) -> bytes:
    return encode_json(config, indent=2, final_newline=True)


def arches_for_lane(config: StoreConfig, lane: str) -> frozenset[str]:
    """The arches a lane may publish: its config entry, else its first component."""
    mapped = config.lane_arches.get(lane)
    if mapped is None:
        mapped = config.lane_arches.get(lane.split("/", 1)[0])
    return frozenset(mapped) if mapped is not None else frozenset({lane.split("/", 1)[0]})
