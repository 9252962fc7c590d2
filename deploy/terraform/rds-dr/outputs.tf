output "pgdr_policy_arn" {
  description = "Attach to the role or user pgdr runs as."
  value       = aws_iam_policy.pgdr.arn
}

output "kms_key_arn" {
  description = "[rds.exports] kms_key_id, and the instance's storage key when created here."
  value       = aws_kms_key.primary.arn
}

output "dr_kms_key_arn" {
  description = "[[rds.policy.copy_regions]] kms_key_id of the DR region."
  value       = aws_kms_key.dr.arn
}

output "dr_region" {
  description = "[[rds.policy.copy_regions]] region."
  value       = data.aws_region.dr.name
}

output "exports_bucket" {
  description = "[rds.exports] bucket."
  value       = aws_s3_bucket.exports.bucket
}

output "rds_export_role_arn" {
  description = "[rds.exports] iam_role_arn."
  value       = aws_iam_role.rds_export.arn
}

output "sns_topic_arn" {
  description = "topic_arn of pgdr's sns notification channel; CloudWatch and EventBridge publish here too."
  value       = aws_sns_topic.alerts.arn
}
