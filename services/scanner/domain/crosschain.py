"""Cross-chain DEX arbitrage: buy an asset in a V2 pool on chain A, bridge it, sell it on B. Pure.

For two pools of equivalent pairs (WETH/USDC on Arbitrum and WETH/USDC.e on Base: the token
registry says which tokens are the same asset) the round trip for `x` raw quote units is

    y   = get_amount_out(x, quote_A, base_A, fee_A)            exact V2 integers, chain A
    y'  = floor((y - bridge_fixed) * (1 - bridge_rate))          the bridge's fee, in base units
    z   = registry.convert_raw(y', base_A -> base_B)             decimals (and LST rate, if any)
    out = get_amount_out(z, base_B, quote_B, fee_B)              exact V2 integers, chain B

    net = out - x - gas_A - gas_B - risk

all in human quote units. `gas_c = (gas_units_per_swap [+ bridge_gas_units on A]) * gas price
(gwei) * 1e-9 * the chain's gas token price in the quote asset` (inputs: `ChainCosts`).
`risk = risk_k * sigma_annual(asset) * sqrt(bridge_time_s / year) * x` is an explicit haircut
for the price moving while the asset is in the bridge: with the default k = 2 the sale on B
is worse than priced about 2.3% of the time under a normal model.

`net` is concave in `x` once `y` exceeds the bridge's fixed fee (two concave increasing V2
maps around an affine bridge, minus costs linear in `x`), so an integer ternary search over
`[x_min, max_pool_fraction * quote reserve_A]` finds the best size; its last few candidates
are then checked one by one, which absorbs the integer floors of the V2 maths.

Reported figures (all in the quote asset; quote tokens are 1:1 claims on it, so a USDC and a
USDC.e amount add up):
- fees: the pools' fees on both legs (fee rate * input, valued at the pool's mid on B);
- gross_pnl: what the two swaps yield over `x` before the bridge fee, gas and risk, plus
  `fees` (so it is the edge before any cost);
- transfer_cost: bridge fee (valued as the quote it costs on B) + gas on both chains + risk;
- net_pnl = gross_pnl - fees - transfer_cost. It may be negative: a pair is reported when the
  swaps alone make money (gross_pnl - fees > 0), so near-misses are visible downstream.

The capital model is inventory on both chains: quote spent on A, quote received on B; the
bridge carries only the asset. Rebalancing the quote back is not priced here.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

from libs.common import amm
from libs.common.clock import Clock
from libs.common.enums import ChainId, OrderSide, RouteType, TokenType
from libs.common.errors import ConfigurationError
from libs.common.events.market import PoolStateUpdated
from libs.common.events.opportunity import ArbitrageOpportunityDetected, OpportunityLeg
from libs.common.identifiers import derived_id
from services.scanner.domain.tokens import ConversionRefused, TokenInfo, TokenRegistry

STRATEGY = "cross_chain_v2"
SECONDS_PER_YEAR = 365 * 86_400

_BPS = Decimal(10_000)
_EDGE_STEP = Decimal("0.0001")
_PNL_STEP = Decimal("0.00000001")
_PRICE_STEP = Decimal("0.000000000001")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_]")  # as intake's DEX parsing: `USDC.e` -> `USDC_e`


@dataclass(frozen=True, slots=True)
class ChainCosts:
    """What a transaction costs on one chain, and how often its pools change.

    gas_units_per_swap: gas of one V2 swap (about 100k-150k through a router on mainnet).
    gas_price_gwei: the price paid per gas unit (base + priority fee), in gwei (1e-9 native).
    native_price: the chain's gas token (ETH, MATIC/POL, BNB, AVAX...) priced in each quote
        asset, e.g. {"USDC": 3000, "USDT": 3000}. A pair whose quote is not listed is skipped.
    block_time_ns: the chain's block interval; sets the opportunity's ttl.
    """

    gas_units_per_swap: int
    gas_price_gwei: Decimal
    native_price: Mapping[str, Decimal]
    block_time_ns: int

    def __post_init__(self) -> None:
        if self.gas_units_per_swap < 0 or self.gas_price_gwei < 0:
            raise ConfigurationError("gas units and gas price must be >= 0")
        if self.block_time_ns <= 0:
            raise ConfigurationError(f"block_time_ns must be > 0, got {self.block_time_ns}")
        bad = {q: p for q, p in self.native_price.items() if not p > 0}
        if bad:
            raise ConfigurationError(f"native_price must be > 0, got {bad}")

    def gas_cost(self, gas_units: int, quote_asset: str) -> Fraction | None:
        """`gas_units` priced in `quote_asset`, or None when the gas token has no price in it."""
        price = self.native_price.get(quote_asset)
        if price is None:
            return None
        return Fraction(gas_units) * Fraction(self.gas_price_gwei) / 10**9 * Fraction(price)


@dataclass(frozen=True, slots=True)
class BridgeRoute:
    """A bridge for one asset: fee = fixed (asset units) + rate * (amount - fixed); time in s.

    gas_units: gas of the bridge call on the source chain, paid on top of the swap's.
    """

    fee_fixed: Decimal
    fee_rate: Decimal
    time_s: Decimal
    gas_units: int = 0

    def __post_init__(self) -> None:
        if self.fee_fixed < 0 or not 0 <= self.fee_rate < 1:
            raise ConfigurationError("bridge fee_fixed must be >= 0 and fee_rate in [0, 1)")
        if self.time_s < 0 or self.gas_units < 0:
            raise ConfigurationError("bridge time_s and gas_units must be >= 0")


BridgeKey = str | tuple[str, ChainId, ChainId]


@dataclass(frozen=True, slots=True)
class CrossChainConfig:
    """Settings of `CrossChainArbitrage`.

    chains: costs per chain; a chain not listed is not traded.
    bridges: asset -> route, or (asset, from, to) -> route for one direction (wins over asset).
    sigma_annual: asset -> annualised volatility of its price in the quote (0.6 = 60%/yr);
        an asset not listed is not bridged (its risk would be unpriced).
    risk_k: how many standard deviations of price move over the bridge time to charge.
    quote_assets: which side of a pair is the quote: the first of these the pair holds.
    lst_rates: (chain, lower-case address) -> canonical units per token, for LIQUID_STAKING
        tokens; update with `set_lst_rate` as the rate grows.
    max_pool_fraction: the size search stops at this share of the buy pool's quote reserve.
    ttl_blocks: the opportunity lives this many blocks of the faster of the two chains.
    allow_synthetic: SYNTHETIC tokens are refused unless True.
    """

    chains: Mapping[ChainId, ChainCosts]
    bridges: Mapping[BridgeKey, BridgeRoute]
    sigma_annual: Mapping[str, Decimal]
    risk_k: Decimal = Decimal(2)
    quote_assets: tuple[str, ...] = ("USDC", "USDT", "ETH")
    lst_rates: Mapping[tuple[ChainId, str], Fraction] = field(
        default_factory=lambda: MappingProxyType({}))
    max_pool_fraction: Decimal = Decimal("0.3")
    ttl_blocks: int = 1
    allow_synthetic: bool = False
    strategy: str = STRATEGY

    def __post_init__(self) -> None:
        if self.risk_k < 0:
            raise ConfigurationError(f"risk_k must be >= 0, got {self.risk_k}")
        bad = {a: s for a, s in self.sigma_annual.items() if s < 0}
        if bad:
            raise ConfigurationError(f"sigma_annual must be >= 0, got {bad}")
        if not 0 < self.max_pool_fraction < 1:
            raise ConfigurationError("max_pool_fraction must be in (0, 1)")
        if self.ttl_blocks < 0:
            raise ConfigurationError(f"ttl_blocks must be >= 0, got {self.ttl_blocks}")

    def bridge(self, asset: str, src: ChainId, dst: ChainId) -> BridgeRoute | None:
        """The route for `asset` from `src` to `dst`, or None."""
        return self.bridges.get((asset, src, dst)) or self.bridges.get(asset)


@dataclass(frozen=True, slots=True)
class _Pool:
    event: PoolStateUpdated
    base: TokenInfo
    quote: TokenInfo
    base_is_0: bool

    @property
    def reserve_base(self) -> int:
        return self.event.reserve0 if self.base_is_0 else self.event.reserve1

    @property
    def reserve_quote(self) -> int:
        return self.event.reserve1 if self.base_is_0 else self.event.reserve0

    def mid(self) -> Fraction:
        """Quote per base, human units, before fee."""
        return (Fraction(self.reserve_quote, 10**self.quote.decimals)
                / Fraction(self.reserve_base, 10**self.base.decimals))

    def instrument_id(self) -> str:
        ev = self.event
        pair = f"{_ID_UNSAFE.sub('_', ev.symbol0)}/{_ID_UNSAFE.sub('_', ev.symbol1)}"
        return f"{pair}.DEX_{ChainId(ev.chain_id).name}"


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """One priced round trip at `amount_in` raw quote units on the buy chain."""

    amount_in: int  # raw quote on A
    bought: int  # raw base out of A's pool
    bridged: int  # raw base on B after the bridge fee
    amount_out: int  # raw quote out of B's pool
    out_without_bridge_fee: int  # raw quote B would pay for everything A's pool paid
    spent: Fraction  # human quote
    received: Fraction
    bridge_fee: Fraction  # quote it costs on B
    gas: Fraction
    risk: Fraction

    @property
    def net(self) -> Fraction:
        """received - spent - gas - risk (the bridge fee is already out of `received`)."""
        return self.received - self.spent - self.gas - self.risk

    @property
    def swap_edge(self) -> Fraction:
        """What the swaps alone make, before the bridge fee, gas and risk."""
        return self.received + self.bridge_fee - self.spent


class RoundTripPricer:
    """Prices buy-on-A, bridge, sell-on-B for any input size, and finds the best size."""

    def __init__(self, buy: _Pool, sell: _Pool, registry: TokenRegistry, route: BridgeRoute,
                 gas: Fraction, risk_per_quote: Fraction,
                 rates: Mapping[tuple[ChainId, str], Fraction], allow_synthetic: bool) -> None:
        self.buy, self.sell, self.route = buy, sell, route
        self.gas, self.risk_per_quote = gas, risk_per_quote
        self._risk_f = float(risk_per_quote)
        # Bridge fixed fee in raw base units of A, rounded up: the bridge keeps at least it.
        fixed = Fraction(route.fee_fixed) * 10**buy.base.decimals
        self._fixed_raw = math.ceil(fixed)
        keep = 1 - Fraction(route.fee_rate)
        self._keep_num, self._keep_den = keep.numerator, keep.denominator
        # raw base A -> raw base B is one floor of raw * factor; the registry states the factor
        # (decimals, LST rates) and refuses non-equivalent tokens, checked here once.
        unit = 10**buy.base.decimals
        registry.convert_raw(unit, buy.base, sell.base, rates, allow_synthetic)
        src_rate = rates.get(buy.base.key, Fraction(1))
        dst_rate = rates.get(sell.base.key, Fraction(1))
        factor = src_rate / dst_rate * Fraction(10**sell.base.decimals, unit)
        self._conv_num, self._conv_den = factor.numerator, factor.denominator
        self._q_in = 10**buy.quote.decimals
        self._q_out = 10**sell.quote.decimals

    def _to_b(self, raw_a: int) -> int:
        return raw_a * self._conv_num // self._conv_den

    def _bridged(self, bought: int) -> int:
        after_fee = max(0, (bought - self._fixed_raw) * self._keep_num // self._keep_den)
        return self._to_b(after_fee)

    def _search_net(self, amount_in: int) -> float:
        # The size search compares nets in floats (the gas is a constant and left out):
        # 1e-16 relative is far below one raw unit of the V2 floors. `price` is exact.
        bought = amm.get_amount_out(amount_in, self.buy.reserve_quote, self.buy.reserve_base,
                                    self.buy.event.fee_bps)
        out = self._sell(self._bridged(bought))
        spent = amount_in / self._q_in
        return out / self._q_out - spent - self._risk_f * spent

    def _sell(self, raw_b: int) -> int:
        if raw_b <= 0:
            return 0
        return amm.get_amount_out(raw_b, self.sell.reserve_base, self.sell.reserve_quote,
                                  self.sell.event.fee_bps)

    def price(self, amount_in: int) -> RoundTrip:
        """The round trip for `amount_in` raw quote units (exact V2 integers on both pools)."""
        bought = amm.get_amount_out(amount_in, self.buy.reserve_quote, self.buy.reserve_base,
                                    self.buy.event.fee_bps)
        bridged = self._bridged(bought)
        out = self._sell(bridged)
        out_full = self._sell(self._to_b(bought))
        q_out = self._q_out
        spent = Fraction(amount_in, self._q_in)
        return RoundTrip(
            amount_in=amount_in, bought=bought, bridged=bridged, amount_out=out,
            out_without_bridge_fee=out_full, spent=spent, received=Fraction(out, q_out),
            bridge_fee=Fraction(out_full - out, q_out), gas=self.gas,
            risk=self.risk_per_quote * spent)

    def min_input(self) -> int:
        """Smallest input whose output exceeds the bridge's fixed fee (0 when none can)."""
        want = self._fixed_raw + 1
        if want >= self.buy.reserve_base:
            return 0
        return amm.get_amount_in(want, self.buy.reserve_quote, self.buy.reserve_base,
                                 self.buy.event.fee_bps)

    def best(self, max_in: int) -> RoundTrip | None:
        """The input in [min_input, max_in] with the highest net, or None when none fits."""
        lo = max(1, self.min_input())
        hi = max_in
        if self.min_input() == 0 or lo > hi:
            return None
        cache: dict[int, float] = {}

        def f(x: int) -> float:
            if x not in cache:
                cache[x] = self._search_net(x)
            return cache[x]

        return self.price(_argmax_concave(f, lo, hi))


def _argmax_concave(f: Callable[[int], float], lo: int, hi: int) -> int:
    """Integer ternary search of a concave `f` on [lo, hi], then a check of the last window."""
    while hi - lo > 8:
        third = (hi - lo) // 3
        m1, m2 = lo + third, hi - third
        if f(m1) < f(m2):
            lo = m1 + 1
        elif f(m1) > f(m2):
            hi = m2 - 1
        else:  # concave: the top lies between two equal values
            lo, hi = m1, m2
    return max(range(lo, hi + 1), key=lambda x: (f(x), -x))


class CrossChainArbitrage:
    """Keeps the latest state of every DEX pool whose tokens the registry knows, and prices
    round trips between equivalent pairs on different chains when a pool changes.

    `on_pool` returns `ArbitrageOpportunityDetected` events (route CROSS_CHAIN, one leg per
    chain with `chain_id`), near-misses included. `stats` counts what was skipped and why.
    """

    def __init__(self, clock: Clock, registry: TokenRegistry, config: CrossChainConfig) -> None:
        self._clock = clock
        self._registry = registry
        self._config = config
        self._lst_rates: dict[tuple[ChainId, str], Fraction] = dict(config.lst_rates)
        self._costs: dict[ChainId, ChainCosts] = dict(config.chains)
        self._pools: dict[tuple[ChainId, str], _Pool] = {}
        self.stats: dict[str, int] = {}

    # --- inputs that move -------------------------------------------------------------
    def set_lst_rate(self, chain: ChainId, address: str, value: Fraction) -> None:
        """The current canonical-per-token rate of a LIQUID_STAKING token (e.g. wstETH)."""
        if value <= 0:
            raise ConfigurationError(f"LST rate must be > 0, got {value}")
        self._lst_rates[(ChainId(chain), address.lower())] = Fraction(value)

    def set_chain_costs(self, chain: ChainId, costs: ChainCosts) -> None:
        """Replace a chain's gas price / gas token price (they move; the caller tracks them)."""
        self._costs[ChainId(chain)] = costs

    # --- the scanner ------------------------------------------------------------------
    def on_pool(self, event: PoolStateUpdated) -> list[ArbitrageOpportunityDetected]:
        """Record a pool's new reserves and price it against every equivalent pool on the
        other chains, both directions. Pools of unknown tokens are skipped and counted."""
        pool = self._admit(event)
        if pool is None:
            return []
        out: list[ArbitrageOpportunityDetected] = []
        for other in self._pools.values():
            if other.event.chain_id == pool.event.chain_id:
                continue
            if (other.base.asset, other.quote.asset) != (pool.base.asset, pool.quote.asset):
                continue
            for buy, sell in ((pool, other), (other, pool)):
                opp = self._evaluate(buy, sell, event)
                if opp is not None:
                    out.append(opp)
        return out

    def pricer_between(self, buy: tuple[ChainId, str], sell: tuple[ChainId, str],
                       ) -> RoundTripPricer | None:
        """The pricer for buying in pool `buy` and selling in pool `sell`, each given as
        (chain, pool address), on their latest states; None if either is unknown or the pair
        is not configured. For inspection and tests; `on_pool` does this itself."""
        b = self._pools.get((ChainId(buy[0]), buy[1].lower()))
        s = self._pools.get((ChainId(sell[0]), sell[1].lower()))
        if b is None or s is None or (b.base.asset, b.quote.asset) != (s.base.asset,
                                                                      s.quote.asset):
            return None
        return self.pricer(b, s)

    def pools(self) -> Iterable[PoolStateUpdated]:
        """The latest state of every tracked pool."""
        return (p.event for p in self._pools.values())

    def _count(self, reason: str) -> None:
        self.stats[reason] = self.stats.get(reason, 0) + 1

    def _admit(self, ev: PoolStateUpdated) -> _Pool | None:
        t0 = self._registry.get(ev.chain_id, ev.token0)
        t1 = self._registry.get(ev.chain_id, ev.token1)
        if t0 is None or t1 is None:
            self._count("unknown_token")
            return None
        if (t0.decimals, t1.decimals) != (ev.decimals0, ev.decimals1):
            # The pool disagrees with the registry about a token: trust neither.
            self._count("decimals_mismatch")
            return None
        if not self._config.allow_synthetic and TokenType.SYNTHETIC in (t0.token_type,
                                                                        t1.token_type):
            self._count("synthetic")
            return None
        quote_rank = {a: i for i, a in enumerate(self._config.quote_assets)}
        r0, r1 = quote_rank.get(t0.asset), quote_rank.get(t1.asset)
        if t0.asset == t1.asset or (r0 is None and r1 is None):
            self._count("no_quote_asset")
            return None
        base_is_0 = r0 is None or (r1 is not None and r1 < r0)
        key = (ChainId(ev.chain_id), ev.pool_address.lower())
        prev = self._pools.get(key)
        if prev is not None and prev.event.block_number > ev.block_number:
            self._count("stale_block")
            return None
        if ev.reserve0 == 0 or ev.reserve1 == 0:
            self._pools.pop(key, None)
            self._count("empty_pool")
            return None
        pool = _Pool(ev, t0 if base_is_0 else t1, t1 if base_is_0 else t0, base_is_0)
        self._pools[key] = pool
        return pool

    def pricer(self, buy: _Pool, sell: _Pool) -> RoundTripPricer | None:
        """The round-trip pricer for buy-on-`buy`, sell-on-`sell`, or None when a needed
        input (chain costs, bridge route, sigma, gas token price) is not configured.
        Raises ConversionRefused when the bases cannot be converted (e.g. no LST rate)."""
        cfg = self._config
        a, b = ChainId(buy.event.chain_id), ChainId(sell.event.chain_id)
        asset, quote = buy.base.asset, buy.quote.asset
        costs_a, costs_b = self._costs.get(a), self._costs.get(b)
        route = cfg.bridge(asset, a, b)
        sigma = cfg.sigma_annual.get(asset)
        if costs_a is None or costs_b is None or route is None or sigma is None:
            self._count("not_configured")
            return None
        gas_a = costs_a.gas_cost(costs_a.gas_units_per_swap + route.gas_units, quote)
        gas_b = costs_b.gas_cost(costs_b.gas_units_per_swap, quote)
        if gas_a is None or gas_b is None:
            self._count("no_gas_token_price")
            return None
        # sqrt is the one float here: a haircut parameter, not an amount.
        horizon = math.sqrt(float(route.time_s) / SECONDS_PER_YEAR)
        risk = Fraction(cfg.risk_k) * Fraction(sigma) * Fraction(horizon)
        return RoundTripPricer(buy, sell, self._registry, route, gas_a + gas_b, risk,
                               self._lst_rates, cfg.allow_synthetic)

    def _evaluate(self, buy: _Pool, sell: _Pool, trigger: PoolStateUpdated,
                  ) -> ArbitrageOpportunityDetected | None:
        try:
            pricer = self.pricer(buy, sell)
            if pricer is None:
                return None
            max_in = int(buy.reserve_quote * Fraction(self._config.max_pool_fraction))
            trip = pricer.best(max_in)
        except (ConversionRefused, amm.AmmError):
            self._count("conversion_refused")
            return None
        if trip is None or trip.bridged <= 0 or trip.swap_edge <= 0:
            return None
        return self._event(buy, sell, trip, trigger)

    def _event(self, buy: _Pool, sell: _Pool, trip: RoundTrip, trigger: PoolStateUpdated,
               ) -> ArbitrageOpportunityDetected:
        a_ev, b_ev = buy.event, sell.event
        ts = max(a_ev.ts_event, b_ev.ts_event)
        bought = Fraction(trip.bought, 10**buy.base.decimals)
        bridged = Fraction(trip.bridged, 10**sell.base.decimals)
        rate_a = Fraction(a_ev.fee_bps, 10_000)
        rate_b = Fraction(b_ev.fee_bps, 10_000)
        fee_a = trip.spent * rate_a
        fee_b = bridged * rate_b * sell.mid()
        fees = fee_a + fee_b
        transfer = trip.bridge_fee + trip.gas + trip.risk
        gross = trip.swap_edge + fees
        net = gross - fees - transfer  # == trip.net
        costs_a = self._costs[ChainId(a_ev.chain_id)]
        costs_b = self._costs[ChainId(b_ev.chain_id)]
        ttl = self._config.ttl_blocks * min(costs_a.block_time_ns, costs_b.block_time_ns)
        legs = (
            _leg(buy, OrderSide.BUY, bought, trip.spent / bought, rate_a, fee_a),
            _leg(sell, OrderSide.SELL, bridged, trip.received / bridged, rate_b, fee_b),
        )
        return ArbitrageOpportunityDetected(
            ts_event=ts,
            ts_init=self._clock.now_ns(),
            **trigger.caused(),
            opportunity_id=derived_id(
                "opp", self._config.strategy, str(int(a_ev.chain_id)), a_ev.pool_address,
                str(a_ev.block_number), str(int(b_ev.chain_id)), b_ev.pool_address,
                str(b_ev.block_number)),
            strategy=self._config.strategy,
            route=RouteType.CROSS_CHAIN,
            base=buy.base.asset,
            quote=buy.quote.asset,
            legs=legs,
            quantity=_dec(bought),
            notional=_dec(trip.spent),
            gross_pnl=_dec(gross, _PNL_STEP),
            fees=_dec(fees, _PNL_STEP),
            net_pnl=_dec(net, _PNL_STEP),
            gross_edge_bps=_dec(gross * 10_000 / trip.spent, _EDGE_STEP),
            net_edge_bps=_dec(net * 10_000 / trip.spent, _EDGE_STEP),
            oldest_quote_age_ns=max(0, ts - min(a_ev.ts_event, b_ev.ts_event)),
            transfer_cost=_dec(transfer, _PNL_STEP),
            ttl_ns=ttl,
        )


def _dec(value: Fraction, step: Decimal | None = None) -> Decimal:
    d = Decimal(value.numerator) / Decimal(value.denominator)
    return d.quantize(step) if step is not None else d


def _leg(pool: _Pool, side: OrderSide, quantity: Fraction, vwap: Fraction, fee_rate: Fraction,
         fee: Fraction) -> OpportunityLeg:
    ev = pool.event
    return OpportunityLeg(
        instrument_id=pool.instrument_id(),
        side=side,
        quantity=_dec(quantity),
        native_quantity=_dec(quantity),
        vwap=_dec(vwap, _PRICE_STEP),
        best_price=_dec(pool.mid(), _PRICE_STEP),
        fee_rate=_dec(fee_rate),
        fee=_dec(fee, _PNL_STEP),
        quote_ts=ev.ts_event,
        book_sequence=ev.block_number,
        levels_used=1,
        chain_id=int(ev.chain_id),
    )
