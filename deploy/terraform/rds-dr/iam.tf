# The least-privilege policy for pgdr in RDS mode: every AWS call pgdr makes and nothing
# else (tests/component/test_rds_api.py compares these actions with the calls the
# tests recorded, plus the permissions AWS checks on pgdr's behalf, each with its reason).
# Attach it to the role or user pgdr runs as (output pgdr_policy_arn).
locals {
  account  = data.aws_caller_identity.current.account_id
  db_arn   = "arn:aws:rds:${data.aws_region.primary.name}:${local.account}:db:${var.instance_identifier}"
  # pgdr names its snapshots pgdr-<instance>-<time> (in both regions) and deletes only those
  snapshots = "arn:aws:rds:*:${local.account}:snapshot:pgdr-${var.instance_identifier}-*"
}

data "aws_iam_policy_document" "pgdr" {
  #checkov:skip=CKV_AWS_356:only the four read-only Describe calls use "*": RDS authorizes a list call without an identifier (snapshots of both regions, export tasks) against "*"; every write names its resources
  statement {
    sid = "ReadState"
    # policy check, info, snapshot listing and waits: list calls without an identifier are
    # authorized against "*" by RDS
    actions = [
      "rds:DescribeDBInstances",
      "rds:DescribeDBInstanceAutomatedBackups",
      "rds:DescribeDBSnapshots",
      "rds:DescribeExportTasks",
    ]
    resources = ["*"]
  }
  statement {
    sid       = "PolicyApply"
    actions   = ["rds:ModifyDBInstance"]
    resources = [local.db_arn]
  }
  statement {
    sid     = "ReplicateAutomatedBackups"
    actions = ["rds:StartDBInstanceAutomatedBackupsReplication"]
    resources = [
      local.db_arn,
      "arn:aws:rds:${data.aws_region.dr.name}:${local.account}:auto-backup:*",
    ]
  }
  statement {
    sid = "ManualSnapshots"
    actions = [
      "rds:CreateDBSnapshot",
      "rds:CopyDBSnapshot",
      "rds:AddTagsToResource",
      "rds:DeleteDBSnapshot",
    ]
    resources = [local.db_arn, local.snapshots]
  }
  statement {
    sid       = "SnapshotExport"
    actions   = ["rds:StartExportTask"]
    resources = [local.snapshots]
  }
  statement {
    sid       = "PassExportRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.rds_export.arn]
  }
  statement {
    sid     = "KeysForCopiesAndExports"
    actions = ["kms:CreateGrant", "kms:DescribeKey"]
    resources = [aws_kms_key.primary.arn, aws_kms_key.dr.arn]
  }
  statement {
    sid       = "ExportsList"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.exports.arn]
  }
  statement {
    sid     = "ExportsNormalise"
    actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [
      "${aws_s3_bucket.exports.arn}/${var.exports_prefix}/*",
      "${aws_s3_bucket.exports.arn}/${var.exports_staging_prefix}/*",
    ]
  }
  statement {
    sid       = "AlertsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
  }
  dynamic "statement" {
    for_each = length(var.drill_password_secret_arns) > 0 ? [1] : []
    content {
      sid       = "DrillPassword"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = var.drill_password_secret_arns
    }
  }
}

resource "aws_iam_policy" "pgdr" {
  name        = "pgdr-rds-${var.instance_identifier}"
  description = "pgdr in RDS mode for ${var.instance_identifier}: least privilege"
  policy      = data.aws_iam_policy_document.pgdr.json
  tags        = var.tags
}
