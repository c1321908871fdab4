"""Who may read the application's secrets: IAM statements as plain functions.

Secrets are named, not referenced by ARN: an ARN ends in six random characters that Secrets
Manager adds at creation, so policies written before the secret exists match
``<name>-??????``, which matches that one name and no longer one (AWS's documented pattern
for naming a secret in a policy).
"""

from __future__ import annotations

from collections.abc import Sequence

SECRET_ARN_SUFFIX = "-??????"
"""Secrets Manager appends ``-`` and six random characters to every secret's ARN."""


def secret_arn_pattern(region: str, account_id: str, name: str) -> str:
    """``arn:aws:secretsmanager:us-east-1:123456789012:secret:ftw-prod-app/openai-??????``."""
    return f"arn:aws:secretsmanager:{region}:{account_id}:secret:{name}{SECRET_ARN_SUFFIX}"


def secret_reader_statements(
    *, region: str, account_id: str, secret_names: Sequence[str], kms_key_arns: Sequence[str], sid: str = "OwnSecrets"
) -> list[dict[str, object]]:
    """Read exactly ``secret_names``, and decrypt them with their keys through Secrets Manager only.

    ``kms:Decrypt`` carries two conditions: the call comes through Secrets Manager in this
    region (``kms:ViaService``), and the encryption context names one of these secrets
    (Secrets Manager passes ``SecretARN`` in every KMS call it makes for a secret). So the
    grant on a shared key (the cache key also encrypts the cache's data) opens nothing else.
    """
    if not secret_names:
        return []
    patterns = sorted(secret_arn_pattern(region, account_id, name) for name in set(secret_names))
    statements: list[dict[str, object]] = [
        {
            "Sid": f"Read{sid}",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            "Resource": patterns,
        }
    ]
    if kms_key_arns:
        statements.append(
            {
                "Sid": f"Decrypt{sid}",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": sorted(set(kms_key_arns)),
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"},
                    "StringLike": {"kms:EncryptionContext:SecretARN": patterns},
                },
            }
        )
    return statements
