"""The replay engine: any set of recordings -> the whole intake pipeline -> a sink.

Order: every file's records are merged by replay time with the existing `merge_ordered`, ties
broken by file name then position in the file, so two runs give the same sequence. A record
stamped earlier than the one before it in the same file is replayed in file order (at the
previous time) and counted as `reordered`.

Timelines: by default all files share one timeline (true time). With `own_timelines`, each
dataset (files recorded together: one folder, or one venue of a cryptofeed capture) is shifted
to start at zero, so datasets years apart play side by side; events keep their real times.

Pacing: `speed` 1 = real time, N = N times faster, 0 or inf = as fast as possible, through the
existing `pacing_delay`, anchored at the first record (time spent publishing never becomes drift).

Output: events go to the sink in batches, routed by kind (books and gaps -> md.books, bars ->
md.bars, quotes -> md.quotes); a BadLine is dead-lettered after what came before it is
published. At the end, each dataset sends one `ReplayFinished` to each stream it fed.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from libs.common.bus import Output, Publisher
from libs.common.clock import Clock, LiveClock
from libs.common.events import BookGapDetected, ReplayFinished
from libs.common.streams import MD_BARS, MD_BOOKS, MD_INSTRUMENTS, MD_POOLS, MD_QUOTES
from services.intake.domain.binance_book import DEFAULT_DEPTH
from services.intake.domain.instruments import INSTRUMENTS, InstrumentSpec
from services.intake.domain.records import BadLine
from services.intake.domain.replay import merge_ordered, pacing_delay
from services.intake.recording.pipeline import RecordingPipeline
from services.intake.recording.readers import Plan, Reader, plan
from services.intake.recording.records import Record, Skipped, record_key
from services.intake.recording.sinks import MemorySink, RedisSink, Sink

logger = logging.getLogger(__name__)

STREAM_BY_KIND = {"md.book": MD_BOOKS, "md.gap": MD_BOOKS, "md.bar": MD_BARS,
                  "md.quote": MD_QUOTES, "md.pool": MD_POOLS, "md.instruments": MD_INSTRUMENTS}


@dataclass
class FileReport:
    """Counts for one replayed file (an FXCM pair counts as its bid file)."""

    name: str
    format: str
    venue: str
    dataset: str
    records: int = 0
    events: Counter[str] = field(default_factory=Counter)  # by event kind
    bad_lines: int = 0
    gaps: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # by reason
    reordered: int = 0  # records stamped earlier than the one before them
    blank: int = 0

    @property
    def events_total(self) -> int:
        return sum(self.events.values())

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "format": self.format, "venue": self.venue,
                "dataset": self.dataset, "records": self.records, "events": dict(self.events),
                "bad_lines": self.bad_lines, "gaps": self.gaps, "skipped": dict(self.skipped),
                "reordered": self.reordered, "blank": self.blank}


@dataclass
class ReplaySummary:
    """What a replay read and published."""

    files: list[FileReport]
    skipped_files: list[tuple[str, str]]
    by_stream: Counter[str]
    bad_lines: list[BadLine]
    elapsed_s: float = 0.0
    stopped_early: bool = False

    @property
    def events(self) -> int:
        return sum(self.by_stream.values())

    def as_dict(self) -> dict[str, Any]:
        return {"files": [f.as_dict() for f in self.files],
                "skipped_files": [{"name": n, "reason": r} for n, r in self.skipped_files],
                "by_stream": dict(self.by_stream), "bad_lines": len(self.bad_lines),
                "elapsed_s": round(self.elapsed_s, 3), "stopped_early": self.stopped_early}

    def render(self) -> str:
        """A plain-text table: one row per file, then totals and the files left out."""
        rows = [("file", "format", "records", "events", "books", "quotes", "bars", "gaps",
                 "bad")]
        for f in self.files:
            rows.append((f.name, f.format, str(f.records), str(f.events_total),
                         str(f.events["md.book"]), str(f.events["md.quote"]),
                         str(f.events["md.bar"]), str(f.gaps), str(f.bad_lines)))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                           for i, (c, w) in enumerate(zip(r, widths, strict=True)))
                 for r in rows]
        rate = self.events / self.elapsed_s if self.elapsed_s > 0 else 0.0
        lines.append(f"published {self.events} events "
                     f"({', '.join(f'{s} {n}' for s, n in sorted(self.by_stream.items()))}), "
                     f"{len(self.bad_lines)} bad lines dead-lettered, in {self.elapsed_s:.1f} s "
                     f"({rate:,.0f} events/s)" + (" - stopped early" if self.stopped_early
                                                   else ""))
        by_reason: dict[str, list[str]] = {}
        for name, reason in self.skipped_files:
            by_reason.setdefault(reason, []).append(name)
        for reason, names in by_reason.items():
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3
                                            else "")
            lines.append(f"not replayed ({len(names)}): {reason}: {shown}")
        return "\n".join(lines)


class _Progress:
    """A tqdm bar: % of input read (by bytes on disk), events/s, and the current file's %."""

    def __init__(self, readers: Sequence[Reader], enabled: bool) -> None:
        self._readers = readers
        self._bar: Any = None
        self._sizes = [max(1, r.size) for r in readers]
        self._total = sum(self._sizes)
        self._t0 = time.monotonic()
        self._next = 0.0
        if enabled and readers:
            from tqdm import tqdm  # only when a bar is shown

            for r in readers:
                r.prepare_progress()
            self._bar = tqdm(total=100.0, unit="%", file=sys.stderr, dynamic_ncols=True,
                             bar_format="{l_bar}{bar}| {postfix}")

    def update(self, events: int, current: int, force: bool = False) -> None:
        if self._bar is None:
            return
        now = time.monotonic()
        if not force and now < self._next:
            return
        self._next = now + 0.25
        done = sum(r.progress() * s for r, s in zip(self._readers, self._sizes, strict=True))
        self._bar.n = round(100.0 * done / self._total, 1)
        cur = self._readers[current]
        rate = events / max(1e-9, now - self._t0)
        self._bar.set_postfix_str(f"{events:,} events, {rate:,.0f} ev/s | {cur.name} "
                                  f"{100 * cur.progress():.0f}%", refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


Item = tuple[int, int, Record]  # (replay key, reader index, record)


def _keyed(reader: Reader, index: int, report: FileReport, records: Iterable[Record],
           origin: int) -> Iterator[Item]:
    prev: int | None = None
    for rec in records:
        k = record_key(rec)
        if prev is not None and k < prev:
            report.reordered += 1
            k = prev
        prev = k
        yield k - origin, index, rec


def _origins(readers: Sequence[Reader], firsts: list[Record | None]) -> dict[str, int]:
    """Each dataset's first replay time (the smallest positive first key of its files)."""
    out: dict[str, int] = {}
    for r, first in zip(readers, firsts, strict=True):
        if first is None:
            continue
        k = record_key(first)
        if k > 0 and (r.dataset not in out or k < out[r.dataset]):
            out[r.dataset] = k
    return out


async def replay(paths: Iterable[str | Path], speed: float = 0.0,
                 out: Sink | Publisher | None = None, *, own_timelines: bool = False,
                 clock: Clock | None = None, progress: bool = False, batch_size: int = 500,
                 depth: int = DEFAULT_DEPTH, max_events: int = 0,
                 specs: tuple[InstrumentSpec, ...] = INSTRUMENTS,
                 stop: asyncio.Event | None = None,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> ReplaySummary:
    """Replay every recording under `paths` through the intake pipeline into `out`.

    `out` is a Sink, or a `Publisher` (published to Redis), or None (kept in memory; read it
    back from the returned summary's counts). `clock` stamps `ts_init` and measures pacing
    (default: the wall clock). `max_events` > 0 stops after that many events; `stop` stops
    at the next record when set. Returns the per-file summary.
    """
    clock = clock or LiveClock()
    sink: Sink = RedisSink(out) if isinstance(out, Publisher) else (out or MemorySink())
    the_plan: Plan = plan(paths, clock=clock, specs=specs)
    readers = the_plan.readers
    reports = [FileReport(r.name, r.format.value, r.venue, r.dataset) for r in readers]
    streams = [r.records() for r in readers]
    firsts = [next(s, None) for s in streams]
    origins = _origins(readers, firsts) if own_timelines else {}
    sources = {
        r.name: _keyed(r, i, reports[i],
                       itertools.chain([firsts[i]] if firsts[i] is not None else [], streams[i]),
                       origins.get(r.dataset, 0))
        for i, r in enumerate(readers)
    }
    pipeline = RecordingPipeline(clock, depth=depth, specs=specs)
    bar = _Progress(readers, progress)
    summary = ReplaySummary(reports, the_plan.skipped, Counter(), [])
    fed: dict[str, Counter[str]] = {}  # dataset -> stream -> events
    batch: list[Output] = []
    first_key: int | None = None
    start_wall = clock.now_ns()
    t0 = time.monotonic()
    n = 0

    async def flush() -> None:
        if batch:
            await sink.publish(batch)
            batch.clear()

    try:
        for key, idx, record in merge_ordered(sources, key=lambda item: item[0]):
            if stop is not None and stop.is_set():
                summary.stopped_early = True
                break
            report = reports[idx]
            report.records += 1
            if speed > 0:
                if first_key is None:
                    first_key, start_wall = key, clock.now_ns()
                delay = pacing_delay(speed, first_key, start_wall, key, clock.now_ns())
                if delay > 0:
                    await flush()
                    await sleep(delay)
            for o in pipeline.process(record):
                if isinstance(o, Skipped):
                    report.skipped[o.reason] += 1
                    continue
                if isinstance(o, BadLine):
                    report.bad_lines += 1
                    summary.bad_lines.append(o)
                    await flush()
                    await sink.dead_letter(o)
                    continue
                stream = STREAM_BY_KIND.get(o.kind)
                if stream is None:
                    bl = BadLine(report.name, getattr(record, "line_no", 0), record_key(record),
                                 f"event kind {o.kind!r} is not market data; not replayed", "")
                    report.bad_lines += 1
                    summary.bad_lines.append(bl)
                    await flush()
                    await sink.dead_letter(bl)
                    continue
                report.events[o.kind] += 1
                if isinstance(o, BookGapDetected):
                    report.gaps += 1
                batch.append((stream, o))
                summary.by_stream[stream] += 1
                fed.setdefault(report.dataset, Counter())[stream] += 1
                n += 1
            if len(batch) >= batch_size:
                await flush()
                await asyncio.sleep(0)  # let other tasks (health, signals) run
            bar.update(n, idx)
            if max_events and n >= max_events:
                summary.stopped_early = True
                break
        await flush()
        markers: list[Output] = []
        for dataset, counts in sorted(fed.items()):
            for stream in sorted(counts):
                marker = ReplayFinished(ts_event=clock.now_ns(), ts_init=clock.now_ns(),
                                        source=dataset, events_published=sum(counts.values()))
                markers.append((stream, marker))
                summary.by_stream[stream] += 1
        await sink.publish(markers)
    finally:
        if readers:
            bar.update(n, 0, force=True)
        bar.close()
        for r, rep in zip(readers, reports, strict=True):
            rep.blank = r.blank
    summary.elapsed_s = time.monotonic() - t0
    return summary

