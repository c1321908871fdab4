"""The scaleplan security pack: every rule mandatory unless a stack's policy config says otherwise."""

from pulumi_policy import EnforcementLevel, PolicyPack
from scaleplan_security import POLICIES  # type: ignore[import-not-found]

PolicyPack(
    name="scaleplan-security",
    description="scaleplan security baseline",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
)
