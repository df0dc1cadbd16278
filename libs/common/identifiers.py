"""Ids: unique, sortable by creation time, readable in logs."""
from __future__ import annotations

import os
import time
import uuid


def new_id(prefix: str = "") -> str:
    """A time-ordered unique id (ns timestamp in hex + random), e.g. ``opp-17f...-9a3b``."""
    body = f"{time.time_ns():x}-{uuid.uuid4().hex[:12]}"
    return f"{prefix}-{body}" if prefix else body


def derived_id(prefix: str, *parts: str) -> str:
    """A deterministic id from its causes, so a redelivered message yields the same id.

    Dedupe downstream relies on this: re-handling intent X always names its order the same.
    """
    return f"{prefix}-{uuid.uuid5(uuid.NAMESPACE_OID, '|'.join(parts)).hex[:20]}"


def consumer_name() -> str:
    """`<host>-<pid>`: one consumer per replica process."""
    return f"{os.uname().nodename}-{os.getpid()}"


def instrument_id(symbol: str, venue: str) -> str:
    """Written `BTC/USDT.BINANCE` as in Nautilus."""
    return f"{symbol}.{venue}"
