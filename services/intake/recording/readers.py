"""Readers: every recording under the given paths -> time-ordered records, per file.

`plan(paths)` finds the files, tells their formats from content (`detect`), pairs FXCM bid/ask
files and returns one reader per replayable file (or pair) plus the files it leaves out, with
why. Each reader's `records()` yields records in file order; a line that cannot be used is a
`BadLine` (`file:line: reason`) and reading goes on. Existing readers are reused as they are:
`read_hftbacktest` for the Binance captures, `read_fxcm_bars` for FXCM bid/ask pairs.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from libs.common.clock import Clock
from libs.common.enums import InstrumentKind
from libs.common.errors import ConfigurationError
from services.intake.adapters.fxcm_bars import read_fxcm_bars
from services.intake.adapters.hftbacktest_file import read_hftbacktest
from services.intake.domain.instruments import INSTRUMENTS, InstrumentSpec, spec_by_source
from services.intake.recording import fields
from services.intake.recording.detect import Detected, Format, detect
from services.intake.recording.forex import DECODED_HEADER, TRUEFX_HEADER, tick_row
from services.intake.recording.format import HeaderInvalid, LineInvalid, decode_line, parse_header
from services.intake.recording.lines import LineReader, count_lines
from services.intake.recording.records import (
    CONFIG,
    CONNECT,
    REST,
    SENT,
    WS,
    BadLine,
    RawMessage,
    Record,
    TickInstrument,
)

_CUT = 300


@dataclass
class Reader:
    """One replayable file (an FXCM reader covers its bid and ask pair).

    `name` is the file's path relative to the replay root: records of our readers carry it as
    `source`, and merged replays break timestamp ties on it. `dataset` groups files recorded
    together (they share a timeline). `blank` counts empty lines skipped.
    """

    name: str
    format: Format
    venue: str
    dataset: str
    paths: tuple[Path, ...]
    blank: int = 0
    _lines: LineReader | None = field(default=None, repr=False)
    _done_items: int = field(default=0, repr=False)
    _total_items: int | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        """Bytes on disk."""
        return sum(p.stat().st_size for p in self.paths)

    def progress(self) -> float:
        """Fraction of the file read (bytes for our readers, lines for the reused ones)."""
        if self._lines is not None:
            return self._lines.fraction
        if self._total_items:
            return min(1.0, self._done_items / self._total_items)
        return 0.0

    def prepare_progress(self) -> None:
        """Count lines up front for readers that cannot report bytes (only if a bar is shown)."""
        return None

    def records(self) -> Iterator[Record]:
        raise NotImplementedError


class TrifectaReader(Reader):
    """Our format: header, then `<ts> <source> <payload>` lines -> RawMessage."""

    def records(self) -> Iterator[Record]:
        lr = self._lines = LineReader(self.paths[0])
        venue, line_no, last_ts = "", 0, 0
        for raw in lr:
            line_no += 1
            if line_no == 1:
                try:
                    venue = parse_header(raw).venue
                except HeaderInvalid as e:
                    yield BadLine(self.name, 1, 0, f"bad header, file not replayed: {e}",
                                  _text(raw))
                    return
                continue
            if not raw:
                self.blank += 1
                continue
            try:
                d = decode_line(raw)
            except LineInvalid as e:
                ts = e.ts_recv if e.ts_recv is not None else last_ts
                yield BadLine(self.name, line_no, ts, str(e), _text(raw))
                continue
            last_ts = d.ts_recv
            yield RawMessage(self.name, line_no, d.ts_recv, venue, d.source, d.payload)
        if lr.error:
            yield BadLine(self.name, line_no + 1, last_ts, lr.error, _text(lr.lost_tail))


_CF_RECV = re.compile(r"^(\d+(?:\.\d+)?): (.*)$", re.S)
_CF_REST = re.compile(r"^(\S+) -> (\d+(?:\.\d+)?): (.*)$", re.S)
_CF_SENT = re.compile(r"^(\S+) <- (\d+(?:\.\d+)?): (.*)$", re.S)
_CF_CONN = re.compile(r"^(\S+) <-> (\d+(?:\.\d+)?)$")
_CF_CONFIG = "configuration: "


def seconds_to_ns(text: str) -> int:
    """`1633998512.0633569` (unix seconds as text) -> ns, exactly (no float)."""
    try:
        return int(Decimal(text).scaleb(9))
    except InvalidOperation:
        raise ValueError(f"not a timestamp: {text!r}") from None


class CryptofeedReader(Reader):
    """cryptofeed raw-data format 1 (`X.0`, `X.http.N.0`, `X.ws.N.0`) -> RawMessage."""

    def records(self) -> Iterator[Record]:
        lr = self._lines = LineReader(self.paths[0])
        line_no, last_ts = 0, 0
        for raw in lr:
            line_no += 1
            if not raw.strip():
                self.blank += 1
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield BadLine(self.name, line_no, last_ts, f"not UTF-8: {e}", _text(raw))
                continue
            msg = self._parse(text, line_no, last_ts)
            if isinstance(msg, RawMessage):
                last_ts = msg.ts_recv
            yield msg
        if lr.error:
            yield BadLine(self.name, line_no + 1, last_ts, lr.error, _text(lr.lost_tail))

    def _parse(self, text: str, line_no: int, last_ts: int) -> RawMessage | BadLine:
        if m := _CF_RECV.match(text):
            return RawMessage(self.name, line_no, seconds_to_ns(m[1]), self.venue, WS, m[2])
        if m := _CF_REST.match(text):
            return RawMessage(self.name, line_no, seconds_to_ns(m[2]), self.venue,
                              f"{REST}:{m[1]}", m[3])
        if m := _CF_SENT.match(text):
            return RawMessage(self.name, line_no, seconds_to_ns(m[2]), self.venue, SENT, m[3])
        if m := _CF_CONN.match(text):
            return RawMessage(self.name, line_no, seconds_to_ns(m[2]), self.venue, CONNECT,
                              m[1])
        if text.startswith(_CF_CONFIG):
            return RawMessage(self.name, line_no, last_ts, self.venue, CONFIG,
                              text[len(_CF_CONFIG):])
        return BadLine(self.name, line_no, last_ts, "not a cryptofeed format-1 line "
                       "('<ts>: <json>', '<url> -> <ts>: <body>', '<url> <- <ts>: <json>', "
                       "'<url> <-> <ts>', 'configuration: ...')", text[:_CUT])


class HftbacktestReader(Reader):
    """hftbacktest Binance capture, read by the existing `read_hftbacktest` (records keep the
    file's base name as `source`: the instrument table is keyed on it)."""

    def prepare_progress(self) -> None:
        self._total_items = count_lines(self.paths[0])

    def records(self) -> Iterator[Record]:
        for rec in read_hftbacktest(self.paths[0]):
            self._done_items = rec.line_no
            yield rec


@dataclass
class FxcmReader(Reader):
    """An FXCM bid/ask pair, joined into bars by the existing `read_fxcm_bars`."""

    spec: InstrumentSpec | None = None
    clock: Clock | None = None

    def prepare_progress(self) -> None:
        self._total_items = max(1, count_lines(self.paths[0]) - 1)

    def records(self) -> Iterator[Record]:
        assert self.spec is not None and self.clock is not None
        for item in read_fxcm_bars(self.paths[0], self.paths[1], clock=self.clock,
                                   spec=self.spec):
            self._done_items += 1
            yield item


@dataclass
class TickReader(Reader):
    """TrueFX, HistData and decoded-2019 tick CSVs -> TickRow."""

    instrument: TickInstrument | None = None

    def records(self) -> Iterator[Record]:
        assert self.instrument is not None
        layout = {Format.TRUEFX_TICKS: "truefx", Format.HISTDATA_TICKS: "histdata",
                  Format.DECODED_TICKS: "decoded"}[self.format]
        header = {"truefx": TRUEFX_HEADER, "decoded": DECODED_HEADER}.get(layout)
        lr = self._lines = LineReader(self.paths[0])
        line_no, last_ts = 0, 0
        for raw in lr:
            line_no += 1
            text = raw.decode("utf-8", "replace")
            if line_no == 1 and header is not None:
                if text.strip().lower() != header:
                    yield BadLine(self.name, 1, 0, f"header {text[:80]!r}, expected {header!r}; "
                                  "file not replayed", text[:_CUT])
                    return
                continue
            if not text.strip():
                self.blank += 1
                continue
            try:
                row = tick_row(layout, text.split(","), self.name, line_no, self.instrument)
            except fields.FieldInvalid as e:
                yield BadLine(self.name, line_no, last_ts, str(e), text[:_CUT])
                continue
            last_ts = row.ts_recv
            yield row
        if lr.error:
            yield BadLine(self.name, line_no + 1, last_ts, lr.error, _text(lr.lost_tail))


def _text(raw: bytes) -> str:
    return raw[:_CUT].decode("utf-8", "replace")


@dataclass
class Plan:
    """What a replay will read: readers in name order, and files left out with the reason."""

    root: Path
    readers: list[Reader]
    skipped: list[tuple[str, str]]


def plan(paths: Iterable[str | Path], *, clock: Clock,
         specs: tuple[InstrumentSpec, ...] = INSTRUMENTS) -> Plan:
    """Readers for every recording under `paths` (files or folders, searched recursively).

    A path that does not exist raises ConfigurationError up front, before any replay starts.
    """
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*") if q.is_file()))
        elif p.is_file():
            files.append(p)
        else:
            raise ConfigurationError(f"no such file or folder: {p}")
    files = sorted(set(f.resolve() for f in files))
    if not files:
        return Plan(Path("."), [], [])
    root = Path(os.path.commonpath([str(f.parent) for f in files]))

    def rel(p: Path) -> str:
        return p.relative_to(root).as_posix()

    readers: list[Reader] = []
    skipped: list[tuple[str, str]] = []
    detected = [detect(f) for f in files]
    fxcm: dict[str, Detected] = {}
    for d in detected:
        name = rel(d.path)
        parent = rel(d.path.parent) if d.path.parent != root else "."
        if d.format is Format.UNKNOWN:
            skipped.append((name, d.reason))
        elif d.format is Format.TRIFECTA:
            readers.append(TrifectaReader(name, d.format, d.venue,
                                          f"{parent}/{d.venue or 'unknown'}", (d.path,)))
        elif d.format is Format.CRYPTOFEED:
            if not d.venue:
                skipped.append((name, "cryptofeed capture of an unknown venue"))
                continue
            readers.append(CryptofeedReader(name, d.format, d.venue, f"{parent}/{d.venue}",
                                            (d.path,)))
        elif d.format is Format.HFTBACKTEST:
            if not any(d.path.name in s.sources for s in specs):
                skipped.append((name, "hftbacktest capture that no instrument spec names "
                                "(add it to services/intake/domain/instruments.py)"))
                continue
            readers.append(HftbacktestReader(name, d.format, d.venue, parent, (d.path,)))
        elif d.format is Format.FXCM_BARS:
            fxcm[name] = d
        else:
            readers.append(TickReader(name, d.format, d.venue, parent, (d.path,),
                                      instrument=d.instrument))
    for name, d in sorted(fxcm.items()):
        if d.side != "bid":
            continue
        ask_name = _swap_side(name)
        ask = fxcm.get(ask_name)
        if ask is None or ask.side != "ask":
            skipped.append((name, f"FXCM bid file without its ask file {ask_name}"))
            continue
        readers.append(FxcmReader(name, d.format, "FXCM",
                                  rel(d.path.parent) if d.path.parent != root else ".",
                                  (d.path, ask.path), spec=_fxcm_spec(d, ask, specs),
                                  clock=clock))
    paired = {_swap_side(r.name) for r in readers if isinstance(r, FxcmReader)}
    for name, d in sorted(fxcm.items()):
        if d.side == "ask" and name not in paired:
            skipped.append((name, "FXCM ask file without its bid file"))
    readers.sort(key=lambda r: r.name)
    return Plan(root, readers, sorted(skipped))


def _swap_side(name: str) -> str:
    head, _, tail = name.rpartition("/")
    swapped = tail.replace("bid", "\0").replace("ask", "bid").replace("\0", "ask")
    return f"{head}/{swapped}" if head else swapped


def _fxcm_spec(bid: Detected, ask: Detected, specs: tuple[InstrumentSpec, ...],
               ) -> InstrumentSpec:
    try:
        return spec_by_source(bid.path.name, specs)
    except ConfigurationError:
        assert bid.instrument is not None
        ins = bid.instrument
        return InstrumentSpec(venue="FXCM", symbol=ins.symbol, base=ins.base, quote=ins.quote,
                              kind=InstrumentKind.FX, market="fx",
                              files=(bid.path.name, ask.path.name))
