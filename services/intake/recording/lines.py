"""Lines of a plain or gzip file, with how far into the file the reading is (for progress).

Gzip is decoded by hand with `zlib` so that a file cut short (a recorder that crashed between
flushes, a copy in progress) still gives every complete line before the cut, and the reader
learns why it ended (`error`) instead of getting an exception mid-replay. Several gzip members
one after another (appended files) are read as one text.
"""
from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 16


class LineReader:
    """Iterate a file's lines (bytes, without the newline or a trailing CR).

    `pos`/`size` are bytes of the file on disk read so far / in all (compressed bytes for gzip);
    `error` says why reading stopped early (corrupt or truncated gzip), else stays None.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.size = self.path.stat().st_size
        self.pos = 0
        self.error: str | None = None
        self.lost_tail = b""  # an incomplete last line cut off by truncation

    @property
    def fraction(self) -> float:
        return self.pos / self.size if self.size else 1.0

    def __iter__(self) -> Iterator[bytes]:
        with self.path.open("rb") as fh:
            gz = fh.read(2) == GZIP_MAGIC
            fh.seek(0)
            if gz:
                yield from self._gzip(fh)
            else:
                yield from self._plain(fh)

    def _plain(self, fh: BinaryIO) -> Iterator[bytes]:
        pending = b""
        while chunk := fh.read(_CHUNK):
            self.pos += len(chunk)
            parts = (pending + chunk).split(b"\n")
            pending = parts.pop()
            for p in parts:
                yield p[:-1] if p.endswith(b"\r") else p
        if pending:
            yield pending[:-1] if pending.endswith(b"\r") else pending

    def _gzip(self, fh: BinaryIO) -> Iterator[bytes]:
        d = zlib.decompressobj(31)
        pending = b""
        started = False
        while chunk := fh.read(_CHUNK):
            self.pos += len(chunk)
            data = chunk
            while data:
                if d.eof:  # a member ended: the next one starts here
                    d = zlib.decompressobj(31)
                try:
                    out = d.decompress(data)
                except zlib.error as e:
                    self.error = f"corrupt gzip data after {self.pos} bytes: {e}"
                    self.lost_tail = pending
                    return
                started = True
                data = d.unused_data if d.eof else b""
                if out:
                    parts = (pending + out).split(b"\n")
                    pending = parts.pop()
                    for p in parts:
                        yield p[:-1] if p.endswith(b"\r") else p
        if started and not d.eof:
            self.error = ("gzip stream truncated (no end-of-stream marker): the writer stopped "
                          "without closing; lines after its last flush are lost")
            self.lost_tail = pending
            return
        if pending:
            yield pending[:-1] if pending.endswith(b"\r") else pending


def head_lines(path: str | Path, n: int = 8) -> tuple[list[bytes], str | None]:
    """The first `n` non-blank lines (fewer if the file is shorter) and any read error."""
    reader = LineReader(path)
    out: list[bytes] = []
    it = iter(reader)
    try:
        for line in it:
            if line.strip():
                out.append(line)
                if len(out) >= n:
                    break
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()
    return out, reader.error


def count_lines(path: str | Path) -> int:
    """Lines in a file (decompressing gzip), for progress of readers that do not report it."""
    return sum(1 for _ in LineReader(path))
