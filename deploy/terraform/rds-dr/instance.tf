# The backup settings pgdr's policy checks ([rds.policy]; `pgdr rds policy check` reports
# any drift from them). For an existing instance, import it (see variables.tf) so these
# settings are managed here; everything else about it stays as it is.
resource "aws_db_instance" "this" {
  count = var.create_instance ? 1 : 0

  identifier                  = var.instance_identifier
  engine                      = "postgres"
  engine_version              = var.instance.engine_version
  instance_class              = var.instance.instance_class
  allocated_storage           = var.instance.allocated_storage
  db_subnet_group_name        = var.instance.db_subnet_group_name
  vpc_security_group_ids      = var.instance.security_group_ids
  parameter_group_name        = var.instance.parameter_group_name
  username                    = var.instance.master_username
  manage_master_user_password = true
  multi_az                    = var.instance.multi_az
  publicly_accessible         = false

  backup_retention_period    = var.backup_retention_days
  backup_window              = var.backup_window
  copy_tags_to_snapshot      = true
  deletion_protection        = true
  storage_encrypted          = true
  kms_key_id                 = aws_kms_key.primary.arn
  skip_final_snapshot        = false
  final_snapshot_identifier  = "${var.instance_identifier}-final"
  auto_minor_version_upgrade = true

  iam_database_authentication_enabled = true
  performance_insights_enabled        = true
  performance_insights_kms_key_id     = aws_kms_key.primary.arn
  monitoring_interval                 = 0
  enabled_cloudwatch_logs_exports     = ["postgresql"]

  #checkov:skip=CKV_AWS_118:enhanced monitoring needs a monitoring role this module does not own; pgdr's alarms use the standard CloudWatch metrics
  #checkov:skip=CKV2_AWS_30:query logging is a parameter-group choice of the database owner (var.instance.parameter_group_name), not a DR setting
  #checkov:skip=CKV2_AWS_69:TLS is enforced by rds.force_ssl in the caller's parameter group (var.instance.parameter_group_name)
  tags = var.tags
}

# Automated backups replicated to the DR region with the DR key (point-in-time restore
# there when the primary region is gone).
resource "aws_db_instance_automated_backups_replication" "dr" {
  count    = var.replicate_automated_backups && var.create_instance ? 1 : 0
  provider = aws.dr

  source_db_instance_arn = aws_db_instance.this[0].arn
  kms_key_id             = aws_kms_key.dr.arn
  retention_period       = var.backup_retention_days
}
