"""Every policy pack's settings for a phase, derived from the phase's own stack file.

The packs are judged against the file being checked, never against the committed
FairTradeWorker files: the offline plan, ``python -m infra.policy`` and the tests derive each
pack's ``--policy-pack-config`` from the stack file's validated ``PhaseConfig`` with
:func:`pack_settings`. ``policies/<pack>/config/<stack>.json`` are this module's output for
the stack files in the project root, committed only because ``pulumi preview
--policy-pack-config`` needs a file; a test keeps each equal to what its stack file derives.

``python -m infra.policy.settings [--stack-file F ...] [--check]`` regenerates them (every
``Pulumi.<stack>.yaml`` in the root and every ``transitions/<name>.yaml`` by default), or with
``--check`` lists the stale ones.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from infra.config import AcceptedRisk, PhaseConfig, PhaseConfigError
from infra.config.loader import load_stack_file
from infra.config.phases import PROJECT_ROOT, stack_files
from infra.cost.policy_config import cost_policy_config
from infra.platform.container_insights import NAMESPACE as CONTAINER_INSIGHTS_NAMESPACE

RDS_MULTI_AZ = "aws-rds-instance-require-multi-az"
RDS_BACKUP_RETENTION = "aws-rds-instance-require-backup-retention"
CACHE_FAILOVER = "aws-elasticache-replicationgroup-enable-automatic-failover"
CACHE_SNAPSHOT_RETENTION = "aws-elasticache-replicationgroup-require-snapshot-retention"
ZONE_RULESETS = "cloudflare-zone-require-rulesets"
LAUNCH_TEMPLATE_PUBLIC_IP = "aws-ec2-launchtemplate-disallow-public-ip"
SUBNET_PUBLIC_IP = "aws-ec2-subnet-disallow-public-ip-on-launch"
NAMESPACE_POD_SECURITY = "kubernetes-core-namespace-require-pod-security-level"

WAIVERS: Mapping[str, AcceptedRisk] = {
    RDS_MULTI_AZ: AcceptedRisk.SINGLE_AZ_DATABASE,
    CACHE_FAILOVER: AcceptedRisk.SINGLE_CACHE_NODE,
    # Without NAT, instances that reach the internet run in public subnets with public addresses.
    LAUNCH_TEMPLATE_PUBLIC_IP: AcceptedRisk.NO_NAT_GATEWAY,
    SUBNET_PUBLIC_IP: AcceptedRisk.NO_NAT_GATEWAY,
}
"""Security rule -> the one accepted risk that waives it. The pack holds the same table (each
waivable rule's ``acceptedRisk`` schema names its risk; a test keeps the two equal). Every
other rule, the controls that cost nothing among them, has no waiver."""

ACCEPTED_RISK = "acceptedRisk"


def waived_policies(config: PhaseConfig) -> dict[str, AcceptedRisk]:
    """The security rules this phase waives: those whose risk its stack file declares."""
    return {policy: risk for policy, risk in WAIVERS.items() if config.accepts(risk)}


def security_policy_config(config: PhaseConfig) -> dict[str, Any]:
    """Every security policy mandatory; the retention minimums come from the file's fields, and
    a relaxation rule is waived only where the file declares its risk under
    ``scaleplan:accepted_risks``.

    - automated backups are kept at least ``database.backup_retention_days`` (the schema's floor is 7);
    - cache snapshots are kept at least ``cache.snapshot_retention_days``;
    - a phase with Container Insights lets its namespace (``amazon-cloudwatch``) enforce the
      privileged pod security level, which the agent's host mounts need; no other namespace;
    - each rule of :data:`WAIVERS` whose risk is declared runs as advisory, naming the risk
      (``{"enforcementLevel": "advisory", "acceptedRisk": "<risk>"}``): still reported, no longer blocking.
    """
    settings: dict[str, Any] = {
        "all": "mandatory",
        RDS_BACKUP_RETENTION: {"minimumDays": config.database.backup_retention_days},
        # No cache, no cache settings: the rules then have no replication group to judge.
        **(
            {CACHE_SNAPSHOT_RETENTION: {"minimumDays": config.cache.snapshot_retention_days}}
            if config.cache is not None
            else {}
        ),
        # The pack requires a rate-limiting ruleset on the zone by default; a file that states no
        # scaleplan:edge.rate_limits has none to declare (an optional part, absent everywhere).
        **({ZONE_RULESETS: {"requiredPhases": []}} if not config.edge.rate_limits else {}),
        # Container Insights' agent needs host access in its own namespace only.
        **(
            {NAMESPACE_POD_SECURITY: {"hostAccessNamespaces": [CONTAINER_INSIGHTS_NAMESPACE]}}
            if config.eks is not None and config.eks.charts.container_insights is not None
            else {}
        ),
    }
    for policy, risk in waived_policies(config).items():
        settings[policy] = {"enforcementLevel": "advisory", ACCEPTED_RISK: risk.value}
    return settings


GENERATORS: Mapping[str, Callable[[PhaseConfig], dict[str, Any]]] = {
    "security": security_policy_config,
    "cost": cost_policy_config,
}
"""Pack directory name -> its settings for a phase. A pack not listed runs with its defaults."""


def pack_settings(config: PhaseConfig) -> dict[str, dict[str, Any]]:
    """Each pack's ``--policy-pack-config`` content for the phase, by pack directory name."""
    return {pack: generate(config) for pack, generate in GENERATORS.items()}


def render(settings: Mapping[str, Any]) -> str:
    """The text of a committed ``policies/<pack>/config/<stack>.json``."""
    return json.dumps(settings, indent=2, sort_keys=True) + "\n"


def committed_file(pack: str, stack: str, root: Path = PROJECT_ROOT) -> Path:
    return root / "policies" / pack / "config" / f"{stack}.json"


def committed_stack_files(root: Path = PROJECT_ROOT) -> dict[str, Path]:
    """Every stack file whose pack configs are committed: the plan's ``Pulumi.<stack>.yaml``
    and the generated files of the moves between phases (``transitions/<name>.yaml``, whose
    configs are ``policies/<pack>/config/<name>.json``)."""
    from infra.config.transitions import DIRECTORY  # noqa: PLC0415 - only the generator needs it

    transitions = sorted((root / DIRECTORY).glob("*.yaml"))
    return {**stack_files(root), **{path.stem: path for path in transitions}}


def expected_files(files: Mapping[str, Path], root: Path = PROJECT_ROOT) -> dict[Path, str]:
    """Every committed config file the stack files derive, with its expected text."""
    expected: dict[Path, str] = {}
    for stack, path in files.items():
        for pack, settings in pack_settings(load_stack_file(path)).items():
            expected[committed_file(pack, stack, root)] = render(settings)
    return expected


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.policy.settings", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stack-file",
        type=Path,
        action="append",
        default=[],
        dest="stack_files",
        help="a stack file Pulumi.<stack>.yaml (repeatable); default: every one in the project root and transitions/",
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a committed file is stale")
    args = parser.parse_args(argv)
    files: dict[str, Path] = {}
    for path in args.stack_files:
        if not (path.name.startswith("Pulumi.") and path.name.endswith(".yaml")):
            parser.error(f"{path}: a stack file is named Pulumi.<stack>.yaml, the stack name names its config files")
        files[path.name.removeprefix("Pulumi.").removesuffix(".yaml")] = path
    try:
        expected = expected_files(files or committed_stack_files())
    except PhaseConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    stale = [path for path, text in expected.items() if not path.is_file() or path.read_text() != text]
    for path in stale:
        shown = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path
        if args.check:
            print(f"{shown}: stale; regenerate with: uv run python -m infra.policy.settings", file=sys.stderr)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(expected[path])
            print(shown)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
