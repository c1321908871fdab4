"""A phase's architecture as a Mermaid flowchart, drawn from the resources the plan captured.

Nothing here is drawn by hand per phase: each box exists because resources of its kind were
captured, and its label counts them (two read replicas, three node pools, 38 alarms). The
request path runs left to right: users -> Cloudflare -> load balancer -> compute ->
PgBouncer -> PostgreSQL, with the cache, secrets, media buckets and alerts beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Entry = Mapping[str, Any]
"""A captured resource as :func:`infra.review.plan_capture.snapshot_entries` writes it."""


def _of(entries: Sequence[Entry], type_token: str) -> list[Entry]:
    return [e for e in entries if e["type"] == type_token]


def _names(entries: Sequence[Entry], prefix: str) -> str:
    """Logical names without their component's prefix: ``node-pools-base`` -> ``base``."""
    return ", ".join(str(e["name"]).removeprefix(prefix) for e in entries)


def _primaries(entries: Sequence[Entry]) -> list[Entry]:
    return [e for e in _of(entries, "aws:rds/instance:Instance") if not e["inputs"].get("replicateSourceDb")]


def _replicas(entries: Sequence[Entry]) -> list[Entry]:
    return [e for e in _of(entries, "aws:rds/instance:Instance") if e["inputs"].get("replicateSourceDb")]


def _pgbouncer(entries: Sequence[Entry]) -> list[Entry]:
    return [e for e in _of(entries, "kubernetes:apps/v1:Deployment") if "pgbouncer" in str(e["name"])]


def _cloudflare(entries: Sequence[Entry]) -> list[Entry]:
    return [
        e
        for e in entries
        if e["type"].startswith("cloudflare:") and "r2" not in e["type"].lower() and "Tunnel" not in e["type"]
    ]


def _count(label: str, found: Sequence[Entry]) -> str:
    return f"{len(found)} {label}" if len(found) != 1 else f"1 {label.removesuffix('s')}"


@dataclass(frozen=True)
class Box:
    """One box of the diagram: shown when ``select`` finds resources, labelled from them."""

    id: str
    select: Callable[[Sequence[Entry]], list[Entry]]
    label: Callable[[list[Entry]], str]
    components: tuple[str, ...]
    """The program's component types drawn by this box (each must be drawn by some box)."""
    shape: str = "[{}]"


BOXES: tuple[Box, ...] = (
    Box("users", lambda es: list(es[:1]), lambda _: "Users", (), "(({}))"),
    Box(
        "edge",
        _cloudflare,
        lambda found: f"Cloudflare zone: {len(found)} settings, rulesets and records",
        ("scaleplan:edge:Edge",),
    ),
    Box(
        "r2",
        lambda es: _of(es, "cloudflare:index/r2Bucket:R2Bucket"),
        lambda found: f"R2 buckets: {_names(found, 'edge-')}",
        (),
        "[({})]",
    ),
    Box(
        "alb",
        lambda es: _of(es, "aws:lb/loadBalancer:LoadBalancer"),
        lambda found: "Application Load Balancer (HTTPS)",
        ("scaleplan:compute:LoadBalancer", "scaleplan:compute:ApplicationSecurityGroups"),
    ),
    Box(
        "tunnel",
        lambda es: _of(es, "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared"),
        lambda found: "Cloudflare Tunnel (no inbound port)",
        ("scaleplan:edge:OriginTunnel",),
    ),
    Box(
        "asg",
        lambda es: _of(es, "aws:autoscaling/group:Group"),
        lambda found: f"EC2 Auto Scaling: {_count('groups', found)}",
        ("scaleplan:compute:ApplicationAutoScaling",),
    ),
    Box(
        "eks",
        lambda es: _of(es, "aws:eks/nodeGroup:NodeGroup"),
        lambda found: f"EKS node pools: {_names(found, 'node-pools-')}",
        (
            "scaleplan:compute:EksCluster",
            "scaleplan:compute:NodePools",
            "scaleplan:compute:ClusterAddons",
            "scaleplan:platform:Platform",
            "scaleplan:platform:ContainerInsights",
            "scaleplan:platform:ApplicationScaling",
        ),
    ),
    Box(
        "pgbouncer",
        _pgbouncer,
        lambda found: f"PgBouncer: {_names(found, 'pgbouncer-')}",
        ("scaleplan:database:PgBouncer",),
    ),
    Box(
        "primary",
        _primaries,
        lambda found: "RDS PostgreSQL primary" + (" (Multi-AZ)" if found[0]["inputs"].get("multiAz") else ""),
        ("scaleplan:database:Postgres",),
        "[({})]",
    ),
    Box("replicas", _replicas, lambda found: f"{_count('read replicas', found)}", (), "[({})]"),
    Box(
        "cache",
        lambda es: _of(es, "aws:elasticache/replicationGroup:ReplicationGroup"),
        lambda found: f"ElastiCache {found[0]['inputs'].get('engine', '')}".rstrip(),
        ("scaleplan:cache:Cache",),
        "[({})]",
    ),
    Box(
        "secrets",
        lambda es: _of(es, "aws:secretsmanager/secret:Secret"),
        lambda found: f"Secrets Manager: {_count('secrets', found)}",
        (
            "scaleplan:secrets:ApplicationSecrets",
            "scaleplan:secrets:ApplicationSecretsSync",
            "scaleplan:database:ApplicationDatabaseIdentity",
        ),
    ),
    Box(
        "keys",
        lambda es: _of(es, "aws:kms/key:Key"),
        lambda found: f"KMS: {_count('keys', found)}",
        ("scaleplan:security:PlatformKeys",),
    ),
    Box(
        "alarms",
        lambda es: _of(es, "aws:cloudwatch/metricAlarm:MetricAlarm"),
        lambda found: f"CloudWatch: {_count('alarms', found)}",
        ("scaleplan:observability:Operations",),
    ),
    Box(
        "alerts",
        lambda es: _of(es, "aws:sns/topic:Topic"),
        lambda found: f"SNS alerts: {_count('topics', found)}",
        (),
    ),
    Box(
        "backups",
        lambda es: _of(es, "aws:backup/vault:Vault"),
        lambda found: f"AWS Backup: {_count('vaults', found)}",
        (),
        "[({})]",
    ),
    Box(
        "network",
        lambda es: _of(es, "aws:ec2/vpc:Vpc"),
        lambda found: f"VPC {found[0]['inputs'].get('cidrBlock', '')}",
        ("scaleplan:network:Network",),
    ),
)


DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord"

EDGES: tuple[tuple[str, str, str], ...] = (
    ("users", "edge", "HTTPS"),
    ("edge", "alb", "proxied"),
    ("edge", "r2", "media CDN"),
    ("alb", "asg", ""),
    ("edge", "tunnel", "proxied"),
    ("tunnel", "asg", "cloudflared dials out"),
    ("alb", "eks", ""),
    ("asg", "primary", "SQL"),
    ("eks", "pgbouncer", ""),
    ("pgbouncer", "primary", "writes"),
    ("pgbouncer", "replicas", "reads"),
    ("primary", "replicas", "replication"),
    ("asg", "cache", ""),
    ("eks", "cache", ""),
    ("asg", "secrets", ""),
    ("eks", "secrets", ""),
    ("alarms", "alerts", ""),
    ("primary", "backups", "snapshots"),
)
"""(from, to, label): drawn when both ends are. A request from compute to PostgreSQL goes
through PgBouncer when the phase runs it, straight to the primary otherwise."""


def boxes_of(entries: Sequence[Entry]) -> dict[str, str]:
    """Box id -> label, for the boxes this set of resources has."""
    shown: dict[str, str] = {}
    for box in BOXES:
        found = box.select(entries)
        if found:
            shown[box.id] = box.label(found)
    return shown


def mermaid(entries: Sequence[Entry]) -> str:
    """The flowchart (Mermaid ``flowchart LR``) of the captured resources ``entries``."""
    shown = boxes_of(entries)
    shapes = {box.id: box.shape for box in BOXES}
    lines = ["flowchart LR"]
    lines += [f"  {box_id}{shapes[box_id].format(_quoted(label))}" for box_id, label in shown.items()]
    skip_direct_sql = "pgbouncer" in shown
    # Requests reach the load balancer through Cloudflare only where a proxied record points there.
    proxied = any(e["type"] == DNS_RECORD and e["inputs"].get("proxied") for e in entries)
    if "alb" in shown and not proxied:
        lines.append("  users -->|HTTPS, not proxied| alb")
    for source, target, label in EDGES:
        if (source, target) == ("edge", "alb") and not proxied:
            continue
        if source not in shown or target not in shown:
            continue
        if skip_direct_sql and (source, target) == ("asg", "primary"):
            continue
        arrow = f" -->|{label}| " if label else " --> "
        lines.append(f"  {source}{arrow}{target}")
    return "\n".join(lines)


def _quoted(label: str) -> str:
    return '"' + label.replace('"', "'") + '"'


def readme_block(phase: str, entries: Sequence[Entry]) -> str:
    """The README's architecture block of ``phase``, between its two markers."""
    return "\n".join(
        [
            f"<!-- architecture:{phase} (python -m infra.review chart) -->",
            "```mermaid",
            mermaid(entries),
            "```",
            f"<!-- /architecture:{phase} -->",
        ]
    )


def with_readme_blocks(readme: str, blocks: Mapping[str, str]) -> str:
    """``readme`` with each phase's architecture block replaced by ``blocks[phase]``.

    A phase without a block yet gets one appended at the end of the file: move it where it
    belongs, the next run replaces it in place."""
    for phase, block in blocks.items():
        start = readme.find(f"<!-- architecture:{phase} ")
        end_marker = f"<!-- /architecture:{phase} -->"
        end = readme.find(end_marker)
        if start >= 0 and end > start:
            readme = readme[:start] + block + readme[end + len(end_marker) :]
        else:
            readme = readme.rstrip("\n") + f"\n\n{phase}:\n\n{block}\n"
    return readme
