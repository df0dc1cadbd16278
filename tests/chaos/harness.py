"""A Pipeline that can SIGKILL one service and start it again with the same arguments, and a
digest of one run's outcome (ids, prices, PnL) for comparing runs."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from libs.common.enums import OrderSide
from libs.common.events import (
    OrderDenied,
    OrderFilled,
    OrderIntentApproved,
    OrderSubmitted,
    PositionUpdated,
    TradeClosed,
)
from libs.common.redis_server import free_port
from trifecta.pipeline import ROOT, Pipeline

# Short enough that a killed consumer's pending entries move to its replacement within a run.
FAST_CLAIM_ENV = {"TRIFECTA_CLAIM_IDLE_MS": "1000", "TRIFECTA_CLAIM_INTERVAL_MS": "200"}


class RestartablePipeline(Pipeline):
    """`Pipeline` plus `kill_and_restart`: the replacement gets the same command, cwd and
    environment as `Pipeline.start` gives (a new HTTP port: the old one may linger)."""

    def kill_and_restart(self, name: str, ready_timeout: float = 30) -> int:
        """SIGKILL `name`, wait for it to die, start it again; return the killed pid."""
        old = self.procs[name]
        pid = old.pid
        old.send_signal(signal.SIGKILL)
        old.wait(10)
        port = free_port()
        env = {**os.environ, **self.env, "TRIFECTA_REDIS_URL": str(self.redis_url),
               "TRIFECTA_HTTP_PORT": str(port), "TRIFECTA_LOG_JSON": "true",
               "PYTHONUNBUFFERED": "1"}
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (owned by the proc)
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"], cwd=ROOT, env=env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.ports[name] = port
        deadline = time.monotonic() + ready_timeout
        while (self.health(name) or {}).get("status") != "RUNNING":
            self.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} not healthy {ready_timeout} s after restart")
            time.sleep(0.1)
        return pid


@dataclass
class RunDigest:
    """What one run decided and traded, keyed by the ids the services derive from the data."""

    opportunities: dict[str, str] = field(default_factory=dict)  # id -> net_edge_bps (or "")
    opportunity_count: int = 0
    intents: dict[str, OrderIntentApproved] = field(default_factory=dict)
    intent_events: list[OrderIntentApproved] = field(default_factory=list)
    denials: list[OrderDenied] = field(default_factory=list)
    submitted: list[OrderSubmitted] = field(default_factory=list)
    fills: dict[str, tuple[str, str, str, str]] = field(default_factory=dict)  # id -> row
    fill_events: list[OrderFilled] = field(default_factory=list)
    trades: dict[str, str] = field(default_factory=dict)  # trade_id -> realized_pnl
    trade_events: list[TradeClosed] = field(default_factory=list)
    positions: dict[str, Decimal] = field(default_factory=dict)  # last PositionUpdated

    def decisions_per_opportunity(self) -> Counter[str]:
        """Distinct decisions per opportunity: intents by intent_id, denials by event."""
        seen: Counter[str] = Counter()
        for intent in self.intents.values():
            seen[intent.opportunity_id] += 1
        for d in self.denials:
            seen[d.opportunity_id] += 1
        return seen

    def fill_sums(self) -> dict[str, Decimal]:
        """Signed base quantity per position key, summed over distinct fills."""
        out: dict[str, Decimal] = defaultdict(Decimal)
        for f in {f.fill_id: f for f in self.fill_events}.values():
            sign = 1 if f.side in (OrderSide.BUY, OrderSide.LONG) else -1
            out[f.position_key] += sign * f.base_quantity
        return dict(out)


def digest(p: Pipeline) -> RunDigest:
    """Read every decision, order, fill, trade and position stream of a drained run."""
    d = RunDigest()
    for o in p.events("opportunities"):
        d.opportunity_count += 1
        edge = getattr(o, "net_edge_bps", None)
        d.opportunities[o.opportunity_id] = "" if edge is None else str(edge)
    for e in p.events("orders.intents"):
        if isinstance(e, OrderIntentApproved):
            d.intent_events.append(e)
            d.intents[e.intent_id] = e
    for e in p.events("decisions.rejected"):
        if isinstance(e, OrderDenied):
            d.denials.append(e)
    for e in p.events("orders.reports"):
        if isinstance(e, OrderSubmitted):
            d.submitted.append(e)
        elif isinstance(e, OrderFilled):
            d.fill_events.append(e)
            d.fills[e.fill_id] = (e.intent_id, str(e.price), str(e.quantity), str(e.fee))
    for e in p.events("oms.trades"):
        if isinstance(e, TradeClosed):
            d.trade_events.append(e)
            d.trades[e.trade_id] = str(e.realized_pnl)
    for e in p.events("oms.positions"):
        if isinstance(e, PositionUpdated):
            d.positions[e.position_key] = e.quantity
    return d


def replay(p_cls: type[Pipeline], redis_url: str, log_dir: Path,
           env: dict[str, str] | None = None) -> RunDigest:
    """One clean max-speed replay of the bundled recordings on a flushed Redis."""
    from redis import Redis

    Redis.from_url(redis_url).flushdb()
    with p_cls(redis_url=redis_url, env={"TRIFECTA_INTAKE_SPEED": "0", **(env or {})},
               log_dir=log_dir) as p:
        p.wait_ready(60)
        p.wait_drained(timeout=300)
        return digest(p)
