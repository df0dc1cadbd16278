"""Execution service: turns approved intents into orders and fills (paper or venue)."""
