"""One error hierarchy for all of pgdr.

Every error carries a one-line message for the operator, the process exit code the CLI
uses for it, and whether retrying the same operation can help. The CLI maps errors to exit
codes in exactly one place (``pgdr.cli.main``); nothing else prints tracebacks.

    PgdrError (1)
    ├── UsageError (2)                     bad arguments
    │   └── BadWalFile (2)                 a file named as a WAL segment is not one (pg.wal_header)
    ├── ConfigError (2)                    bad configuration file or value
    ├── CheckFailed (3)                    `pgdr check` found a critical problem
    ├── StorageError (20)                  base of everything a backend raises
    │   ├── StorageUnreachable (21)        connection refused, DNS, timeouts  [retryable]
    │   ├── StoragePermissionDenied (22)   403 / EACCES
    │   ├── ObjectNotFound (23)            a key that should exist does not
    │   ├── ObjectLocked (24)              delete refused by Object Lock / WORM
    │   ├── ObjectExists (20)              put_new: the key is already taken, nothing replaced
    │   └── StorageFull (25)               ENOSPC, quota  [retryable]
    ├── RepositoryError (30)
    │   ├── NotARepository (31)            no pgdr repository at that location
    │   ├── RepositoryExists (32)          init on a location that already has one
    │   ├── UnsupportedFormat (33)         written by a newer pgdr
    │   ├── IntegrityError (34)            an object failed its checksum / authentication
    │   ├── RepositoryLocked (35)          a conflicting lock is held  [retryable]
    │   ├── VerifyFailed (36)              `repo verify` found damage
    │   ├── WalConflict (37)               a WAL file is archived with different content
    │   ├── WalMissing (38)                a backup's WAL did not arrive: the backup is unusable
    │   ├── WalGap (38)                    archived WAL cannot reach the restore target
    │   └── UnsafeManifest (39)            a manifest names a path restore must not write
    ├── KeyProblem (40)
    │   ├── WrongKey (41)                  passphrase/key file/KMS key does not open any slot
    │   ├── KeyMissing (42)                no key source configured or key file missing
    │   ├── KmsError (43)                  the KMS refused or failed
    │   ├── RepositoryIdentityChanged (44) repository id or master key differs from the local pin
    │   └── KdfOutOfBounds (45)            a key slot's KDF parameters are outside pgdr's bounds
    ├── PostgresError (50)
    │   ├── RecoveryTargetUnreachable (51) the target lies outside the recoverable window,
    │   │                                  or PostgreSQL ended recovery before reaching it
    │   └── ServerExited (52)              the server pgdr started exited (its FATAL line)
    ├── ClusterMismatch (55)               the cluster is not the one the repository belongs to
    ├── DrillError (60)
    │   ├── DrillFailed (60)               a drill ran and a check failed
    │   ├── DrillAborted (61)              the drill could not restore/start the sandbox
    │   ├── SandboxError (62)              sandbox state dir unusable, leftovers not removable
    │   └── DrillNotFound (64)             no drill record with that id
    ├── NotifyError (63)                   a notification channel did not deliver  [retryable]
    ├── RetentionError (80)
    │   ├── ProtectedByRetention (80)   deleting what the retention policy keeps, without --force
    │   ├── ConfirmationRequired (81)   --force without the typed confirmation (or it differs)
    │   └── BackupNotFound (82)         no backup with that id
    ├── ReplicaMismatch (85)               replication target holds another repository
    ├── ReplicationIncomplete (86)         some objects could not be copied (named)  [retryable]
    ├── AuditChainBroken (87)              `pgdr audit --verify` found a removed/edited entry
    ├── DaemonError (90)                   `pgdr serve` cannot run
    │   ├── AlertsFiring (91)              `pgdr status`: a warning alert is firing
    │   ├── CriticalAlertsFiring (92)      `pgdr status`: a critical alert is firing
    │   ├── DaemonAlreadyRunning (93)      another daemon holds the state directory
    │   └── WebError (94)                  the dashboard cannot listen where configured
    └── Interrupted (130)
"""

from __future__ import annotations


class PgdrError(Exception):
    """Base of every error pgdr reports to an operator."""

    exit_code: int = 1
    retryable: bool = False
    #: Short machine-readable name used in --json output.
    kind: str = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(PgdrError):
    exit_code = 2
    kind = "usage"


class ConfigError(PgdrError):
    exit_code = 2
    kind = "config"


class CheckFailed(PgdrError):
    """`pgdr check` found a critical problem in the archive chain."""

    exit_code = 3
    kind = "check-failed"


# --- storage -------------------------------------------------------------------------------


class StorageError(PgdrError):
    exit_code = 20
    kind = "storage"


class StorageUnreachable(StorageError):
    exit_code = 21
    retryable = True
    kind = "storage-unreachable"


class StoragePermissionDenied(StorageError):
    exit_code = 22
    kind = "permission-denied"


class ObjectNotFound(StorageError):
    exit_code = 23
    kind = "not-found"


class ObjectLocked(StorageError):
    exit_code = 24
    kind = "object-locked"


class ObjectExists(StorageError):
    """``put_new`` found the key already taken: the existing object was left as it was."""

    kind = "object-exists"


class StorageFull(StorageError):
    exit_code = 25
    retryable = True
    kind = "storage-full"


class TransientStorageError(StorageError):
    """A backend hiccup (5xx, throttling, reset connection) worth retrying."""

    exit_code = 26
    retryable = True
    kind = "storage-transient"


# --- repository ----------------------------------------------------------------------------


class RepositoryError(PgdrError):
    exit_code = 30
    kind = "repository"


class NotARepository(RepositoryError):
    exit_code = 31
    kind = "not-a-repository"


class RepositoryExists(RepositoryError):
    exit_code = 32
    kind = "repository-exists"


class UnsupportedFormat(RepositoryError):
    exit_code = 33
    kind = "unsupported-format"


class IntegrityError(RepositoryError):
    """An object failed authentication or its checksum. Never returns wrong bytes."""

    exit_code = 34
    kind = "integrity"


class RepositoryLocked(RepositoryError):
    exit_code = 35
    retryable = True
    kind = "locked"


class VerifyFailed(RepositoryError):
    exit_code = 36
    kind = "verify-failed"


class WalConflict(RepositoryError):
    exit_code = 37
    kind = "wal-conflict"


class WalMissing(RepositoryError):
    exit_code = 38
    kind = "wal-missing"


class WalGap(RepositoryError):
    exit_code = 38
    kind = "wal-gap"


class UnsafeManifest(RepositoryError):
    """A manifest names an entry a restore must not create (absolute, ``..``, a link where
    PostgreSQL has none, a setuid mode ...): forged or damaged. Nothing was written."""

    exit_code = 39
    kind = "unsafe-manifest"


# --- keys ----------------------------------------------------------------------------------


class KeyProblem(PgdrError):
    exit_code = 40
    kind = "key"


class WrongKey(KeyProblem):
    exit_code = 41
    kind = "wrong-key"


class KeyMissing(KeyProblem):
    exit_code = 42
    kind = "key-missing"


class KmsError(KeyProblem):
    exit_code = 43
    kind = "kms"


class RepositoryIdentityChanged(KeyProblem):
    """The repository id or the fingerprint of its master key differs from what this host
    pinned on first use (docs/design.md §5): a replaced repository is never used silently.
    `pgdr repo trust` accepts a legitimately new one."""

    exit_code = 44
    kind = "identity-changed"


class KdfOutOfBounds(KeyProblem):
    """A key slot asks for KDF parameters outside pgdr's bounds (damaged or forged): refused
    before the KDF runs, so a planted slot cannot make every open slow or memory-hungry."""

    exit_code = 45
    kind = "kdf-out-of-bounds"


# --- PostgreSQL ----------------------------------------------------------------------------


class PostgresError(PgdrError):
    exit_code = 50
    kind = "postgres"


class RecoveryTargetUnreachable(PostgresError):
    """A restore target the archived WAL cannot reach: refused while planning (a time in the
    future or after the newest archived WAL, an LSN past its end), or PostgreSQL's own
    "recovery ended before configured recovery target was reached"."""

    exit_code = 51
    kind = "target-unreachable"


class ServerExited(PostgresError):
    """A server pgdr started (restore --start, a drill sandbox) exited while pgdr waited for
    it; the message carries its FATAL/PANIC line from the server log."""

    exit_code = 52
    kind = "server-exited"


class ClusterMismatch(PgdrError):
    """A cluster other than the one whose system identifier the repository recorded tried
    to archive WAL into it, back up into it, or be checked against it."""

    exit_code = 55
    kind = "cluster-mismatch"


# --- drills and notifications ---------------------------------------------------------------


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


class Interrupted(PgdrError):
    exit_code = 130
    kind = "interrupted"
