"""Pure feature and label maths on 1-minute bid/ask bars (numpy only, no I/O except `load_*`).

Row `t` of the design matrix uses bars 0..t only (lagged log returns of the mid, realized
volatility, spread, RSI, momentum); its labels look forward from bar t: the direction of the
next `horizon` bars' mid log return (1 = strictly up) and the realized volatility of the next
`vol_horizon` 1-bar returns. Missing minutes (no ticks) are not filled: consecutive rows are
consecutive bars, as a live consumer of `BarClosed` sees them.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from libs.common.clock import TestClock
from libs.common.events import BarClosed

DEFAULT_FXCM_DIR = Path(__file__).resolve().parents[3] / "data" / "recorded" / "fxcm"
FXCM_BID = DEFAULT_FXCM_DIR / "gbpusd-m1-bid-2012.csv"
FXCM_ASK = DEFAULT_FXCM_DIR / "gbpusd-m1-ask-2012.csv"
EWMA_LAMBDA = 0.94  # RiskMetrics decay for the EWMA variance


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """How features and labels are built; part of the training-data hash."""

    n_lags: int = 5
    vol_window: int = 20
    rsi_window: int = 14
    horizon: int = 5
    vol_horizon: int = 20
    seq_len: int = 16  # window of feature rows fed to sequence (torch) models

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"FeatureConfig.{name} must be a positive int, got {value!r}")

    @property
    def warmup(self) -> int:
        """Index of the first bar with every feature defined."""
        return max(self.n_lags, self.vol_window, self.rsi_window)

    @property
    def lookahead(self) -> int:
        """How many bars after `t` the labels of row `t` read."""
        return max(self.horizon, self.vol_horizon)

    def to_dict(self) -> dict[str, int]:
        """Plain dict (for model files and hashing)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Bars:
    """Bid/ask closes of consecutive bars, in time order (`ts` = bar close, ns)."""

    ts: np.ndarray
    bid: np.ndarray
    ask: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.ts)
        if len(self.bid) != n or len(self.ask) != n:
            raise ValueError("ts, bid and ask must have the same length")
        if n and not (np.all(np.isfinite(self.bid)) and np.all(np.isfinite(self.ask))
                      and np.all(self.bid > 0) and np.all(self.ask > 0)):
            raise ValueError("bid and ask must be finite and positive")
        if n > 1 and not np.all(np.diff(self.ts) > 0):
            raise ValueError("bars must be strictly increasing in time")

    def __len__(self) -> int:
        return len(self.ts)

    def head(self, n: int) -> Bars:
        """The first n bars (what was known at bar n-1)."""
        return Bars(self.ts[:n], self.bid[:n], self.ask[:n])

    @classmethod
    def from_events(cls, bars: list[BarClosed]) -> Bars:
        """Closes of `BarClosed` events (e.g. the rolling window decision keeps)."""
        return cls(np.array([b.ts_event for b in bars], dtype=np.int64),
                   np.array([float(b.bid_close) for b in bars]),
                   np.array([float(b.ask_close) for b in bars]))


@dataclass(frozen=True, slots=True)
class Dataset:
    """Features and aligned labels; row i describes bar `index[i]`."""

    X: np.ndarray  # (n, n_features)
    y_dir: np.ndarray  # (n,) 1.0 if the next-horizon mid return is > 0 else 0.0
    y_vol: np.ndarray  # (n,) realized vol of the next vol_horizon returns
    prev_ret: np.ndarray  # (n,) the last 1-bar return known at t (naive sign baseline)
    ewma_vol: np.ndarray  # (n,) EWMA forecast of the next vol_horizon vol, known at t
    ts: np.ndarray
    index: np.ndarray
    feature_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.index)

    def take(self, sl: slice) -> Dataset:
        """Rows in `sl` (a contiguous, time-ordered block)."""
        return Dataset(self.X[sl], self.y_dir[sl], self.y_vol[sl], self.prev_ret[sl],
                       self.ewma_vol[sl], self.ts[sl], self.index[sl], self.feature_names)


def load_fxcm(bid_path: str | Path = FXCM_BID, ask_path: str | Path = FXCM_ASK) -> Bars:
    """Read the recorded FXCM bars through intake's reader; BadLines are left out."""
    from services.intake.adapters.fxcm_bars import read_fxcm_bars

    items = [b for b in read_fxcm_bars(bid_path, ask_path, clock=TestClock())
             if isinstance(b, BarClosed)]
    return Bars.from_events(items)


def data_hash(paths: list[Path], cfg: FeatureConfig) -> str:
    """sha256 over the input files (name + bytes, in the given order) and the feature config."""
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).name.encode())
        h.update(b"\0")
        h.update(Path(p).read_bytes())
        h.update(b"\0")
    h.update(json.dumps(cfg.to_dict(), sort_keys=True).encode())
    return h.hexdigest()


def log_returns(mid: np.ndarray) -> np.ndarray:
    """r[t] = log(mid[t] / mid[t-1]); r[0] = 0 (no previous bar)."""
    r = np.zeros_like(mid, dtype=float)
    r[1:] = np.diff(np.log(mid))
    return r


def _rolling_mean(x: np.ndarray, w: int) -> np.ndarray:
    """Mean of x[t-w+1..t]; NaN where fewer than w values exist (causal)."""
    out = np.full(len(x), np.nan)
    if len(x) >= w:
        c = np.concatenate(([0.0], np.cumsum(x)))
        out[w - 1:] = (c[w:] - c[:-w]) / w
    return out


def ewma_variance(r: np.ndarray, lam: float = EWMA_LAMBDA) -> np.ndarray:
    """Causal EWMA of r^2: v[t] = lam v[t-1] + (1-lam) r[t]^2, v[0] = r[0]^2."""
    v = np.empty(len(r))
    acc = float(r[0] ** 2) if len(r) else 0.0
    for i, x in enumerate(r):
        acc = lam * acc + (1.0 - lam) * x * x if i else acc
        v[i] = acc
    return v


FEATURE_SCALE = 1e4  # returns and spreads in basis points keep the numbers near 1


def feature_matrix(bars: Bars, cfg: FeatureConfig) -> tuple[np.ndarray, tuple[str, ...]]:
    """Features for every bar (rows before `cfg.warmup` are NaN); row t uses bars 0..t only."""
    mid = (bars.bid + bars.ask) / 2.0
    r = log_returns(mid)
    cols, names = [], []
    for j in range(cfg.n_lags):
        lag = np.full(len(r), np.nan)
        lag[j + 1:] = r[1:len(r) - j]  # lag[t] = r[t - j]
        cols.append(lag * FEATURE_SCALE)
        names.append(f"ret_lag{j}")
    cols.append(np.sqrt(_rolling_mean(r * r, cfg.vol_window)) * FEATURE_SCALE)
    names.append(f"rvol_{cfg.vol_window}")
    cols.append((bars.ask - bars.bid) / mid * FEATURE_SCALE)
    names.append("spread_bps")
    up = _rolling_mean(np.maximum(r, 0.0), cfg.rsi_window)
    down = _rolling_mean(np.maximum(-r, 0.0), cfg.rsi_window)
    total = up + down
    with np.errstate(invalid="ignore", divide="ignore"):
        rsi = np.where(total > 0, up / total, 0.5)  # Cutler's RSI in [0, 1]; flat -> 0.5
    rsi[np.isnan(up)] = np.nan
    cols.append(rsi - 0.5)
    names.append(f"rsi_{cfg.rsi_window}")
    cols.append(_rolling_mean(r, cfg.vol_window) * cfg.vol_window * FEATURE_SCALE)
    names.append(f"mom_{cfg.vol_window}")
    X = np.column_stack(cols)
    X[: cfg.warmup] = np.nan
    return X, tuple(names)


def build_dataset(bars: Bars, cfg: FeatureConfig) -> Dataset:
    """Rows for bars warmup..n-1-lookahead, each with its forward labels."""
    n = len(bars)
    first, last = cfg.warmup, n - 1 - cfg.lookahead
    if last < first:
        raise ValueError(f"{n} bars are too few for warmup {cfg.warmup} + "
                         f"lookahead {cfg.lookahead}")
    mid = (bars.bid + bars.ask) / 2.0
    r = log_returns(mid)
    X, names = feature_matrix(bars, cfg)
    idx = np.arange(first, last + 1)
    fut = np.log(mid[idx + cfg.horizon] / mid[idx])
    c2 = np.concatenate(([0.0], np.cumsum(r * r)))
    fut_vol = np.sqrt(c2[idx + cfg.vol_horizon + 1] - c2[idx + 1])  # r[t+1..t+h]
    ewma = np.sqrt(ewma_variance(r)[idx] * cfg.vol_horizon)
    return Dataset(X[idx], (fut > 0).astype(float), fut_vol, r[idx], ewma, bars.ts[idx], idx,
                   names)


@dataclass(frozen=True, slots=True)
class Split:
    """Chronological train / validation / test blocks (slices into a Dataset)."""

    train: slice
    val: slice
    test: slice


def chronological_split(n: int, *, test_frac: float = 0.2, val_frac: float = 0.2,
                        embargo: int = 0) -> Split:
    """Train, then validation, then the held-back test (last `test_frac`), in time order.

    `embargo` rows are dropped before validation and before test so that no training label
    (which reads `lookahead` bars ahead) overlaps the bars of a later block.
    """
    if not (0 < test_frac < 1 and 0 < val_frac < 1 and test_frac + val_frac < 1):
        raise ValueError("fractions must be in (0, 1) and sum to less than 1")
    test_start = n - int(round(n * test_frac))
    val_start = test_start - int(round(n * val_frac))
    train_end = val_start - embargo
    val_end = test_start - embargo
    if train_end <= 0 or val_end <= val_start or test_start >= n:
        raise ValueError(f"{n} rows are too few for this split")
    return Split(slice(0, train_end), slice(val_start, val_end), slice(test_start, n))


@dataclass(frozen=True, slots=True)
class Scaler:
    """Standardisation fitted on the training block only."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> Scaler:
        """Column mean and std (std 0 -> 1)."""
        std = X.std(axis=0)
        return cls(X.mean(axis=0), np.where(std > 0, std, 1.0))

    def transform(self, X: np.ndarray) -> np.ndarray:
        """(X - mean) / std."""
        return (X - self.mean) / self.std


def sequences(X: np.ndarray, seq_len: int) -> np.ndarray:
    """(n, f) -> (n - seq_len + 1, seq_len, f): window ending at each row, oldest first."""
    n = len(X)
    if n < seq_len:
        return np.empty((0, seq_len, X.shape[1]))
    return np.lib.stride_tricks.sliding_window_view(X, seq_len, axis=0).transpose(0, 2, 1)
