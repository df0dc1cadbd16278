"""Small builders for execution tests: every field defaulted, prices given as strings."""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from libs.common.enums import Engine, InstrumentKind, OrderSide, OrderType
from libs.common.events import (
    BarClosed,
    Bracket,
    IntentLeg,
    OrderBookUpdated,
    OrderIntentApproved,
    ReplayFinished,
    TradeTick,
)

D = Decimal
MS = 1_000_000
MINUTE = 60_000_000_000
T0 = 1_723_161_600_000 * MS  # 2024-08-09 00:00 UTC, ns

SPOT = "BTC/USDT.BINANCE"
USDM = "BTC/USDT-PERP.BINANCE_USDM"
COINM = "BTC/USD-PERP.BINANCE_COINM"
GBPUSD = "GBP/USD.FXCM"


def lv(*levels: tuple[str, str]) -> tuple[tuple[Decimal, Decimal], ...]:
    return tuple((D(p), D(s)) for p, s in levels)


def book(ts: int, *, instrument_id: str = SPOT, bids: Sequence[tuple[str, str]] = (),
         asks: Sequence[tuple[str, str]] = (), **kw: Any) -> OrderBookUpdated:
    venue = instrument_id.rsplit(".", 1)[1]
    kind = {SPOT: InstrumentKind.SPOT, USDM: InstrumentKind.LINEAR,
            COINM: InstrumentKind.INVERSE}.get(instrument_id, InstrumentKind.SPOT)
    base: dict[str, Any] = dict(
        ts_event=ts, ts_init=ts, instrument_id=instrument_id, venue=venue, symbol="BTCUSDT",
        instrument_kind=kind, base="BTC", quote="USDT",
        contract_size=D("100") if kind is InstrumentKind.INVERSE else None,
        sequence=ts // MS, bids=lv(*bids), asks=lv(*asks))
    return OrderBookUpdated(**(base | kw))


def leg(leg_id: str = "leg0", *, instrument_id: str = SPOT, side: OrderSide = OrderSide.BUY,
        quantity: str = "1", base_quantity: str | None = None, **kw: Any) -> IntentLeg:
    base: dict[str, Any] = dict(
        leg_id=leg_id, instrument_id=instrument_id, side=side, order_type=OrderType.MARKET,
        quantity=D(quantity), base_quantity=D(base_quantity or quantity))
    return IntentLeg(**(base | kw))


def intent(*legs: IntentLeg, signal_ts: int = T0, intent_id: str = "int-1",
           **kw: Any) -> OrderIntentApproved:
    base: dict[str, Any] = dict(
        ts_event=signal_ts, ts_init=signal_ts, intent_id=intent_id, opportunity_id="opp-1",
        engine=Engine.ARBITRAGE, strategy="cross_venue_2leg", policy_version=3,
        position_key=f"ARBITRAGE:BTC:{intent_id}", legs=legs or (leg(),), notional=D("100"),
        signal_ts=signal_ts)
    return OrderIntentApproved(**(base | kw))


def bar(k: int, o: str, h: str, low: str, c: str, *, spread: str = "0.0002",
        instrument_id: str = GBPUSD, start: int = T0) -> BarClosed:
    """The k-th 1-minute bar after `start`, bid OHLC given, ask = bid + spread."""
    s = D(spread)
    bid = [D(x) for x in (o, h, low, c)]
    ask = [x + s for x in bid]
    return BarClosed(
        ts_event=start + (k + 1) * MINUTE, ts_init=start + (k + 1) * MINUTE,
        instrument_id=instrument_id, venue="FXCM", symbol="GBPUSD", base="GBP", quote="USD",
        timeframe_s=60, ts_open=start + k * MINUTE,
        bid_open=bid[0], bid_high=bid[1], bid_low=bid[2], bid_close=bid[3],
        ask_open=ask[0], ask_high=ask[1], ask_low=ask[2], ask_close=ask[3])


def fx_intent(*, side: OrderSide = OrderSide.BUY, take_profit: str = "1.5800",
              stop_loss: str = "1.5700", signal_ts: int = T0 + MINUTE,
              quantity: str = "10000", intent_id: str = "int-fx-1",
              **kw: Any) -> OrderIntentApproved:
    """A forex intent signalled at the close of bar 0 (so it enters at bar 1's open)."""
    base: dict[str, Any] = dict(
        engine=Engine.FOREX, strategy="fx_rsi_reversion",
        position_key=f"FOREX:{GBPUSD}:{intent_id}",
        bracket=Bracket(take_profit=D(take_profit), stop_loss=D(stop_loss)))
    return intent(leg("entry", instrument_id=GBPUSD, side=side, quantity=quantity),
                  signal_ts=signal_ts, intent_id=intent_id, **(base | kw))


def replay_finished(ts: int = T0 + 10 * MINUTE) -> ReplayFinished:
    return ReplayFinished(ts_event=ts, ts_init=ts, source="test", events_published=0)


def trade(ts: int, price: str, quantity: str, aggressor: str, *, instrument_id: str = SPOT,
          trade_id: str | None = None) -> TradeTick:
    """One tape trade; `aggressor` is the taker's side, BUY or SELL."""
    return TradeTick(ts_event=ts, ts_init=ts, instrument_id=instrument_id,
                     venue=instrument_id.rsplit(".", 1)[1], price=D(price),
                     quantity=D(quantity), aggressor=aggressor,  # type: ignore[arg-type]
                     trade_id=trade_id or f"t{ts}-{price}-{quantity}")
