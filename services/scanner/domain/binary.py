"""Short-expiry binary option signals from quote ticks. Pure: no I/O, time from a Clock.

Model (one state per instrument, fed the mid (bid + ask) / 2 of each `QuoteTick`):

- Returns. Each tick whose time moved forward gives a log return r = ln(mid / prev_mid) over
  dt seconds (ticks with an unchanged mid give r = 0 and still add their dt, so quiet time
  counts). Ticks at or before the previous tick's time are ignored; a gap above `max_gap_s`
  (a weekend, a feed outage) restarts the instrument from cold.
- Volatility. Time-decayed realized variance: with w = exp(-dt / tau), tau = `vol_halflife_s`
  / ln 2, keep S_rr = w S_rr + r^2, S_r = w S_r + r and S_t = w S_t + dt; then
  sigma^2 = S_rr / S_t, a variance per second of log price (irregular ticks are weighted by the
  time they cover, not by their count). Tick-to-tick mids carry bid-ask bounce, which biases
  sigma up at very high tick rates; the calibration bench shows how much that matters.
- Drift. The raw estimate mu_hat = S_r / S_t per second has a standard error of about
  sigma / sqrt(S_t), far larger than any plausible drift over minutes, so it is shrunk towards 0
  as the posterior mean under a N(0, `drift_prior_sd`^2) prior:
  mu = mu_hat x prior^2 / (prior^2 + sigma^2 / S_t). `drift_prior_sd = 0` gives a driftless model.
- Outcome. Over T seconds the log price moves X ~ N(mu T, sigma^2 T) (Brownian motion with
  drift). The settlement price lives on a grid of step g, so it equals the entry (a tie,
  refunded) when |X| < h, with h = ln(1 + g / (2 entry)). g = `tick_size` if configured, else
  inferred: the finest decimal place of the bids and asks seen, halved when quotes are
  two-sided (a mid of two prices on a 0.00001 grid lies on a 0.000005 grid) and kept whole when
  bid == ask (Pocket Option streams one price). Brownian tie mass is a lower bound: real prices
  also stay put when no tick arrives; the calibration bench prints predicted vs observed ties.
  Then P(up) = 1 - Phi((h - mu T) / (sigma sqrt T)),
  P(down) = Phi((-h - mu T) / (sigma sqrt T)), P(tie) = 1 - P(up) - P(down).
- Expected value per unit stake, by the settlement rules (services/intake/adapters/pocketoption/
  settlement.py: CALL wins strictly above, PUT strictly below, a tie refunds the stake):
  EV(CALL) = P(up) x payout / 100 - P(down), EV(PUT) = P(down) x payout / 100 - P(up).

A signal is emitted for the better direction of an expiry only when its EV > `min_ev`, at most
once per (instrument, expiry) every `throttle_s` seconds of event time, with the fixed `stake`
(capped by `max_stake`; never scaled up after a loss: the scanner has no idea of outcomes).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from libs.common.clock import Clock
from libs.common.errors import ConfigurationError
from libs.common.events.market import BinaryAssetsUpdated, QuoteTick
from libs.common.events.opportunity import BinarySignalDetected
from libs.common.identifiers import derived_id

STRATEGY = "binary_bm_ev"
NS_PER_S = 1_000_000_000
_SQRT2 = math.sqrt(2.0)
_HUNDRED = Decimal(100)


def normal_cdf(x: float) -> float:
    """Standard normal CDF Phi(x), via erfc (accurate in both tails)."""
    return 0.5 * math.erfc(-x / _SQRT2)


@dataclass(frozen=True, slots=True)
class Outcome:
    """Probabilities that the price at expiry is strictly above, strictly below or equal to
    the entry."""

    p_up: float
    p_down: float
    p_tie: float


def outcome_probabilities(sigma: float, mu: float, horizon_s: float,
                          half_tick_log: float = 0.0) -> Outcome:
    """P(up), P(down), P(tie) of a Brownian log price with drift `mu` and volatility `sigma`
    (per second, per sqrt second) after `horizon_s`; a move smaller than `half_tick_log` (in
    log units) rounds back onto the entry price: a tie."""
    if horizon_s <= 0 or sigma < 0 or half_tick_log < 0:
        raise ValueError(f"need horizon > 0, sigma >= 0, half tick >= 0; got {horizon_s}, "
                         f"{sigma}, {half_tick_log}")
    m = mu * horizon_s
    s = sigma * math.sqrt(horizon_s)
    if s == 0.0:  # degenerate: the move is exactly m
        if m > half_tick_log:
            return Outcome(1.0, 0.0, 0.0)
        if m < -half_tick_log or (half_tick_log == 0.0 and m < 0):
            return Outcome(0.0, 1.0, 0.0)
        return Outcome(0.0, 0.0, 1.0)
    p_up = 1.0 - normal_cdf((half_tick_log - m) / s)
    p_down = normal_cdf((-half_tick_log - m) / s)
    return Outcome(p_up, p_down, max(0.0, 1.0 - p_up - p_down))


def expected_value(p_win: float, p_loss: float, payout_pct: float) -> float:
    """EV per unit stake of one option: win pays payout% of the stake, loss loses the stake,
    a tie refunds it (contributes 0)."""
    return p_win * payout_pct / 100.0 - p_loss


@dataclass(frozen=True, slots=True)
class BinarySignalConfig:
    """Settings of `BinarySignalScanner`.

    expiries_s: option durations to price. default_payout_pct: used when no
        `BinaryAssetsUpdated` has named the asset; 92 is a PLACEHOLDER typical of Pocket
        Option's major pairs, not a quoted payout. Real payouts vary per asset and hour.
    min_ev: emit only when EV per unit stake is strictly above this (0 = any positive EV).
    stake: the fixed stake of every signal; max_stake: a hard cap (stake above it is refused at
        start-up). No martingale: the stake never depends on earlier outcomes.
    throttle_s: at most one signal per (instrument, expiry) per this many seconds.
    vol_halflife_s: half-life of the time-decayed variance and drift sums.
    drift_prior_sd: prior sd of the drift per second (log units); 0 = driftless.
    min_history_s / min_returns: warm-up before any probability is given.
    max_gap_s: a longer silence restarts the instrument.
    tick_size: grid step of the settlement price, for the tie mass; None = inferred from the
        quotes (see the module doc).
    max_quote_age_s: no signal from a quote older than this at `clock.now_ns()` (None = off).
    """

    expiries_s: tuple[int, ...] = (60, 300, 900)
    default_payout_pct: Decimal = Decimal(92)
    min_ev: Decimal = Decimal(0)
    stake: Decimal = Decimal(1)
    max_stake: Decimal = Decimal(10)
    throttle_s: int = 60
    vol_halflife_s: float = 300.0
    drift_prior_sd: float = 1e-7
    min_history_s: float = 120.0
    min_returns: int = 30
    max_gap_s: float = 600.0
    tick_size: Decimal | None = None
    max_quote_age_s: float | None = 5.0
    strategy: str = STRATEGY

    def __post_init__(self) -> None:
        if not self.expiries_s or any(e <= 0 for e in self.expiries_s):
            raise ConfigurationError(f"expiries_s must be positive, got {self.expiries_s}")
        if not 0 <= self.default_payout_pct <= 1000:
            raise ConfigurationError(f"default_payout_pct {self.default_payout_pct} not in "
                                     "[0, 1000]")
        if self.stake <= 0 or self.max_stake <= 0:
            raise ConfigurationError(f"stake and max_stake must be > 0, got {self.stake}, "
                                     f"{self.max_stake}")
        if self.stake > self.max_stake:
            raise ConfigurationError(f"stake {self.stake} exceeds the cap max_stake "
                                     f"{self.max_stake}")
        if self.throttle_s < 0:
            raise ConfigurationError(f"throttle_s must be >= 0, got {self.throttle_s}")
        if self.vol_halflife_s <= 0 or self.max_gap_s <= 0:
            raise ConfigurationError("vol_halflife_s and max_gap_s must be > 0")
        if self.drift_prior_sd < 0 or self.min_history_s < 0 or self.min_returns < 1:
            raise ConfigurationError("drift_prior_sd and min_history_s must be >= 0, "
                                     "min_returns >= 1")
        if self.tick_size is not None and self.tick_size <= 0:
            raise ConfigurationError(f"tick_size must be > 0, got {self.tick_size}")


@dataclass(frozen=True, slots=True)
class BinaryCandidate:
    """The model's view of one expiry at one quote, whether or not it becomes a signal."""

    instrument_id: str
    ts_ns: int
    expiry_s: int
    entry_price: Decimal
    sigma: float
    mu: float
    outcome: Outcome
    payout_pct: Decimal
    ev_call: float
    ev_put: float

    @property
    def direction(self) -> str:
        """The direction with the higher EV (CALL on equality)."""
        return "CALL" if self.ev_call >= self.ev_put else "PUT"

    @property
    def p_win(self) -> float:
        """P(win) of the better direction."""
        return self.outcome.p_up if self.direction == "CALL" else self.outcome.p_down

    @property
    def ev(self) -> float:
        """EV per unit stake of the better direction."""
        return max(self.ev_call, self.ev_put)


class _State:
    """Per-instrument estimator state."""

    __slots__ = ("last_ts", "last_mid", "s_rr", "s_r", "s_t", "n", "exponent", "two_sided",
                 "elapsed")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.last_ts = -1
        self.last_mid = 0.0
        self.s_rr = 0.0
        self.s_r = 0.0
        self.s_t = 0.0
        self.n = 0
        self.elapsed = 0.0  # seconds covered since the (re)start, undecayed, for warm-up
        self.exponent = 0  # finest decimal exponent of the bids and asks seen
        self.two_sided = False  # a quote with bid != ask was seen


class BinarySignalScanner:
    """Prices CALL/PUT at each configured expiry on every quote and emits
    `BinarySignalDetected` when the payout-adjusted EV clears `min_ev` (see the module doc)."""

    def __init__(self, clock: Clock, config: BinarySignalConfig | None = None) -> None:
        self._clock = clock
        self._config = config if config is not None else BinarySignalConfig()
        self._states: dict[str, _State] = {}
        self._payouts: dict[tuple[str, str], tuple[Decimal, frozenset[int]] | None] = {}
        self._last_emit: dict[tuple[str, int], int] = {}
        self._decay_per_s = math.log(2.0) / self._config.vol_halflife_s
        self.candidates: list[BinaryCandidate] = []
        """What the last `on_quote` priced, for every expiry (diagnostics, calibration)."""

    @property
    def config(self) -> BinarySignalConfig:
        """The settings in force."""
        return self._config

    def on_assets(self, event: BinaryAssetsUpdated) -> None:
        """Take the venue's payouts and offered expiries, keyed by (venue, asset symbol) as
        the venue's quotes name them. An inactive asset gets no signal."""
        for a in event.assets:
            key = (event.venue, a.symbol)
            self._payouts[key] = (a.payout_pct, frozenset(a.expiries_s)) if a.active else None

    def on_quote(self, quote: QuoteTick) -> list[BinarySignalDetected]:
        """Update the instrument's estimators with one quote; return the signals it fires."""
        self.candidates = []
        if not self._update(quote):
            return []
        cands = self._evaluate(quote)
        self.candidates = cands
        cfg = self._config
        age = max(0, self._clock.now_ns() - quote.ts_event)
        if cfg.max_quote_age_s is not None and age > cfg.max_quote_age_s * NS_PER_S:
            return []
        signals = []
        for c in cands:
            if not c.ev > cfg.min_ev:  # Decimal vs float compares exactly
                continue
            key = (quote.instrument_id, c.expiry_s)
            last = self._last_emit.get(key)
            if last is not None and quote.ts_event - last < cfg.throttle_s * NS_PER_S:
                continue
            self._last_emit[key] = quote.ts_event
            signals.append(self._signal(quote, c, age))
        return signals

    def reset(self, instrument_id: str | None = None) -> None:
        """Forget the estimator (and throttle) state of one instrument, or of all."""
        for iid in list(self._states):
            if instrument_id is None or iid == instrument_id:
                del self._states[iid]
        for key in list(self._last_emit):
            if instrument_id is None or key[0] == instrument_id:
                del self._last_emit[key]

    def estimate(self, instrument_id: str) -> tuple[float, float] | None:
        """(sigma per sqrt second, shrunk drift per second) of an instrument, or None while
        warming up."""
        st = self._states.get(instrument_id)
        cfg = self._config
        if st is None or st.n < cfg.min_returns or st.elapsed < cfg.min_history_s:
            return None
        var = st.s_rr / st.s_t
        mu_hat = st.s_r / st.s_t
        prior = cfg.drift_prior_sd ** 2
        se2 = var / st.s_t
        mu = mu_hat * prior / (prior + se2) if prior + se2 > 0 else 0.0
        return math.sqrt(var), mu

    def price_grid(self, instrument_id: str) -> float | None:
        """The grid step g of the settlement price (see the module doc); None before the
        instrument's first quote unless `tick_size` is configured."""
        if self._config.tick_size is not None:
            return float(self._config.tick_size)
        st = self._states.get(instrument_id)
        if st is None:
            return None
        return 10.0 ** st.exponent / (2.0 if st.two_sided else 1.0)

    def _update(self, quote: QuoteTick) -> bool:
        if quote.bid <= 0 or quote.ask < quote.bid:
            return False
        mid_d = (quote.bid + quote.ask) / 2
        mid = float(mid_d)
        st = self._states.get(quote.instrument_id)
        if st is None:
            st = self._states[quote.instrument_id] = _State()
        if st.last_ts >= 0 and quote.ts_event <= st.last_ts:
            return False
        st.exponent = min(st.exponent, _exponent(quote.bid), _exponent(quote.ask))
        st.two_sided = st.two_sided or quote.bid != quote.ask
        if st.last_ts < 0:
            st.last_ts, st.last_mid = quote.ts_event, mid
            return True
        dt = (quote.ts_event - st.last_ts) / NS_PER_S
        if dt > self._config.max_gap_s:
            grid = st.exponent, st.two_sided
            st.reset()
            st.exponent, st.two_sided = grid
            st.last_ts, st.last_mid = quote.ts_event, mid
            return True
        r = math.log(mid / st.last_mid)
        w = math.exp(-dt * self._decay_per_s)
        st.s_rr = st.s_rr * w + r * r
        st.s_r = st.s_r * w + r
        st.s_t = st.s_t * w + dt
        st.n += 1
        st.elapsed += dt
        st.last_ts, st.last_mid = quote.ts_event, mid
        return True

    def _payout(self, quote: QuoteTick, expiry_s: int) -> Decimal | None:
        key = (quote.venue, quote.symbol)
        if key not in self._payouts:
            return self._config.default_payout_pct
        known = self._payouts[key]
        if known is None or (known[1] and expiry_s not in known[1]):
            return None
        return known[0]

    def _evaluate(self, quote: QuoteTick) -> list[BinaryCandidate]:
        est = self.estimate(quote.instrument_id)
        if est is None:
            return []
        sigma, mu = est
        entry = (quote.bid + quote.ask) / 2
        grid = self.price_grid(quote.instrument_id)
        assert grid is not None  # the state exists once estimate() answered
        half_tick = math.log1p(grid / (2.0 * float(entry)))
        out = []
        for expiry in self._config.expiries_s:
            payout = self._payout(quote, expiry)
            if payout is None:
                continue
            o = outcome_probabilities(sigma, mu, float(expiry), half_tick)
            pay = float(payout)
            out.append(BinaryCandidate(
                instrument_id=quote.instrument_id, ts_ns=quote.ts_event, expiry_s=expiry,
                entry_price=entry, sigma=sigma, mu=mu, outcome=o, payout_pct=payout,
                ev_call=expected_value(o.p_up, o.p_down, pay),
                ev_put=expected_value(o.p_down, o.p_up, pay)))
        return out

    def _signal(self, quote: QuoteTick, c: BinaryCandidate, age: int) -> BinarySignalDetected:
        cfg = self._config
        stake = min(cfg.stake, cfg.max_stake)
        return BinarySignalDetected(
            ts_event=quote.ts_event,
            ts_init=self._clock.now_ns(),
            **quote.caused(),
            opportunity_id=derived_id("bo", cfg.strategy, quote.instrument_id, str(c.expiry_s),
                                      str(quote.ts_event), c.direction),
            strategy=cfg.strategy,
            instrument_id=quote.instrument_id,
            direction=c.direction,  # type: ignore[arg-type]
            expiry_s=c.expiry_s,
            entry_price=c.entry_price,
            probability=_dec(c.p_win, 6),
            payout_pct=c.payout_pct,
            expected_value=_dec(c.ev, 6),
            stake=stake,
            notional=stake,
            volatility=_dec(c.sigma),
            drift=_dec(c.mu),
            quote_age_ns=age,
            features={"p_up": _dec(c.outcome.p_up, 6), "p_down": _dec(c.outcome.p_down, 6),
                      "p_tie": _dec(c.outcome.p_tie, 6), "ev_call": _dec(c.ev_call, 6),
                      "ev_put": _dec(c.ev_put, 6)},
        )


def _exponent(price: Decimal) -> int:
    return int(price.normalize().as_tuple().exponent)


def _dec(x: float, places: int | None = None) -> Decimal:
    """A float as a Decimal: `places` decimal places, or 10 significant digits."""
    if places is not None:
        return Decimal(f"{x:.{places}f}")
    return Decimal(f"{x:.10g}")
