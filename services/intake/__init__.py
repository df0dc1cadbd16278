"""Intake: replays recorded venue data and publishes market data events."""
