"""The `trifecta` command: run the whole pipeline on one machine, summarise a run."""
