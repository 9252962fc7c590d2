"""The password pgdr logs in to a restored RDS instance with: ``[rds.drill] password`` (a
config secret reference) or ``password_secret_arn`` (AWS Secrets Manager: a JSON secret's
``password`` key, as RDS-managed and rotation secrets hold it, or the whole string)."""

from __future__ import annotations

import json

from pgdr.config_rds import RdsSettings
from pgdr.errors import ConfigError
from pgdr.rds.client import Aws


def drill_password(aws: Aws, s: RdsSettings) -> str:
    d = s.drill
    if d.password is not None:
        return d.password.resolve()
    arn = d.password_secret_arn
    if arn is None:
        raise ConfigError("[rds.drill] needs password or password_secret_arn to log in")
    region = arn.split(":")[3]
    value = aws.call("secretsmanager", region, "GetSecretValue", SecretId=arn).get("SecretString")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"secret {arn}: no string value")
    try:
        doc = json.loads(value)
    except ValueError:
        return value
    if isinstance(doc, dict):
        password = doc.get("password")
        if not isinstance(password, str) or not password:
            raise ConfigError(f'secret {arn}: its JSON has no "password" string')
        return password
    return value
