"""Pure scanner logic: fees, book walks, indicators and the two scanners. No I/O, no wall clock."""
