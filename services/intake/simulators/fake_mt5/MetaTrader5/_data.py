"""The fake terminal's history: recorded vendor files turned into MT5 ticks and rates.

Each symbol is one recorded dataset (see `DATASETS`). Times are UTC milliseconds here; the
terminal shifts them to its server time zone on the way out. Everything is computed from the
files, nothing is invented, except the broker's contract spec (digits, lot sizes), which is a
typical retail FX spec and is stated in `SymbolSpec`.

How vendor data becomes MT5 data:
- ticks: `time_msc` from the vendor time (HistData is EST, a fixed UTC-5 with no daylight
  saving, per HistData's format notes; it is converted to UTC here), `time` = `time_msc // 1000`,
  `flags` = TICK_FLAG_BID / TICK_FLAG_ASK for the side(s) that changed since the previous tick
  (0 when neither did: the vendor repeated a quote), `last`/`volume`/`volume_real` 0 (FX quotes
  carry no trades).
- M1 rates from ticks: bid OHLC (MT5 charts FX by bid), `tick_volume` = tick count, `spread` =
  the smallest spread of the minute in points, `real_volume` 0. A bar exists from its first tick.
- M1 rates from FXCM bid/ask bars: bid OHLC, `tick_volume` 0 (FXCM gives none), `spread` = the
  smaller of the open and close spreads (the two moments where bid and ask are simultaneous)
  that is not negative; when both are negative (18 GBPUSD bars: FXCM aggregates bid and ask
  separately) the one nearer zero, as given. A bar exists from its open time.
- Other timeframes aggregate M1: first open, max high, min low, last close, summed volumes,
  smallest spread.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from ._constants import TICK_FLAG_ASK, TICK_FLAG_BID

TICK_DTYPE = np.dtype([
    ("time", "<i8"), ("bid", "<f8"), ("ask", "<f8"), ("last", "<f8"), ("volume", "<u8"),
    ("time_msc", "<i8"), ("flags", "<u4"), ("volume_real", "<f8"),
])
RATES_DTYPE = np.dtype([
    ("time", "<i8"), ("open", "<f8"), ("high", "<f8"), ("low", "<f8"), ("close", "<f8"),
    ("tick_volume", "<u8"), ("spread", "<i4"), ("real_volume", "<u8"),
])

EST = timezone(timedelta(hours=-5), "EST")  # HistData: Eastern Standard Time all year
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

# fake_mt5/MetaTrader5/_data.py -> repo root
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[5] / "data" / "recorded"
DATA_DIR_ENV = "TRIFECTA_FAKE_MT5_DATA_DIR"
DATASET_ENV = "TRIFECTA_FAKE_MT5_DATASET"


@dataclass(frozen=True)
class SymbolSpec:
    """One symbol of the fake broker and the recorded file(s) behind it."""

    name: str
    base: str
    quote: str
    digits: int
    description: str
    source: str  # "histdata" | "truefx" | "decoded" | "fxcm"
    files: tuple[str, ...]  # relative to the data dir
    contract_size: float = 100_000.0
    volume_min: float = 0.01
    volume_step: float = 0.01
    volume_max: float = 500.0


DATASETS: dict[str, tuple[SymbolSpec, ...]] = {
    "default": (
        SymbolSpec("EURUSD", "EUR", "USD", 5, "Euro vs US Dollar", "histdata",
                   ("forex/histdata/eurusd_ticks_2020-01-01_quote_tick_data.csv",)),
        SymbolSpec("USDJPY", "USD", "JPY", 3, "US Dollar vs Japanese Yen", "truefx",
                   ("forex/truefx/usdjpy-ticks.csv",)),
        SymbolSpec("GBPUSD", "GBP", "USD", 5, "Great Britain Pound vs US Dollar", "fxcm",
                   ("fxcm/gbpusd-m1-bid-2012.csv", "fxcm/gbpusd-m1-ask-2012.csv")),
    ),
    # The two 2019 pairs overlap in time (23:00-01:36 UTC): multi-pair tests.
    "sim2019": (
        SymbolSpec("EURUSD", "EUR", "USD", 5, "Euro vs US Dollar", "decoded",
                   ("forex/nautilus_sim_2019/eurusd_ticks_2019-01-01T23_decoded.csv",)),
        SymbolSpec("USDJPY", "USD", "JPY", 3, "US Dollar vs Japanese Yen", "decoded",
                   ("forex/nautilus_sim_2019/usdjpy_ticks_2019-01-01T23_decoded.csv",)),
        SymbolSpec("GBPUSD", "GBP", "USD", 5, "Great Britain Pound vs US Dollar", "fxcm",
                   ("fxcm/gbpusd-m1-bid-2012.csv", "fxcm/gbpusd-m1-ask-2012.csv")),
    ),
}


@dataclass
class SymbolHistory:
    """Everything the terminal serves for one symbol, times in UTC."""

    spec: SymbolSpec
    ticks: np.ndarray  # TICK_DTYPE, possibly empty
    m1: np.ndarray  # RATES_DTYPE
    m1_appear_ms: np.ndarray  # int64: when each M1 bar starts to exist
    m1_ask_close: np.ndarray  # float64: the bar's last ask (bar-only symbols' last quote)
    by_tf: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def point(self) -> float:
        return 10.0 ** -self.spec.digits

    @property
    def origin_ms(self) -> int:
        """When the recording starts: the symbol's clock reads this at elapsed 0."""
        if len(self.ticks):
            return int(self.ticks["time_msc"][0])
        return int(self.m1_appear_ms[0])

    def rates(self, tf_s: int) -> tuple[np.ndarray, np.ndarray]:
        """(rates, appear_ms) for a timeframe of `tf_s` seconds (a multiple of 60)."""
        if tf_s == 60:
            return self.m1, self.m1_appear_ms
        if tf_s not in self.by_tf:
            self.by_tf[tf_s] = aggregate(self.m1, self.m1_appear_ms, tf_s)
        return self.by_tf[tf_s]

    def rates_at(self, tf_s: int, now_ms: int) -> np.ndarray:
        """The bars that exist at `now_ms`, the forming one built from what has arrived.

        From ticks the forming bar is exact; from FXCM minutes a forming M1 bar shows its
        final values (the files hold no path inside the minute), higher timeframes
        aggregate the minutes that exist.
        """
        rates, appear = self.rates(tf_s)
        end = int(np.searchsorted(appear, now_ms, side="right"))
        out = rates[:end].copy()
        if not end:
            return out
        start_ms = int(out["time"][-1]) * 1000
        if len(self.ticks):
            t = self.ticks["time_msc"]
            part = self.ticks[(t >= start_ms) & (t <= now_ms)]
            out[-1] = ticks_to_bars(part, self.point, tf_s)[0][0]
        elif tf_s != 60:
            m1_end = int(np.searchsorted(self.m1_appear_ms, now_ms, side="right"))
            i0 = int(np.searchsorted(self.m1["time"], start_ms // 1000, side="left"))
            out[-1] = aggregate(self.m1[i0:m1_end], self.m1_appear_ms[i0:m1_end], tf_s)[0][0]
        return out


def data_dir(explicit: str | Path | None = None) -> Path:
    """The recorded-data folder: the argument, else $TRIFECTA_FAKE_MT5_DATA_DIR, else the repo's."""
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env) if env else DEFAULT_DATA_DIR


def histdata_ms(text: str) -> int:
    """HistData ASCII tick time `YYYYMMDD HHMMSSmmm` (EST, UTC-5 all year) -> UTC ms."""
    day, clock = text.split(" ")
    if len(day) != 8 or len(clock) != 9:
        raise ValueError(f"bad HistData time {text!r}")
    local = datetime(int(day[:4]), int(day[4:6]), int(day[6:]), int(clock[:2]),
                     int(clock[2:4]), int(clock[4:6]), tzinfo=EST)
    return (local - _EPOCH) // _MS + int(clock[6:])


def iso_ms(text: str) -> int:
    """ISO time with an offset (`2013-01-01 22:00:00.295000+00:00`) -> UTC ms."""
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        raise ValueError(f"time {text!r} has no UTC offset")
    return (dt - _EPOCH) // _MS


def load(spec: SymbolSpec, root: Path) -> SymbolHistory:
    """Read one symbol's files. A missing file raises FileNotFoundError naming it."""
    paths = [root / f for f in spec.files]
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"fake MT5: {spec.name} needs {p}")
    point = 10.0 ** -spec.digits
    if spec.source == "fxcm":
        return _load_fxcm(spec, paths[0], paths[1], point)
    ms, bid, ask = _read_ticks(spec.source, paths[0])
    ticks = make_ticks(ms, bid, ask)
    m1, appear, ask_close = ticks_to_bars(ticks, point)
    return SymbolHistory(spec, ticks, m1, appear, ask_close)


def make_ticks(ms: np.ndarray, bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
    """Structured MT5 ticks from time/bid/ask columns (flags mark the side that changed)."""
    out = np.zeros(len(ms), dtype=TICK_DTYPE)
    out["time_msc"] = ms
    out["time"] = ms // 1000
    out["bid"] = bid
    out["ask"] = ask
    flags = np.zeros(len(ms), dtype=np.uint32)
    if len(ms):
        flags[0] = TICK_FLAG_BID | TICK_FLAG_ASK
        flags[1:] |= np.where(bid[1:] != bid[:-1], TICK_FLAG_BID, 0).astype(np.uint32)
        flags[1:] |= np.where(ask[1:] != ask[:-1], TICK_FLAG_ASK, 0).astype(np.uint32)
    out["flags"] = flags
    return out


def ticks_to_bars(ticks: np.ndarray, point: float, tf_s: int = 60,
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bid bars of `tf_s` seconds from ticks, with each bar's first-tick time and last ask."""
    bucket = ticks["time_msc"] // (tf_s * 1000)
    _, first = np.unique(bucket, return_index=True)
    last = np.append(first[1:], len(ticks)) - 1
    bid = ticks["bid"]
    spread_pts = np.rint((ticks["ask"] - bid) / point).astype(np.int64)
    out = np.zeros(len(first), dtype=RATES_DTYPE)
    out["time"] = bucket[first] * tf_s
    out["open"] = bid[first]
    out["high"] = np.maximum.reduceat(bid, first)
    out["low"] = np.minimum.reduceat(bid, first)
    out["close"] = bid[last]
    out["tick_volume"] = last - first + 1
    out["spread"] = np.minimum.reduceat(spread_pts, first)
    return out, ticks["time_msc"][first].astype(np.int64), ticks["ask"][last].astype(np.float64)


def aggregate(m1: np.ndarray, appear: np.ndarray, tf_s: int) -> tuple[np.ndarray, np.ndarray]:
    """Bars of `tf_s` seconds from M1 bars (and when each starts to exist)."""
    bucket = m1["time"] // tf_s
    _, first = np.unique(bucket, return_index=True)
    last = np.append(first[1:], len(m1)) - 1
    out = np.zeros(len(first), dtype=RATES_DTYPE)
    out["time"] = bucket[first] * tf_s
    out["open"] = m1["open"][first]
    out["high"] = np.maximum.reduceat(m1["high"], first)
    out["low"] = np.minimum.reduceat(m1["low"], first)
    out["close"] = m1["close"][last]
    out["tick_volume"] = np.add.reduceat(m1["tick_volume"], first)
    out["spread"] = np.minimum.reduceat(m1["spread"], first)
    out["real_volume"] = np.add.reduceat(m1["real_volume"], first)
    return out, np.minimum.reduceat(appear, first)


def _read_ticks(source: str, path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ms: list[int] = []
    bid: list[float] = []
    ask: list[float] = []
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        if source in ("truefx", "decoded"):
            next(reader)  # header
        for row in reader:
            if source == "histdata":  # 20200101 170000065,1.121200,1.121720,0 (no header)
                ms.append(histdata_ms(row[0]))
                b, a = row[1], row[2]
            elif source == "truefx":  # timestamp,bid,ask
                ms.append(iso_ms(row[0]))
                b, a = row[1], row[2]
            elif source == "decoded":  # timestamp_utc,ts_event_ns,bid,ask
                ms.append(int(row[1]) // 1_000_000)
                b, a = row[2], row[3]
            else:
                raise ValueError(f"unknown tick source {source!r}")
            bid.append(float(b))
            ask.append(float(a))
    t = np.array(ms, dtype=np.int64)
    order = np.argsort(t, kind="stable")
    return t[order], np.array(bid)[order], np.array(ask)[order]


def _read_fxcm_side(path: Path) -> dict[int, tuple[float, float, float, float]]:
    rows: dict[int, tuple[float, float, float, float]] = {}
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        next(reader)  # timestamp,open,high,low,close
        for ts, o, h, low, c in reader:
            rows[iso_ms(ts) // 1000] = (float(o), float(h), float(low), float(c))
    return rows


def _load_fxcm(spec: SymbolSpec, bid_path: Path, ask_path: Path, point: float) -> SymbolHistory:
    bids, asks = _read_fxcm_side(bid_path), _read_fxcm_side(ask_path)
    times = sorted(bids.keys() & asks.keys())  # a minute needs both sides
    m1 = np.zeros(len(times), dtype=RATES_DTYPE)
    ask_close = np.zeros(len(times))
    for i, t in enumerate(times):
        (bo, bh, bl, bc), (ao, _, _, ac) = bids[t], asks[t]
        spreads = (round((ao - bo) / point), round((ac - bc) / point))
        usable = [s for s in spreads if s >= 0]
        m1[i] = (t, bo, bh, bl, bc, 0, min(usable) if usable else max(spreads), 0)
        ask_close[i] = ac
    appear = m1["time"].astype(np.int64) * 1000
    return SymbolHistory(spec, np.zeros(0, dtype=TICK_DTYPE), m1, appear, ask_close)
