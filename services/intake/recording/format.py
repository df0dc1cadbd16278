"""Our recording format, `trifecta-rec` version 1: encode and decode lines. Pure: no I/O.

A recording is gzip text. Line 1 is a JSON header; every later line is one raw venue message:

    {"format":"trifecta-rec","version":1,"venue":"POLONIEX","channels":[...],"recorded_at_ns":...}
    <receive_ts_ns> <source> <payload>

`source` is one token without whitespace saying where the message came from (`ws`, `ws:2`,
`rest:<url>`, `sent`, `event`, `bad`; see README.md). `payload` is the rest of the line, the
venue's bytes as received. A payload that cannot sit on one line (it holds CR/LF, is not UTF-8,
or itself starts with `!`) is written as `!` + a JSON value: a string for text, `{"b64": ...}`
for bytes. Every other payload is written verbatim, so a line stays `<ts> <source> <json>`,
one token away from hftbacktest's `<ts> <json>`.
"""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError

FORMAT_NAME = "trifecta-rec"
FORMAT_VERSION = 1
ESCAPE = "!"
SOURCE_RE = re.compile(r"^[!-~]+$")  # printable ASCII, no space
MAGIC_PREFIX = b'{"format":"trifecta-rec"'  # how a header line starts, for content sniffing


class RecordingHeader(BaseModel):
    """The first line of a recording file.

    `session` ties together the files one recorder rotated through and `part` numbers them
    (0 first); both are optional so a hand-written header with the five core fields is valid.
    Unknown keys are kept out (ignored), so a newer writer's extra fields do not break us.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    format: str
    version: int
    venue: str = Field(min_length=1)
    channels: tuple[str, ...] = ()
    recorded_at_ns: int = Field(ge=0)
    session: str = ""
    part: int = Field(default=0, ge=0)

    def encode(self) -> bytes:
        """The header line, newline included."""
        doc = {"format": self.format, "version": self.version, "venue": self.venue,
               "channels": list(self.channels), "recorded_at_ns": self.recorded_at_ns}
        if self.session:
            doc["session"] = self.session
            doc["part"] = self.part
        return (json.dumps(doc, separators=(",", ":")) + "\n").encode()


class HeaderInvalid(ValueError):
    """The first line is not a `trifecta-rec` header this reader understands."""


def new_header(venue: str, channels: tuple[str, ...] | list[str], recorded_at_ns: int, *,
               session: str = "", part: int = 0) -> RecordingHeader:
    """A version-1 header."""
    return RecordingHeader(format=FORMAT_NAME, version=FORMAT_VERSION, venue=venue,
                           channels=tuple(channels), recorded_at_ns=recorded_at_ns,
                           session=session, part=part)


def parse_header(line: bytes | str) -> RecordingHeader:
    """Validate a header line; raise HeaderInvalid with the reason."""
    try:
        doc = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise HeaderInvalid(f"header is not JSON: {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise HeaderInvalid(f"header format is not {FORMAT_NAME!r}")
    try:
        header = RecordingHeader.model_validate(doc)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise HeaderInvalid(f"header field {where}: {first.get('msg')}") from None
    if header.version != FORMAT_VERSION:
        raise HeaderInvalid(f"{FORMAT_NAME} version {header.version} is not supported "
                            f"(this reader knows {FORMAT_VERSION})")
    return header


def encode_line(ts_recv_ns: int, source: str, payload: str | bytes) -> bytes:
    """One message line, newline included. ValueError for a bad timestamp or source."""
    if type(ts_recv_ns) is not int or ts_recv_ns < 0:
        raise ValueError(f"receive timestamp must be a non-negative int (ns), got {ts_recv_ns!r}")
    if not SOURCE_RE.match(source):
        raise ValueError(f"source must be one printable token without spaces, got {source!r}")
    return f"{ts_recv_ns} {source} {_encode_payload(payload)}\n".encode()


def _encode_payload(payload: str | bytes) -> str:
    if isinstance(payload, bytes):
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            return ESCAPE + json.dumps({"b64": base64.b64encode(payload).decode("ascii")})
    else:
        text = payload
    if "\n" in text or "\r" in text or text.startswith(ESCAPE):
        return ESCAPE + json.dumps(text)
    return text


@dataclass(frozen=True, slots=True)
class DecodedLine:
    ts_recv: int
    source: str
    payload: str | bytes


class LineInvalid(ValueError):
    """A message line does not match `<receive_ts_ns> <source> <payload>`."""

    def __init__(self, reason: str, ts_recv: int | None = None) -> None:
        super().__init__(reason)
        self.ts_recv = ts_recv


def decode_line(raw: bytes) -> DecodedLine:
    """Parse one message line (without its newline); raise LineInvalid with the reason."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise LineInvalid(f"not UTF-8: {e}") from None
    ts_text, sep, rest = text.partition(" ")
    if not sep:
        raise LineInvalid("expected '<receive_ts_ns> <source> <payload>'")
    if not (ts_text.isascii() and ts_text.isdigit()):
        raise LineInvalid(f"receive timestamp {ts_text[:40]!r} is not a non-negative integer")
    ts = int(ts_text)
    source, sep, payload = rest.partition(" ")
    if not sep or not source:
        raise LineInvalid("expected '<receive_ts_ns> <source> <payload>'", ts)
    if not SOURCE_RE.match(source):
        raise LineInvalid(f"source {source[:40]!r} is not one printable token", ts)
    if payload.startswith(ESCAPE):
        try:
            value = json.loads(payload[1:])
        except json.JSONDecodeError as e:
            raise LineInvalid(f"escaped payload is not JSON: {e}", ts) from None
        if isinstance(value, str):
            return DecodedLine(ts, source, value)
        if isinstance(value, dict) and isinstance(value.get("b64"), str):
            try:
                return DecodedLine(ts, source, base64.b64decode(value["b64"], validate=True))
            except ValueError as e:
                raise LineInvalid(f"escaped payload has bad base64: {e}", ts) from None
        raise LineInvalid("escaped payload must be a JSON string or {\"b64\": ...}", ts)
    return DecodedLine(ts, source, payload)
