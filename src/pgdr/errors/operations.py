"""Errors of drills, notifications, retention, replication, audit and the daemon
(exit codes 60-94)."""

from __future__ import annotations

from pgdr.errors.base import PgdrError


class DrillError(PgdrError):
    exit_code = 60
    kind = "drill"


class DrillFailed(DrillError):
    """A drill ran to the end and at least one check failed."""

    exit_code = 60
    kind = "drill-failed"


class DrillAborted(DrillError):
    """The drill could not get a running sandbox (restore, start or replay failed)."""

    exit_code = 61
    kind = "drill-aborted"


class SandboxError(DrillError):
    exit_code = 62
    kind = "sandbox"


class NotifyError(PgdrError):
    """A notification channel did not deliver (drills, later the daemon's alerts)."""

    exit_code = 63
    retryable = True
    kind = "notify"


class DrillNotFound(DrillError):
    exit_code = 64
    kind = "drill-not-found"


# --- retention and deletion protection -----------------------------------------------------


class RetentionError(PgdrError):
    exit_code = 80
    kind = "retention"


class ProtectedByRetention(RetentionError):
    """A delete of something the retention policy keeps (inside the window, the window's
    anchor, or a kept count), without --force."""

    exit_code = 80
    kind = "protected"


class ConfirmationRequired(RetentionError):
    """--force was given but not the typed confirmation (or a different one)."""

    exit_code = 81
    kind = "confirmation-required"


class BackupNotFound(RetentionError):
    exit_code = 82
    kind = "backup-not-found"


# --- replication and audit ------------------------------------------------------------------


class ReplicaMismatch(PgdrError):
    """The replication target holds another repository (or something that is not ours)."""

    exit_code = 85
    kind = "replica-mismatch"


class ReplicationIncomplete(PgdrError):
    """Replication copied what it could; some objects failed (damaged at the source,
    refused by the target). Running it again resumes."""

    exit_code = 86
    retryable = True
    kind = "replication-incomplete"


class AuditChainBroken(PgdrError):
    """The audit log's hash chain is broken: an entry was removed, reordered or edited."""

    exit_code = 87
    kind = "audit-broken"


# --- daemon ---------------------------------------------------------------------------------


class DaemonError(PgdrError):
    exit_code = 90
    kind = "daemon"


class AlertsFiring(DaemonError):
    """`pgdr status` found at least one warning alert firing (and no critical one)."""

    exit_code = 91
    kind = "alerts-firing"


class CriticalAlertsFiring(DaemonError):
    """`pgdr status` found at least one critical alert firing."""

    exit_code = 92
    kind = "critical-alerts-firing"


class DaemonAlreadyRunning(DaemonError):
    exit_code = 93
    retryable = True
    kind = "daemon-running"


class WebError(DaemonError):
    exit_code = 94
    kind = "web"
