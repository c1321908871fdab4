"""Physical names for cloud resources, derived from the environment name.

Names come from the environment (``ftw-prod``), not the Pulumi stack, so a live environment
keeps every name when it is moved from one phase's stack file to the next. Each service has
its own length limit and alphabet; a name that would be too long is shortened with a stable
hash suffix rather than cut, so two long names never collide.
"""

from __future__ import annotations

import enum
import hashlib
import re


class Service(enum.Enum):
    """(max length, allowed character class) of each service's names, from its API reference."""

    ALB = (32, "a-z0-9-")
    TARGET_GROUP = (32, "a-z0-9-")
    RDS_IDENTIFIER = (63, "a-z0-9-")
    RDS_PARAMETER_GROUP = (255, "a-z0-9-")
    DB_SUBNET_GROUP = (255, "a-z0-9-")
    ELASTICACHE_REPLICATION_GROUP = (40, "a-z0-9-")
    ELASTICACHE_PARAMETER_GROUP = (255, "a-z0-9-")
    ELASTICACHE_SUBNET_GROUP = (255, "a-z0-9-")
    EKS_CLUSTER = (100, "a-z0-9-")
    EKS_NODE_GROUP = (63, "a-z0-9-")
    EKS_NODE_GROUP_PREFIX = (36, "a-z0-9-")
    """63 less the provider's 26-character unique suffix and the prefix's trailing dash."""
    IAM_ROLE = (64, "a-z0-9-")
    IAM_POLICY = (128, "a-z0-9-")
    INSTANCE_PROFILE = (128, "a-z0-9-")
    SECURITY_GROUP = (255, "a-z0-9-")
    LAUNCH_TEMPLATE = (128, "a-z0-9-")
    AUTOSCALING_GROUP = (255, "a-z0-9-")
    KMS_ALIAS = (250, "a-z0-9-/")
    SECRET = (512, "a-z0-9-/")
    LOG_GROUP = (512, "a-z0-9-/")
    SNS_TOPIC = (256, "a-z0-9-")
    S3_BUCKET = (63, "a-z0-9-")
    R2_BUCKET = (63, "a-z0-9-")
    CLOUDWATCH_ALARM = (255, "a-z0-9-")
    BUDGET = (100, "a-z0-9-")
    BACKUP = (50, "a-z0-9-")
    KUBERNETES = (63, "a-z0-9-")
    GENERIC = (255, "a-z0-9-")

    @property
    def max_length(self) -> int:
        return self.value[0]

    @property
    def allowed(self) -> str:
        return self.value[1]


_HASH_LENGTH = 6


def physical_name(environment: str, *parts: str, service: Service) -> str:
    """``physical_name("ftw-prod", "db", service=Service.RDS_IDENTIFIER)`` -> ``ftw-prod-db``."""
    raw = "-".join([environment, *parts]).lower()
    cleaned = re.sub(f"[^{service.allowed}]+", "-", raw).strip("-")
    cleaned = re.sub("-{2,}", "-", cleaned)
    if len(cleaned) <= service.max_length:
        return cleaned
    digest = hashlib.sha256(cleaned.encode()).hexdigest()[:_HASH_LENGTH]
    keep = service.max_length - _HASH_LENGTH - 1
    return f"{cleaned[:keep].rstrip('-')}-{digest}"
