# pgdr's RDS disaster-recovery setup (docs/design.md §8l). Two AWS providers: the
# instance's region (default) and the DR region (alias "dr"), passed in by the caller:
#   module "rds_dr" {
#     source    = "./deploy/terraform/rds-dr"
#     providers = { aws = aws, aws.dr = aws.dr }
#     ...
#   }
terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source                = "hashicorp/aws"
      version               = ">= 5.40"
      configuration_aliases = [aws.dr]
    }
  }
}
