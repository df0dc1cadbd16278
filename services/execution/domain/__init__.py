"""Pure execution logic: latency model, book walking, event-time paper venue. No I/O."""
