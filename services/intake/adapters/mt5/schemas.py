"""The MetaTrader5 API as this adapter uses it: constant values, payload fields, signatures.

Values are those of the official `MetaTrader5` package 5.0.6231 (its `__init__.py`, MIT,
MetaQuotes Ltd.); they are part of the terminal's ABI and do not change between builds. They
are repeated here so the adapter needs no MetaTrader5 import (which only exists on Windows).

Calls used (argument order as in the package):
- `initialize(path=None, *, login, password, server, timeout, portable=False) -> bool`
- `last_error() -> (code, description)`; `shutdown() -> None`
- `symbols_get(group=None) -> tuple[SymbolInfo, ...] | None`
- `symbol_info(symbol) -> SymbolInfo | None`; `symbol_select(symbol, enable=True) -> bool`
- `symbol_info_tick(symbol) -> Tick | None`
- `copy_rates_from_pos(symbol, timeframe, start_pos, count) -> ndarray[RATES_FIELDS] | None`
  (position 0 is the bar still forming)
- `copy_ticks_range(symbol, date_from, date_to, flags) -> ndarray[TICK_FIELDS] | None`
- For issue 7 (execution), not implemented here: `order_send(request: dict) ->
  OrderSendResult | None`, request keys `action, symbol, volume, type, price, sl, tp,
  deviation, magic, comment, type_time, type_filling, position`; result `retcode` is
  TRADE_RETCODE_DONE (10009) on success, `order`/`deal` the tickets. `order_check(request)` has
  the same request shape and changes nothing.
"""
from __future__ import annotations

# copy flags
COPY_TICKS_ALL = -1
COPY_TICKS_INFO = 1
COPY_TICKS_TRADE = 2

# tick flags
TICK_FLAG_BID = 0x02
TICK_FLAG_ASK = 0x04

# ENUM_SYMBOL_CALC_MODE values that mean a currency pair
SYMBOL_CALC_MODE_FOREX = 0
SYMBOL_CALC_MODE_FOREX_NO_LEVERAGE = 5

# ENUM_SYMBOL_TRADE_MODE
SYMBOL_TRADE_MODE_DISABLED = 0

TRADE_RETCODE_DONE = 10009

# last_error() codes
RES_S_OK = 1
RES_E_FAIL = -1
RES_E_INVALID_PARAMS = -2
RES_E_NO_MEMORY = -3
RES_E_NOT_FOUND = -4
RES_E_INVALID_VERSION = -5
RES_E_AUTH_FAILED = -6
RES_E_UNSUPPORTED = -7
RES_E_AUTO_TRADING_DISABLED = -8
RES_E_INTERNAL_FAIL = -10000
RES_E_INTERNAL_FAIL_SEND = -10001
RES_E_INTERNAL_FAIL_RECEIVE = -10002
RES_E_INTERNAL_FAIL_INIT = -10003
RES_E_INTERNAL_FAIL_CONNECT = -10004
RES_E_INTERNAL_FAIL_TIMEOUT = -10005

# Timeframes this adapter publishes: name -> (TIMEFRAME_* value, seconds).
TIMEFRAMES: dict[str, tuple[int, int]] = {
    "M1": (1, 60),
    "M5": (5, 300),
    "M15": (15, 900),
    "M30": (30, 1800),
    "H1": (1 | 0x4000, 3600),
    "H4": (4 | 0x4000, 14_400),
    "D1": (24 | 0x4000, 86_400),
}

# numpy structured array fields, in the package's order.
RATES_FIELDS = ("time", "open", "high", "low", "close", "tick_volume", "spread", "real_volume")
TICK_FIELDS = ("time", "bid", "ask", "last", "volume", "time_msc", "flags", "volume_real")

# SymbolInfo fields the adapter reads.
SYMBOL_INFO_FIELDS = (
    "name", "digits", "point", "trade_tick_size", "trade_contract_size", "volume_min",
    "volume_step", "currency_base", "currency_profit", "trade_calc_mode", "trade_mode",
)
