"""Operational evidence from measured facts (docs/design.md §8n): the runbook generated from
the config and the drill records, game days, the cost report and the compliance report.

An application beside the daemon and the web app: it reads the catalog, drill and game-day
records, the audit log, the retention policy and replica state, and no service imports it.
Every figure it prints comes from a record or a listing; where there is none it says so.
"""
