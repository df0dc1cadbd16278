"""The OMS snapshot document: versioned JSON of `Oms.to_state()` and the stream ids it covers.

Pure: encoding and validation only; reading and writing Redis is in `services.oms.recovery`.
`ids` maps each input stream to the last entry id whose effect the state includes (every entry
at or before it was handled and acked when the snapshot was taken).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

SNAPSHOT_VERSION = 1


class SnapshotInvalid(ValueError):
    """The stored snapshot cannot be used (corrupt, unknown version); replay fully instead."""


@dataclass(frozen=True)
class Snapshot:
    state: dict[str, Any]
    ids: dict[str, str]


def parse_id(entry_id: str) -> tuple[int, int]:
    """A stream entry id `ms-seq` as a sortable pair; raise ValueError if it is not one."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def encode_snapshot(state: dict[str, Any], ids: dict[str, str]) -> bytes:
    """The bytes stored under the snapshot key."""
    return json.dumps({"version": SNAPSHOT_VERSION, "ids": ids, "state": state},
                      separators=(",", ":"), sort_keys=True).encode()


def decode_snapshot(raw: bytes | str) -> Snapshot:
    """Parse a stored snapshot; raise SnapshotInvalid with the reason."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise SnapshotInvalid(f"not JSON: {e}") from e
    if not isinstance(doc, dict):
        raise SnapshotInvalid("not a JSON object")
    if doc.get("version") != SNAPSHOT_VERSION:
        raise SnapshotInvalid(f"unknown snapshot version {doc.get('version')!r}")
    ids, state = doc.get("ids"), doc.get("state")
    if not isinstance(ids, dict) or not isinstance(state, dict):
        raise SnapshotInvalid("missing 'ids' or 'state'")
    try:
        for v in ids.values():
            parse_id(v)
    except (ValueError, AttributeError) as e:
        raise SnapshotInvalid(f"bad stream id in 'ids': {e}") from e
    return Snapshot(state=state, ids={str(k): str(v) for k, v in ids.items()})
