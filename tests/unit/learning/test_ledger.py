from __future__ import annotations

from decimal import Decimal as D

from libs.common.enums import Engine
from services.learning.domain.ledger import (
    CLOSED,
    DENIED,
    NO_INTENT,
    UNFILLED,
    Ledger,
)
from tests.unit.learning.scenario import script


def ledger_of_script() -> Ledger:
    ledger = Ledger()
    for e in script():
        ledger.on_event(e)
    return ledger


def by_opp(ledger: Ledger) -> dict[str, dict]:
    return {r["opportunity_id"] or r["intent_id"]: r for r in ledger.rows()}


def test_approved_filled_closed_chain_carries_policy_orders_fills_trade_and_reward() -> None:
    row = by_opp(ledger_of_script())["opp-a"]
    assert row["status"] == CLOSED
    assert (row["intent_id"], row["policy_version"]) == ("int-a", 3)
    assert row["order_ids"] == ["ord-a1", "ord-a2"]
    assert row["fill_ids"] == ["fill-a1", "fill-a2"]
    assert D(row["fees"]) == D("0.90")
    assert row["trade_ids"] == ["trd-a"]
    assert D(row["realized_pnl"]) == D("0.70")


def test_denied_opportunity_keeps_reason_and_policy_version() -> None:
    row = by_opp(ledger_of_script())["opp-b"]
    assert (row["status"], row["denial_reason"], row["policy_version"]) == \
        (DENIED, "MIN_NET_EDGE", 3)
    assert row["intent_id"] == "" and row["fill_ids"] == [] and row["realized_pnl"] is None


def test_approved_but_unfilled_intent_lists_its_order_and_no_reward() -> None:
    row = by_opp(ledger_of_script())["opp-c"]
    assert (row["status"], row["intent_id"], row["order_ids"]) == (UNFILLED, "int-c",
                                                                   ["ord-c1"])
    assert row["fill_ids"] == [] and row["realized_pnl"] is None and row["slippage"] is None


def test_fill_of_an_unknown_intent_is_listed_as_incomplete_not_dropped() -> None:
    ledger = ledger_of_script()
    row = by_opp(ledger)["int-x"]
    assert (row["status"], row["fill_ids"], row["engine"]) == (NO_INTENT, ["fill-x"],
                                                               "ARBITRAGE")
    every_fill = {e.fill_id for e in script() if hasattr(e, "fill_id")}
    assert {f for r in ledger.rows() for f in r["fill_ids"]} == every_fill


def test_arbitrage_slippage_is_estimated_minus_realized_net_pnl() -> None:
    row = by_opp(ledger_of_script())["opp-a"]
    assert D(row["estimated_net_pnl"]) == D("1.20")
    assert D(row["slippage"]) == D("0.50")
    assert D(row["slippage_bps"]) == D("0.50") / D("600") * 10_000


def test_forex_slippage_is_entry_fill_against_signal_entry_price() -> None:
    row = by_opp(ledger_of_script())["opp-d"]
    assert D(row["entry_fill_price"]) == D("1.57610")  # the bracket exit is not an entry
    assert D(row["slippage"]) == D("0.00010")
    assert D(row["slippage_bps"]) == D("0.00010") / D("1.57600") * 10_000


def test_redelivered_events_change_nothing() -> None:
    events, ledger = script(), Ledger()
    for e in events:
        assert ledger.on_event(e)
    before = ledger.rows()
    assert not any(ledger.on_event(e) for e in events)
    assert ledger.rows() == before


def test_rows_filter_by_engine_and_since() -> None:
    ledger = ledger_of_script()
    assert {r["opportunity_id"] for r in ledger.rows(Engine.FOREX)} == {"opp-c", "opp-d"}
    assert [r["opportunity_id"] or r["intent_id"] for r in ledger.rows(since=300)] == \
        ["opp-c", "opp-d", "int-x"]
