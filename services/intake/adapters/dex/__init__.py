"""DEX pool adapter: Uniswap-V2-style pools on the chains of `ChainId`, over JSON-RPC.

`DexPoolAdapter` is the VenueAdapter (one per chain, venue `DEX_<CHAIN>`); `DexSettings` its
settings (`TRIFECTA_DEX_*`); `adapters_from_settings` builds one adapter per configured chain;
`libs.common.amm` holds the pure constant-product maths. See README.md in this folder.
"""
from services.intake.adapters.dex.adapter import DexPoolAdapter, adapters_from_settings
from services.intake.adapters.dex.config import DexSettings, PoolConfig, venue_name

__all__ = ["DexPoolAdapter", "DexSettings", "PoolConfig", "adapters_from_settings",
           "venue_name"]
