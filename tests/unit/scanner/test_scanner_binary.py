import math
from decimal import Decimal as D
from statistics import NormalDist

import pytest

from libs.common.clock import TestClock
from libs.common.errors import ConfigurationError
from libs.common.events import decode, encode
from libs.common.events.market import BinaryAsset, BinaryAssetsUpdated, QuoteTick
from libs.common.events.opportunity import BinarySignalDetected
from services.scanner.domain.binary import (
    BinarySignalConfig,
    BinarySignalScanner,
    expected_value,
    normal_cdf,
    outcome_probabilities,
)

S = 1_000_000_000
T0 = 1_546_383_600 * S
IID = "EUR/USD.PO"
N = NormalDist()


def quote(i: int, price: D, *, spread: D = D(0), venue: str = "PO",
          symbol: str = "EURUSD") -> QuoteTick:
    return QuoteTick(ts_event=T0 + i * S, ts_init=T0 + i * S, instrument_id=IID, venue=venue,
                     symbol=symbol, bid=price, ask=price + spread)


def trend(n: int, step: D, start: int = 0) -> list[QuoteTick]:
    """n quotes one second apart, each `step` higher than the one before."""
    return [quote(start + i, D("1.10000") + step * i) for i in range(n)]


def feed(scanner: BinarySignalScanner, clock: TestClock, quotes: list[QuoteTick]
         ) -> list[BinarySignalDetected]:
    out = []
    for q in quotes:
        clock.set(q.ts_event)
        out += scanner.on_quote(q)
    return out


def config(**kw: object) -> BinarySignalConfig:
    base = dict(min_history_s=10.0, min_returns=10, throttle_s=60, expiries_s=(60,))
    base.update(kw)
    return BinarySignalConfig(**base)  # type: ignore[arg-type]


# --- the probability model, against hand values of the normal CDF ---

def test_normal_cdf_matches_table_values() -> None:
    assert normal_cdf(0.0) == 0.5
    assert normal_cdf(1.0) == pytest.approx(0.8413447461, abs=1e-9)
    assert normal_cdf(1.96) == pytest.approx(0.9750021049, abs=1e-9)
    assert normal_cdf(-1.0) == pytest.approx(0.1586552539, abs=1e-9)


def test_zero_drift_without_grid_is_a_fair_coin() -> None:
    o = outcome_probabilities(sigma=1e-4, mu=0.0, horizon_s=60)
    assert (o.p_up, o.p_down, o.p_tie) == (0.5, 0.5, 0.0)


def test_zero_drift_gives_half_minus_half_the_tie_mass() -> None:
    # s = 1e-4 * sqrt(100) = 1e-3, h = 5e-4: h / s = 0.5.
    o = outcome_probabilities(sigma=1e-4, mu=0.0, horizon_s=100, half_tick_log=5e-4)
    assert o.p_up == pytest.approx(1 - 0.6914624613, abs=1e-9)  # 1 - Phi(0.5)
    assert o.p_down == pytest.approx(o.p_up, abs=1e-15)
    assert o.p_tie == pytest.approx(0.3829249225, abs=1e-9)  # Phi(0.5) - Phi(-0.5)
    assert o.p_up == pytest.approx(0.5 - o.p_tie / 2, abs=1e-12)


def test_drift_of_one_sd_gives_phi_of_one() -> None:
    # m = mu T = 1e-3 = s: P(up) = Phi(1), P(down) = Phi(-1).
    o = outcome_probabilities(sigma=1e-4, mu=1e-5, horizon_s=100)
    assert o.p_up == pytest.approx(0.8413447461, abs=1e-9)
    assert o.p_down == pytest.approx(0.1586552539, abs=1e-9)


def test_expected_value_refunds_ties() -> None:
    # win 0.60 x 0.92 - loss 0.35; the 0.05 tie costs nothing.
    assert expected_value(0.60, 0.35, 92) == pytest.approx(0.202, abs=1e-12)
    assert expected_value(0.5, 0.5, 92) == pytest.approx(-0.04, abs=1e-12)


# --- the estimators ---

def test_volatility_of_alternating_returns_is_the_return_size() -> None:
    clock = TestClock()
    scanner = BinarySignalScanner(clock, config(drift_prior_sd=0.0))
    up, down = D("1.10011"), D("1.10000")
    feed(scanner, clock, [quote(i, up if i % 2 else down) for i in range(50)])
    est = scanner.estimate(IID)
    assert est is not None
    sigma, mu = est
    # every 1 s return is +/- ln(up / down): equal time weights, so sigma^2 = r^2 exactly
    assert sigma == pytest.approx(math.log(1.10011 / 1.10000), rel=1e-9)
    assert mu == 0.0


def test_zero_drift_candidate_matches_stdlib_normal_with_tick_grid() -> None:
    clock = TestClock()
    scanner = BinarySignalScanner(clock, config(drift_prior_sd=0.0, tick_size=D("0.00001")))
    up, down = D("1.10011"), D("1.10000")
    feed(scanner, clock, [quote(i, up if i % 2 else down) for i in range(50)])
    (c,) = scanner.candidates
    r = math.log(1.10011 / 1.10000)
    h = math.log1p(0.00001 / (2 * float(c.entry_price)))
    expected_up = 1 - N.cdf(h / (r * math.sqrt(60)))
    assert c.outcome.p_up == pytest.approx(expected_up, abs=1e-12)
    assert c.outcome.p_down == pytest.approx(expected_up, abs=1e-12)
    assert c.outcome.p_tie == pytest.approx(1 - 2 * expected_up, abs=1e-12)
    assert c.ev_call == pytest.approx(expected_up * 0.92 - expected_up, abs=1e-12)


def test_inferred_grid_is_half_the_tick_for_two_sided_quotes() -> None:
    clock = TestClock()
    scanner = BinarySignalScanner(clock, config())
    feed(scanner, clock, [quote(i, D("1.10000") + D("0.00001") * (i % 3), spread=D("0.00002"))
                          for i in range(20)])
    assert scanner.price_grid(IID) == pytest.approx(0.000005, rel=1e-12)
    assert scanner.price_grid("GBP/USD.PO") is None


def test_no_candidate_before_warm_up() -> None:
    clock = TestClock()
    scanner = BinarySignalScanner(clock, config(min_returns=10, min_history_s=10.0))
    feed(scanner, clock, trend(10, D("0.0001")))  # 9 returns
    assert scanner.candidates == []
    assert scanner.estimate(IID) is None
    feed(scanner, clock, trend(1, D("0.0001"), start=10))
    assert len(scanner.candidates) == 1


def test_gap_longer_than_max_gap_restarts_warm_up() -> None:
    clock = TestClock()
    scanner = BinarySignalScanner(clock, config(max_gap_s=600.0))
    feed(scanner, clock, trend(20, D("0.0001")))
    assert scanner.estimate(IID) is not None
    feed(scanner, clock, trend(3, D("0.0001"), start=20 + 601))
    assert scanner.estimate(IID) is None


# --- signals ---

def test_uptrend_emits_call_with_configured_stake() -> None:
    clock = TestClock()
    scanner = BinarySignalScanner(clock, config(drift_prior_sd=1.0, stake=D(2)))
    signals = feed(scanner, clock, trend(30, D("0.0001")))
    assert signals
    s = signals[0]
    assert (s.direction, s.expiry_s, s.stake, s.notional, s.payout_pct) == (
        "CALL", 60, D(2), D(2), D(92))
    p_up, p_down = float(s.features["p_up"]), float(s.features["p_down"])
    assert float(s.probability) == pytest.approx(p_up, abs=1e-6)
    assert float(s.expected_value) == pytest.approx(p_up * 0.92 - p_down, abs=1e-5)
    assert s.expected_value > 0
    assert decode(encode(s)) == s


def test_downtrend_emits_put() -> None:
    clock = TestClock()
    scanner = BinarySignalScanner(clock, config(drift_prior_sd=1.0))
    signals = feed(scanner, clock, trend(30, D("-0.0001")))
    assert signals and all(s.direction == "PUT" for s in signals)


def test_no_signal_when_ev_is_negative() -> None:
    clock = TestClock()
    scanner = BinarySignalScanner(clock, config(drift_prior_sd=0.0))
    up, down = D("1.10011"), D("1.10000")
    signals = feed(scanner, clock, [quote(i, up if i % 2 else down) for i in range(80)])
    assert signals == []
    assert scanner.candidates and scanner.candidates[0].ev < 0


def test_no_signal_below_the_margin() -> None:
    clock = TestClock()
    scanner = BinarySignalScanner(clock, config(drift_prior_sd=1.0, min_ev=D("0.95")))
    assert feed(scanner, clock, trend(30, D("0.0001"))) == []
    assert 0 < scanner.candidates[0].ev <= 0.95  # priced, just not enough


def test_stake_above_the_cap_is_refused_at_start() -> None:
    with pytest.raises(ConfigurationError):
        BinarySignalConfig(stake=D(11), max_stake=D(10))


def test_stake_never_grows_across_signals() -> None:
    clock = TestClock()
    scanner = BinarySignalScanner(clock, config(drift_prior_sd=1.0, stake=D(3), throttle_s=0))
    signals = feed(scanner, clock, trend(60, D("0.0001")))
    assert len(signals) > 10 and {s.stake for s in signals} == {D(3)}


def test_throttle_allows_one_signal_per_expiry_per_window() -> None:
    clock = TestClock()
    scanner = BinarySignalScanner(clock, config(drift_prior_sd=1.0, throttle_s=60,
                                                expiries_s=(60, 300)))
    signals = feed(scanner, clock, trend(150, D("0.0001")))
    first = signals[0].ts_event
    # warm from tick 10: emits at 10, 70, 130 for each expiry
    assert [(s.ts_event - first) // S for s in signals if s.expiry_s == 60] == [0, 60, 120]
    assert [(s.ts_event - first) // S for s in signals if s.expiry_s == 300] == [0, 60, 120]


def test_stale_quote_emits_nothing() -> None:
    clock = TestClock()
    scanner = BinarySignalScanner(clock, config(drift_prior_sd=1.0, max_quote_age_s=5.0))
    signals = []
    for q in trend(30, D("0.0001")):
        clock.set(q.ts_event + 6 * S)
        signals += scanner.on_quote(q)
    assert signals == []
    assert scanner.candidates  # priced all the same


def test_venue_payouts_replace_the_placeholder() -> None:
    clock = TestClock()
    scanner = BinarySignalScanner(clock, config(drift_prior_sd=1.0, expiries_s=(60, 300)))
    scanner.on_assets(BinaryAssetsUpdated(ts_event=T0, venue="PO", assets=(
        BinaryAsset(symbol="EURUSD", name="EUR/USD", payout_pct=D(80), expiries_s=(60,)),)))
    signals = feed(scanner, clock, trend(30, D("0.0001")))
    assert signals and {(s.payout_pct, s.expiry_s) for s in signals} == {(D(80), 60)}


def test_inactive_asset_gets_no_signal() -> None:
    clock = TestClock()
    scanner = BinarySignalScanner(clock, config(drift_prior_sd=1.0))
    scanner.on_assets(BinaryAssetsUpdated(ts_event=T0, venue="PO", assets=(
        BinaryAsset(symbol="EURUSD", name="EUR/USD", payout_pct=D(90), expiries_s=(60,),
                    active=False),)))
    assert feed(scanner, clock, trend(30, D("0.0001"))) == []
