"""One error hierarchy for all of pgdr.

Every error carries a one-line message for the operator, the process exit code the CLI
uses for it, and whether retrying the same operation can help. The CLI maps errors to exit
codes in exactly one place (``pgdr.cli.main``); nothing else prints tracebacks.

    PgdrError (1)                          any other pgdr error
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
    │   ├── StorageFull (25)               ENOSPC, quota  [retryable]
    │   └── TransientStorageError (26)     5xx, throttling, reset connection  [retryable]
    ├── RepositoryError (30)               any other repository error
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
    ├── KeyProblem (40)                    any other key problem
    │   ├── WrongKey (41)                  passphrase/key file/KMS key does not open any slot
    │   ├── KeyMissing (42)                no key source configured or key file missing
    │   ├── KmsError (43)                  the KMS refused or failed
    │   ├── RepositoryIdentityChanged (44) repository id or master key differs from the local pin
    │   └── KdfOutOfBounds (45)            a key slot's KDF parameters are outside pgdr's bounds
    ├── PostgresError (50)                 any other PostgreSQL error
    │   ├── RecoveryTargetUnreachable (51) the target lies outside the recoverable window,
    │   │                                  or PostgreSQL ended recovery before reaching it
    │   ├── ServerExited (52)              the server pgdr started exited (its FATAL line)
    │   └── WalError (50)                  a malformed LSN, WAL name or timeline (pg.wal)
    │       └── TimelineHistoryError (50)  a malformed timeline history file (pg.timeline)
    ├── ClusterMismatch (55)               the cluster is not the one the repository belongs to
    ├── TableRestoreError (56)             the table cannot be restored as asked (restore table)
    │   ├── NoPrimaryKey (57)              --missing-rows on a table without a primary key
    │   ├── TableExists (58)               --as names a relation that exists in production
    │   │   └── DumpExists (58)            --dump names a file that exists
    │   └── RowConflict (59)               a missing row was refused by a constraint; none inserted
    ├── DrillError (60)                    any other drill error
    │   ├── DrillFailed (60)               a drill ran and a check failed
    │   ├── DrillAborted (61)              the drill could not restore/start the sandbox
    │   ├── SandboxError (62)              sandbox state dir unusable, leftovers not removable
    │   └── DrillNotFound (64)             no drill record with that id
    ├── NotifyError (63)                   a notification channel did not deliver  [retryable]
    ├── ExportError (65)                   any other export error
    │   ├── UnsafeExportManifest (66)      an export manifest breaks the format (path, type)
    │   ├── ExportDamaged (67)             `export verify` found damage (checksum, rows, schema,
    │   │                                  a missing part or _SUCCESS)
    │   └── ExportNotFound (68)            no export with that id
    ├── RetentionError (80)                any other retention error
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
    ├── AwsError (100)                     any other failed AWS API call (RDS mode)
    │   ├── AwsCredentialsMissing (101)    no AWS credentials in boto3's chain
    │   ├── AwsAccessDenied (102)          IAM refused the call (the action is named)
    │   ├── AwsNotFound (103)              no such instance, snapshot, export task or secret
    │   ├── AwsUnreachable (104)           endpoint unreachable, or throttled past retries  [retryable]
    │   └── AwsWaitTimeout (105)           a snapshot, copy or export did not finish in time  [retryable]
    ├── RdsPolicyDrift (106)               `pgdr rds policy check`: the instance drifts from policy
    ├── LifecyclePlanInvalid (110)         the export lifecycle plan breaks an S3 rule (named)
    ├── LifecycleDrift (111)               the exports bucket's lifecycle differs from the plan
    ├── ArchivedObjectsPending (112)       export files in Glacier/Deep Archive: restore
    │                                      requested, run again later  [retryable]
    ├── ExportTableExists (113)            `export restore`: the target table exists already
    ├── GamedayFailed (120)                a game day's recovery did not pass
    │   ├── ReplicaNotRestorable (121)     region failure: no, empty or stale replica
    │   ├── ObjectLockOff (122)            malicious deletion: no Object Lock covering the window
    │   └── RecoveryKeyUnreachable (123)   complete loss: the repository's key is not reachable
    └── Interrupted (130)                  interrupted (Ctrl-C)

The classes live in one module per subsystem (``base``, ``storage``, ``repository``, ``keys``,
``postgres``, ``operations``, ``surgical``, ``aws``, ``export``, ``export_read``); import them
from ``pgdr.errors``, which re-exports them all.
"""

from __future__ import annotations

from pgdr.errors.aws import (
    AwsAccessDenied,
    AwsCredentialsMissing,
    AwsError,
    AwsNotFound,
    AwsUnreachable,
    AwsWaitTimeout,
    RdsPolicyDrift,
)
from pgdr.errors.base import CheckFailed, ConfigError, Interrupted, PgdrError, UsageError
from pgdr.errors.evidence import (
    GamedayFailed,
    ObjectLockOff,
    RecoveryKeyUnreachable,
    ReplicaNotRestorable,
)
from pgdr.errors.export import (
    ExportDamaged,
    ExportError,
    ExportNotFound,
    UnsafeExportManifest,
)
from pgdr.errors.export_read import (
    ArchivedObjectsPending,
    ExportTableExists,
    LifecycleDrift,
    LifecyclePlanInvalid,
)
from pgdr.errors.keys import (
    KdfOutOfBounds,
    KeyMissing,
    KeyProblem,
    KmsError,
    RepositoryIdentityChanged,
    WrongKey,
)
from pgdr.errors.operations import (
    AlertsFiring,
    AuditChainBroken,
    BackupNotFound,
    ConfirmationRequired,
    CriticalAlertsFiring,
    DaemonAlreadyRunning,
    DaemonError,
    DrillAborted,
    DrillError,
    DrillFailed,
    DrillNotFound,
    NotifyError,
    ProtectedByRetention,
    ReplicaMismatch,
    ReplicationIncomplete,
    RetentionError,
    SandboxError,
    WebError,
)
from pgdr.errors.postgres import (
    ClusterMismatch,
    PostgresError,
    RecoveryTargetUnreachable,
    ServerExited,
)
from pgdr.errors.repository import (
    IntegrityError,
    NotARepository,
    RepositoryError,
    RepositoryExists,
    RepositoryLocked,
    UnsafeManifest,
    UnsupportedFormat,
    VerifyFailed,
    WalConflict,
    WalGap,
    WalMissing,
)
from pgdr.errors.storage import (
    ObjectExists,
    ObjectLocked,
    ObjectNotFound,
    StorageError,
    StorageFull,
    StoragePermissionDenied,
    StorageUnreachable,
    TransientStorageError,
)
from pgdr.errors.surgical import (
    DumpExists,
    NoPrimaryKey,
    RowConflict,
    TableExists,
    TableRestoreError,
)

__all__ = [
    "AlertsFiring",
    "ArchivedObjectsPending",
    "AuditChainBroken",
    "AwsAccessDenied",
    "AwsCredentialsMissing",
    "AwsError",
    "AwsNotFound",
    "AwsUnreachable",
    "AwsWaitTimeout",
    "BackupNotFound",
    "CheckFailed",
    "ClusterMismatch",
    "ConfigError",
    "ConfirmationRequired",
    "CriticalAlertsFiring",
    "DaemonAlreadyRunning",
    "DaemonError",
    "DrillAborted",
    "DrillError",
    "DrillFailed",
    "DrillNotFound",
    "DumpExists",
    "ExportDamaged",
    "ExportError",
    "ExportNotFound",
    "ExportTableExists",
    "GamedayFailed",
    "IntegrityError",
    "Interrupted",
    "KdfOutOfBounds",
    "KeyMissing",
    "KeyProblem",
    "KmsError",
    "LifecycleDrift",
    "LifecyclePlanInvalid",
    "NoPrimaryKey",
    "NotARepository",
    "NotifyError",
    "ObjectExists",
    "ObjectLockOff",
    "ObjectLocked",
    "ObjectNotFound",
    "PgdrError",
    "PostgresError",
    "ProtectedByRetention",
    "RdsPolicyDrift",
    "RecoveryKeyUnreachable",
    "RecoveryTargetUnreachable",
    "ReplicaMismatch",
    "ReplicaNotRestorable",
    "ReplicationIncomplete",
    "RepositoryError",
    "RepositoryExists",
    "RepositoryIdentityChanged",
    "RepositoryLocked",
    "RetentionError",
    "RowConflict",
    "SandboxError",
    "ServerExited",
    "StorageError",
    "StorageFull",
    "StoragePermissionDenied",
    "StorageUnreachable",
    "TableExists",
    "TableRestoreError",
    "TransientStorageError",
    "UnsafeExportManifest",
    "UnsafeManifest",
    "UnsupportedFormat",
    "UsageError",
    "VerifyFailed",
    "WalConflict",
    "WalGap",
    "WalMissing",
    "WebError",
    "WrongKey",
]
