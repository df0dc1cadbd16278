"""The instruments intake knows: one table, the single place venue names and units are set."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Literal

from libs.common.enums import InstrumentKind
from libs.common.errors import ConfigurationError
from libs.common.identifiers import instrument_id

Market = Literal["spot", "futures", "fx"]


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """One instrument and where its recorded data lives.

    `market` picks the book sequencing rules (Binance spot and futures differ); `files` are
    paths relative to `data/recorded/` (Binance: one capture; FXCM: the bid file, the ask file).
    """

    venue: str
    symbol: str
    base: str
    quote: str
    kind: InstrumentKind
    market: Market
    files: tuple[str, ...]
    contract_size: Decimal | None = None  # quote units per contract, INVERSE only
    pair_suffix: str = ""  # "-PERP" for perpetuals, part of the instrument id

    @property
    def instrument_id(self) -> str:
        """Written `BTC/USDT.BINANCE` (Nautilus style)."""
        return instrument_id(f"{self.base}/{self.quote}{self.pair_suffix}", self.venue)

    @property
    def sources(self) -> tuple[str, ...]:
        """File base names: records carry these as their `source`."""
        return tuple(PurePosixPath(f).name for f in self.files)


BINANCE_SPOT_BTCUSDT = InstrumentSpec(
    venue="BINANCE", symbol="BTCUSDT", base="BTC", quote="USDT", kind=InstrumentKind.SPOT,
    market="spot", files=("binance/binance_spot_btcusdt_20240808.gz",),
)
BINANCE_USDM_BTCUSDT = InstrumentSpec(
    venue="BINANCE_USDM", symbol="BTCUSDT", base="BTC", quote="USDT",
    kind=InstrumentKind.LINEAR, market="futures", pair_suffix="-PERP",
    files=("binance/binance_usdm_btcusdt_20240808.gz",),
)
BINANCE_COINM_BTCUSD_PERP = InstrumentSpec(
    venue="BINANCE_COINM", symbol="BTCUSD_PERP", base="BTC", quote="USD",
    kind=InstrumentKind.INVERSE, market="futures", pair_suffix="-PERP",
    contract_size=Decimal("100"), files=("binance/binance_cm_btcusd_perp_20240808.gz",),
)
FXCM_GBPUSD = InstrumentSpec(
    venue="FXCM", symbol="GBPUSD", base="GBP", quote="USD", kind=InstrumentKind.FX,
    market="fx", files=("fxcm/gbpusd-m1-bid-2012.csv", "fxcm/gbpusd-m1-ask-2012.csv"),
)

INSTRUMENTS: tuple[InstrumentSpec, ...] = (
    BINANCE_SPOT_BTCUSDT, BINANCE_USDM_BTCUSDT, BINANCE_COINM_BTCUSD_PERP, FXCM_GBPUSD,
)
BINANCE_INSTRUMENTS: tuple[InstrumentSpec, ...] = tuple(
    s for s in INSTRUMENTS if s.market in ("spot", "futures")
)


def spec_by_id(iid: str, specs: tuple[InstrumentSpec, ...] = INSTRUMENTS) -> InstrumentSpec:
    """The spec whose instrument id is `iid`; ConfigurationError if none."""
    for spec in specs:
        if spec.instrument_id == iid:
            return spec
    raise ConfigurationError(f"unknown instrument {iid!r}; known: "
                             f"{[s.instrument_id for s in specs]}")


def spec_by_source(source: str,
                   specs: tuple[InstrumentSpec, ...] = INSTRUMENTS) -> InstrumentSpec:
    """The spec that owns the file named `source` (base name); ConfigurationError if none."""
    for spec in specs:
        if source in spec.sources:
            return spec
    raise ConfigurationError(f"no instrument reads file {source!r}")
