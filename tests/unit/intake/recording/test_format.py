"""The trifecta-rec line and header codec."""
from __future__ import annotations

import pytest

from services.intake.recording.format import (
    FORMAT_NAME,
    HeaderInvalid,
    LineInvalid,
    decode_line,
    encode_line,
    new_header,
    parse_header,
)


@pytest.mark.parametrize("payload", [
    '{"stream":"btcusdt@depth","data":{"e":"depthUpdate"}}',
    "two\nlines\r\nand CR",
    "!starts with the escape mark",
    "",
    "unicode ✓ payload",
    b"\xff\xfe not utf-8 \x00",
    b'{"bytes": "that are utf-8"}',
])
def test_payloads_round_trip_exactly(payload: str | bytes) -> None:
    line = encode_line(1_661_123_517_853_288_000, "ws:1", payload)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    decoded = decode_line(line[:-1])
    assert decoded.ts_recv == 1_661_123_517_853_288_000
    assert decoded.source == "ws:1"
    expected: str | bytes = payload
    if isinstance(payload, bytes):
        try:
            expected = payload.decode("utf-8")  # text frames come back as text
        except UnicodeDecodeError:
            expected = payload  # binary frames come back as the same bytes
    assert decoded.payload == expected


def test_plain_json_payload_is_written_verbatim_like_hftbacktest_plus_a_source() -> None:
    assert encode_line(5, "ws", '{"a":1}') == b'5 ws {"a":1}\n'


@pytest.mark.parametrize("ts, source", [(-1, "ws"), (1.5, "ws"), (1, "has space"), (1, "")])
def test_encode_rejects_bad_timestamps_and_sources(ts: object, source: str) -> None:
    with pytest.raises(ValueError):
        encode_line(ts, source, "x")  # type: ignore[arg-type]


@pytest.mark.parametrize("raw, reason", [
    (b"no-spaces", "expected"),
    (b"12a ws {}", "not a non-negative integer"),
    ("\u00b2\u00b3 ws {}".encode(), "not a non-negative integer"),
    (b"12 ws", "expected"),
    (b'12 ws !{"b64": "%%%"}', "base64"),
    (b"12 ws !not json", "not JSON"),
    (b"12 ws !42", "JSON string"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_malformed_lines_say_why(raw: bytes, reason: str) -> None:
    with pytest.raises(LineInvalid, match=reason):
        decode_line(raw)


def test_header_round_trips_and_names_the_format() -> None:
    h = new_header("POLONIEX", ["book_lv2:BTC_USDT"], 123, session="rec-1", part=2)
    line = h.encode()
    assert line.startswith(b'{"format":"trifecta-rec","version":1,"venue":"POLONIEX"')
    back = parse_header(line)
    assert back == h and back.format == FORMAT_NAME


@pytest.mark.parametrize("line, reason", [
    (b"not json", "not JSON"),
    (b'{"format":"other","version":1}', "format is not"),
    (b'{"format":"trifecta-rec","version":2,"venue":"X","recorded_at_ns":1}', "version 2"),
    (b'{"format":"trifecta-rec","version":1,"recorded_at_ns":1}', "venue"),
    (b'{"format":"trifecta-rec","version":1,"venue":"X","recorded_at_ns":-5}', "recorded_at_ns"),
])
def test_bad_headers_are_refused_with_the_reason(line: bytes, reason: str) -> None:
    with pytest.raises(HeaderInvalid, match=reason):
        parse_header(line)


def test_unknown_header_fields_are_ignored_for_forward_compatibility() -> None:
    h = parse_header(b'{"format":"trifecta-rec","version":1,"venue":"OKX","channels":[],'
                     b'"recorded_at_ns":7,"added_later":true}')
    assert h.venue == "OKX" and h.recorded_at_ns == 7
