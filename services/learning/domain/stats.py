"""Performance statistics per engine and strategy, from closed trades and fills only. Pure.

All ratios are per trade, not annualised: the returns are the closed trades' realized PnL in
quote units, in the order the trades closed (trades come at irregular times, so there is no
honest period to scale by). Definitions:
- sharpe = mean(pnl) / sample standard deviation(pnl) (n - 1); None below 2 trades or for a
  zero deviation;
- sortino = mean(pnl) / downside deviation, sqrt(sum(min(pnl, 0)^2) / n) (target 0); None
  without a losing trade;
- max_drawdown = the largest fall of the equity curve (cumulative PnL, starting at 0) from
  its running peak, in quote units (a positive number);
- fees = fees of every fill (open positions included), from the fills;
- slippage as in `ledger.slippage`, summed over the rows where it is known.
PnL of strategies that trade different quote currencies is summed as is: keep one quote
currency per strategy.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

from libs.common.events import OrderFilled, TradeClosed

D0 = Decimal(0)


@dataclass(frozen=True)
class CurveStats:
    """Statistics of one sequence of per-trade PnL."""

    trades: int
    net_pnl: Decimal
    wins: int
    losses: int
    win_rate: Decimal | None
    avg_win: Decimal | None
    avg_loss: Decimal | None
    sharpe: Decimal | None
    sortino: Decimal | None
    max_drawdown: Decimal


def curve_stats(pnls: Sequence[Decimal]) -> CurveStats:
    """Statistics of per-trade PnL in closing order (see the module docstring)."""
    n = len(pnls)
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p < 0]
    total = sum(pnls, D0)
    sharpe = sortino = None
    with localcontext() as ctx:
        ctx.prec = 28
        if n:
            mean = total / n
            if n >= 2:
                var = sum(((p - mean) ** 2 for p in pnls), D0) / (n - 1)
                sharpe = mean / var.sqrt() if var > 0 else None
            if losses:
                sortino = mean / (sum((p * p for p in losses), D0) / n).sqrt()
    peak = equity = drawdown = D0
    for p in pnls:
        equity += p
        peak = max(peak, equity)
        drawdown = max(drawdown, peak - equity)
    return CurveStats(
        trades=n, net_pnl=total, wins=len(wins), losses=len(losses),
        win_rate=Decimal(len(wins)) / n if n else None,
        avg_win=sum(wins, D0) / len(wins) if wins else None,
        avg_loss=sum(losses, D0) / len(losses) if losses else None,
        sharpe=sharpe, sortino=sortino, max_drawdown=drawdown)


def strategy_stats(trades: Iterable[TradeClosed], fills: Iterable[OrderFilled],
                   ledger_rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`{"ENGINE:strategy": {...}}`: curve statistics of the closed trades (ordered by
    closed_ts, then trade id), fees from fills, and slippage totals from the ledger rows."""
    by_key: dict[str, list[TradeClosed]] = {}
    for t in trades:
        by_key.setdefault(f"{t.engine.value}:{t.strategy}", []).append(t)
    fees: dict[str, Decimal] = {}
    for f in fills:
        k = f"{f.engine.value}:{f.strategy}"
        fees[k] = fees.get(k, D0) + f.fee
    slip: dict[str, list[Decimal]] = {}
    for r in ledger_rows:
        if r.get("slippage") is not None and r.get("engine"):
            slip.setdefault(f"{r['engine']}:{r['strategy']}", []).append(Decimal(r["slippage"]))
    out: dict[str, dict[str, Any]] = {}
    for k in sorted(set(by_key) | set(fees) | set(slip)):
        ts = sorted(by_key.get(k, []), key=lambda t: (t.closed_ts, t.trade_id))
        c = curve_stats([t.realized_pnl for t in ts])
        s = slip.get(k, [])
        engine, strategy = k.split(":", 1)
        out[k] = {
            "engine": engine, "strategy": strategy, "trades": c.trades,
            "net_pnl": str(c.net_pnl), "wins": c.wins, "losses": c.losses,
            "win_rate": _s(c.win_rate), "avg_win": _s(c.avg_win), "avg_loss": _s(c.avg_loss),
            "sharpe_per_trade": _s(c.sharpe), "sortino_per_trade": _s(c.sortino),
            "max_drawdown": str(c.max_drawdown), "fees": str(fees.get(k, D0)),
            "slippage_count": len(s), "slippage_total": str(sum(s, D0)),
            "slippage_mean": _s(sum(s, D0) / len(s)) if s else None,
        }
    return out


def _s(d: Decimal | None) -> str | None:
    return None if d is None else str(d)
