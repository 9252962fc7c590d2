# One customer-managed key per region: a KMS key never leaves its region, so the DR copies
# of snapshots (and the replicated automated backups) need a key of their own there.
data "aws_caller_identity" "current" {}
data "aws_region" "primary" {}
data "aws_region" "dr" {
  provider = aws.dr
}

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_111:a key policy's resource "*" is the key itself; write access is limited to the account root and, through RDS/S3/SNS only (kms:ViaService), pgdr's principals
  #checkov:skip=CKV_AWS_356:a key policy's resource "*" is the key itself, not every key
  #checkov:skip=CKV_AWS_109:the account root administers its key (AWS's default key policy); without it the key becomes unmanageable
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  statement {
    sid = "PgdrUsesThroughRds"
    actions = [
      "kms:CreateGrant",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:GenerateDataKey*",
      "kms:ReEncrypt*",
    ]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = var.pgdr_principal_arns
    }
    condition {
      test     = "StringLike"
      variable = "kms:ViaService"
      values   = ["rds.*.amazonaws.com", "s3.*.amazonaws.com", "sns.*.amazonaws.com"]
    }
  }
  statement {
    sid       = "AlarmsAndEventsPublish"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "primary" {
  description             = "pgdr: ${var.instance_identifier} backups, snapshots and exports"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = var.tags
}

resource "aws_kms_alias" "primary" {
  name          = "alias/pgdr-${var.instance_identifier}"
  target_key_id = aws_kms_key.primary.key_id
}

resource "aws_kms_key" "dr" {
  provider                = aws.dr
  description             = "pgdr: ${var.instance_identifier} snapshot copies and replicated backups"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = var.tags
}

resource "aws_kms_alias" "dr" {
  provider      = aws.dr
  name          = "alias/pgdr-${var.instance_identifier}"
  target_key_id = aws_kms_key.dr.key_id
}
