"""A fake `MetaTrader5` module: the official package's API over recorded forex data.

Same function names, argument order and return types as MetaTrader5 5.0.6231: named tuples
from `symbol_info`/`symbol_info_tick`/`account_info`/`terminal_info`, numpy structured arrays
with the real dtypes from `copy_rates_*` and `copy_ticks_*`, the real constants (copied from the
wheel, MIT licence, see `_constants.py`), None/False plus `last_error()` on failure.

Symbols (dataset "default"): EURUSD = HistData ticks (EST converted to UTC), USDJPY = TrueFX
ticks, GBPUSD = FXCM 1-minute bid/ask bars (no ticks: its last quote is the last closed bar's
close bid/ask). `TRIFECTA_FAKE_MT5_DATASET=sim2019` serves the 2019 EURUSD/USDJPY ticks instead.

Tests drive it through `MetaTrader5.simulator` (clock, drops, injected errors, account).
Not simulated (return None, last_error RES_E_UNSUPPORTED): trading (`order_send`,
`order_check`), positions, orders, history, market depth.
"""
from __future__ import annotations

from typing import Any

from . import simulator as simulator  # the test controls (not in the real module)
from ._constants import *  # noqa: F403  (the real module exports its constants the same way)
from ._constants import RES_E_INVALID_PARAMS, RES_E_UNSUPPORTED
from ._terminal import _Fail
from .simulator import TERMINAL as _T

__version__ = "5.0.6231"
__author__ = "MetaQuotes Ltd. (constants); fake terminal: Trifecta"
__fake__ = True


def initialize(path: str | None = None, *, login: int | None = None,
               password: str | None = None, server: str | None = None,
               timeout: int | None = None, portable: bool = False) -> bool:
    """Connect to the (fake) terminal, and log in when `login` is given."""
    def run() -> bool:
        if path is not None and not isinstance(path, str):
            raise _Fail(RES_E_INVALID_PARAMS)
        return _T.initialize(login, password, server)
    return _T.call("initialize", run, failure=False, needs_connection=False)


def login(login: int, password: str | None = None, server: str | None = None,
          timeout: int | None = None) -> bool:
    """Log in to an account of the (fake) terminal."""
    return _T.call("login", lambda: _T.authorize(login, password, server), failure=False)


def shutdown() -> None:
    """Close the connection to the terminal."""
    def run() -> None:
        _T.initialized = False
    return _T.call("shutdown", run, needs_connection=False)


def version() -> tuple[int, int, str] | None:
    """(terminal version, build, build date)."""
    return _T.call("version", lambda: (500, 5000, "fake terminal on recorded data"))


def last_error() -> tuple[int, str]:
    """(code, description) of the last call's outcome; RES_S_OK after a success."""
    return _T.error


def account_info() -> Any:
    """The logged-in account as an AccountInfo named tuple."""
    return _T.call("account_info", _T.account_info)


def terminal_info() -> Any:
    """The terminal's state as a TerminalInfo named tuple."""
    return _T.call("terminal_info", _T.terminal_info)


def symbols_total() -> int | None:
    """How many symbols the broker offers."""
    return _T.call("symbols_total", lambda: len(_T.specs))


def symbols_get(group: str | None = None) -> Any:
    """All symbols as SymbolInfo tuples, optionally filtered by an MT5 group mask."""
    return _T.call("symbols_get", lambda: _T.symbols(group))


def symbol_info(symbol: str) -> Any:
    """One symbol's SymbolInfo, None (RES_E_NOT_FOUND) for an unknown symbol."""
    return _T.call("symbol_info", lambda: _T.symbol_info(symbol))


def symbol_info_tick(symbol: str) -> Any:
    """The symbol's latest Tick (all zeros before its first quote)."""
    return _T.call("symbol_info_tick", lambda: _T.tick(symbol))


def symbol_select(symbol: str, enable: bool = True) -> bool:
    """Show (or hide) a symbol in Market Watch."""
    return _T.call("symbol_select", lambda: _T.select(symbol, enable), failure=False)


def copy_rates_from(symbol: str, timeframe: int, date_from: Any, count: int) -> Any:
    """`count` bars opened at or before `date_from`, oldest first."""
    return _T.call("copy_rates_from",
                   lambda: _T.rates_from(symbol, timeframe, date_from, count))


def copy_rates_from_pos(symbol: str, timeframe: int, start_pos: int, count: int) -> Any:
    """`count` bars ending `start_pos` bars back (0 = the forming bar), oldest first."""
    return _T.call("copy_rates_from_pos",
                   lambda: _T.rates_from_pos(symbol, timeframe, start_pos, count))


def copy_rates_range(symbol: str, timeframe: int, date_from: Any, date_to: Any) -> Any:
    """Bars opened in [date_from, date_to], oldest first."""
    return _T.call("copy_rates_range",
                   lambda: _T.rates_range(symbol, timeframe, date_from, date_to))


def copy_ticks_from(symbol: str, date_from: Any, count: int, flags: int) -> Any:
    """Up to `count` ticks from `date_from` on, oldest first."""
    return _T.call("copy_ticks_from", lambda: _T.ticks_from(symbol, date_from, count, flags))


def copy_ticks_range(symbol: str, date_from: Any, date_to: Any, flags: int) -> Any:
    """Ticks in [date_from, date_to] that have arrived, oldest first."""
    return _T.call("copy_ticks_range",
                   lambda: _T.ticks_range(symbol, date_from, date_to, flags))


def _unsupported() -> None:
    raise _Fail(RES_E_UNSUPPORTED)


def order_send(request: dict[str, Any]) -> Any:
    """Not simulated: returns None, last_error RES_E_UNSUPPORTED."""
    return _T.call("order_send", _unsupported)


def order_check(request: dict[str, Any]) -> Any:
    """Not simulated: returns None, last_error RES_E_UNSUPPORTED."""
    return _T.call("order_check", _unsupported)

