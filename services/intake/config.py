from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from libs.common.enums import Mode
from libs.common.settings import ServiceSettings
from services.intake.adapters.ccxt.settings import CcxtVenueSettings
from services.intake.adapters.recorded import DEFAULT_DATA_DIR


class IntakeSettings(ServiceSettings):
    intake_speed: float = Field(default=0.0, ge=0, description="0 = max, 1 = real time, N = Nx")
    intake_data_dir: Path = DEFAULT_DATA_DIR
    intake_datasets: tuple[str, ...] = ("binance", "fxcm")
    intake_max_events: int = Field(default=0, ge=0, description="per dataset; 0 = all")
    intake_depth: int = Field(default=20, ge=1, le=1000)
    intake_publish_batch: int = Field(default=200, ge=1)

    # Where market data comes from: the bundled recordings (default in DEMO) or venue adapters
    # (default in PAPER, SHADOW and LIVE). Each adapter family has its own settings below or
    # its own prefix: TRIFECTA_MT5_*, TRIFECTA_DEX_*, TRIFECTA_POCKETOPTION_*.
    intake_source: Literal["replay", "live"] | None = None
    # JSON list of exchanges: [{"venue": "BINANCE", "symbols": ["BTC/USDT"]}, ...]; a
    # "base_url" points one at a local simulator; the real venue needs "allow_live": true.
    intake_exchanges: tuple[CcxtVenueSettings, ...] = ()
    intake_binary_paper: bool = Field(default=False, description="stream the Pocket Option "
                                      "paper venue's recorded ticks in live mode")
    intake_metadata_interval_s: float = Field(default=300.0, gt=0)

    @property
    def source(self) -> Literal["replay", "live"]:
        if self.intake_source is not None:
            return self.intake_source
        return "replay" if self.mode is Mode.DEMO else "live"
