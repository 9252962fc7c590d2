"""WAL archiving: archive_command / restore_command into the repository."""
