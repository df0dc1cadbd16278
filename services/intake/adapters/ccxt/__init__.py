"""Crypto exchanges through ccxt: one adapter class, one subclass per venue.

Public API: `CcxtVenueSettings`, `make_adapter(settings, clock)` (or a venue class from
`ADAPTERS`), then the `VenueAdapter` methods plus `instruments_if_changed()` and `snapshot()`.

Names are imported on first use, so the pure modules (`checksum`, `parsing`, `policy`,
`settings`) can be used without importing ccxt.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ADAPTERS": "adapter", "BinanceAdapter": "adapter", "BitstampAdapter": "adapter",
    "CcxtAdapter": "adapter", "CoinbaseAdapter": "adapter", "KrakenAdapter": "adapter",
    "OkxAdapter": "adapter", "PoloniexAdapter": "adapter", "make_adapter": "adapter",
    "CCXT_IDS": "settings", "CcxtVenueSettings": "settings",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
