"""Trading fees as configuration: a taker and a maker rate per venue."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Literal

from libs.common.errors import ConfigurationError
from libs.common.venues import DEFAULT_FEES

Liquidity = Literal["taker", "maker"]

# A rate this large is a unit mistake (a percentage typed as a fraction), not a fee.
_MAX_ABS_RATE = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class FeeRates:
    """Fee rates as fractions of notional (0.001 = 0.1%). A negative maker rate is a rebate."""

    taker: Decimal
    maker: Decimal

    def rate(self, liquidity: Liquidity) -> Decimal:
        """The rate for taking or for making liquidity."""
        return self.taker if liquidity == "taker" else self.maker


# Default rates of every venue we know (sources and dates in libs/common/venues.py).
DEFAULT_RATES: Mapping[str, FeeRates] = MappingProxyType({
    venue: FeeRates(taker=taker, maker=maker) for venue, (taker, maker) in DEFAULT_FEES.items()
})
BINANCE_VIP0: Mapping[str, FeeRates] = MappingProxyType({
    venue: rates for venue, rates in DEFAULT_RATES.items() if venue.startswith("BINANCE")
})

RateValue = Decimal | str | int | float


def _to_rate(venue: str, name: str, value: RateValue) -> Decimal:
    try:
        # str() first so a float like 0.0004 becomes Decimal("0.0004"), not its binary value.
        rate = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as e:
        raise ConfigurationError(f"fee rate {venue}.{name}={value!r} is not a number") from e
    if not rate.is_finite() or abs(rate) >= _MAX_ABS_RATE:
        raise ConfigurationError(
            f"fee rate {venue}.{name}={value!r} is outside (-0.01, 0.01); rates are fractions "
            f"of notional (0.0005 = 0.05%), not percentages"
        )
    return rate


class FeeSchedule:
    """Taker/maker rates per venue; fee = rate x notional, a cost in quote units.

    Starts from the default rates (`DEFAULT_RATES`); settings override per venue. An unknown venue
    is a configuration error rather than a silent zero fee, so a new venue cannot look free.
    """

    def __init__(self, rates: Mapping[str, FeeRates] | None = None) -> None:
        self._rates: dict[str, FeeRates] = dict(DEFAULT_RATES if rates is None else rates)

    @classmethod
    def from_settings(
        cls,
        overrides: Mapping[str, Mapping[str, RateValue]] | None = None,
        base: Mapping[str, FeeRates] = DEFAULT_RATES,
    ) -> FeeSchedule:
        """Build from settings: `{venue: {"taker": r, "maker": r}}` merged over `base`.

        A known venue may override one rate and keep the other; a new venue must give both.
        """
        rates = dict(base)
        for venue, given in (overrides or {}).items():
            unknown = set(given) - {"taker", "maker"}
            if unknown:
                raise ConfigurationError(f"fee rates for {venue}: unknown keys {sorted(unknown)}")
            current = rates.get(venue)
            if current is None and set(given) != {"taker", "maker"}:
                raise ConfigurationError(f"fee rates for new venue {venue} need taker and maker")
            parsed = {name: _to_rate(venue, name, value) for name, value in given.items()}
            rates[venue] = FeeRates(**parsed) if current is None else replace(current, **parsed)
        return cls(rates)

    @property
    def venues(self) -> frozenset[str]:
        """Venues that have rates."""
        return frozenset(self._rates)

    def rates(self, venue: str) -> FeeRates:
        """Both rates of `venue`; raises ConfigurationError if the venue has none."""
        try:
            return self._rates[venue]
        except KeyError:
            raise ConfigurationError(f"no fee rates configured for venue {venue}") from None

    def rate(self, venue: str, liquidity: Liquidity = "taker") -> Decimal:
        """The fee rate of `venue` for taking or making liquidity."""
        return self.rates(venue).rate(liquidity)

    def fee(self, venue: str, notional: Decimal, liquidity: Liquidity = "taker") -> Decimal:
        """Fee in quote units for trading `notional` quote units on `venue`."""
        return self.rate(venue, liquidity) * abs(notional)
