"""Which venue adapters intake runs in live mode, built from settings. Imports each adapter
family only when it is configured, so a DEMO run never loads ccxt, web3 or MT5 code."""
from __future__ import annotations

import logging

from libs.common.clock import Clock, LiveClock
from services.intake.adapters.base import VenueAdapter
from services.intake.config import IntakeSettings

logger = logging.getLogger(__name__)

Configured = list[tuple[VenueAdapter, list[str]]]


def live_adapters(settings: IntakeSettings, clock: Clock | None = None) -> Configured:
    """Every adapter the settings enable, with the instrument ids it should stream."""
    clock = clock or LiveClock()
    out: Configured = []
    for venue in settings.intake_exchanges:
        from services.intake.adapters.ccxt import make_adapter

        adapter = make_adapter(venue, clock)
        out.append((adapter, [f"{s}.{venue.venue}" for s in venue.symbols]))

    from services.intake.adapters.mt5.config import Mt5Settings

    mt5 = Mt5Settings()
    if mt5.enabled:
        from services.intake.adapters.mt5 import Mt5Adapter

        out.append((Mt5Adapter.from_settings(mt5, clock=clock), []))

    from services.intake.adapters.dex.config import DexSettings

    dex = DexSettings()
    if dex.rpc_urls:
        from services.intake.adapters.dex.adapter import adapters_from_settings

        out.extend((a, []) for a in adapters_from_settings(dex, clock=clock))

    from services.intake.adapters.pocketoption.config import PocketOptionLiveSettings

    po = PocketOptionLiveSettings()
    if po.live_enabled:
        from services.intake.adapters.pocketoption.adapter import PocketOptionAdapter

        out.append((PocketOptionAdapter(po, clock=clock), []))
    elif settings.intake_binary_paper:
        from services.intake.adapters.pocketoption.paper import PaperPocketOption

        out.append((PaperPocketOption(clock=clock), []))
    return out
