# The least-privilege policy for `pgdr drill --rds` and `pgdr drill cleanup --rds`: a
# point-in-time restore of the instance into an ephemeral pgdr-drill-* instance, waiting for
# it, lifting a copied deletion protection, deleting it (docs/design.md §8d "RDS drills").
# tests/pg/test_drill_rds.py compares these actions with the RDS calls the drill tests made
# (moto's recorded requests) plus the implied tagging. Attach it beside the pgdr policy to
# the role that runs drills (output pgdr_drill_policy_arn); the drill's password is read
# under the pgdr policy's DrillPassword statement.
locals {
  drill_instances = "arn:aws:rds:${data.aws_region.primary.name}:${local.account}:db:pgdr-drill-*"
}

data "aws_iam_policy_document" "pgdr_drill" {
  #checkov:skip=CKV_AWS_356:only the two read-only Describe calls use "*": a drill lists instances without an identifier to find the leftovers of killed drills, which RDS authorizes against "*"; every write names its resources
  statement {
    sid = "DrillReadState"
    actions = [
      "rds:DescribeDBInstances",
      "rds:DescribeDBInstanceAutomatedBackups",
    ]
    resources = ["*"]
  }
  statement {
    sid     = "DrillRestore"
    actions = ["rds:RestoreDBInstanceToPointInTime"]
    # the source instance, the new drill instance, and the groups the restore puts it in
    resources = [
      local.db_arn,
      local.drill_instances,
      "arn:aws:rds:${data.aws_region.primary.name}:${local.account}:subgrp:*",
      "arn:aws:rds:${data.aws_region.primary.name}:${local.account}:og:*",
      "arn:aws:rds:${data.aws_region.primary.name}:${local.account}:pg:*",
    ]
  }
  statement {
    sid = "DrillInstanceOnly"
    actions = [
      "rds:ModifyDBInstance",
      "rds:DeleteDBInstance",
      "rds:AddTagsToResource",
    ]
    resources = [local.drill_instances]
  }
}

resource "aws_iam_policy" "pgdr_drill" {
  name        = "pgdr-rds-drill-${var.instance_identifier}"
  description = "pgdr RDS drills of ${var.instance_identifier}: restore into, and delete, pgdr-drill-* instances only"
  policy      = data.aws_iam_policy_document.pgdr_drill.json
  tags        = var.tags
}

output "pgdr_drill_policy_arn" {
  description = "Attach beside pgdr_policy_arn to the role that runs `pgdr drill --rds`."
  value       = aws_iam_policy.pgdr_drill.arn
}
