"""Long-term exports of tables to Parquet, and the way back (docs/design.md §8j)."""
