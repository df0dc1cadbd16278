"""Time sources. Domain code takes a Clock; only LiveClock reads the wall clock."""
from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ns(self) -> int: ...


class LiveClock:
    def now_ns(self) -> int:
        return time.time_ns()


class TestClock:
    """A clock that moves only when told to."""

    __test__ = False  # not a pytest class

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns

    def now_ns(self) -> int:
        return self._now

    def set(self, ns: int) -> None:
        self._now = ns

    def advance(self, ns: int) -> None:
        self._now += ns
