"""Restore as a chain of steps: plan (pure) -> materialize PGDATA -> recovery config -> start."""
