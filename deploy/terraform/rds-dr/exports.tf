# The exports bucket: versioned, Object Lock (WORM) by default, KMS-encrypted, TLS only,
# never public, with the reference policy's storage tiers: 30 days standard, then
# infrequent access, 90 days archive, 365 days deep archive, deleted after 7 years.
resource "aws_s3_bucket" "exports" {
  bucket              = var.exports_bucket_name
  object_lock_enabled = true
  tags                = var.tags

  #checkov:skip=CKV_AWS_144:the exports are a long-term archive of data whose primary copy (automated backups, snapshots) is already replicated to the DR region; a second bucket doubles the 7-year cost for a copy of a copy
  #checkov:skip=CKV_AWS_18:access logging needs a separate log bucket the caller's account may already have; enable it there
  #checkov:skip=CKV2_AWS_62:nothing consumes object events; pgdr records each export in its _manifest.json and _SUCCESS
}

resource "aws_s3_bucket_versioning" "exports" {
  bucket = aws_s3_bucket.exports.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_object_lock_configuration" "exports" {
  bucket = aws_s3_bucket.exports.id
  rule {
    default_retention {
      mode = var.object_lock_mode
      days = var.object_lock_days
    }
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "exports" {
  bucket = aws_s3_bucket.exports.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.primary.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "exports" {
  bucket                  = aws_s3_bucket.exports.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_lifecycle_configuration" "exports" {
  bucket = aws_s3_bucket.exports.id

  rule {
    id     = "export-tiers"
    status = "Enabled"
    filter {
      prefix = "${var.exports_prefix}/"
    }
    transition {
      days          = 30
      storage_class = "STANDARD_IA"
    }
    transition {
      days          = 90
      storage_class = "GLACIER"
    }
    transition {
      days          = 365
      storage_class = "DEEP_ARCHIVE"
    }
    expiration {
      days = var.export_expiry_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
  }

  rule {
    id     = "staging"
    status = "Enabled"
    filter {
      prefix = "${var.exports_staging_prefix}/"
    }
    # pgdr deletes what it normalised; this removes what a failed export left behind
    expiration {
      days = 14
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

data "aws_iam_policy_document" "exports_bucket" {
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.exports.arn, "${aws_s3_bucket.exports.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "exports" {
  bucket = aws_s3_bucket.exports.id
  policy = data.aws_iam_policy_document.exports_bucket.json
}

# The role RDS assumes to write a snapshot export ([rds.exports] iam_role_arn): the staging
# prefix only.
data "aws_iam_policy_document" "rds_export_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["export.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "rds_export" {
  name               = "pgdr-rds-export-${var.instance_identifier}"
  assume_role_policy = data.aws_iam_policy_document.rds_export_trust.json
  tags               = var.tags
}

data "aws_iam_policy_document" "rds_export" {
  statement {
    actions = [
      "s3:PutObject*",
      "s3:GetObject*",
      "s3:DeleteObject*",
    ]
    resources = ["${aws_s3_bucket.exports.arn}/${var.exports_staging_prefix}/*"]
  }
  statement {
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [aws_s3_bucket.exports.arn]
  }
}

resource "aws_iam_role_policy" "rds_export" {
  name   = "write-staging"
  role   = aws_iam_role.rds_export.id
  policy = data.aws_iam_policy_document.rds_export.json
}
