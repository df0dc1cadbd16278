"""MetaTrader 5 forex adapter: quotes and bars from a terminal through the MetaTrader5 API.

See README.md in this folder for the two ways to reach a terminal (native on Windows, mt5linux
under Wine on Linux) and for the fake terminal the tests use.
"""
from __future__ import annotations

from services.intake.adapters.mt5.adapter import Mt5Adapter
from services.intake.adapters.mt5.config import Mt5Settings

__all__ = ["Mt5Adapter", "Mt5Settings"]
