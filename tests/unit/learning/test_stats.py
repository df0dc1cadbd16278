from __future__ import annotations

from decimal import Decimal as D

from libs.common.testing.factories import filled, trade
from services.learning.domain.stats import curve_stats, strategy_stats

# Equity 10, 5, 20, 10, 15: peaks 10, 10, 20, 20, 20 -> drawdowns 0, 5, 0, 10, 5.
PNLS = [D(10), D(-5), D(15), D(-10), D(5)]


def test_sharpe_is_mean_over_sample_deviation_per_trade() -> None:
    # mean 3; squared deviations 49 + 64 + 144 + 169 + 4 = 430; variance 430 / 4 = 107.5
    assert curve_stats(PNLS).sharpe == D(3) / D("107.5").sqrt()


def test_sortino_uses_downside_deviation_over_all_trades() -> None:
    # downside deviation sqrt((25 + 100) / 5) = 5
    assert curve_stats(PNLS).sortino == D("0.6")


def test_max_drawdown_is_largest_fall_from_running_peak() -> None:
    assert curve_stats(PNLS).max_drawdown == D(10)
    # a first losing trade is a drawdown from the starting equity 0
    assert curve_stats([D(-3), D(1), D(-4)]).max_drawdown == D(6)


def test_win_rate_and_average_win_and_loss() -> None:
    s = curve_stats(PNLS)
    assert (s.trades, s.net_pnl, s.wins, s.losses) == (5, D(15), 3, 2)
    assert (s.win_rate, s.avg_win, s.avg_loss) == (D("0.6"), D(10), D("-7.5"))


def test_ratios_undefined_without_enough_trades_or_losses() -> None:
    one = curve_stats([D(4)])
    assert (one.sharpe, one.sortino, one.max_drawdown) == (None, None, D(0))
    flat = curve_stats([D(2), D(2)])
    assert flat.sharpe is None and flat.sortino is None
    empty = curve_stats([])
    assert (empty.trades, empty.win_rate, empty.net_pnl) == (0, None, D(0))


def test_strategy_stats_orders_trades_by_close_and_sums_fill_fees() -> None:
    # closing order 10, -5, 15, -10, 5 although given shuffled
    trades = [trade(trade_id=f"t{i}", realized_pnl=p, closed_ts=i)
              for i, p in enumerate(PNLS)]
    fills = [filled(fill_id="f1", fee=D("0.25")), filled(fill_id="f2", fee=D("0.5"))]
    rows = [{"engine": "ARBITRAGE", "strategy": "cross_venue_2leg", "slippage": "0.5"},
            {"engine": "ARBITRAGE", "strategy": "cross_venue_2leg", "slippage": "-0.1"},
            {"engine": "ARBITRAGE", "strategy": "cross_venue_2leg", "slippage": None}]
    out = strategy_stats(reversed(trades), fills, rows)
    fx = out["FOREX:fx_rsi_reversion"]
    assert (fx["trades"], D(fx["net_pnl"]), D(fx["max_drawdown"])) == (5, D(15), D(10))
    assert D(fx["sortino_per_trade"]) == D("0.6")
    arb = out["ARBITRAGE:cross_venue_2leg"]
    assert (arb["trades"], D(arb["fees"]), arb["slippage_count"]) == (0, D("0.75"), 2)
    assert (D(arb["slippage_total"]), D(arb["slippage_mean"])) == (D("0.4"), D("0.2"))
