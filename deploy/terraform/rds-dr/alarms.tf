# Alerts of RDS mode, delivered to one SNS topic:
# - storage low: CloudWatch alarm on the instance's FreeStorageSpace (AWS measures it);
# - a snapshot, its cross-region copy or an automated backup failed: RDS's own failure
#   events, routed by EventBridge;
# - PITR lag (RPO) above 10 minutes, retention below policy, drill failed: AWS has no metric
#   for these — pgdr's daemon evaluates them (pitr lag = now - LatestRestorableTime) and
#   publishes to this topic through its `sns` notification channel ([notifications.X]
#   type = "sns", topic_arn = output sns_topic_arn), like every other pgdr alert.
resource "aws_sns_topic" "alerts" {
  name              = "pgdr-${var.instance_identifier}-alerts"
  kms_master_key_id = aws_kms_key.primary.arn
  tags              = var.tags
}

data "aws_iam_policy_document" "alerts_topic" {
  statement {
    sid       = "CloudWatchAndEventsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    }
  }
}

resource "aws_sns_topic_policy" "alerts" {
  arn    = aws_sns_topic.alerts.arn
  policy = data.aws_iam_policy_document.alerts_topic.json
}

resource "aws_cloudwatch_metric_alarm" "storage_low" {
  alarm_name          = "pgdr-${var.instance_identifier}-storage-low"
  alarm_description   = "pgdr storage_free_pgdata: the RDS instance's free storage is low"
  namespace           = "AWS/RDS"
  metric_name         = "FreeStorageSpace"
  dimensions          = { DBInstanceIdentifier = var.instance_identifier }
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "LessThanThreshold"
  threshold           = var.free_storage_alarm_bytes
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_event_rule" "rds_failures" {
  name        = "pgdr-${var.instance_identifier}-rds-failures"
  description = "pgdr snapshot_copy_failed / backup failures: RDS failure events of the instance and its snapshots"
  event_pattern = jsonencode({
    source        = ["aws.rds"]
    "detail-type" = ["RDS DB Instance Event", "RDS DB Snapshot Event"]
    detail = {
      EventCategories = ["failure"]
    }
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "rds_failures" {
  rule = aws_cloudwatch_event_rule.rds_failures.name
  arn  = aws_sns_topic.alerts.arn
}

# The same rule in the DR region: a failed copy is reported where the copy runs.
resource "aws_cloudwatch_event_rule" "rds_failures_dr" {
  provider      = aws.dr
  name          = "pgdr-${var.instance_identifier}-rds-failures"
  description   = "pgdr snapshot_copy_failed in the DR region"
  event_pattern = aws_cloudwatch_event_rule.rds_failures.event_pattern
  tags          = var.tags
}

resource "aws_cloudwatch_event_target" "rds_failures_dr" {
  provider = aws.dr
  rule     = aws_cloudwatch_event_rule.rds_failures_dr.name
  arn      = aws_sns_topic.alerts.arn
}
