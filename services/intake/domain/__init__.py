"""Pure intake logic: exact order books, bar building, replay ordering and pacing."""
