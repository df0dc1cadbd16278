"""Engine.IO v4 / Socket.IO framing as Pocket Option uses it over one websocket. Pure: no I/O.

Pocket Option's servers speak Socket.IO (Engine.IO protocol 4, `?EIO=4&transport=websocket`).
Every websocket text message starts with an Engine.IO packet type digit; a `4` (message) carries
a Socket.IO packet whose own type digit follows:

- `0{"sid":...,"pingInterval":...}`  Engine.IO open (server -> client, first message);
- `2` / `3`                          Engine.IO ping / pong (the server pings, the client pongs);
- `40` / `40{"sid":...}`             Socket.IO connect (client) and its acknowledgement;
- `41`                               Socket.IO disconnect;
- `42["event",arg...]`               an event with JSON arguments;
- `451-["event",{"_placeholder":true,"num":0}]` followed by one websocket binary message: a
  binary event with 1 attachment; the placeholder stands for the JSON held by the attachment.

Pocket Option sends its data (`updateStream`, `updateAssets`, `successupdateBalance`,
`successopenOrder`, `successcloseOrder`, ...) as binary events; see README.md for the sources.
Numbers with a fraction decode to `Decimal` from their text, never through a binary float.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import Any

from libs.common.errors import ValidationFailed

_DECODER = json.JSONDecoder(parse_float=Decimal)
PLACEHOLDER_KEY = "_placeholder"


class ProtocolError(ValidationFailed):
    """A frame does not follow Engine.IO / Socket.IO framing; the message says why."""


class EngineType(IntEnum):
    OPEN = 0
    CLOSE = 1
    PING = 2
    PONG = 3
    MESSAGE = 4
    UPGRADE = 5
    NOOP = 6


class SocketType(IntEnum):
    CONNECT = 0
    DISCONNECT = 1
    EVENT = 2
    ACK = 3
    CONNECT_ERROR = 4
    BINARY_EVENT = 5
    BINARY_ACK = 6


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded websocket text message.

    `socket` is set only for Engine.IO MESSAGE packets. `attachments` counts the binary
    messages that follow a BINARY_EVENT/BINARY_ACK. `data` is the decoded JSON body (None when
    the packet has none).
    """

    engine: EngineType
    socket: SocketType | None = None
    attachments: int = 0
    namespace: str = "/"
    ack_id: int | None = None
    data: Any = None


@dataclass(frozen=True, slots=True)
class SocketEvent:
    """A complete Socket.IO event: its name and its arguments, attachments already in place."""

    name: str
    args: tuple[Any, ...]


def decode_json(text: str | bytes) -> Any:
    """JSON with fractions as Decimal; ProtocolError on malformed input."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return _DECODER.decode(text)
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError(f"not JSON: {e}") from e


def parse_frame(text: str) -> Frame:
    """Decode one text message into a Frame; ProtocolError says what is wrong with it."""
    if not text:
        raise ProtocolError("empty frame")
    if not text[0].isdigit():
        raise ProtocolError(f"frame does not start with an Engine.IO packet type: {text[:20]!r}")
    try:
        engine = EngineType(int(text[0]))
    except ValueError as e:
        raise ProtocolError(f"unknown Engine.IO packet type {text[0]!r}") from e
    body = text[1:]
    if engine is not EngineType.MESSAGE:
        data = decode_json(body) if engine is EngineType.OPEN else (body or None)
        if engine is EngineType.OPEN and not isinstance(data, dict):
            raise ProtocolError("Engine.IO open packet without a JSON object")
        return Frame(engine=engine, data=data)
    if not body or not body[0].isdigit():
        raise ProtocolError(f"Engine.IO message without a Socket.IO packet type: {text[:20]!r}")
    try:
        socket = SocketType(int(body[0]))
    except ValueError as e:
        raise ProtocolError(f"unknown Socket.IO packet type {body[0]!r}") from e
    rest = body[1:]
    attachments = 0
    if socket in (SocketType.BINARY_EVENT, SocketType.BINARY_ACK):
        count, dash, rest = rest.partition("-")
        if not dash or not count.isdigit():
            raise ProtocolError(f"binary packet without an attachment count: {text[:30]!r}")
        attachments = int(count)
    namespace = "/"
    if rest.startswith("/"):
        namespace, _, rest = rest.partition(",")
    ack_digits = ""
    while rest and rest[0].isdigit():
        ack_digits, rest = ack_digits + rest[0], rest[1:]
    data = decode_json(rest) if rest else None
    if socket in (SocketType.EVENT, SocketType.BINARY_EVENT):
        if not isinstance(data, list) or not data or not isinstance(data[0], str):
            raise ProtocolError(f"event packet is not [name, ...]: {text[:40]!r}")
    return Frame(engine=engine, socket=socket, attachments=attachments, namespace=namespace,
                 ack_id=int(ack_digits) if ack_digits else None, data=data)


class EventAssembler:
    """Turns the websocket message sequence into complete events.

    Feed every message in order. A BINARY_EVENT header waits for its attachments (the next
    messages); a plain EVENT is complete at once. The library's raw subscription hands binary
    attachments over as `str`, so while attachments are awaited a message that opens a JSON
    array or object (or any `bytes`) counts as an attachment; anything else means one went
    missing: the pending event is reported as a ProtocolError and the new message is read.
    """

    def __init__(self) -> None:
        self._pending: Frame | None = None
        self._parts: list[Any] = []

    @property
    def waiting(self) -> bool:
        """True while a binary event waits for attachments."""
        return self._pending is not None

    def feed(self, message: str | bytes) -> list[SocketEvent | Frame | ProtocolError]:
        """What this message completes, in order: events, control frames and errors (a
        malformed message, or a binary event whose attachment never came). Empty while a
        binary event waits for more attachments."""
        out: list[SocketEvent | Frame | ProtocolError] = []
        if self._pending is not None:
            if _looks_like_attachment(message):
                try:
                    self._parts.append(decode_json(message))
                except ProtocolError as e:
                    name = self._pending.data[0]
                    self._pending, self._parts = None, []
                    return [ProtocolError(f"attachment of {name!r}: {e}")]
                if len(self._parts) < self._pending.attachments:
                    return out
                pending, parts = self._pending, self._parts
                self._pending, self._parts = None, []
                try:
                    out.append(_event(pending, parts))
                except ProtocolError as e:
                    out.append(e)
                return out
            name = self._pending.data[0]
            self._pending, self._parts = None, []
            out.append(ProtocolError(f"binary event {name!r} lost its attachment: next "
                                     f"message was {str(message)[:40]!r}"))
        if isinstance(message, bytes):
            out.append(ProtocolError(f"binary message with no binary event waiting for it "
                                     f"({len(message)} bytes)"))
            return out
        try:
            frame = parse_frame(message)
        except ProtocolError as e:
            out.append(e)
            return out
        if frame.socket in (SocketType.BINARY_EVENT, SocketType.BINARY_ACK) \
                and frame.attachments > 0:
            self._pending = frame
        elif frame.socket in (SocketType.EVENT, SocketType.BINARY_EVENT):
            try:
                out.append(_event(frame, []))
            except ProtocolError as e:
                out.append(e)
        else:
            out.append(frame)
        return out


def _looks_like_attachment(message: str | bytes) -> bool:
    if isinstance(message, bytes):
        return True
    stripped = message.lstrip()
    return stripped[:1] in ("[", "{")


def _event(frame: Frame, parts: list[Any]) -> SocketEvent:
    data = _fill(frame.data, parts)
    return SocketEvent(name=data[0], args=tuple(data[1:]))


def _fill(value: Any, parts: list[Any]) -> Any:
    """Replace `{"_placeholder": true, "num": n}` with attachment n, recursively."""
    if isinstance(value, dict):
        if value.get(PLACEHOLDER_KEY) is True:
            num = value.get("num")
            if not isinstance(num, int) or isinstance(num, bool) or not 0 <= num < len(parts):
                raise ProtocolError(f"placeholder names attachment {num!r}; "
                                    f"{len(parts)} received")
            return parts[num]
        return {k: _fill(v, parts) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, parts) for v in value]
    return value


# ---- encoding (what a Pocket Option server sends; used by the local simulator) ----------------

def encode_open(sid: str, *, ping_interval_ms: int, ping_timeout_ms: int,
                max_payload: int = 1_000_000) -> str:
    """The Engine.IO open packet (`0{...}`), the server's first message."""
    return "0" + json.dumps({"sid": sid, "upgrades": [], "pingInterval": ping_interval_ms,
                             "pingTimeout": ping_timeout_ms, "maxPayload": max_payload},
                            separators=(",", ":"))


def encode_connect_ack(sid: str) -> str:
    """The Socket.IO connect acknowledgement (`40{"sid":...}`)."""
    return "40" + json.dumps({"sid": sid}, separators=(",", ":"))


def encode_event(name: str, *args: Any) -> str:
    """A plain event, `42["name",...]`."""
    return "42" + json.dumps([name, *args], separators=(",", ":"))


def encode_binary_event(name: str, attachment_json: str) -> tuple[str, bytes]:
    """A binary event with one JSON attachment: the `451-` header and the binary message."""
    header = "451-" + json.dumps([name, {PLACEHOLDER_KEY: True, "num": 0}],
                                 separators=(",", ":"))
    return header, attachment_json.encode("utf-8")
