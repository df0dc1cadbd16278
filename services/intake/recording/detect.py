"""Which recording format a file holds, told from its content (its first lines).

The file name is used only for what the content does not say: a forex tick file's currency pair,
whether an FXCM bar file is the bid or the ask side, and, for cryptofeed captures, the venue when
no URL in the first lines names it. Documentation (`*.md`, `*.txt`, `LICENSE*`, `MANIFEST*`) is
not opened.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from services.intake.recording.format import HeaderInvalid, RecordingHeader, parse_header
from services.intake.recording.lines import head_lines
from services.intake.recording.records import TickInstrument


class Format(StrEnum):
    TRIFECTA = "trifecta-rec"
    HFTBACKTEST = "hftbacktest"
    CRYPTOFEED = "cryptofeed-1"
    FXCM_BARS = "fxcm-bars"
    TRUEFX_TICKS = "truefx-ticks"
    HISTDATA_TICKS = "histdata-ticks"
    DECODED_TICKS = "decoded-ticks"
    UNKNOWN = "unknown"


# Venue for forex tick files: the vendor (the decoded 2019 ticks are Nautilus' simulated venue).
TICK_VENUES = {Format.TRUEFX_TICKS: "TRUEFX", Format.HISTDATA_TICKS: "HISTDATA",
               Format.DECODED_TICKS: "SIM"}

_HOSTS = (  # registered domain -> venue; Binance futures hosts first
    ("fapi.binance.com", "BINANCE_USDM"), ("fstream.binance.com", "BINANCE_USDM"),
    ("dapi.binance.com", "BINANCE_COINM"), ("dstream.binance.com", "BINANCE_COINM"),
    ("binance.com", "BINANCE"), ("bitstamp.net", "BITSTAMP"), ("coinbase.com", "COINBASE"),
    ("gemini.com", "GEMINI"), ("kraken.com", "KRAKEN"), ("okx.com", "OKX"),
    ("okex.com", "OKX"), ("poloniex.com", "POLONIEX"),
)
_CF_RECV = re.compile(rb"^\d+(\.\d+)?: ")
_CF_URL = re.compile(rb"^\S+ (->|<-) \d+(\.\d+)?: |^\S+ <-> \d+(\.\d+)?$")
_HFT = re.compile(rb"^\d+ \{")
_HISTDATA = re.compile(rb"^\d{8} \d{9},")
_URL = re.compile(rb"(?:https?|wss?)://[^\s/]+")
_PAIR = re.compile(r"^([a-z]{3})([a-z]{3})(?=[-_])", re.IGNORECASE)
_DOCS = re.compile(r"(\.(md|txt|sha256)$)|(^(LICENSE|MANIFEST|README|SOURCES))", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Detected:
    """What a file is. `reason` explains UNKNOWN (and a header that failed to validate)."""

    path: Path
    format: Format
    venue: str = ""
    reason: str = ""
    header: RecordingHeader | None = None
    instrument: TickInstrument | None = None
    side: str = ""  # FXCM bar files: "bid" or "ask"


def detect(path: str | Path) -> Detected:
    """Sniff one file."""
    p = Path(path)
    if _DOCS.search(p.name):
        return Detected(p, Format.UNKNOWN, reason="documentation or licence, not a recording")
    with p.open("rb") as fh:
        magic = fh.read(4)
    if magic == b"PAR1":
        return Detected(p, Format.UNKNOWN, reason="parquet (columnar, not a line recording); "
                        "replay its decoded CSV instead")
    lines, error = head_lines(p)
    if not lines:
        return Detected(p, Format.UNKNOWN, reason=error or "empty file")
    first = lines[0]
    if first.lstrip().startswith(b"{") and b'"trifecta-rec"' in first[:200]:
        try:
            header = parse_header(first)
        except HeaderInvalid as e:
            return Detected(p, Format.TRIFECTA, reason=str(e))
        return Detected(p, Format.TRIFECTA, venue=header.venue, header=header)
    if _HFT.match(first):
        return Detected(p, Format.HFTBACKTEST, venue="BINANCE")
    if _CF_RECV.match(first) or _CF_URL.match(first):
        return Detected(p, Format.CRYPTOFEED, venue=_venue_from(lines, p.name))
    text = first.decode("utf-8", "replace").strip().lower()
    if text == "timestamp,open,high,low,close":
        side = "bid" if "bid" in p.name.lower() else "ask" if "ask" in p.name.lower() else ""
        if not side:
            return Detected(p, Format.UNKNOWN, reason="FXCM bar file whose name says neither "
                            "bid nor ask")
        return _with_pair(Detected(p, Format.FXCM_BARS, venue="FXCM", side=side))
    if text == "timestamp,bid,ask":
        return _with_pair(Detected(p, Format.TRUEFX_TICKS, venue="TRUEFX"))
    if text == "timestamp_utc,ts_event_ns,bid,ask":
        return _with_pair(Detected(p, Format.DECODED_TICKS, venue="SIM"))
    if _HISTDATA.match(first):
        return _with_pair(Detected(p, Format.HISTDATA_TICKS, venue="HISTDATA"))
    if first.lstrip()[:1] in (b"{", b"["):
        return Detected(p, Format.UNKNOWN, reason="a JSON document (a REST body?), not a "
                        "timestamped line recording")
    return Detected(p, Format.UNKNOWN, reason="first line matches no known recording format")


def _with_pair(d: Detected) -> Detected:
    m = _PAIR.match(d.path.name)
    if m is None:
        return Detected(d.path, Format.UNKNOWN, reason=f"{d.format.value} file whose name does "
                        "not start with a currency pair (e.g. eurusd-...)")
    ins = TickInstrument(d.venue, m.group(1).upper(), m.group(2).upper())
    return Detected(d.path, d.format, venue=d.venue, instrument=ins, side=d.side)


def _venue_from(lines: list[bytes], name: str) -> str:
    for line in lines:
        for url in _URL.findall(line):
            venue = venue_host(url.decode("ascii", "replace"))
            if venue:
                return venue
    prefix = name.split(".", 1)[0]
    return prefix.upper() if prefix.isalpha() else ""


def venue_host(url: str) -> str:
    """Our venue name for a URL's host ('' when unknown)."""
    host = (urlsplit(url).hostname or "").lower()
    for domain, venue in _HOSTS:
        if host == domain or host.endswith("." + domain):
            return venue
    return ""
