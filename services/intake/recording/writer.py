"""The recorder: raw venue messages with their receive times -> `trifecta-rec` gzip files.

- Lines wait in a buffer and are written as one gzip block with a full sync flush (`Z_SYNC_FLUSH`)
  when the buffer passes `buffer_bytes`, when `flush_interval_s` has passed on the clock (checked
  on each write and by `maybe_flush()`, which a quiet feed's owner calls on a timer), on rotation
  and on close. Everything up to the last flush can be decoded even if the process dies before
  `close()` (the readers report the missing gzip end and keep every complete line), so a crash
  loses at most the buffer. `fsync=True` also asks the OS to put each flush on disk.
- A new file (`part` + 1, same `session`) starts when the current one holds `rotate_bytes` of
  text, or when a message arrives `rotate_s` or more after the file's first message (receive
  time, so the cut is reproducible). Files are created exclusively: nothing is overwritten.
- `stats` counts messages, bytes, files, flushes and rotations; `view()` is a one-line summary.
"""
from __future__ import annotations

import gzip
import os
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from libs.common.clock import Clock, LiveClock
from libs.common.errors import ConfigurationError
from libs.common.identifiers import new_id
from services.intake.recording.format import encode_line, new_header

NS_PER_S = 1_000_000_000


@dataclass
class RecorderStats:
    """Counters of one recorder, for progress lines and /health."""

    messages: int = 0
    bytes_text: int = 0  # uncompressed bytes written, headers included
    flushes: int = 0
    rotations: int = 0
    files: list[Path] = field(default_factory=list)
    by_source: Counter[str] = field(default_factory=Counter)  # `ws`, `rest`, `event`, ...
    first_ts_recv: int | None = None
    last_ts_recv: int | None = None
    buffered: int = 0  # messages not yet flushed

    def view(self) -> str:
        """`12,345 msgs (ws 12,300, rest 45), 3.2 MB text, 2 files, 4 unflushed, last 12:00:01Z`."""
        kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(self.by_source.items()))
        last = "-" if self.last_ts_recv is None else datetime.fromtimestamp(
            self.last_ts_recv / NS_PER_S, UTC).strftime("%H:%M:%SZ")
        return (f"{self.messages:,} msgs ({kinds or 'none'}), {self.bytes_text / 1e6:.1f} MB "
                f"text, {len(self.files)} file(s), {self.buffered} unflushed, last {last}")


class Recorder:
    """Writes raw messages to rotating `trifecta-rec` files in `directory`.

    Use as a context manager, or call `close()`. `write(ts_recv_ns, source, payload)` takes the
    receive time the caller stamped at arrival (ns), the source token (`ws`, `ws:2`,
    `rest:<url>`, `sent`, `event`, `bad`) and the payload as received (str or bytes).
    """

    def __init__(self, directory: str | Path, venue: str, channels: tuple[str, ...] = (), *,
                 clock: Clock | None = None, rotate_bytes: int = 256 * 1024 * 1024,
                 rotate_s: float = 3600.0, buffer_bytes: int = 64 * 1024,
                 flush_interval_s: float = 1.0, fsync: bool = False, compresslevel: int = 6,
                 session: str | None = None) -> None:
        if not venue or not venue.replace("_", "").isalnum():
            raise ConfigurationError(f"venue must be a name like BINANCE, got {venue!r}")
        if rotate_bytes <= 0 or rotate_s <= 0 or buffer_bytes <= 0 or flush_interval_s <= 0:
            raise ConfigurationError("rotate_bytes, rotate_s, buffer_bytes and "
                                     "flush_interval_s must be positive")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.venue = venue
        self.channels = tuple(channels)
        self._clock = clock or LiveClock()
        self._rotate_bytes = rotate_bytes
        self._rotate_ns = int(rotate_s * NS_PER_S)
        self._buffer_bytes = buffer_bytes
        self._flush_ns = int(flush_interval_s * NS_PER_S)
        self._fsync = fsync
        self._level = compresslevel
        self.session = session or new_id("rec")
        self.stats = RecorderStats()
        self._raw: BinaryIO | None = None
        self._gz: gzip.GzipFile | None = None
        self._part = -1
        self._buf: list[bytes] = []
        self._buf_len = 0
        self._file_bytes = 0
        self._file_first_ts: int | None = None
        self._last_flush = self._clock.now_ns()
        self._closed = False

    # ---- writing --------------------------------------------------------------------------

    def write(self, ts_recv_ns: int, source: str, payload: str | bytes) -> None:
        """Append one message (ValueError for a bad timestamp or source token)."""
        if self._closed:
            raise ValueError("recorder is closed")
        line = encode_line(ts_recv_ns, source, payload)
        if self._gz is None:
            self._open()
        elif self._file_first_ts is not None and (
                self._file_bytes + len(line) > self._rotate_bytes
                or ts_recv_ns - self._file_first_ts >= self._rotate_ns):
            self.rotate()
        if self._file_first_ts is None:
            self._file_first_ts = ts_recv_ns
        self._buf.append(line)
        self._buf_len += len(line)
        self._file_bytes += len(line)
        s = self.stats
        s.messages += 1
        s.bytes_text += len(line)
        s.buffered += 1
        s.by_source[source.partition(":")[0]] += 1
        if s.first_ts_recv is None:
            s.first_ts_recv = ts_recv_ns
        s.last_ts_recv = ts_recv_ns
        if self._buf_len >= self._buffer_bytes:
            self.flush()
        else:
            self.maybe_flush()

    def maybe_flush(self) -> bool:
        """Flush if `flush_interval_s` has passed since the last flush; True if it did."""
        if self._buf and self._clock.now_ns() - self._last_flush >= self._flush_ns:
            self.flush()
            return True
        return False

    def flush(self) -> None:
        """Write the buffer as a decodable gzip block (sync flush), then fsync if asked."""
        self._last_flush = self._clock.now_ns()
        if self._gz is None or self._raw is None:
            return
        if self._buf:
            self._gz.write(b"".join(self._buf))
            self._buf.clear()
            self._buf_len = 0
        self._gz.flush(zlib.Z_SYNC_FLUSH)
        self._raw.flush()
        if self._fsync:
            os.fsync(self._raw.fileno())
        self.stats.flushes += 1
        self.stats.buffered = 0

    def rotate(self) -> None:
        """Close the current file and start the next part."""
        if self._gz is not None:
            self._close_file()
            self.stats.rotations += 1
        self._open()

    def close(self) -> None:
        """Flush and close (idempotent); the file gets its gzip end marker."""
        if self._closed:
            return
        self._closed = True
        if self._gz is not None:
            self._close_file()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def view(self) -> str:
        """The counters as one line, with the current file."""
        current = self.stats.files[-1].name if self.stats.files else "-"
        return f"{self.stats.view()}; writing {current}"

    @property
    def paths(self) -> list[Path]:
        return list(self.stats.files)

    # ---- files ----------------------------------------------------------------------------

    def _open(self) -> None:
        self._part += 1
        now = self._clock.now_ns()
        stamp = datetime.fromtimestamp(now / NS_PER_S, UTC).strftime("%Y%m%dT%H%M%SZ")
        path = self.directory / (f"{self.venue.lower()}-{stamp}-{self.session[-8:]}-"
                                 f"{self._part:04d}.rec.gz")
        try:
            raw = path.open("xb")
        except FileExistsError:
            raise ConfigurationError(f"recording {path} exists; refusing to overwrite") from None
        self._raw = raw
        self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                 compresslevel=self._level, mtime=0)
        header = new_header(self.venue, self.channels, now, session=self.session,
                            part=self._part).encode()
        self._buf = [header]
        self._buf_len = len(header)
        self._file_bytes = len(header)
        self._file_first_ts = None
        self.stats.bytes_text += len(header)
        self.stats.files.append(path)
        self.flush()  # a file never exists without its header

    def _close_file(self) -> None:
        assert self._gz is not None and self._raw is not None
        self.flush()
        self._gz.close()
        self._raw.close()
        self._gz = self._raw = None
