"""The plan's traffic section: listeners, TLS, blue/green weights and, when present, the Auto Scaling groups.

Read from the mocked run, not the config, so the report shows what the program declared.
"""

from __future__ import annotations

from infra.config import PhaseConfig
from infra.plan.capture import CapturedResource, ProgramRun
from infra.plan.sections import Cell, Section, register

_LB = "aws:lb/loadBalancer:LoadBalancer"
_LISTENER = "aws:lb/listener:Listener"
_TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
_GROUP = "aws:autoscaling/group:Group"
_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
_TUNNEL = "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared"
_TUNNEL_CONFIG = "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig"


def _n(value: object) -> str:
    """Numbers come back from the engine as floats: ``2.0`` -> ``2``."""
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _listener_rows(run: ProgramRun) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    for listener in sorted(run.of_type(_LISTENER), key=lambda r: int(r.inputs.get("port", 0))):
        inputs = listener.inputs
        action = (inputs.get("defaultActions") or [{}])[0]
        if action.get("type") == "redirect":
            redirect = action.get("redirect", {})
            detail = f"redirect {redirect.get('statusCode', '')} to {redirect.get('protocol')}:{redirect.get('port')}"
        else:
            detail = f"TLS policy {inputs.get('sslPolicy')}, forward by weight"
        rows.append([f"listener {inputs.get('protocol')}:{_n(inputs.get('port'))}", detail])
    return rows


def _weight_key(tg: CapturedResource, *, both_backends: bool) -> str:
    """``blue``; ``blue-instance`` / ``blue-ip`` while both backends run (the move to EKS)."""
    tags = tg.inputs.get("tags", {})
    slot = str(tags.get("slot", tg.name))
    return f"{slot}-{tg.inputs.get('targetType')}" if both_backends else slot


def _both_backends(run: ProgramRun) -> bool:
    return len({tg.inputs.get("targetType") for tg in run.of_type(_TARGET_GROUP)}) > 1


def _weights(run: ProgramRun) -> dict[str, int]:
    """Weight of each target group's ``slot`` tag (and target type, when both run) on the HTTPS listener."""
    both = _both_backends(run)
    arn_to_slot = {tg.outputs.get("arn"): _weight_key(tg, both_backends=both) for tg in run.of_type(_TARGET_GROUP)}
    weights: dict[str, int] = {}
    for listener in run.of_type(_LISTENER):
        for action in listener.inputs.get("defaultActions") or []:
            for target in (action.get("forward") or {}).get("targetGroups") or []:
                weights[str(arn_to_slot.get(target.get("arn"), target.get("arn")))] = int(target.get("weight", 0))
    return weights


def _group_rows(run: ProgramRun, group: CapturedResource) -> list[list[Cell]]:
    inputs = group.inputs
    template_id = (inputs.get("launchTemplate") or {}).get("id")
    template = next((t for t in run.of_type(_TEMPLATE) if t.outputs.get("id") == template_id), None)
    instance_type = template.inputs.get("instanceType") if template else "?"
    name = inputs.get("name", group.name)
    rows: list[list[Cell]] = [
        [
            f"auto scaling group {name}",
            f"{instance_type}, min {_n(inputs.get('minSize'))} / desired {_n(inputs.get('desiredCapacity'))} / "
            f"max {_n(inputs.get('maxSize'))}, cooldown {_n(inputs.get('defaultCooldown'))} s",
        ]
    ]
    prefix = f"{group.name}-"
    for alarm in sorted(run.of_type(_ALARM), key=lambda r: r.name):
        if alarm.name.startswith(prefix) and alarm.inputs.get("alarmActions"):
            rows.append(
                [
                    f"  trigger {alarm.name.removeprefix(prefix).removesuffix('-alarm')}",
                    alarm.inputs.get("alarmDescription", ""),
                ]
            )
    return rows


def _tunnel_section(config: PhaseConfig, run: ProgramRun, balancers: list[CapturedResource]) -> Section:
    """No load balancer: the zone reaches the instances through a Cloudflare Tunnel."""
    tunnels = run.of_type(_TUNNEL)
    rows: list[list[Cell]] = []
    for tunnel in tunnels:
        rows.append([f"cloudflare tunnel {tunnel.inputs.get('name')}", f"config_src {tunnel.inputs.get('configSrc')}"])
    for tunnel_config in run.of_type(_TUNNEL_CONFIG):
        for rule in (tunnel_config.inputs.get("config") or {}).get("ingresses") or []:
            rows.append([f"  ingress {rule.get('hostname', '(any other)')}", str(rule.get("service"))])
    for group in sorted(run.of_type(_GROUP), key=lambda r: r.name):
        rows += _group_rows(run, group)
    problems = []
    if balancers:
        problems.append(f"no scaleplan:load_balancer, yet {len(balancers)} load balancer(s) declared")
    if config.uses_tunnel() and len(tunnels) != 1:
        problems.append(f"expected one Cloudflare Tunnel to the instances, found {len(tunnels)}")
    return Section(
        title="Traffic",
        columns=("part", "setting"),
        rows=rows,
        notes=[
            "no load balancer: the zone's proxied records point at a Cloudflare Tunnel whose connector runs on "
            "each instance and dials out (no inbound port); instances use EC2 health checks and scale on CPU",
            *problems,
        ],
        failed=bool(problems),
        data={"entry": "tunnel", "auto_scaling_groups": len(run.of_type(_GROUP))},
    )


@register
def traffic_section(config: PhaseConfig, run: ProgramRun) -> Section:
    """How requests reach the application in this phase, and how the instances scale."""
    balancers = run.of_type(_LB)
    if config.load_balancer is None:
        return _tunnel_section(config, run, balancers)
    if len(balancers) != 1:
        return Section(
            title="Traffic",
            columns=("part", "setting"),
            notes=[f"expected one application load balancer, found {len(balancers)}"],
            failed=True,
        )
    alb = balancers[0].inputs
    logs = alb.get("accessLogs") or {}
    rows: list[list[Cell]] = [
        [
            f"load balancer {alb.get('name')}",
            f"{'internal' if alb.get('internal') else 'internet-facing'}, drop invalid headers "
            f"{alb.get('dropInvalidHeaderFields')}, deletion protection {alb.get('enableDeletionProtection')}, "
            f"access logs {'on' if logs.get('enabled') else 'off'}",
        ],
        *_listener_rows(run),
    ]
    weights = _weights(run)
    for tg in sorted(run.of_type(_TARGET_GROUP), key=lambda r: r.name):
        slot = _weight_key(tg, both_backends=_both_backends(run))
        rows.append(
            [
                f"target group {tg.inputs.get('name')}",
                f"{tg.inputs.get('targetType')} targets on port {_n(tg.inputs.get('port'))}, "
                f"weight {weights.get(slot, 0)}%",
            ]
        )
    for group in sorted(run.of_type(_GROUP), key=lambda r: r.name):
        rows += _group_rows(run, group)
    backends = [
        name
        for name, present in (
            ("EC2 Auto Scaling group", config.compute.auto_scaling_group is not None),
            ("EKS (ip targets)", bool(config.compute.node_pools)),
        )
        if present
    ]
    mode = " and ".join(backends)
    return Section(
        title="Traffic",
        columns=("part", "setting"),
        rows=rows,
        notes=[f"application runs on {mode}; weights {', '.join(f'{k} {v}%' for k, v in sorted(weights.items()))}"],
        data={
            "tls_policy": str(config.load_balancer.tls_policy.value),
            "weights_percent": dict(sorted(weights.items())),
            "auto_scaling_groups": len(run.of_type(_GROUP)),
        },
    )
