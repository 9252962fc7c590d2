"""Replication to a second repository (docs/design.md §8f)."""
