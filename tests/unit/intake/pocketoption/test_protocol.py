"""Engine.IO / Socket.IO framing: decoding, binary attachments, and what the simulator sends."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from services.intake.adapters.pocketoption.protocol import (
    EngineType,
    EventAssembler,
    Frame,
    ProtocolError,
    SocketEvent,
    SocketType,
    encode_binary_event,
    encode_connect_ack,
    encode_event,
    encode_open,
    parse_frame,
)

# Frame shapes from BinaryOptionsTools-v2's own tests and source (README.md cites them):
# types.rs test_stream_data_deserialization, keep_alive.rs, types.rs OpenOrder Display.
STREAM_ATTACHMENT = '[["EURUSD_otc",1770856131.3,1.19537]]'
STREAM_HEADER = '451-["updateStream",{"_placeholder":true,"num":0}]'


def test_engine_open_packet_carries_the_session_settings() -> None:
    frame = parse_frame('0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000}')
    assert frame.engine is EngineType.OPEN
    assert frame.data == {"sid": "abc", "upgrades": [], "pingInterval": 25000,
                          "pingTimeout": 20000}


@pytest.mark.parametrize(("text", "engine", "socket", "data"), [
    ("2", EngineType.PING, None, None),
    ("3", EngineType.PONG, None, None),
    ("40", EngineType.MESSAGE, SocketType.CONNECT, None),
    ('40{"sid":"xyz"}', EngineType.MESSAGE, SocketType.CONNECT, {"sid": "xyz"}),
    ("41", EngineType.MESSAGE, SocketType.DISCONNECT, None),
    ('42["ps"]', EngineType.MESSAGE, SocketType.EVENT, ["ps"]),
])
def test_control_and_event_packets_decode_to_their_types(text: str, engine: EngineType,
                                                        socket: SocketType | None,
                                                        data: object) -> None:
    frame = parse_frame(text)
    assert (frame.engine, frame.socket, frame.data) == (engine, socket, data)


def test_binary_event_header_counts_its_attachments() -> None:
    frame = parse_frame(STREAM_HEADER)
    assert frame.socket is SocketType.BINARY_EVENT
    assert frame.attachments == 1
    assert frame.data == ["updateStream", {"_placeholder": True, "num": 0}]


def test_namespace_and_ack_id_are_split_off() -> None:
    frame = parse_frame('42/chat,17["hello",1]')
    assert (frame.namespace, frame.ack_id, frame.data) == ("/chat", 17, ["hello", 1])


def test_fractions_decode_as_exact_decimals() -> None:
    frame = parse_frame('42["x",1.19537,0.1]')
    assert frame.data == ["x", Decimal("1.19537"), Decimal("0.1")]
    assert isinstance(frame.data[1], Decimal)


@pytest.mark.parametrize(("text", "why"), [
    ("", "empty frame"),
    ('["updateStream"]', "does not start with an Engine.IO packet type"),
    ("9", "unknown Engine.IO packet type"),
    ("4", "without a Socket.IO packet type"),
    ("48", "unknown Socket.IO packet type"),
    ('45["x"]', "binary packet without an attachment count"),
    ('42{"a":1}', "event packet is not [name, ...]"),
    ('42[1,2]', "event packet is not [name, ...]"),
    ('42["x",', "not JSON"),
    ("0[]", "open packet without a JSON object"),
])
def test_malformed_frames_raise_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(ProtocolError, match=why.replace("[", r"\[").replace("]", r"\]")):
        parse_frame(text)


def test_binary_event_completes_with_its_attachment_in_place() -> None:
    asm = EventAssembler()
    assert asm.feed(STREAM_HEADER) == []
    assert asm.waiting
    out = asm.feed(STREAM_ATTACHMENT.encode())
    assert out == [SocketEvent("updateStream",
                               ([["EURUSD_otc", Decimal("1770856131.3"), Decimal("1.19537")]],))]
    assert not asm.waiting


def test_attachment_delivered_as_text_is_accepted() -> None:
    # The library's raw subscription hands binary messages over as str.
    asm = EventAssembler()
    asm.feed(STREAM_HEADER)
    [event] = asm.feed(STREAM_ATTACHMENT)
    assert isinstance(event, SocketEvent)
    assert event.args[0][0][0] == "EURUSD_otc"


def test_plain_event_and_control_frames_come_out_at_once() -> None:
    asm = EventAssembler()
    assert asm.feed('42["successauth",{"id":"a"}]') == [SocketEvent("successauth",
                                                                    ({"id": "a"},))]
    [frame] = asm.feed("2")
    assert isinstance(frame, Frame) and frame.engine is EngineType.PING


def test_lost_attachment_is_reported_and_the_next_frame_still_read() -> None:
    asm = EventAssembler()
    asm.feed(STREAM_HEADER)
    out = asm.feed('42["ps"]')
    assert len(out) == 2
    assert isinstance(out[0], ProtocolError)
    assert "lost its attachment" in str(out[0])
    assert out[1] == SocketEvent("ps", ())
    assert not asm.waiting


def test_unparseable_attachment_is_an_error_and_resets_the_assembler() -> None:
    asm = EventAssembler()
    asm.feed(STREAM_HEADER)
    [err] = asm.feed(b"[[not json")
    assert isinstance(err, ProtocolError) and "attachment of 'updateStream'" in str(err)
    assert not asm.waiting
    assert asm.feed('42["ps"]') == [SocketEvent("ps", ())]


def test_binary_message_without_a_header_is_an_error() -> None:
    [err] = EventAssembler().feed(b'{"balance":1}')
    assert isinstance(err, ProtocolError) and "no binary event waiting" in str(err)


def test_placeholder_naming_a_missing_attachment_is_an_error() -> None:
    [err] = EventAssembler().feed('42["x",{"_placeholder":true,"num":3}]')
    assert isinstance(err, ProtocolError) and "attachment 3" in str(err)


def test_encoded_binary_event_decodes_to_the_same_payload() -> None:
    payload = [[1, "EURUSD", "EUR/USD"]]
    header, body = encode_binary_event("updateAssets", json.dumps(payload))
    assert header == '451-["updateAssets",{"_placeholder":true,"num":0}]'
    asm = EventAssembler()
    assert asm.feed(header) == []
    assert asm.feed(body) == [SocketEvent("updateAssets", (payload,))]


def test_encoded_handshake_frames_parse_back() -> None:
    opened = parse_frame(encode_open("s1", ping_interval_ms=25000, ping_timeout_ms=20000))
    assert opened.engine is EngineType.OPEN
    assert opened.data["pingInterval"] == 25000 and opened.data["sid"] == "s1"
    ack = parse_frame(encode_connect_ack("s1"))
    assert (ack.socket, ack.data) == (SocketType.CONNECT, {"sid": "s1"})
    assert parse_frame(encode_event("subfor", "EURUSD")).data == ["subfor", "EURUSD"]
