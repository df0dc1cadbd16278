"""Pure view-model code of the dashboard: no I/O, no wall clock."""
