"""Reference data about venues that more than one service needs. One place, so the scanner's
estimate and the paper venue's fills can never disagree on a fee."""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

# Binance regular user (VIP 0) rates, no BNB discount, no maker-program rebates.
# Source: Binance fee pages https://www.binance.com/en/fee/schedule (spot) and
# https://www.binance.com/en/fee/futureFee (USDⓈ-M and COIN-M), VIP 0 rows, as of 2024-08
# (the date of the recorded data).
#   spot        taker 0.1000%  maker 0.1000%
#   USDⓈ-M      taker 0.0500%  maker 0.0200%
#   COIN-M      taker 0.0500%  maker 0.0200%
# COIN-M charges the fee in the base coin on (contracts x contract_size / price); in quote
# terms that is rate x contracts x contract_size, i.e. the same rate x quote notional.
# FXCM charges through the spread, which its bid/ask bars carry: no commission.
DEFAULT_FEES: Mapping[str, tuple[Decimal, Decimal]] = MappingProxyType({  # (taker, maker)
    "BINANCE": (Decimal("0.001"), Decimal("0.001")),
    "BINANCE_USDM": (Decimal("0.0005"), Decimal("0.0002")),
    "BINANCE_COINM": (Decimal("0.0005"), Decimal("0.0002")),
    "FXCM": (Decimal("0"), Decimal("0")),
    # Poloniex spot, lowest tier as published by a third-party fee table (undated; the
    # recorded triangle is from 2022-08-21): taker 0.155%, maker 0.145%. Unconfirmed.
    "POLONIEX": (Decimal("0.00155"), Decimal("0.00145")),
})
