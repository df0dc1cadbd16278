"""Backoff and URL rewriting (pure)."""
from __future__ import annotations

import pytest

from services.intake.adapters.ccxt.policy import Backoff, rebase_url, rebase_urls


def test_backoff_doubles_up_to_the_cap_and_resets() -> None:
    b = Backoff(0.5, 4.0)
    assert [b.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert b.failures == 6
    b.reset()
    assert b.next_delay() == 0.5


def test_backoff_refuses_a_cap_below_the_start() -> None:
    with pytest.raises(ValueError):
        Backoff(2.0, 1.0)


@pytest.mark.parametrize(("url", "local"), [
    ("https://api.binance.com/api/v3", "http://127.0.0.1:8701/api/v3"),
    ("wss://stream.binance.com:9443/ws", "ws://127.0.0.1:8701/ws"),
    ("wss://ws.kraken.com", "ws://127.0.0.1:8701"),
    ("https://www.okx.com", "http://127.0.0.1:8701"),
    ("https://x.test/p?q=1", "http://127.0.0.1:8701/p?q=1"),
])
def test_rebase_url_keeps_path_and_query(url: str, local: str) -> None:
    assert rebase_url(url, "http://127.0.0.1:8701/") == local


def test_rebase_urls_walks_ccxts_nested_urls_and_fills_hostname() -> None:
    urls = {"rest": "https://{hostname}", "ws": {"public": "wss://ws.okx.com:443/ws/v5"},
            "n": 3}
    out = rebase_urls(urls, "http://127.0.0.1:9", lambda u: u.replace("{hostname}", "okx.com"))
    assert out == {"rest": "http://127.0.0.1:9", "ws": {"public": "ws://127.0.0.1:9/ws/v5"},
                   "n": 3}


def test_rebase_refuses_a_base_that_is_not_http() -> None:
    with pytest.raises(ValueError):
        rebase_url("https://a.b/c", "ftp://127.0.0.1")
