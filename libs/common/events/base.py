"""The one frozen base every event derives from."""
from __future__ import annotations

import time
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, model_validator

from libs.common.identifiers import new_id

# Decimals travel as strings (never binary floats) and are parsed back exactly.
Money = Annotated[Decimal, PlainSerializer(lambda d: str(d), return_type=str, when_used="json")]


class Record(BaseModel):
    """An immutable value nested inside events."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Event(BaseModel):
    """Base event: ids, ns timestamps, causal chain, schema version and a `kind` tag."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    schema_version: int = 1
    event_id: str = Field(default_factory=lambda: new_id("evt"))
    ts_event: int = Field(ge=0, description="ns since epoch when it happened at the source")
    ts_init: int = Field(default_factory=time.time_ns, ge=0, description="ns when created here")
    correlation_id: str = ""
    causation_id: str | None = None

    # Each subclass states the schema versions it can read.
    SUPPORTED_VERSIONS: ClassVar[frozenset[int]] = frozenset({1})

    @model_validator(mode="before")
    @classmethod
    def _default_correlation(cls, data: Any) -> Any:
        # The first message of a chain is its own correlation root.
        if isinstance(data, dict) and not data.get("correlation_id"):
            data = dict(data)
            data.setdefault("event_id", new_id("evt"))
            data["correlation_id"] = data["event_id"]
        return data

    @model_validator(mode="after")
    def _check_version(self) -> Event:
        if self.schema_version not in self.SUPPORTED_VERSIONS:
            raise ValueError(
                f"{self.kind} schema_version {self.schema_version} not supported "
                f"(known: {sorted(self.SUPPORTED_VERSIONS)})"
            )
        return self

    def caused(self) -> dict[str, Any]:
        """Fields that tie a new event to this one as its cause."""
        return {"correlation_id": self.correlation_id, "causation_id": self.event_id}
