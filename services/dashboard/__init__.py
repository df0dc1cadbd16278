"""The dashboard: a read-only view of the streams, a WebSocket feed and the kill switch."""
