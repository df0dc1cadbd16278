"""Test helpers: `eventually`, stub factories."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 10.0,
                     interval: float = 0.05) -> T:
    """Retry `check` until it returns truthy or raises no AssertionError; then return it."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = await check()
            if result:
                return result
        except AssertionError as e:
            last = e
        await asyncio.sleep(interval)
    if last:
        raise last
    raise AssertionError(f"condition not met within {timeout} s")
