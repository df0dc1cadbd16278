"""State of the fake terminal: connection, simulated clock, last error, recorded history.

The clock is *elapsed* simulated time. Each symbol replays its own recording from its first
tick (or bar), so at elapsed E a symbol shows what happened in the first E of its recording:
the three datasets come from different years and could not share one absolute clock. Elapsed
time moves when a test calls `advance()`, or by itself at `speed` x wall time.

Server time: a real terminal reports times in its broker's server time zone. The fake's zone is
UTC unless `server_utc_offset_s` is set (e.g. 7200 for a GMT+2 broker); the offset is added to
every time it returns and subtracted from every time it is given.
"""
from __future__ import annotations

import fnmatch
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from . import _constants as C
from ._data import (
    DATASET_ENV,
    DATASETS,
    SymbolHistory,
    SymbolSpec,
    data_dir,
    load,
)
from ._types import AccountInfo, SymbolInfo, TerminalInfo, Tick

SPEED_ENV = "TRIFECTA_FAKE_MT5_SPEED"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

MESSAGES = {
    C.RES_S_OK: "Success",
    C.RES_E_FAIL: "Terminal: Call failed",
    C.RES_E_INVALID_PARAMS: "Terminal: Invalid params",
    C.RES_E_NO_MEMORY: "Terminal: Out of memory",
    C.RES_E_NOT_FOUND: "Terminal: Not found",
    C.RES_E_INVALID_VERSION: "Terminal: Incompatible versions, please install the latest "
                             "version of Terminal and Python module",
    C.RES_E_AUTH_FAILED: "Terminal: Authorization failed",
    C.RES_E_UNSUPPORTED: "Terminal: Unsupported function",
    C.RES_E_AUTO_TRADING_DISABLED: "Auto-Trading using Python API disabled in Terminal",
    C.RES_E_INTERNAL_FAIL: "IPC call failed",
    C.RES_E_INTERNAL_FAIL_SEND: "IPC send failed",
    C.RES_E_INTERNAL_FAIL_RECEIVE: "IPC recv failed",
    C.RES_E_INTERNAL_FAIL_INIT: "IPC initialize failed, terminal not started",
    C.RES_E_INTERNAL_FAIL_CONNECT: "No IPC connection",
    C.RES_E_INTERNAL_FAIL_TIMEOUT: "IPC timeout",
}


class _Fail(Exception):
    """Internal: the call returns its failure value and sets last_error to `code`."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def timeframe_seconds(tf: int) -> int:
    """Seconds of an MT5 TIMEFRAME_* value (W1 and MN1 are not fixed lengths: unsupported)."""
    unit = tf & 0xC000
    n = tf & 0x3FFF
    if unit == 0 and 1 <= n <= 30:
        return n * 60
    if unit == 0x4000 and 1 <= n <= 24:
        return n * 3600
    raise _Fail(C.RES_E_INVALID_PARAMS)


class Terminal:
    """One fake terminal per process (the real module also talks to one terminal)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.reset()

    # -- simulator controls ---------------------------------------------------------------
    def reset(self, *, data_dir_path: str | Path | None = None, dataset: str | None = None,
              speed: float | None = None, server_utc_offset_s: int = 0,
              elapsed_s: float = 0.0) -> None:
        with self._lock:
            self.data_dir = data_dir(data_dir_path)
            self.dataset = dataset or os.environ.get(DATASET_ENV, "default")
            if self.dataset not in DATASETS:
                raise ValueError(f"unknown dataset {self.dataset!r}; known: {sorted(DATASETS)}")
            self.specs: dict[str, SymbolSpec] = {s.name: s for s in DATASETS[self.dataset]}
            self.history: dict[str, SymbolHistory] = getattr(self, "history", {})
            if getattr(self, "_loaded_from", None) != (self.data_dir, self.dataset):
                self.history = {}
                self._loaded_from = (self.data_dir, self.dataset)
            self.selected = set(self.specs)
            self.speed = float(os.environ.get(SPEED_ENV, "0")) if speed is None else speed
            self._manual_ms = int(elapsed_s * 1000)
            self._wall0 = time.monotonic()
            self.offset_ms = server_utc_offset_s * 1000
            self.initialized = False
            self.reachable = True  # False after drop(): calls fail until initialize() succeeds
            self.refuse_initialize = 0
            self.error = (C.RES_S_OK, MESSAGES[C.RES_S_OK])
            self.injected: dict[str, list[int]] = {}
            self.calls: Counter[str] = Counter()
            self.account = {"login": 5_000_001, "password": None, "server": "TrifectaFake-Demo"}

    def elapsed_ms(self) -> int:
        with self._lock:
            if self.speed:
                return self._manual_ms + int((time.monotonic() - self._wall0) * 1000 * self.speed)
            return self._manual_ms

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._manual_ms += int(seconds * 1000)

    def set_speed(self, speed: float) -> None:
        with self._lock:
            self._manual_ms = self.elapsed_ms()
            self._wall0 = time.monotonic()
            self.speed = speed

    def drop(self, refuse_initialize: int = 0) -> None:
        with self._lock:
            self.initialized = False
            self.reachable = False
            self.refuse_initialize = refuse_initialize

    def fail_next(self, function: str, code: int, times: int = 1) -> None:
        with self._lock:
            self.injected.setdefault(function, []).extend([code] * times)

    def set_account(self, login: int, password: str | None, server: str) -> None:
        with self._lock:
            self.account = {"login": login, "password": password, "server": server}

    def now_ms(self, symbol: str) -> int:
        """UTC ms the symbol's recording has reached."""
        return self._hist(symbol).origin_ms + self.elapsed_ms()

    # -- API plumbing ---------------------------------------------------------------------
    def call(self, name: str, fn: Callable[[], Any], failure: Any = None,
             needs_connection: bool = True) -> Any:
        with self._lock:
            self.calls[name] += 1
            try:
                queue = self.injected.get(name)
                if queue:
                    raise _Fail(queue.pop(0))
                if needs_connection and not self.initialized:
                    raise _Fail(C.RES_E_INTERNAL_FAIL_CONNECT)
                result = fn()
            except _Fail as f:
                self.error = (f.code, MESSAGES.get(f.code, "Terminal: Call failed"))
                return failure
            self.error = (C.RES_S_OK, MESSAGES[C.RES_S_OK])
            return result

    def _hist(self, symbol: Any) -> SymbolHistory:
        if not isinstance(symbol, str):
            raise _Fail(C.RES_E_INVALID_PARAMS)
        spec = self.specs.get(symbol)
        if spec is None:
            raise _Fail(C.RES_E_NOT_FOUND)
        if symbol not in self.history:
            self.history[symbol] = load(spec, self.data_dir)
        return self.history[symbol]

    def to_utc_ms(self, value: Any) -> int:
        """A date argument (datetime, or seconds since epoch) in server time -> UTC ms."""
        if isinstance(value, datetime):
            aware = value if value.tzinfo is not None else value.astimezone()  # naive = local
            ms = (aware - _EPOCH) // timedelta(milliseconds=1)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            ms = int(value * 1000)
        else:
            raise _Fail(C.RES_E_INVALID_PARAMS)
        return ms - self.offset_ms

    def _out_ticks(self, ticks: np.ndarray) -> np.ndarray:
        out = ticks.copy()
        out["time_msc"] += self.offset_ms
        out["time"] = out["time_msc"] // 1000
        return out

    def _out_rates(self, rates: np.ndarray) -> np.ndarray:
        out = rates.copy()
        out["time"] += self.offset_ms // 1000
        return out

    def visible_ticks(self, symbol: str) -> np.ndarray:
        h = self._hist(symbol)
        end = int(np.searchsorted(h.ticks["time_msc"], self.now_ms(symbol), side="right"))
        return h.ticks[:end]

    def visible_rates(self, symbol: str, timeframe: int) -> np.ndarray:
        return self._hist(symbol).rates_at(timeframe_seconds(timeframe), self.now_ms(symbol))

    def last_tick(self, symbol: str) -> tuple[int, float, float] | None:
        """(UTC ms, bid, ask) of the latest quote; bar-only symbols quote their last close."""
        h = self._hist(symbol)
        if len(h.ticks):
            seen = self.visible_ticks(symbol)
            if not len(seen):
                return None
            t = seen[-1]
            return int(t["time_msc"]), float(t["bid"]), float(t["ask"])
        now = self.now_ms(symbol)
        closes = h.m1["time"].astype(np.int64) * 1000 + 60_000
        i = int(np.searchsorted(closes, now, side="right")) - 1
        if i < 0:
            return None
        return int(closes[i]), float(h.m1["close"][i]), float(h.m1_ask_close[i])

    # -- the API's data -------------------------------------------------------------------
    def symbol_info(self, symbol: str) -> SymbolInfo:
        h = self._hist(symbol)
        spec = h.spec
        q = self.last_tick(symbol)
        ms, bid, ask = q if q else (0, 0.0, 0.0)
        ms = ms + self.offset_ms if q else 0
        spread = round((ask - bid) / h.point) if q else 0
        fields: dict[str, Any] = dict.fromkeys(SymbolInfo._fields, 0)
        fields.update(
            custom=False, select=symbol in self.selected, visible=symbol in self.selected,
            time=ms // 1000, digits=spec.digits, spread=spread, spread_float=True,
            ticks_bookdepth=0, trade_calc_mode=C.SYMBOL_CALC_MODE_FOREX,
            trade_mode=C.SYMBOL_TRADE_MODE_FULL, trade_exemode=C.SYMBOL_TRADE_EXECUTION_MARKET,
            swap_mode=C.SYMBOL_SWAP_MODE_POINTS, swap_rollover3days=C.DAY_OF_WEEK_WEDNESDAY,
            margin_hedged_use_leg=False, expiration_mode=15, filling_mode=1, order_mode=127,
            bid=bid, ask=ask, bidhigh=0.0, bidlow=0.0, askhigh=0.0, asklow=0.0, last=0.0,
            point=h.point, trade_tick_value=0.0, trade_tick_value_profit=0.0,
            trade_tick_value_loss=0.0, trade_tick_size=h.point,
            trade_contract_size=spec.contract_size, volume_min=spec.volume_min,
            volume_max=spec.volume_max, volume_step=spec.volume_step, volume_limit=0.0,
            margin_hedged=spec.contract_size, basis="", category="",
            currency_base=spec.base, currency_profit=spec.quote, currency_margin=spec.base,
            bank="", description=spec.description, exchange="", formula="", isin="",
            name=spec.name, page="", path=f"Forex\\{spec.name}",
        )
        for key in ("volume_real", "volumehigh_real", "volumelow_real", "option_strike",
                    "trade_accrued_interest", "trade_face_value", "trade_liquidity_rate",
                    "lasthigh", "lastlow", "swap_long", "swap_short", "margin_initial",
                    "margin_maintenance", "session_volume", "session_turnover",
                    "session_interest", "session_buy_orders_volume",
                    "session_sell_orders_volume", "session_open", "session_close",
                    "session_aw", "session_price_settlement", "session_price_limit_min",
                    "session_price_limit_max", "price_change", "price_volatility",
                    "price_theoretical", "price_greeks_delta", "price_greeks_theta",
                    "price_greeks_gamma", "price_greeks_vega", "price_greeks_rho",
                    "price_greeks_omega", "price_sensitivity"):
            fields[key] = 0.0
        return SymbolInfo(**fields)

    def tick(self, symbol: str) -> Tick:
        q = self.last_tick(symbol)
        if q is None:  # no quote yet: the real terminal returns an all-zero tick
            return Tick(0, 0.0, 0.0, 0.0, 0, 0, 0, 0.0)
        ms, bid, ask = q
        ms += self.offset_ms
        return Tick(ms // 1000, bid, ask, 0.0, 0, ms, C.TICK_FLAG_BID | C.TICK_FLAG_ASK, 0.0)

    def symbols(self, group: Any = None) -> tuple[SymbolInfo, ...]:
        names = list(self.specs)
        if group is not None:
            if not isinstance(group, str):
                raise _Fail(C.RES_E_INVALID_PARAMS)
            names = [n for n in names if _group_match(n, group)]
        return tuple(self.symbol_info(n) for n in names)

    def select(self, symbol: str, enable: Any) -> bool:
        self._hist(symbol)
        if enable:
            self.selected.add(symbol)
        else:
            self.selected.discard(symbol)
        return True

    def ticks_range(self, symbol: str, date_from: Any, date_to: Any, flags: Any) -> np.ndarray:
        lo, hi = self.to_utc_ms(date_from), self.to_utc_ms(date_to)
        seen = self.visible_ticks(symbol)
        t = seen["time_msc"]
        part = seen[(t >= lo) & (t <= hi)]
        return self._out_ticks(_filter_flags(part, flags))

    def ticks_from(self, symbol: str, date_from: Any, count: Any, flags: Any) -> np.ndarray:
        lo = self.to_utc_ms(date_from)
        if not isinstance(count, int) or count < 0:
            raise _Fail(C.RES_E_INVALID_PARAMS)
        seen = _filter_flags(self.visible_ticks(symbol), flags)
        start = int(np.searchsorted(seen["time_msc"], lo, side="left"))
        return self._out_ticks(seen[start:start + count])

    def rates_from_pos(self, symbol: str, timeframe: Any, start_pos: Any, count: Any,
                       ) -> np.ndarray:
        if not all(isinstance(v, int) for v in (timeframe, start_pos, count)):
            raise _Fail(C.RES_E_INVALID_PARAMS)
        if start_pos < 0 or count < 0:
            raise _Fail(C.RES_E_INVALID_PARAMS)
        bars = self.visible_rates(symbol, timeframe)
        end = max(len(bars) - start_pos, 0)
        return self._out_rates(bars[max(end - count, 0):end])

    def rates_from(self, symbol: str, timeframe: Any, date_from: Any, count: Any) -> np.ndarray:
        if not isinstance(timeframe, int) or not isinstance(count, int) or count < 0:
            raise _Fail(C.RES_E_INVALID_PARAMS)
        upto = self.to_utc_ms(date_from) // 1000
        bars = self.visible_rates(symbol, timeframe)
        end = int(np.searchsorted(bars["time"], upto, side="right"))
        return self._out_rates(bars[max(end - count, 0):end])

    def rates_range(self, symbol: str, timeframe: Any, date_from: Any, date_to: Any,
                    ) -> np.ndarray:
        if not isinstance(timeframe, int):
            raise _Fail(C.RES_E_INVALID_PARAMS)
        lo, hi = self.to_utc_ms(date_from) // 1000, self.to_utc_ms(date_to) // 1000
        bars = self.visible_rates(symbol, timeframe)
        return self._out_rates(bars[(bars["time"] >= lo) & (bars["time"] <= hi)])

    def initialize(self, login: Any, password: Any, server: Any) -> bool:
        if not self.reachable and self.refuse_initialize > 0:
            self.refuse_initialize -= 1
            raise _Fail(C.RES_E_INTERNAL_FAIL_INIT)
        self.reachable = True
        self.initialized = True
        if login is not None:
            self.authorize(login, password, server)
        return True

    def authorize(self, login: Any, password: Any, server: Any) -> bool:
        acct = self.account
        if not isinstance(login, int) or isinstance(login, bool):
            raise _Fail(C.RES_E_INVALID_PARAMS)
        if (login != acct["login"] or (server is not None and server != acct["server"])
                or password != acct["password"]):
            raise _Fail(C.RES_E_AUTH_FAILED)
        return True

    def account_info(self) -> AccountInfo:
        return AccountInfo(
            login=self.account["login"], trade_mode=C.ACCOUNT_TRADE_MODE_DEMO, leverage=100,
            limit_orders=200, margin_so_mode=C.ACCOUNT_STOPOUT_MODE_PERCENT, trade_allowed=True,
            trade_expert=True, margin_mode=C.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING,
            currency_digits=2, fifo_close=False, balance=10_000.0, credit=0.0, profit=0.0,
            equity=10_000.0, margin=0.0, margin_free=10_000.0, margin_level=0.0,
            margin_so_call=50.0, margin_so_so=30.0, margin_initial=0.0,
            margin_maintenance=0.0, assets=0.0, liabilities=0.0, commission_blocked=0.0,
            name="Trifecta fake account", server=self.account["server"], currency="USD",
            company="Trifecta fake terminal (recorded data)",
        )

    def terminal_info(self) -> TerminalInfo:
        return TerminalInfo(
            community_account=False, community_connection=False, connected=self.reachable,
            dlls_allowed=False, trade_allowed=False, tradeapi_disabled=False,
            email_enabled=False, ftp_enabled=False, notifications_enabled=False, mqid=False,
            build=5000, maxbars=100_000, codepage=0, ping_last=0, community_balance=0.0,
            retransmission=0.0, company="Trifecta fake terminal (recorded data)",
            name="Fake MetaTrader 5", language="English", path="", data_path="",
            commondata_path="",
        )


def _filter_flags(ticks: np.ndarray, flags: Any) -> np.ndarray:
    if not isinstance(flags, int):
        raise _Fail(C.RES_E_INVALID_PARAMS)
    if flags == C.COPY_TICKS_ALL:
        return ticks
    if flags == C.COPY_TICKS_INFO:
        return ticks[(ticks["flags"] & (C.TICK_FLAG_BID | C.TICK_FLAG_ASK)) != 0]
    if flags == C.COPY_TICKS_TRADE:
        return ticks[(ticks["flags"] & (C.TICK_FLAG_LAST | C.TICK_FLAG_VOLUME)) != 0]
    raise _Fail(C.RES_E_INVALID_PARAMS)


def _group_match(name: str, group: str) -> bool:
    """MT5 group filter: comma-separated masks with `*`, `!mask` excludes."""
    included = False
    for mask in (m.strip() for m in group.split(",") if m.strip()):
        if mask.startswith("!"):
            if fnmatch.fnmatchcase(name, mask[1:]):
                return False
        elif fnmatch.fnmatchcase(name, mask):
            included = True
    return included
