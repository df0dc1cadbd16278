"""Shared contract of Trifecta: events, enums, stream names, bus and service runner."""
