"""Pocket Option (short-expiry binary options): the gated live adapter, the DEMO paper venue,
the Socket.IO frame parsing and the settlement maths. README.md documents the protocol."""
from services.intake.adapters.pocketoption.adapter import PocketOptionAdapter
from services.intake.adapters.pocketoption.client import build_live_client, require_live
from services.intake.adapters.pocketoption.config import (
    DEFAULT_PAPER_ASSETS,
    PaperAsset,
    PaperPocketOptionConfig,
    PocketOptionLiveSettings,
)
from services.intake.adapters.pocketoption.paper import PaperPocketOption
from services.intake.adapters.pocketoption.parsing import VENUE, instrument_id_for
from services.intake.adapters.pocketoption.settlement import (
    Direction,
    OpenedOption,
    OptionSettlement,
    Outcome,
    SettlementRules,
)
from services.intake.adapters.pocketoption.ticks import PriceSource, TickFormat

__all__ = [
    "DEFAULT_PAPER_ASSETS", "Direction", "OpenedOption", "OptionSettlement", "Outcome",
    "PaperAsset", "PaperPocketOption", "PaperPocketOptionConfig", "PocketOptionAdapter",
    "PocketOptionLiveSettings", "PriceSource", "SettlementRules", "TickFormat", "VENUE",
    "build_live_client", "instrument_id_for", "require_live",
]
