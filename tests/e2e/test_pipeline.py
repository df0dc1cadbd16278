"""All six services as processes replay the bundled recordings at max speed; then the chain
is checked from fills back to opportunities, positions against fills, health and metrics."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from libs.common.enums import DenialReason, Engine, OrderSide
from libs.common.events import (
    ArbitrageOpportunityDetected,
    ForexSignalDetected,
    OrderDenied,
    OrderFilled,
    OrderIntentApproved,
    PolicyUpdated,
    PositionUpdated,
    TradeClosed,
)
from libs.common.streams import ALL_STREAMS, SUBSCRIPTIONS
from trifecta.pipeline import SERVICES, Pipeline

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def run(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    from redis import Redis

    Redis.from_url(redis_url).flushdb()
    logs: Path = tmp_path_factory.mktemp("logs")
    with Pipeline(redis_url=redis_url, env={"TRIFECTA_INTAKE_SPEED": "0"},
                  log_dir=logs) as p:
        p.wait_ready(60)
        p.wait_drained(timeout=400)
        events = {s: list(p.events(s)) for s in ALL_STREAMS if s != "dlq"}
        yield {
            "pipeline": p,
            "events": events,
            "health": {n: p.health(n) for n in SERVICES},
            "metrics": {n: p.metrics(n) for n in SERVICES},
            "lengths": {s: p.redis.xlen(s) for s in ALL_STREAMS},
        }


def of(run: dict, stream: str, cls: type) -> list:
    return [e for e in run["events"][stream] if isinstance(e, cls)]


def test_every_service_reports_running_with_redis(run: dict) -> None:
    for name, h in run["health"].items():
        assert h is not None, name
        assert h["status"] == "RUNNING", (name, h)
        assert h["redis"] is True
    assert run["health"]["intake"]["replay_done"] is True
    assert run["health"]["intake"]["bad_lines"] == 0


def test_nothing_was_dead_lettered(run: dict) -> None:
    assert run["lengths"]["dlq"] == 0


def test_every_fill_traces_back_through_an_intent_to_an_opportunity(run: dict) -> None:
    opps = {o.opportunity_id: o for o in run["events"]["opportunities"]}
    intents = {i.intent_id: i for i in of(run, "orders.intents", OrderIntentApproved)}
    fills = of(run, "orders.reports", OrderFilled)
    assert fills, "the demo produced no fills"
    for f in fills:
        intent = intents[f.intent_id]
        opp = opps[intent.opportunity_id]
        assert f.correlation_id == intent.correlation_id == opp.correlation_id
        assert f.position_key == intent.position_key
    engines = {f.engine for f in fills}
    assert Engine.FOREX in engines


def test_no_arbitrage_intent_below_the_min_net_edge(run: dict) -> None:
    opps = {o.opportunity_id: o for o in of(run, "opportunities", ArbitrageOpportunityDetected)}
    assert opps, "the scanner found no cross-venue edges in the BTC window"
    for i in of(run, "orders.intents", OrderIntentApproved):
        if i.engine is Engine.ARBITRAGE:
            assert opps[i.opportunity_id].net_edge_bps >= 0
    denied = of(run, "decisions.rejected", OrderDenied)
    near_misses = [d for d in denied if d.reason is DenialReason.MIN_NET_EDGE]
    assert all(d.net_edge_bps is not None and d.net_edge_bps < 0 for d in near_misses)
    decided = {i.opportunity_id for i in of(run, "orders.intents", OrderIntentApproved)} | \
        {d.opportunity_id for d in denied}
    all_opps = {o.opportunity_id for o in run["events"]["opportunities"]}
    assert decided == all_opps  # every opportunity was decided exactly once
    assert len(decided) == len(run["events"]["opportunities"])


def test_oms_positions_equal_the_sum_of_fills(run: dict) -> None:
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for f in of(run, "orders.reports", OrderFilled):
        sign = 1 if f.side in (OrderSide.BUY, OrderSide.LONG) else -1
        expected[f.position_key] += sign * f.base_quantity
    last: dict[str, PositionUpdated] = {}
    for p in of(run, "oms.positions", PositionUpdated):
        last[p.position_key] = p
    assert set(last) == set(expected)
    for key, qty in expected.items():
        assert last[key].quantity == qty, key


def test_closed_trades_reward_learning_which_publishes_policies(run: dict) -> None:
    trades = of(run, "oms.trades", TradeClosed)
    assert trades
    for t in trades:
        assert t.realized_pnl == t.gross_pnl - t.fees
    policies = of(run, "learning.policies", PolicyUpdated)
    assert len(policies) == len(trades)
    assert [p.version for p in policies] == list(range(1, len(trades) + 1))
    fx_signals = of(run, "opportunities", ForexSignalDetected)
    assert fx_signals


def _counters(text: str, name: str) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = defaultdict(float)
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == name:
                out[(s.labels["stream"], s.labels.get("kind", ""))] += s.value
    return out


def test_metrics_counters_match_the_streams(run: dict) -> None:
    lengths = run["lengths"]
    for service, streams in SUBSCRIPTIONS.items():
        seen = _counters(run["metrics"][service], "trifecta_events_in_total")
        for stream in streams:
            handled = sum(v for (s, _), v in seen.items() if s == stream)
            assert handled == lengths[stream], (service, stream)
    producers = {"intake": ("md.books", "md.bars"), "scanner": ("opportunities",),
                 "decision": ("orders.intents", "decisions.rejected"),
                 "execution": ("orders.reports",), "oms": ("oms.trades", "oms.positions"),
                 "learning": ("learning.policies",)}
    for service, streams in producers.items():
        out = _counters(run["metrics"][service], "trifecta_events_out_total")
        for stream in streams:
            published = sum(v for (s, _), v in out.items() if s == stream)
            assert published == lengths[stream], (service, stream)


def test_services_exit_cleanly_on_sigterm(run: dict) -> None:
    # Runs last in this module (file order): stops the pipeline the other tests looked at.
    codes = run["pipeline"].stop()
    assert codes == {name: 0 for name in SERVICES}
