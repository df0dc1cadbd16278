"""In-memory views of the streams, and the incremental messages the WebSocket pushes.

`DashboardState.apply` takes one decoded stream entry plus the current time (ns, from the
caller's clock) and returns the messages to broadcast; `snapshot` is the initial state a new
client loads before it applies messages with a higher `seq`.
"""
from __future__ import annotations

import json
from collections import Counter, deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from libs.common.events import (
    ArbitrageOpportunityDetected,
    BinarySignalDetected,
    Event,
    ForexSignalDetected,
    KillSwitchSet,
    OrderDenied,
    OrderFilled,
    OrderIntentApproved,
    PolicyUpdated,
    PositionUpdated,
)

PROTOCOL_VERSION = 1
Opportunity = ArbitrageOpportunityDetected | ForexSignalDetected | BinarySignalDetected


def kill_state(event: KillSwitchSet) -> str:
    """The operator state a KillSwitchSet means: HALTED, REDUCING or RUNNING."""
    if not event.active:
        return "RUNNING"
    return "REDUCING" if event.reduce_only else "HALTED"


def opportunity_edge_bps(event: Opportunity) -> str | None:
    """The edge shown for an opportunity: net edge (arbitrage), expected value in bps (binary),
    none for forex signals (their edge is the take-profit distance, shown as prices)."""
    if isinstance(event, ArbitrageOpportunityDetected):
        return str(event.net_edge_bps)
    if isinstance(event, BinarySignalDetected):
        return str(event.expected_value * Decimal(10_000))
    return None


def _instrument(event: Opportunity) -> str:
    if isinstance(event, ArbitrageOpportunityDetected):
        return f"{event.base}/{event.quote}"
    return event.instrument_id


@dataclass
class DashboardState:
    """Small bounded views: latest opportunities per engine, decisions, fills, positions,
    policies, service health, DLQ entries, the kill switch and the mode."""

    mode: str
    last_n: int = 50
    seq: int = 0
    kill_switch: str = "RUNNING"
    opportunities: dict[str, deque[dict[str, Any]]] = field(default_factory=dict)
    decisions: deque[dict[str, Any]] = field(init=False)
    denial_counts: Counter[str] = field(default_factory=Counter)
    approved: int = 0
    fills: deque[dict[str, Any]] = field(init=False)
    positions: dict[str, dict[str, Any]] = field(default_factory=dict)
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    health: dict[str, dict[str, Any]] = field(default_factory=dict)
    dlq: deque[dict[str, Any]] = field(init=False)
    bad_entries: int = 0

    def __post_init__(self) -> None:
        self.decisions = deque(maxlen=self.last_n)
        self.fills = deque(maxlen=self.last_n)
        self.dlq = deque(maxlen=self.last_n)

    # ---- messages ------------------------------------------------------------------------
    def _msg(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        return {"v": PROTOCOL_VERSION, "seq": self.seq, "type": kind, "data": data}

    def apply(self, event: Event, now_ns: int) -> list[dict[str, Any]]:
        """Fold one event into the views; return the messages that tell clients about it."""
        if isinstance(event, Opportunity):
            row = {"opportunity_id": event.opportunity_id, "engine": event.engine.value,
                   "strategy": event.strategy, "instrument": _instrument(event),
                   "net_edge_bps": opportunity_edge_bps(event), "notional": str(event.notional),
                   "ts_event": event.ts_event, "age_ms": max(0, now_ns - event.ts_init) // 10**6}
            rows = self.opportunities.setdefault(event.engine.value,
                                                 deque(maxlen=self.last_n))
            rows.appendleft(row)
            return [self._msg("opportunity", row)]
        if isinstance(event, OrderDenied | OrderIntentApproved):
            return [self._msg("decision", self._decision(event))]
        if isinstance(event, OrderFilled):
            row = {"fill_id": event.fill_id, "order_id": event.order_id,
                   "engine": event.engine.value, "instrument_id": event.instrument_id,
                   "side": event.side.value, "price": str(event.price),
                   "quantity": str(event.quantity), "fee": str(event.fee),
                   "status": event.status.value, "ts_event": event.ts_event}
            self.fills.appendleft(row)
            return [self._msg("fill", row)]
        if isinstance(event, PositionUpdated):
            row = {"position_key": event.position_key, "engine": event.engine.value,
                   "strategy": event.strategy, "quantity": str(event.quantity),
                   "avg_price": str(event.avg_price), "realized_pnl": str(event.realized_pnl),
                   "unrealized_pnl": str(event.unrealized_pnl), "open": event.quantity != 0}
            if event.quantity == 0:
                self.positions.pop(event.position_key, None)
            else:
                self.positions[event.position_key] = row
            return [self._msg("position", row)]
        if isinstance(event, PolicyUpdated):
            key = f"{event.engine.value}:{event.strategy}"
            known = self.policies.get(key)
            if known is not None and known["version"] >= event.version:
                return []  # an older or repeated version never replaces a newer one
            row = {"key": key, "version": event.version, "enabled": event.enabled,
                   "size_multiplier": str(event.size_multiplier), "trades": event.trades,
                   "reason": event.reason}
            self.policies[key] = row
            return [self._msg("policy", row)]
        if isinstance(event, KillSwitchSet):
            self.kill_switch = kill_state(event)
            return [self._msg("kill_switch", {"state": self.kill_switch,
                                              "reason": event.reason})]
        return []

    def _decision(self, event: OrderDenied | OrderIntentApproved) -> dict[str, Any]:
        if isinstance(event, OrderDenied):
            self.denial_counts[event.reason.value] += 1
            row = {"opportunity_id": event.opportunity_id, "engine": event.engine.value,
                   "approved": False, "reason": event.reason.value, "detail": event.detail}
        else:
            self.approved += 1
            row = {"opportunity_id": event.opportunity_id, "engine": event.engine.value,
                   "approved": True, "reason": "", "detail": f"notional {event.notional}"}
        self.decisions.appendleft(row)
        return {**row, "approved_total": self.approved,
                "denial_counts": dict(self.denial_counts)}

    def apply_dlq(self, raw: bytes, entry_id: str) -> list[dict[str, Any]]:
        """Fold one `dlq` entry (the bus's dead-letter JSON document) into the view."""
        try:
            doc = json.loads(raw)
            if not isinstance(doc, dict):
                raise ValueError("not an object")
            row = {"entry_id": entry_id, "stream": str(doc.get("stream", "?")),
                   "group": str(doc.get("group", "?")), "reason": str(doc.get("reason", "")),
                   "ts_ns": int(doc.get("ts_ns") or 0)}
        except (ValueError, TypeError) as e:
            row = {"entry_id": entry_id, "stream": "?", "group": "?",
                   "reason": f"unreadable dlq entry: {e}", "ts_ns": 0}
        self.dlq.appendleft(row)
        return [self._msg("dlq", row)]

    def set_health(self, service: str, doc: dict[str, Any] | None,
                   error: str = "") -> list[dict[str, Any]]:
        """Record one service's /health answer (None: unreachable); message only on change."""
        row = {"service": service,
               "status": str(doc.get("status", "UNKNOWN")) if doc else "DOWN",
               "reason": str(doc.get("reason", "")) if doc else error,
               "lag": doc.get("lag") if doc else None}
        if self.health.get(service) == row:
            return []
        self.health[service] = row
        return [self._msg("health", row)]

    def snapshot(self) -> dict[str, Any]:
        """The whole current view, stamped with the last `seq` it includes."""
        return {"v": PROTOCOL_VERSION, "seq": self.seq, "mode": self.mode,
                "kill_switch": self.kill_switch,
                "opportunities": {k: list(v) for k, v in self.opportunities.items()},
                "decisions": list(self.decisions), "approved_total": self.approved,
                "denial_counts": dict(self.denial_counts), "fills": list(self.fills),
                "positions": list(self.positions.values()),
                "policies": list(self.policies.values()),
                "health": list(self.health.values()), "dlq": list(self.dlq),
                "bad_entries": self.bad_entries}
