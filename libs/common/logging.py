"""Logging set-up: JSON lines when not on a TTY, one line per record, never a secret."""
from __future__ import annotations

import json
import logging
import re
import sys
import time

_SECRET = re.compile(r"(?i)(password|secret|api[_-]?key|token)=([^\s&]+)|(redis://[^:@/]*:)[^@]+@")


def _scrub(text: str) -> str:
    return _SECRET.sub(lambda m: (m.group(3) + "***@") if m.group(3) else f"{m.group(1)}=***",
                       text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": _scrub(record.getMessage()),
        }
        for key in ("event_id", "correlation_id", "stream", "entry_id"):
            if hasattr(record, key):
                doc[key] = getattr(record, key)
        if record.exc_info:
            doc["exc"] = _scrub(self.formatException(record.exc_info))
        return json.dumps(doc)


class TextFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__(f"%(asctime)s {service:<9} %(levelname)-7s %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        return _scrub(super().format(record))


def setup_logging(service: str, level: str = "INFO", json_lines: bool | None = None) -> None:
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service) if json_lines else TextFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
