"""One audit entry (§8g) for a command whose change is made by the time it records it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pgdr.cli.context import CliContext

if TYPE_CHECKING:
    from pgdr.repo.repository import Repository


def audit_done(
    cli: CliContext, action: str, details: dict[str, object], repo: Repository | None = None
) -> None:
    """One entry in the configured repository's audit log (§8g) for a command that
    changed something (``repo``: one the command already opened). The change is made by
    then: a repository that cannot be opened, or none configured, is a warning naming why,
    never a failure of the command."""
    from pgdr import audit
    from pgdr.cli.repo_target import open_repository
    from pgdr.errors import PgdrError

    if repo is not None:
        audit.record(repo, action, details)
        return
    try:
        repo = open_repository(cli.target())
    except PgdrError as e:
        cli.err.print(f"pgdr: warning: {action} done but not audited: {e.message}")
        return
    try:
        audit.record(repo, action, details)
    finally:
        repo.close()
