"""The plan's compute section: where the application runs, how far it scales, and whether that
covers the peak."""

from __future__ import annotations

from infra.compute.sizing import application_capacity, pool_sizes
from infra.config import PhaseConfig
from infra.plan.capture import ProgramRun
from infra.plan.sections import Cell, Section, register

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
COLUMNS = (
    "where",
    "pool",
    "instance types",
    "capacity",
    "min",
    "desired",
    "max",
    "vCPUs/node",
    "max vCPUs",
    "serves app",
)


def _declared_ranges(run: ProgramRun) -> dict[str, tuple[int, int, int]]:
    """(min, desired, max) of each node group the program declared, by pool label."""
    ranges = {}
    for group in run.of_type(NODE_GROUP):
        scaling = group.inputs["scalingConfig"]
        pool = str(group.inputs.get("labels", {}).get("scaleplan.io/pool", group.name))
        ranges[pool] = (int(scaling["minSize"]), int(scaling["desiredSize"]), int(scaling["maxSize"]))
    return ranges


@register
def compute_section(config: PhaseConfig, run: ProgramRun) -> Section:
    """Each pool (EKS node group or the EC2 Auto Scaling group) with its range and types, and the
    capacity check: vCPUs the peak needs against what the application compute reaches at max.

    Fails on a capacity shortfall, or when a declared node group's range differs from the
    stack file (which would mean the program lost a setting on the way).
    """
    compute = config.compute
    rows: list[list[Cell]] = []
    problems: list[str] = []
    declared = _declared_ranges(run)
    for size in pool_sizes(compute, config.capacity):
        pool = size.pool
        rows.append(
            [
                "eks",
                size.name,
                ", ".join(pool.instance_types),
                pool.capacity_type.value,
                pool.min_size,
                size.desired_size if isinstance(pool.desired_size, int) else f"{size.desired_size} (from capacity)",
                pool.max_size,
                pool.node_vcpus(),
                size.max_vcpus,
                pool.serves_application,
            ]
        )
        expected = (pool.min_size, size.desired_size, pool.max_size)
        if declared.get(size.name) != expected:
            problems.append(f"node group {size.name}: declared {declared.get(size.name)}, stack file says {expected}")
    group = compute.auto_scaling_group
    if group is not None:
        rows.append(
            [
                "ec2 asg",
                "auto_scaling_group",
                group.instance_type,
                "ON_DEMAND",
                group.min_size,
                group.desired_capacity,
                group.max_size,
                group.max_vcpus() // group.max_size,
                group.max_vcpus(),
                True,
            ]
        )
    check = application_capacity(compute, config.capacity)
    notes = [
        f"capacity: {check.demand_vcpus:g} vCPUs needed at the peak, {check.available_vcpus:g} sustained "
        f"available at maximum sizes ({'covered' if check.passes else f'{check.shortfall_vcpus:g} short'})",
        *problems,
    ]
    prefixes = sorted(
        str(group.inputs["nodeGroupNamePrefix"])
        for group in run.of_type(NODE_GROUP)
        if "nodeGroupNamePrefix" in group.inputs
    )
    if prefixes:
        notes.append(
            f"node groups named by prefix ({', '.join(p + '*' for p in prefixes)}): a change of instance types, "
            "capacity type or AMI type replaces a group, created and joined before the old one drains (docs/eks.md)"
        )
    if config.eks is not None:
        notes.append(
            f"EKS {config.eks.kubernetes_version}: Cluster Autoscaler owns desired sizes after creation "
            f"(scale-in below {config.eks.charts.cluster_autoscaler.scale_down_utilization_threshold_percent}% "
            f"requested, {config.eks.charts.cluster_autoscaler.scale_down_delay_after_add_seconds} s after a scale-out)"
        )
    return Section(
        title="Compute",
        columns=COLUMNS,
        rows=rows,
        notes=notes,
        failed=not check.passes or bool(problems),
        data={
            "required_vcpus": check.required_vcpus,
            "available_vcpus": check.available_vcpus,
            "node_pools": len(compute.node_pools),
            "pools": [
                {
                    "name": size.name,
                    "instance_types": list(size.pool.instance_types),
                    "capacity_type": size.pool.capacity_type.value,
                    "min_size": size.pool.min_size,
                    "desired_size": size.desired_size,
                    "max_size": size.pool.max_size,
                    "max_vcpus": size.max_vcpus,
                }
                for size in pool_sizes(compute, config.capacity)
            ],
        },
    )
