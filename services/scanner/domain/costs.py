"""Costs of moving inventory back after cross-venue trades: withdrawal fees, amortised.

A two-leg arbitrage buys the base on venue A and sells it on venue B. Repeated, it drains B's
base and A's quote: every `rebalance_every_n_trades` trades the inventory is moved back (base
from A to B, quote from B to A), paying each venue's withdrawal fee once. Per trade that is
fee / N, converted to quote units (a base fee at the buy VWAP).

Venues that share a wallet system (Binance spot and its USD-M / COIN-M futures wallets: a
transfer between them is an internal book entry without a fee) form an internal group, and a
pair inside one group costs nothing to rebalance.

Default withdrawal fees are PLACEHOLDERS, not verified quotes:
- BINANCE BTC 0.0002 BTC: the figure the task brief gives as an example. Third-party pages
  quote other figures (do-binance.com, undated: ~0.0005 BTC on Bitcoin mainnet), and Binance
  changes it with network congestion; the live number is in GET /sapi/v1/capital/config/getall
  (signed, not reachable here). Override with settings before trusting net figures.
A (venue, asset) not listed costs 0: unknown, not free. `TransferCosts.priced` tells which.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

from libs.common.errors import ConfigurationError

# (venue, asset) -> withdrawal fee in that asset's units. PLACEHOLDER, see the module doc.
DEFAULT_WITHDRAWAL_FEES: Mapping[tuple[str, str], Decimal] = MappingProxyType({
    ("BINANCE", "BTC"): Decimal("0.0002"),
})
# Venues whose wallets are one account: transfers between them are internal and free.
DEFAULT_INTERNAL_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"BINANCE", "BINANCE_USDM", "BINANCE_COINM"}),
)
DEFAULT_REBALANCE_EVERY_N_TRADES = 10

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class TransferCosts:
    """Withdrawal fees per (venue, asset) and how many trades share one rebalancing.

    withdrawal_fees: (venue, asset) -> fee in asset units, >= 0.
    rebalance_every_n_trades: N >= 1; each trade carries 1/N of the fees of one rebalancing.
    internal_groups: sets of venues between which transfers are free.
    """

    withdrawal_fees: Mapping[tuple[str, str], Decimal] = field(
        default_factory=lambda: DEFAULT_WITHDRAWAL_FEES)
    rebalance_every_n_trades: int = DEFAULT_REBALANCE_EVERY_N_TRADES
    internal_groups: tuple[frozenset[str], ...] = DEFAULT_INTERNAL_GROUPS

    def __post_init__(self) -> None:
        if self.rebalance_every_n_trades < 1:
            raise ConfigurationError(
                f"rebalance_every_n_trades must be >= 1, got {self.rebalance_every_n_trades}")
        bad = {k: v for k, v in self.withdrawal_fees.items() if not v >= 0}
        if bad:
            raise ConfigurationError(f"withdrawal fees must be >= 0, got {bad}")

    @classmethod
    def from_settings(cls, fees: Mapping[str, Mapping[str, Decimal | str | int]] | None = None,
                      rebalance_every_n_trades: int = DEFAULT_REBALANCE_EVERY_N_TRADES,
                      internal_groups: Iterable[Iterable[str]] | None = None,
                      ) -> TransferCosts:
        """Build from `{venue: {asset: fee}}` merged over the defaults."""
        table = dict(DEFAULT_WITHDRAWAL_FEES)
        for venue, assets in (fees or {}).items():
            for asset, value in assets.items():
                try:
                    fee = value if isinstance(value, Decimal) else Decimal(str(value))
                except InvalidOperation as e:
                    raise ConfigurationError(
                        f"withdrawal fee {venue}.{asset}={value!r} is not a number") from e
                if not fee.is_finite():
                    raise ConfigurationError(f"withdrawal fee {venue}.{asset}={value!r}")
                table[(venue, asset)] = fee
        groups = (DEFAULT_INTERNAL_GROUPS if internal_groups is None
                  else tuple(frozenset(g) for g in internal_groups))
        return cls(withdrawal_fees=MappingProxyType(table),
                   rebalance_every_n_trades=rebalance_every_n_trades, internal_groups=groups)

    def internal(self, venue_a: str, venue_b: str) -> bool:
        """True when moving funds between the two venues is an internal, free transfer."""
        return venue_a == venue_b or any(venue_a in g and venue_b in g
                                         for g in self.internal_groups)

    def priced(self, venue: str, asset: str) -> bool:
        """True when a withdrawal fee is configured for `asset` on `venue`."""
        return (venue, asset) in self.withdrawal_fees

    def per_trade(self, buy_venue: str, sell_venue: str, base: str, sell_quote: str,
                  buy_vwap: Decimal) -> Decimal:
        """Quote units one trade carries: (base fee on the buy venue x buy VWAP + quote fee on
        the sell venue) / N; 0 inside an internal group."""
        if self.internal(buy_venue, sell_venue):
            return _ZERO
        base_fee = self.withdrawal_fees.get((buy_venue, base), _ZERO)
        quote_fee = self.withdrawal_fees.get((sell_venue, sell_quote), _ZERO)
        return (base_fee * buy_vwap + quote_fee) / self.rebalance_every_n_trades
