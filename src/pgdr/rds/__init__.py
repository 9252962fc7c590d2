"""RDS mode: pgdr driving an Amazon RDS for PostgreSQL instance through the AWS APIs
(docs/design.md §8l) — its backup policy, manual snapshots and their cross-region copies, the
PITR window, and snapshot exports. ``client`` is the one place boto3 is called from."""
