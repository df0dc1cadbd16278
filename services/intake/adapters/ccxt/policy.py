"""Reconnect backoff and URL rewriting for local servers. Pure: no I/O, no clock, no ccxt."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit


class Backoff:
    """Exponential backoff, capped: initial, initial*factor, ... up to `cap`; `reset()` on success.

    No jitter: one adapter per venue, so there is no herd to spread (and tests stay exact).
    """

    def __init__(self, initial_s: float, cap_s: float, factor: float = 2.0) -> None:
        if initial_s < 0 or cap_s < initial_s or factor < 1:
            raise ValueError("need 0 <= initial_s <= cap_s and factor >= 1")
        self.initial_s = initial_s
        self.cap_s = cap_s
        self.factor = factor
        self.failures = 0

    def next_delay(self) -> float:
        """The wait before the next attempt (and count one more failure)."""
        delay = min(self.cap_s, self.initial_s * self.factor ** self.failures)
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0


def rebase_url(url: str, http_base: str) -> str:
    """`url` with its scheme and host replaced by the local server's, path and query kept.

    `https://api.binance.com/api/v3` -> `http://127.0.0.1:8701/api/v3`;
    `wss://stream.binance.com:9443/ws` -> `ws://127.0.0.1:8701/ws` (ws for websocket URLs).
    """
    base = urlsplit(http_base.rstrip("/"))
    if base.scheme not in ("http", "https") or not base.netloc:
        raise ValueError(f"base URL must be http(s)://host:port, not {http_base!r}")
    parts = urlsplit(url)
    if parts.scheme in ("ws", "wss"):
        scheme = "wss" if base.scheme == "https" else "ws"
    elif parts.scheme in ("http", "https"):
        scheme = base.scheme
    else:
        raise ValueError(f"not an http(s) or ws(s) URL: {url!r}")
    path = base.path + parts.path
    query = f"?{parts.query}" if parts.query else ""
    return f"{scheme}://{base.netloc}{path}{query}"


def rebase_urls(urls: Any, http_base: str, implode: Callable[[str], str]) -> Any:
    """Every URL in ccxt's (nested) `urls['api']` rebased on `http_base`.

    `implode` fills ccxt's `{hostname}` placeholders first (`exchange.implode_hostname`).
    Non-URL leaves are kept as they are.
    """
    if isinstance(urls, Mapping):
        return {k: rebase_urls(v, http_base, implode) for k, v in urls.items()}
    if isinstance(urls, str) and "://" in urls:
        return rebase_url(implode(urls), http_base)
    return urls
