"""The outcome ledger: every opportunity's chain opportunity -> decision (approved intent with
its policy version, or denial with its reason) -> orders -> fills -> closed trades -> reward,
keyed by opportunity_id / intent_id / order_id / fill_id. Pure: events in, rows out.

Every fill is accounted for: a fill whose intent (or whose intent's opportunity) was never seen
still yields a row, marked incomplete, never dropped. Events are deduplicated by their ids, so a
redelivered or replayed event changes nothing.

A trade that nets several intents (one position key shared by intents) is attributed to the
row of its first intent; the other intents' rows list its id without its PnL, so a sum over
rows never counts a trade twice.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from libs.common.enums import Engine, OrderSide
from libs.common.events import (
    ArbitrageOpportunityDetected,
    BinarySignalDetected,
    Event,
    ForexSignalDetected,
    OrderClosed,
    OrderDenied,
    OrderFilled,
    OrderIntentApproved,
    OrderSubmitted,
    TradeClosed,
)

Opportunity = ArbitrageOpportunityDetected | ForexSignalDetected | BinarySignalDetected

# Row status, from the furthest link the chain reached.
NO_DECISION = "NO_DECISION"
DENIED = "DENIED"
UNFILLED = "APPROVED_UNFILLED"
OPEN = "FILLED_OPEN"
CLOSED = "CLOSED"
NO_OPPORTUNITY = "INCOMPLETE_NO_OPPORTUNITY"  # intent seen, its opportunity not
NO_INTENT = "INCOMPLETE_NO_INTENT"  # fill seen, its intent not

# filled_base_quantity and fees sum every fill of the intent, entries and exits alike.
COLUMNS = ("opportunity_id", "intent_id", "engine", "strategy", "ts_event", "status",
           "policy_version", "denial_reason", "denial_detail", "order_ids", "fill_ids",
           "filled_base_quantity", "fees", "estimated_net_pnl", "signal_entry_price",
           "entry_fill_price", "trade_ids", "realized_pnl", "slippage", "slippage_bps")


def _is_buy(side: OrderSide | str) -> bool:
    return str(getattr(side, "value", side)) in ("BUY", "LONG", "CALL")


@dataclass
class IntentChain:
    """Everything seen downstream of one approved intent."""

    intent: OrderIntentApproved | None = None
    orders: dict[str, OrderSubmitted | None] = field(default_factory=dict)  # order id -> submit
    closed: dict[str, OrderClosed] = field(default_factory=dict)
    fills: dict[str, OrderFilled] = field(default_factory=dict)  # fill id -> fill
    trades: list[TradeClosed] = field(default_factory=list)  # attributed here
    shared_trade_ids: list[str] = field(default_factory=list)  # attributed to another intent


class Ledger:
    """Joins the order trail by ids. Feed it events with `on_event`; read it with `rows`."""

    def __init__(self) -> None:
        self.opportunities: dict[str, Opportunity] = {}
        self.denials: dict[str, list[OrderDenied]] = {}
        self.chains: dict[str, IntentChain] = {}  # intent id -> chain
        self.intents_by_opp: dict[str, list[str]] = {}
        self.trades: dict[str, TradeClosed] = {}
        self._seen: set[str] = set()

    def on_event(self, event: Event) -> bool:
        """Record one event; False if it is not a ledger event or was already recorded."""
        if event.event_id in self._seen:
            return False
        handled = True
        if isinstance(event, ArbitrageOpportunityDetected | ForexSignalDetected
                      | BinarySignalDetected):
            self.opportunities.setdefault(event.opportunity_id, event)
        elif isinstance(event, OrderDenied):
            self.denials.setdefault(event.opportunity_id, []).append(event)
        elif isinstance(event, OrderIntentApproved):
            chain = self._chain(event.intent_id)
            if chain.intent is None:
                chain.intent = event
                self.intents_by_opp.setdefault(event.opportunity_id, []).append(event.intent_id)
        elif isinstance(event, OrderSubmitted):
            self._chain(event.intent_id).orders[event.order_id] = event
        elif isinstance(event, OrderFilled):
            chain = self._chain(event.intent_id)
            chain.orders.setdefault(event.order_id, None)
            chain.fills.setdefault(event.fill_id, event)
        elif isinstance(event, OrderClosed):
            chain = self._chain(event.intent_id)
            chain.orders.setdefault(event.order_id, None)
            chain.closed[event.order_id] = event
        elif isinstance(event, TradeClosed):
            handled = self._on_trade(event)
        else:
            handled = False
        if handled:
            self._seen.add(event.event_id)
        return handled

    def _chain(self, intent_id: str) -> IntentChain:
        return self.chains.setdefault(intent_id, IntentChain())

    def _on_trade(self, t: TradeClosed) -> bool:
        if t.trade_id in self.trades:
            return False
        self.trades[t.trade_id] = t
        for i, intent_id in enumerate(t.intent_ids):
            chain = self._chain(intent_id)
            if i == 0:
                chain.trades.append(t)
            else:
                chain.shared_trade_ids.append(t.trade_id)
        return True

    # ---- reading ------------------------------------------------------------------------
    def rows(self, engine: Engine | None = None, since: int | None = None) -> list[dict[str, Any]]:
        """One row per opportunity (per intent when several intents share one), plus one per
        intent or fill whose upstream was never seen; filtered by engine and ts_event >= since,
        ordered by ts_event."""
        out: list[dict[str, Any]] = []
        done: set[str] = set()
        for opp_id, opp in self.opportunities.items():
            intent_ids = self.intents_by_opp.get(opp_id, [])
            if not intent_ids:
                out.append(self._row(opp_id, opp, None, None))
            for iid in intent_ids:
                out.append(self._row(opp_id, opp, iid, self.chains[iid]))
                done.add(iid)
        for opp_id in self.denials:
            if opp_id not in self.opportunities and opp_id not in self.intents_by_opp:
                out.append(self._row(opp_id, None, None, None))
        for iid, chain in self.chains.items():
            if iid in done:
                continue
            opp_id = chain.intent.opportunity_id if chain.intent else ""
            out.append(self._row(opp_id, None, iid, chain))
        out = [r for r in out if (engine is None or r["engine"] == engine.value)
               and (since is None or r["ts_event"] >= since)]
        out.sort(key=lambda r: (r["ts_event"], r["opportunity_id"], r["intent_id"]))
        return out

    def _row(self, opp_id: str, opp: Opportunity | None, intent_id: str | None,
             chain: IntentChain | None) -> dict[str, Any]:
        denials = self.denials.get(opp_id, []) if intent_id is None else []
        intent = chain.intent if chain else None
        fills = list(chain.fills.values()) if chain else []
        trades = chain.trades if chain else []
        first = opp or intent or (denials[0] if denials else None) or (fills[0] if fills else
                                                                        None)
        engine = getattr(first, "engine", None)
        strategy = getattr(first, "strategy", "")
        realized = sum((t.realized_pnl for t in trades), Decimal(0)) if trades else None
        if intent_id is None:
            status = DENIED if denials else NO_DECISION
        elif intent is None:
            status = NO_INTENT
        elif opp is None:
            status = NO_OPPORTUNITY
        elif trades:
            status = CLOSED
        elif fills:
            status = OPEN
        else:
            status = UNFILLED
        estimated = opp.net_pnl if isinstance(opp, ArbitrageOpportunityDetected) else None
        entry_price = (opp.entry_price if isinstance(opp, ForexSignalDetected
                                                     | BinarySignalDetected) else None)
        entry_fill = entry_fill_price(opp, chain) if chain else None
        slip, slip_bps = slippage(opp, realized, entry_fill)
        return {
            "opportunity_id": opp_id,
            "intent_id": intent_id or "",
            "engine": engine.value if isinstance(engine, Engine) else "",
            "strategy": strategy,
            "ts_event": first.ts_event if first is not None else 0,
            "status": status,
            "policy_version": (intent.policy_version if intent else
                               denials[-1].policy_version if denials else None),
            "denial_reason": denials[-1].reason.value if denials else "",
            "denial_detail": denials[-1].detail if denials else "",
            "order_ids": sorted(chain.orders) if chain else [],
            "fill_ids": sorted(chain.fills) if chain else [],
            "filled_base_quantity": _s(sum((f.base_quantity for f in fills), Decimal(0))),
            "fees": _s(sum((f.fee for f in fills), Decimal(0))),
            "estimated_net_pnl": _s(estimated),
            "signal_entry_price": _s(entry_price),
            "entry_fill_price": _s(entry_fill),
            "trade_ids": [t.trade_id for t in trades] + (chain.shared_trade_ids if chain else []),
            "realized_pnl": _s(realized),
            "slippage": _s(slip),
            "slippage_bps": _s(slip_bps),
        }


def entry_fill_price(opp: Opportunity | None, chain: IntentChain) -> Decimal | None:
    """VWAP of a forex/binary signal's entry fills: fills on the signal's side of orders that
    are not bracket exits (no parent order). None for arbitrage or before any entry fill."""
    if not isinstance(opp, ForexSignalDetected):
        return None
    buy = _is_buy(opp.side)
    qty = notional = Decimal(0)
    for f in chain.fills.values():
        sub = chain.orders.get(f.order_id)
        if _is_buy(f.side) != buy or (sub is not None and sub.parent_order_id):
            continue
        qty += f.base_quantity
        notional += f.base_quantity * f.price
    return notional / qty if qty else None


def slippage(opp: Opportunity | None, realized: Decimal | None,
             entry_fill: Decimal | None) -> tuple[Decimal | None, Decimal | None]:
    """(slippage, in bps), positive = worse than the scanner said.

    Arbitrage: estimated net PnL - realized net PnL of the intent, in quote units (the honesty
    number), bps of the opportunity's notional. Forex: entry fill VWAP vs the signal's
    entry_price, against the trade (paid more on a buy, got less on a sell), in price units,
    bps of entry_price."""
    if isinstance(opp, ArbitrageOpportunityDetected) and realized is not None:
        s = opp.net_pnl - realized
        return s, (s / opp.notional * 10_000 if opp.notional else None)
    if isinstance(opp, ForexSignalDetected) and entry_fill is not None:
        s = entry_fill - opp.entry_price if _is_buy(opp.side) else opp.entry_price - entry_fill
        return s, (s / opp.entry_price * 10_000 if opp.entry_price else None)
    return None, None


def _s(d: Decimal | None) -> str | None:
    return None if d is None else str(d)
