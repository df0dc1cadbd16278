"""Stub factories: every field defaulted to something valid; override what the test is about."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from libs.common.enums import (
    ChainId,
    DenialReason,
    Engine,
    InstrumentKind,
    OrderSide,
    OrderStatus,
    OrderType,
)
from libs.common.events import (
    AllocationUpdated,
    ArbitrageOpportunityDetected,
    BarClosed,
    BinaryAsset,
    BinaryAssetsUpdated,
    BinarySignalDetected,
    BookGapDetected,
    Bracket,
    EngineAllocation,
    Event,
    FeaturesComputed,
    ForexSignalDetected,
    InstrumentInfo,
    InstrumentsUpdated,
    IntentLeg,
    KillSwitchSet,
    OpportunityLeg,
    OrderBookUpdated,
    OrderClosed,
    OrderDenied,
    OrderFilled,
    OrderIntentApproved,
    OrderSubmitted,
    PolicyUpdated,
    PoolStateUpdated,
    PositionUpdated,
    QuoteTick,
    ReplayFinished,
    TradeClosed,
    TradeTick,
)

D = Decimal


def arb_leg(**kw: Any) -> OpportunityLeg:
    base: dict[str, Any] = dict(instrument_id="BTC/USDT.BINANCE", side=OrderSide.BUY,
                                quantity=D("0.01"), native_quantity=D("0.01"), vwap=D("60000"),
                                best_price=D("60000"), fee_rate=D("0.001"), fee=D("0.6"),
                                quote_ts=1_000, book_sequence=1)
    return OpportunityLeg(**(base | kw))


def arbitrage(**kw: Any) -> ArbitrageOpportunityDetected:
    base: dict[str, Any] = dict(
        ts_event=1_000, opportunity_id="opp-1", strategy="cross_venue_2leg", base="BTC",
        quote="USD",
        legs=(arb_leg(), arb_leg(instrument_id="BTC/USDT-PERP.BINANCE_USDM", side=OrderSide.SELL,
                                 vwap=D("60020"), best_price=D("60020"), fee_rate=D("0.0005"),
                                 fee=D("0.3001"))),
        quantity=D("0.01"), notional=D("600"), gross_pnl=D("0.2"), fees=D("0.9001"),
        net_pnl=D("-0.7001"), gross_edge_bps=D("3.33"), net_edge_bps=D("-11.67"),
        oldest_quote_age_ns=0)
    return ArbitrageOpportunityDetected(**(base | kw))


def forex_signal(**kw: Any) -> ForexSignalDetected:
    base: dict[str, Any] = dict(
        ts_event=60_000_000_000, opportunity_id="opp-fx-1", strategy="fx_rsi_reversion",
        instrument_id="GBP/USD.FXCM", side=OrderSide.BUY, entry_price=D("1.57600"),
        take_profit=D("1.57700"), stop_loss=D("1.57525"), atr=D("0.0005"), rsi=D("31"),
        sma=D("1.5761"), quantity=D("10000"), notional=D("15760"), spread_bps=D("0.6"),
        quote_age_ns=0)
    return ForexSignalDetected(**(base | kw))


def position(**kw: Any) -> PositionUpdated:
    base: dict[str, Any] = dict(ts_event=1, position_key="FOREX:GBP/USD.FXCM:int-1",
                                engine=Engine.FOREX, strategy="fx_rsi_reversion",
                                quantity=D("10000"), avg_price=D("1.576"), realized_pnl=D(0),
                                unrealized_pnl=D(0), fees=D(0))
    return PositionUpdated(**(base | kw))


def trade(**kw: Any) -> TradeClosed:
    base: dict[str, Any] = dict(
        ts_event=1, trade_id="trd-1", position_key="FOREX:GBP/USD.FXCM:int-1",
        engine=Engine.FOREX, strategy="fx_rsi_reversion", intent_ids=("int-1",),
        opportunity_ids=("opp-1",), policy_version=0, quantity=D("10000"),
        entry_price=D("1.576"), exit_price=D("1.577"), gross_pnl=D("10"), fees=D(0),
        realized_pnl=D("10"), opened_ts=0, closed_ts=1)
    return TradeClosed(**(base | kw))


def book(**kw: Any) -> OrderBookUpdated:
    base: dict[str, Any] = dict(
        ts_event=1_723_161_255_208_000_000, instrument_id="BTC/USD-PERP.BINANCE_COINM",
        venue="BINANCE_COINM", symbol="BTCUSD_PERP", instrument_kind=InstrumentKind.INVERSE,
        base="BTC", quote="USD", contract_size=D(100), sequence=1_007_198_631_565,
        bids=((D("61800.1"), D("12")), (D("61800.0"), D("3"))),
        asks=((D("61800.2"), D("7")), (D("61801.5"), D("40"))), is_snapshot=False)
    return OrderBookUpdated(**(base | kw))


def bar(**kw: Any) -> BarClosed:
    base: dict[str, Any] = dict(
        ts_event=1_328_054_460_000_000_000, ts_open=1_328_054_400_000_000_000,
        instrument_id="GBP/USD.FXCM", venue="FXCM", symbol="GBPUSD", base="GBP", quote="USD",
        timeframe_s=60, bid_open=D("1.57597"), bid_high=D("1.57606"), bid_low=D("1.57576"),
        bid_close=D("1.57576"), ask_open=D("1.57608"), ask_high=D("1.57610"),
        ask_low=D("1.57585"), ask_close=D("1.57585"))
    return BarClosed(**(base | kw))


def gap(**kw: Any) -> BookGapDetected:
    base: dict[str, Any] = dict(ts_event=1, instrument_id="BTC/USDT.BINANCE", expected_from=11,
                                got_from=15, detail="U 15 != previous u 10 + 1")
    return BookGapDetected(**(base | kw))


def replay_finished(**kw: Any) -> ReplayFinished:
    return ReplayFinished(**(dict(ts_event=1, source="binance", events_published=3) | kw))


def intent(**kw: Any) -> OrderIntentApproved:
    base: dict[str, Any] = dict(
        ts_event=1, intent_id="int-1", opportunity_id="opp-fx-1", engine=Engine.FOREX,
        strategy="fx_rsi_reversion", policy_version=2,
        position_key="FOREX:GBP/USD.FXCM:int-1",
        legs=(IntentLeg(leg_id="entry", instrument_id="GBP/USD.FXCM", side=OrderSide.BUY,
                        order_type=OrderType.MARKET, quantity=D("10000"),
                        base_quantity=D("10000"), limit_price=D("1.5761")),),
        bracket=Bracket(take_profit=D("1.577"), stop_loss=D("1.5752")), notional=D("15760"),
        expected_net_pnl=D("1.5"), signal_ts=1)
    return OrderIntentApproved(**(base | kw))


def denied(**kw: Any) -> OrderDenied:
    base: dict[str, Any] = dict(ts_event=1, opportunity_id="opp-1", engine=Engine.ARBITRAGE,
                                strategy="cross_venue_2leg", reason=DenialReason.MIN_NET_EDGE,
                                detail="net edge -11.20 bps < 0 bps", policy_version=0,
                                net_edge_bps=D("-11.2"))
    return OrderDenied(**(base | kw))


def kill_switch(**kw: Any) -> KillSwitchSet:
    return KillSwitchSet(**(dict(ts_event=1, active=True, reason="operator") | kw))


def submitted(**kw: Any) -> OrderSubmitted:
    base: dict[str, Any] = dict(
        ts_event=1, order_id="ord-1", intent_id="int-1", opportunity_id="opp-fx-1",
        engine=Engine.FOREX, strategy="fx_rsi_reversion",
        position_key="FOREX:GBP/USD.FXCM:int-1", instrument_id="GBP/USD.FXCM",
        side=OrderSide.SELL, order_type=OrderType.STOP, quantity=D("10000"),
        limit_price=None, stop_price=D("1.5752"), parent_order_id="ord-0")
    return OrderSubmitted(**(base | kw))


def filled(**kw: Any) -> OrderFilled:
    base: dict[str, Any] = dict(
        ts_event=1, fill_id="fill-1", order_id="ord-1", intent_id="int-1",
        engine=Engine.ARBITRAGE, strategy="cross_venue_2leg",
        position_key="ARBITRAGE:BTC:int-1", instrument_id="BTC/USDT.BINANCE",
        side=OrderSide.BUY, price=D("61837.64"), quantity=D("0.01"), base_quantity=D("0.01"),
        fee=D("0.6183764"), liquidity="TAKER", leaves_quantity=D("0"),
        status=OrderStatus.FILLED, levels_taken=1, book_ts=1)
    return OrderFilled(**(base | kw))


def closed(**kw: Any) -> OrderClosed:
    base: dict[str, Any] = dict(
        ts_event=1, order_id="ord-1", intent_id="int-1", engine=Engine.ARBITRAGE,
        strategy="cross_venue_2leg", position_key="ARBITRAGE:BTC:int-1",
        instrument_id="BTC/USDT.BINANCE", status=OrderStatus.CANCELLED,
        reason="insufficient depth: filled 0.004 of 0.01")
    return OrderClosed(**(base | kw))


def policy(**kw: Any) -> PolicyUpdated:
    base: dict[str, Any] = dict(
        ts_event=1, version=3, engine=Engine.FOREX, strategy="fx_rsi_reversion", enabled=True,
        size_multiplier=D(1), trades=3, wins=2, mean_pnl=D("1.5"), ewma_pnl=D("1.2"),
        total_pnl=D("4.5"), reason="warming up: 3/20 trades")
    return PolicyUpdated(**(base | kw))


def quote(**kw: Any) -> QuoteTick:
    base: dict[str, Any] = dict(ts_event=1, instrument_id="USD/JPY.TRUEFX", venue="TRUEFX",
                                symbol="USDJPY", bid=D("86.702"), ask=D("86.711"),
                                bid_size=D("1000000"), ask_size=None)
    return QuoteTick(**(base | kw))


def instruments(**kw: Any) -> InstrumentsUpdated:
    info = InstrumentInfo(instrument_id="BTC/USDT.BINANCE", venue="BINANCE", symbol="BTCUSDT",
                          base="BTC", quote="USDT", instrument_kind=InstrumentKind.SPOT,
                          tick_size=D("0.01"), lot_size=D("0.00001"), min_quantity=D("0.00001"),
                          min_notional=D("5"), taker_fee=D("0.001"), maker_fee=D("0.001"))
    return InstrumentsUpdated(**(dict(ts_event=1, venue="BINANCE", instruments=(info,)) | kw))


def pool(**kw: Any) -> PoolStateUpdated:
    base: dict[str, Any] = dict(
        ts_event=1, chain_id=ChainId.ARBITRUM,
        pool_address="0x905dfCD5649217c42684f23958568e533C711Aa3",
        token0="0x82aF49447D8a07e3bd95BD0d56f35241523fBab1",
        token1="0xFF970A61A04b1cA14834A43f5dE4533eBDDB5CC8", symbol0="WETH", symbol1="USDC",
        decimals0=18, decimals1=6, reserve0=1_000 * 10**18, reserve1=2_600_000 * 10**6,
        fee_bps=30, block_number=123_456)
    return PoolStateUpdated(**(base | kw))


def binary_assets(**kw: Any) -> BinaryAssetsUpdated:
    asset = BinaryAsset(symbol="EURUSD_otc", name="EUR/USD OTC", payout_pct=D("92"),
                        expiries_s=(60, 300, 900), active=True, is_otc=True)
    return BinaryAssetsUpdated(**(dict(ts_event=1, venue="POCKET_OPTION", assets=(asset,)) | kw))


def binary_signal(**kw: Any) -> BinarySignalDetected:
    base: dict[str, Any] = dict(
        ts_event=1, opportunity_id="opp-bin-1", strategy="bin_vol_drift",
        instrument_id="EUR/USD.POCKET_OPTION", direction="CALL", expiry_s=60,
        entry_price=D("1.14601"), probability=D("0.55"), payout_pct=D("92"),
        expected_value=D("0.056"), stake=D("10"), notional=D("10"), volatility=D("0.00002"),
        drift=D("0.000001"), quote_age_ns=0, features={"fib_618": D("1.1452")})
    return BinarySignalDetected(**(base | kw))


def features(**kw: Any) -> FeaturesComputed:
    base: dict[str, Any] = dict(ts_event=1, instrument_id="GBP/USD.FXCM", source="fibonacci",
                                features={"fib_382": D("1.5731"), "fib_618": D("1.5702")})
    return FeaturesComputed(**(base | kw))


def trade_tick(**kw: Any) -> TradeTick:
    base: dict[str, Any] = dict(ts_event=1, instrument_id="BTC/USDT.BINANCE", venue="BINANCE",
                                price=D("61837.63"), quantity=D("0.02"), aggressor="SELL",
                                trade_id="3735683259")
    return TradeTick(**(base | kw))


def allocation(**kw: Any) -> AllocationUpdated:
    allocs = (EngineAllocation(engine=Engine.ARBITRAGE, weight=D("0.5"), capital=D("50000"),
                               risk_budget=D("500"), reason="base"),
              EngineAllocation(engine=Engine.FOREX, weight=D("0.4"), capital=D("40000"),
                               risk_budget=D("400")))
    return AllocationUpdated(**(dict(ts_event=1, version=1, regime="calm",
                                     allocations=allocs) | kw))


# One stub per event class: the round-trip test checks this covers EVENT_TYPES.
STUBS: dict[type[Event], Any] = {
    OrderBookUpdated: book, BarClosed: bar, BookGapDetected: gap,
    ReplayFinished: replay_finished, ArbitrageOpportunityDetected: arbitrage,
    ForexSignalDetected: forex_signal, OrderIntentApproved: intent, OrderDenied: denied,
    KillSwitchSet: kill_switch, OrderSubmitted: submitted, OrderFilled: filled,
    OrderClosed: closed, PositionUpdated: position, TradeClosed: trade, PolicyUpdated: policy,
    QuoteTick: quote, InstrumentsUpdated: instruments, PoolStateUpdated: pool,
    BinaryAssetsUpdated: binary_assets, BinarySignalDetected: binary_signal,
    FeaturesComputed: features, TradeTick: trade_tick, AllocationUpdated: allocation,
}
