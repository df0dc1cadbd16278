from __future__ import annotations

from pathlib import Path

from pydantic import Field

from libs.common.settings import ServiceSettings
from services.intake.adapters.recorded import DEFAULT_DATA_DIR


class IntakeSettings(ServiceSettings):
    intake_speed: float = Field(default=0.0, ge=0, description="0 = max, 1 = real time, N = Nx")
    intake_data_dir: Path = DEFAULT_DATA_DIR
    intake_datasets: tuple[str, ...] = ("binance", "fxcm")
    intake_max_events: int = Field(default=0, ge=0, description="per dataset; 0 = all")
    intake_depth: int = Field(default=20, ge=1, le=1000)
    intake_publish_batch: int = Field(default=200, ge=1)
