"""Helpers for the recording tests: the recorded data folders, message builders, raw reads."""
from __future__ import annotations

import gzip
import json
from typing import Any

from services.intake.adapters.recorded import DEFAULT_DATA_DIR
from services.intake.recording.records import RawMessage

DATA = DEFAULT_DATA_DIR
CRYPTOFEED = DATA / "cryptofeed" / "master_format1"
FOREX = DATA / "forex"


def ws(venue: str, doc: Any, line_no: int = 1, ts: int = 1_000,
       source: str = "t.rec") -> RawMessage:
    """A received websocket message (doc is JSON-encoded unless it is already text)."""
    payload = doc if isinstance(doc, str) else json.dumps(doc)
    return RawMessage(source, line_no, ts, venue, "ws", payload)


def rest(venue: str, url: str, doc: Any, line_no: int = 1, ts: int = 1_000,
         source: str = "t.rec") -> RawMessage:
    payload = doc if isinstance(doc, str) else json.dumps(doc)
    return RawMessage(source, line_no, ts, venue, f"rest:{url}", payload)


def cf_json(name: str) -> list[Any]:
    """The received JSON messages of a cryptofeed ws file, parsed here independently."""
    out = []
    for line in gzip.open(CRYPTOFEED / name, "rt"):
        head, sep, body = line.partition(": ")
        if sep and head.replace(".", "").isdigit():
            out.append(json.loads(body))
    return out
