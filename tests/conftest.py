"""Shared fixtures: a real Redis for the session (a private redis-server on a free port)."""
from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from libs.common.redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """TRIFECTA_TEST_REDIS_URL if set, else a private redis-server for this test session."""
    url = os.environ.get("TRIFECTA_TEST_REDIS_URL")
    if url:
        yield url
        return
    with RedisServer() as server:
        yield server.url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=False)
    yield client
    await client.aclose()


@pytest.fixture
def uid() -> str:
    """A unique suffix so tests sharing one Redis never see each other's streams."""
    return uuid.uuid4().hex[:8]


@pytest.fixture(autouse=True)
def _decimal_context_is_left_as_found() -> Iterator[None]:
    """Money maths depends on the process-wide decimal context: no test (or library a test
    imports, vyper for one) may leave it changed for the tests after it."""
    import decimal

    before = decimal.getcontext().copy()
    yield
    after = decimal.getcontext()
    assert (after.prec, after.rounding) == (before.prec, before.rounding), \
        f"decimal context changed: prec {before.prec} -> {after.prec}"
