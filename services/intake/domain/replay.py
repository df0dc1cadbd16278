"""Replay helpers: merge time-ordered sources into one deterministic stream, and pace it.

Pure: `pacing_delay` computes how long to wait and the caller sleeps; nothing here reads a
clock or a file.
"""
from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TypeVar

from libs.common.errors import TrifectaError

T = TypeVar("T")

NS_PER_S = 1_000_000_000


class SourceOutOfOrder(TrifectaError):
    """A source given to `merge_ordered` went back in time; the merge would be wrong."""


def merge_ordered(sources: Mapping[str, Iterable[T]], key: Callable[[T], int]) -> Iterator[T]:
    """Merge per-source iterators, each ordered by `key`, into one stream ordered by `key`.

    Ties are broken by source name, then by position within the source, so the output is the
    same on every run whatever the mapping's order. A source whose keys decrease raises
    SourceOutOfOrder (naming it and the position) instead of silently misordering.
    """
    def tagged(name: str, items: Iterable[T]) -> Iterator[tuple[int, str, int, T]]:
        prev: int | None = None
        for i, item in enumerate(items):
            k = key(item)
            if prev is not None and k < prev:
                raise SourceOutOfOrder(f"source {name!r} item {i + 1}: key {k} < previous {prev}")
            prev = k
            yield k, name, i, item

    # (key, name, index) is unique, so the items themselves are never compared.
    streams = [tagged(name, sources[name]) for name in sorted(sources)]
    for _, _, _, item in heapq.merge(*streams):
        yield item


def pacing_delay(speed: float, first_event_ts: int, replay_start_wall_ns: int, event_ts: int,
                 now_wall_ns: int) -> float:
    """Seconds to wait before publishing the event stamped `event_ts` (0.0 if it is due).

    The replay keeps event spacing divided by `speed` (1.0 = real time, 10 = ten times
    faster), anchored at `first_event_ts` <-> `replay_start_wall_ns`. Pacing against that
    anchor, not event-to-event, means time spent publishing never accumulates as drift.
    `speed` 0 or infinity means as fast as possible.
    """
    if math.isnan(speed) or speed < 0:
        raise ValueError(f"speed must be >= 0 (0 or inf = max speed), got {speed}")
    if speed == 0 or math.isinf(speed):
        return 0.0
    # Differences first: the absolute ns values do not fit a float exactly.
    due_after_ns = (event_ts - first_event_ts) / speed
    elapsed_ns = now_wall_ns - replay_start_wall_ns
    return max(0.0, (due_after_ns - elapsed_ns) / NS_PER_S)
