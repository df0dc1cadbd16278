"""The live gate and the one place that imports BinaryOptionsToolsV2.

`require_live(settings)` raises ConfigurationError unless live is explicitly enabled and a
well-formed ssid is set; its messages never contain the ssid. `build_live_client` builds the
library client only after that check. The library is imported lazily, so the rest of the
package (parsing, settlement, the paper venue) works without it installed.
"""
from __future__ import annotations

import json
from typing import Any

from libs.common.errors import ConfigurationError, TemporaryError
from services.intake.adapters.pocketoption.config import PocketOptionLiveSettings

SSID_PREFIX = '42["auth",'


def require_live(settings: PocketOptionLiveSettings) -> str:
    """The ssid frame to authenticate with, once live use is allowed; else ConfigurationError."""
    if not settings.live_enabled:
        raise ConfigurationError(
            "Pocket Option live connection is disabled: set live_enabled=True "
            "(TRIFECTA_POCKETOPTION_LIVE_ENABLED=true) to connect; DEMO runs use "
            "PaperPocketOption instead")
    if settings.ssid is None or not settings.ssid.get_secret_value().strip():
        raise ConfigurationError(
            "Pocket Option live connection needs an ssid (TRIFECTA_POCKETOPTION_SSID): the "
            '42["auth",{...}] frame of a logged-in session')
    ssid = settings.ssid.get_secret_value().strip()
    check_ssid_shape(ssid)
    return ssid


def check_ssid_shape(ssid: str) -> None:
    """`42["auth",{"session": non-empty str, "uid": positive int, ...}]`; the error names the
    missing piece, never the value."""
    if not ssid.startswith(SSID_PREFIX):
        raise ConfigurationError('Pocket Option ssid must start with 42["auth",')
    try:
        frame = json.loads(ssid[2:])
    except ValueError as e:
        raise ConfigurationError("Pocket Option ssid is not valid JSON after '42'") from e
    if not isinstance(frame, list) or len(frame) != 2 or not isinstance(frame[1], dict):
        raise ConfigurationError('Pocket Option ssid must be 42["auth",{...}] with one object')
    auth = frame[1]
    session = auth.get("session", auth.get("sessionToken"))
    if not isinstance(session, str) or not session:
        raise ConfigurationError("Pocket Option ssid has no non-empty 'session'")
    uid = auth.get("uid")
    try:
        uid_ok = int(uid) > 0 and not isinstance(uid, bool)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        uid_ok = False
    if not uid_ok:
        raise ConfigurationError("Pocket Option ssid has no positive integer 'uid'")


async def build_live_client(settings: PocketOptionLiveSettings) -> Any:
    """A connected `BinaryOptionsToolsV2.RawPocketOption` (the library's Rust client).

    Uses the library's async constructor `RawPocketOption.create_with_config`: the sync one
    behind `PocketOptionAsync(...)` blocks while holding the GIL until the websocket is up, which
    freezes every coroutine of the process (observed with 0.2.16). ConfigurationError if live is
    not allowed or the library is not installed; TemporaryError if it cannot connect.
    """
    ssid = require_live(settings)
    try:
        from BinaryOptionsToolsV2 import Config, RawPocketOption
    except ImportError as e:
        raise ConfigurationError("Pocket Option live needs the binaryoptionstoolsv2 package "
                                 "(pip install 'binaryoptionstoolsv2>=0.2.16,<0.3')") from e
    config = Config(reconnect_time=settings.reconnect_time_s,
                    connection_initialization_timeout_secs=max(1, int(settings.connect_timeout_s)),
                    urls=[settings.ws_url] if settings.ws_url else [])
    try:
        return await RawPocketOption.create_with_config(ssid, config.pyconfig)
    except Exception as e:
        # Library errors name the step that failed; they never carry the ssid.
        raise TemporaryError(f"BinaryOptionsToolsV2 could not connect: "
                             f"{type(e).__name__}: {e}") from e
