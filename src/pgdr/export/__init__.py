"""Long-term exports: consistent Parquet cuts of chosen tables with integrity manifests
(docs/design.md §8j), and the way back (§8k). ``manifest`` is the format, ``target`` where
exports live."""
