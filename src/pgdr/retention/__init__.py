"""Retention: which backups and WAL to keep, expiring the rest, deletion protection."""
