variable "instance_identifier" {
  description = "The RDS for PostgreSQL instance pgdr protects ([rds] instance)."
  type        = string
}

variable "create_instance" {
  description = "Create the instance here (true), or manage the backup settings of an existing one imported with `terraform import 'module.rds_dr.aws_db_instance.this[0]' ID` (also true); false: leave the instance to another stack and only build the DR pieces."
  type        = bool
  default     = false
}

variable "instance" {
  description = "Settings used when create_instance is true."
  type = object({
    instance_class       = optional(string, "db.t4g.medium")
    engine_version       = optional(string, "15")
    allocated_storage    = optional(number, 100)
    db_subnet_group_name = optional(string)
    security_group_ids   = optional(list(string), [])
    master_username      = optional(string, "postgres")
    parameter_group_name = optional(string)
    multi_az             = optional(bool, true)
  })
  default = {}
}

variable "backup_retention_days" {
  description = "Automated backups (point-in-time window), [rds.policy] retention_days."
  type        = number
  default     = 35
}

variable "backup_window" {
  description = "UTC, hh24:mi-hh24:mi, [rds.policy] backup_window."
  type        = string
  default     = "03:00-04:00"
}

variable "replicate_automated_backups" {
  description = "Replicate automated backups to the DR region ([rds.policy] replicate_automated_backups_to)."
  type        = bool
  default     = true
}

variable "exports_bucket_name" {
  description = "The exports bucket ([rds.exports] bucket, and [exports] url)."
  type        = string
}

variable "exports_prefix" {
  description = "[rds.exports] prefix: where normalised exports live."
  type        = string
  default     = "exports"
}

variable "exports_staging_prefix" {
  description = "[rds.exports] staging_prefix: where RDS writes before pgdr normalises."
  type        = string
  default     = "rds-export-staging"
}

variable "object_lock_mode" {
  description = "Object Lock default for the exports bucket: GOVERNANCE or COMPLIANCE."
  type        = string
  default     = "GOVERNANCE"
}

variable "object_lock_days" {
  description = "Default retention of every export object."
  type        = number
  default     = 365
}

variable "export_expiry_days" {
  description = "Exports are deleted after this many days (7 years)."
  type        = number
  default     = 2557
}

variable "free_storage_alarm_bytes" {
  description = "Alarm when the instance's free storage falls below this."
  type        = number
  default     = 10737418240
}

variable "pgdr_principal_arns" {
  description = "IAM roles/users that run pgdr: they get the pgdr policy attached by the caller, and may use the KMS keys."
  type        = list(string)
}

variable "tags" {
  description = "Tags on every resource (snapshots carry [rds.snapshots] tags as well)."
  type        = map(string)
  default     = {}
}

variable "drill_password_secret_arns" {
  description = "Secrets Manager secrets pgdr may read ([rds.drill] password_secret_arn)."
  type        = list(string)
  default     = []
}
