"""What a run produced, computed from the streams themselves. Pure over decoded events."""
from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from libs.common.events import (
    AllocationUpdated,
    ArbitrageOpportunityDetected,
    Event,
    ForexSignalDetected,
    OrderClosed,
    OrderDenied,
    OrderFilled,
    OrderIntentApproved,
    PolicyUpdated,
    PositionUpdated,
    TradeClosed,
)


def summarize(events_by_stream: dict[str, Iterable[Event]], stream_lengths: dict[str, int],
              dead_letters: int) -> dict[str, Any]:
    opps: Counter[str] = Counter()
    arb_net_bps: list[float] = []
    arb_gross_positive = 0
    intents: Counter[str] = Counter()
    denials: dict[str, Counter[str]] = defaultdict(Counter)
    fills: Counter[str] = Counter()
    closed: dict[str, Counter[str]] = defaultdict(Counter)
    trades: dict[str, dict[str, Any]] = {}
    positions: dict[str, PositionUpdated] = {}
    policies: dict[str, PolicyUpdated] = {}
    allocation: AllocationUpdated | None = None
    for stream_events in events_by_stream.values():
        for e in stream_events:
            if isinstance(e, ArbitrageOpportunityDetected):
                opps[e.engine.value] += 1
                arb_net_bps.append(float(e.net_edge_bps))
                arb_gross_positive += e.gross_pnl > 0
            elif isinstance(e, ForexSignalDetected):
                opps[e.engine.value] += 1
            elif isinstance(e, OrderIntentApproved):
                intents[e.engine.value] += 1
            elif isinstance(e, OrderDenied):
                denials[e.engine.value][e.reason.value] += 1
            elif isinstance(e, OrderFilled):
                fills[e.engine.value] += 1
            elif isinstance(e, OrderClosed):
                closed[e.engine.value][e.status.value] += 1
            elif isinstance(e, TradeClosed):
                t = trades.setdefault(e.engine.value, {"trades": 0, "wins": 0,
                                                       "realized_pnl": Decimal(0),
                                                       "fees": Decimal(0)})
                t["trades"] += 1
                t["wins"] += e.realized_pnl > 0
                t["realized_pnl"] += e.realized_pnl
                t["fees"] += e.fees
            elif isinstance(e, PositionUpdated):
                positions[e.position_key] = e
            elif isinstance(e, AllocationUpdated):
                if allocation is None or e.version > allocation.version:
                    allocation = e
            elif isinstance(e, PolicyUpdated):
                key = f"{e.engine.value}:{e.strategy}"
                if key not in policies or e.version > policies[key].version:
                    policies[key] = e
    open_positions: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"open": 0, "unrealized_pnl": Decimal(0)})
    for p in positions.values():
        if p.quantity != 0:
            open_positions[p.engine.value]["open"] += 1
            open_positions[p.engine.value]["unrealized_pnl"] += p.unrealized_pnl
    engines = sorted(set(opps) | set(intents) | set(denials) | set(fills) | set(trades))
    per_engine = {}
    for eng in engines:
        t = trades.get(eng, {"trades": 0, "wins": 0, "realized_pnl": Decimal(0),
                             "fees": Decimal(0)})
        per_engine[eng] = {
            "opportunities": opps[eng],
            "intents": intents[eng],
            "denials": dict(sorted(denials[eng].items())),
            "fills": fills[eng],
            "orders_closed": dict(closed[eng]),
            "trades": t["trades"],
            "wins": t["wins"],
            "realized_pnl": str(t["realized_pnl"]),
            "fees": str(t["fees"]),
            "open_positions": open_positions[eng]["open"],
            "unrealized_pnl": str(open_positions[eng]["unrealized_pnl"]),
        }
    arb = {}
    if arb_net_bps:
        arb = {"count": len(arb_net_bps), "gross_edge_positive": arb_gross_positive,
               "net_edge_positive": sum(1 for x in arb_net_bps if x > 0),
               "net_edge_bps_best": round(max(arb_net_bps), 3),
               "net_edge_bps_median": round(statistics.median(arb_net_bps), 3)}
    return {
        "streams": stream_lengths,
        "engines": per_engine,
        "arbitrage_edges": arb,
        "policies": {k: {"version": p.version, "enabled": p.enabled, "reason": p.reason}
                     for k, p in sorted(policies.items())},
        "allocation": {} if allocation is None else {
            "version": allocation.version, "regime": allocation.regime,
            "engines": {a.engine.value: {"weight": str(a.weight), "capital": str(a.capital),
                                         "risk_budget": str(a.risk_budget)}
                        for a in allocation.allocations}},
        "dead_letters": dead_letters,
    }


def render(summary: dict[str, Any]) -> str:
    lines = ["", "=== Trifecta run summary ==="]
    s = summary["streams"]
    lines.append("events: " + ", ".join(f"{k} {v:,}" for k, v in s.items() if v))
    arb = summary.get("arbitrage_edges")
    if arb:
        lines.append(
            f"arbitrage opportunities: {arb['count']:,} (gross edge > 0: "
            f"{arb['gross_edge_positive']:,}, net of fees > 0: {arb['net_edge_positive']:,}; "
            f"net edge median {arb['net_edge_bps_median']} bps, best {arb['net_edge_bps_best']} "
            f"bps)")
    header = f"{'engine':<10} {'opps':>7} {'intents':>8} {'fills':>6} {'trades':>7} " \
             f"{'wins':>5} {'realized PnL':>14} {'fees':>10} {'open':>5} {'unrealized':>11}"
    lines += ["", header, "-" * len(header)]
    for eng, e in summary["engines"].items():
        lines.append(
            f"{eng:<10} {e['opportunities']:>7,} {e['intents']:>8,} {e['fills']:>6,} "
            f"{e['trades']:>7,} {e['wins']:>5,} {_money(e['realized_pnl']):>14} "
            f"{_money(e['fees']):>10} {e['open_positions']:>5} "
            f"{_money(e['unrealized_pnl']):>11}")
    lines.append("")
    for eng, e in summary["engines"].items():
        if e["denials"]:
            lines.append(f"denials {eng}: " + ", ".join(f"{r} {n:,}"
                                                        for r, n in e["denials"].items()))
        if e["orders_closed"]:
            lines.append(f"orders closed unfilled {eng}: " + ", ".join(
                f"{r} {n:,}" for r, n in e["orders_closed"].items()))
    for k, p in summary["policies"].items():
        lines.append(f"policy {k}: v{p['version']} {'enabled' if p['enabled'] else 'DISABLED'}"
                     f" ({p['reason']})")
    alloc = summary.get("allocation")
    if alloc:
        lines.append(f"governor allocation v{alloc['version']} ({alloc['regime']}): " + ", ".join(
            f"{eng} {Decimal(a['weight']) * 100:.1f}% capital {_money(a['capital'])} "
            f"risk budget {_money(a['risk_budget'])}" for eng, a in alloc["engines"].items()))
    lines.append(f"dead letters: {summary['dead_letters']}")
    lines.append("PnL in quote currency (USD/USDT for BTC, USD for GBP/USD), after fees.")
    return "\n".join(lines)


def _money(x: str) -> str:
    return f"{Decimal(x):,.2f}"
