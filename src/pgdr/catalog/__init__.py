"""The typed catalog of what the repository holds for restores: backup manifests parsed and
validated once (``manifest``), read once per command by one loader (``load``), and the
archived WAL per timeline with storage times and timeline histories (``wal``). Every reader
of backups — restore, drill, retention, info, the daemon, the CLI — goes through it."""
