"""Local stand-ins for venues that cannot be reached from a test machine (fed recorded data)."""
