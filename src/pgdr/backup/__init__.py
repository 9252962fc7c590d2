"""Base backups: how PostgreSQL is told (session.py) and how files are copied (files.py)."""
