"""Record venue traffic to `trifecta-rec` files and replay any recording through intake.

Public API (see README.md for the file format):

- `Recorder(directory, venue, channels, ...)`: write raw messages, rotating and flushing.
- `record_websocket(...)`, `record_adapter(...)`: capture sources for a Recorder.
- `replay(paths, speed, sink_or_publisher, ...) -> ReplaySummary`: the replay engine.
- `plan(paths, clock=...)`: which files a replay reads, by content, and which it leaves out.
- `RecordingPipeline`: records -> events, the pure core the engine drives.
- `Sink`, `RedisSink`, `MemorySink`: where replay output goes.
- `add_record_args` / `record_main`, `add_replay_args` / `replay_main`: the CLI.
"""
from __future__ import annotations

from services.intake.recording.capture import CaptureResult, record_adapter, record_websocket
from services.intake.recording.cli import (
    add_record_args,
    add_replay_args,
    record_main,
    replay_main,
)
from services.intake.recording.engine import FileReport, ReplaySummary, replay
from services.intake.recording.pipeline import RecordingPipeline
from services.intake.recording.readers import Plan, plan
from services.intake.recording.sinks import MemorySink, RedisSink, Sink
from services.intake.recording.writer import Recorder, RecorderStats

__all__ = [
    "CaptureResult", "FileReport", "MemorySink", "Plan", "Recorder", "RecorderStats",
    "RecordingPipeline", "RedisSink", "ReplaySummary", "Sink", "add_record_args",
    "add_replay_args", "plan", "record_adapter", "record_main", "record_websocket", "replay",
    "replay_main",
]
