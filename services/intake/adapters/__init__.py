"""File adapters: recorded venue files in, typed raw records out."""
