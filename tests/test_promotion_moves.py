"""Phase promotions that keep serving: node groups, launch templates and the move to EKS.

``tests/test_promotion.py`` proves that stateful resources survive each promotion. These tests
cover what would cause an outage or a needless roll of compute instead:

- a node group whose ForceNew inputs change (growth -> scale changes ``node-pools-base``
  instance types) is replaced, so it must have no fixed name: the new group is created and
  joins before the old one is drained and deleted;
- the phase never reaches a launch template's ``tag_specifications`` or any other input that
  makes a new template version (which rolls every node or instance);
- foundation -> growth is three ``pulumi up``s (``transitions/``): each moves requests only onto
  target groups that already existed, registered, in the step before.

ForceNew inputs are taken from hashicorp/terraform-provider-aws (``internal/service/eks/node_group.go``,
``internal/service/elbv2/target_group.go``, ``internal/service/elbv2/listener.go``); a template
version is made by any change of the inputs in ``resourceLaunchTemplateUpdate``'s ``updateKeys``
(``internal/service/ec2/ec2_launch_template.go``), which excludes only the template's own tags.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
import json
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from infra.compute.launch_templates import PHASE_SCOPED_TAGS, instance_tags
from infra.compute.load_balancer import (
    LoadBalancer,
    LoadBalancerArgs,
    TargetType,
    backend_shares,
    forward_weights,
    legacy_owner,
    target_group_logical_name,
)
from infra.compute.node_pools import node_group_name_prefix
from infra.compute.plan_section import compute_section
from infra.compute.traffic_section import traffic_section
from infra.config import PhaseConfig
from infra.config.errors import PhaseConfigError
from infra.config.load_balancer import BackendWeights, Slot, TrafficWeights
from infra.config.loader import load_stack_file, parse_phase_config
from infra.config.transitions import render, step_values, steps
from infra.cost.policy_config import max_nodes
from infra.cost.policy_config import render as render_cost_policy_config
from infra.cost.section import phase_estimate
from infra.plan.capture import CapturedResource, ProgramRun, run_program
from infra.provider_schemas.replacement import replacement_paths
from infra.stack import build_phase
from infra.yaml_files import load_file
from tests.conftest import PHASES, ROOT, built_phase, phase_config, stack_file

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
LISTENER = "aws:lb/listener:Listener"
ASG = "aws:autoscaling/group:Group"
BINDING = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"

NODE_GROUP_FORCE_NEW = replacement_paths("aws:eks/nodeGroup:NodeGroup")
"""From the providers' definitions (infra/provider_schemas): instanceTypes, capacityType, ..."""
"""``ForceNew`` in aws_eks_node_group (plus ``launch_template.id``/``name``, which never change here)."""
TARGET_GROUP_FORCE_NEW = ("name", "namePrefix", "port", "protocol", "protocolVersion", "targetType", "vpcId")
LAUNCH_TEMPLATE_NO_NEW_VERSION = ("tags", "tagsAll", "updateDefaultVersion", "defaultVersion")
"""Inputs of aws_launch_template whose change makes no new version (everything else rolls)."""

STEPS = steps()
"""The shipped plan's intermediate steps: foundation -> growth, read off the phase files."""
TRANSITION_FILES = {step.file_name: step for step in STEPS}


def stackless(urn: str) -> str:
    return urn.split("::", 1)[1]


@functools.cache
def built_transition(file_name: str) -> ProgramRun:
    config = load_stack_file(TRANSITION_FILES[file_name].path)
    return run_program(lambda: build_phase(config), project="scaleplan", stack=file_name.removesuffix(".yaml"))


def run_of(stage: str) -> ProgramRun:
    return built_transition(stage) if stage in TRANSITION_FILES else built_phase(stage)


def config_of(stage: str) -> PhaseConfig:
    return load_stack_file(TRANSITION_FILES[stage].path) if stage in TRANSITION_FILES else phase_config(stage)


BUILT_STEP = STEPS[0].file_name
"""The one transition file built whole (about 3 s). Step 2 differs from it only in
``backend_weights`` (asserted below), which only the listener's weights read: its listener is
checked with the load balancer component alone."""
FOUNDATION_TO_GROWTH = ("foundation", BUILT_STEP, "growth")
"""The documented sequence of stack files, one ``pulumi up`` each (step 2 between the last two)."""
MOVES = [*itertools.pairwise(FOUNDATION_TO_GROWTH), *itertools.pairwise(PHASES[1:])]
"""Every ``pulumi up`` of a promotion: the move to EKS step by step, then the plain promotions."""
MOVE_IDS = [f"{a}->{b}" for a, b in MOVES]


def matched(before: ProgramRun, after: ProgramRun) -> list[tuple[CapturedResource, CapturedResource]]:
    """Resources of ``before`` that ``after`` declares again, under their URN or an alias of it."""
    later: dict[str, CapturedResource] = {}
    for resource in after.resources:
        later[stackless(resource.urn)] = resource
        for alias in resource.aliases:
            later.setdefault(stackless(alias), resource)
    return [(r, later[stackless(r.urn)]) for r in before.resources if stackless(r.urn) in later]


def changed_inputs(before: CapturedResource, after: CapturedResource, ignore: Iterable[str] = ()) -> set[str]:
    skip = set(ignore)
    return {
        key
        for key in set(before.inputs) | set(after.inputs)
        if key not in skip and before.inputs.get(key) != after.inputs.get(key)
    }


# --- node groups -------------------------------------------------------------------------------


def test_node_group_prefix_fits_the_provider_limit() -> None:
    # node_group_name_prefix: at most 63 - 26 (the provider's unique suffix) characters.
    assert node_group_name_prefix("ftw-prod-base") == "ftw-prod-base-"
    assert len(node_group_name_prefix("x" * 36)) <= 63 - 26


@pytest.mark.parametrize("phase", [p for p in PHASES if phase_config(p).compute.node_pools])
def test_node_groups_have_a_name_prefix_never_a_fixed_name(phase: str) -> None:
    """A fixed name would make a replacement fail: the new group cannot take the name the old
    one still holds, and Pulumi creates the replacement before deleting the old one."""
    groups = built_phase(phase).of_type(NODE_GROUP)
    assert groups
    for group in groups:
        assert "nodeGroupName" not in group.inputs, group.name
        pool = group.name.removeprefix("node-pools-")
        assert group.inputs["nodeGroupNamePrefix"] == f"ftw-prod-{pool}-"
        assert len(group.inputs["nodeGroupNamePrefix"]) <= 63 - 26
        assert group.delete_before_replace is False, group.name


def node_group_replacements(before: ProgramRun, after: ProgramRun) -> dict[str, set[str]]:
    return {
        old.name: changed
        for old, new in matched(before, after)
        if old.type == NODE_GROUP and (changed := changed_inputs(old, new) & set(NODE_GROUP_FORCE_NEW))
    }


@pytest.mark.parametrize(("earlier", "later"), MOVES, ids=MOVE_IDS)
def test_a_replaced_node_group_is_created_before_the_old_one_is_deleted(earlier: str, later: str) -> None:
    before, after = run_of(earlier), run_of(later)
    replaced = node_group_replacements(before, after)
    for name in replaced:
        new = next(r for r in after.of_type(NODE_GROUP) if r.name == name)
        # A new physical name each time (prefix + unique suffix), so both groups coexist while the
        # old one drains; and Pulumi's default order, create the replacement first.
        assert "nodeGroupName" not in new.inputs, name
        assert new.inputs["nodeGroupNamePrefix"], name
        assert new.delete_before_replace is False, name
    # What the phase files do today, named so a new replacement is reviewed, not slipped in.
    expected = {
        ("growth", "scale"): {"node-pools-base": {"instanceTypes"}},
        # optimize's spot pool drops t4g.large, which would count at its 30% credit baseline.
        ("scale", "optimize"): {"node-pools-burst": {"instanceTypes"}},
    }
    assert replaced == expected.get((earlier, later), {})


def test_a_replaced_pool_keeps_its_capacity_while_the_old_one_drains() -> None:
    """growth -> scale replaces the on-demand base pool (t4g.large -> m7g.large): the new group
    starts at the later phase's floor, and the spot pool beside it is kept (not replaced)."""
    growth, scale = phase_config("growth").compute.node_pools, phase_config("scale").compute.node_pools
    new_base = next(g for g in built_phase("scale").of_type(NODE_GROUP) if g.name == "node-pools-base")
    assert new_base.inputs["scalingConfig"]["desiredSize"] >= growth["base"].min_size
    assert new_base.inputs["scalingConfig"]["minSize"] == scale["base"].min_size
    assert "node-pools-burst" not in node_group_replacements(built_phase("growth"), built_phase("scale"))


def test_the_plan_says_how_a_node_group_is_replaced() -> None:
    section = compute_section(phase_config("scale"), built_phase("scale"))
    assert (
        "node groups named by prefix (ftw-prod-base-*, ftw-prod-burst-*): a change of instance types, capacity "
        "type or AMI type replaces a group, created and joined before the old one drains (docs/eks.md)"
    ) in section.notes


# --- launch templates --------------------------------------------------------------------------


def test_instance_tags_leave_out_the_phase() -> None:
    tags = {"project": "scaleplan", "phase": "growth", "environment": "ftw-prod"}
    assert instance_tags(tags, "ftw-prod-base") == {
        "project": "scaleplan",
        "environment": "ftw-prod",
        "Name": "ftw-prod-base",
    }
    assert PHASE_SCOPED_TAGS == ("phase",)


@pytest.mark.parametrize("stage", [*PHASES, BUILT_STEP])
def test_no_launch_template_carries_the_phase_into_what_it_launches(stage: str) -> None:
    templates = run_of(stage).of_type(LAUNCH_TEMPLATE)
    assert templates
    for template in templates:
        specifications = template.inputs["tagSpecifications"]
        assert {spec["resourceType"] for spec in specifications} == {"instance", "volume", "network-interface"}
        for spec in specifications:
            assert "phase" not in spec["tags"], (template.name, spec["resourceType"])
            assert spec["tags"]["environment"] == "ftw-prod"
        # The template resource itself does carry it: a tag update there launches nothing.
        assert template.inputs["tags"]["phase"] == config_of(stage).environment.phase


def _template_sizing(config: PhaseConfig, template_name: str) -> object:
    """The part of the config a launch template is built from (by its logical name)."""
    if template_name.startswith("node-pools-"):
        pool = config.compute.node_pools[template_name.removeprefix("node-pools-").removesuffix("-lt")]
        return pool.root_volume_gib
    group = config.compute.auto_scaling_group
    assert group is not None, template_name
    return (group.instance_type, group.root_volume_gib, group.container, config.load_balancer.target_port)


def new_template_versions(before: ProgramRun, after: ProgramRun) -> dict[str, set[str]]:
    return {
        old.name: changed
        for old, new in matched(before, after)
        if old.type == LAUNCH_TEMPLATE and (changed := changed_inputs(old, new, LAUNCH_TEMPLATE_NO_NEW_VERSION))
    }


@pytest.mark.parametrize(("earlier", "later"), MOVES, ids=MOVE_IDS)
def test_no_launch_template_changes_unless_its_sizing_config_changed(earlier: str, later: str) -> None:
    versions = new_template_versions(run_of(earlier), run_of(later))
    unexplained = {
        name: changed
        for name, changed in versions.items()
        if _template_sizing(config_of(earlier), name) == _template_sizing(config_of(later), name)
    }
    assert unexplained == {}


def test_the_template_comparison_sees_a_phase_tag_inside_a_template() -> None:
    """The detector itself: the same template with the phase inside its tag specifications,
    as before this fix, is a new version."""
    (template,) = [t for t in built_phase("growth").of_type(LAUNCH_TEMPLATE) if t.name == "node-pools-base-lt"]
    inputs = copy.deepcopy(dict(template.inputs))
    for spec in inputs["tagSpecifications"]:
        spec["tags"]["phase"] = "growth"
    old = dataclasses.replace(template, inputs=inputs)
    new_inputs = copy.deepcopy(inputs)
    for spec in new_inputs["tagSpecifications"]:
        spec["tags"]["phase"] = "scale"
    new_inputs["tags"] = {**new_inputs["tags"], "phase": "scale"}
    new = dataclasses.replace(template, inputs=new_inputs)
    assert changed_inputs(old, new, LAUNCH_TEMPLATE_NO_NEW_VERSION) == {"tagSpecifications"}


# --- foundation -> growth: both backends until the pods serve -------------------------------


def listener_weights(run: ProgramRun) -> dict[str, int]:
    """HTTPS listener weight by target group logical name."""
    by_arn = {tg.outputs["arn"]: tg.name for tg in run.of_type(TARGET_GROUP)}
    https = run.one(LISTENER, "alb-https")
    (action,) = https.inputs["defaultActions"]
    return {by_arn[t["arn"]]: int(t["weight"]) for t in action["forward"]["targetGroups"]}


def registered_target_groups(run: ProgramRun) -> set[str]:
    """Target groups something registers targets into: an Auto Scaling group or a TargetGroupBinding."""
    by_arn = {tg.outputs["arn"]: tg.name for tg in run.of_type(TARGET_GROUP)}
    names = {by_arn[arn] for group in run.of_type(ASG) for arn in group.inputs["targetGroupArns"]}
    names |= {by_arn[b.inputs["spec"]["targetGroupARN"]] for b in run.of_type(BINDING)}
    return names


def serving_before(before: ProgramRun, after: ProgramRun) -> list[str]:
    """Target groups that ``after`` sends requests to but that were not there, registered, in
    ``before``: each is an outage until something registers healthy targets in it."""
    earlier = {new.urn: old for old, new in matched(before, after) if old.type == TARGET_GROUP}
    registered = registered_target_groups(before)
    gaps = []
    for tg in after.of_type(TARGET_GROUP):
        if listener_weights(after)[tg.name] == 0:
            continue
        old = earlier.get(tg.urn)
        if old is None or old.name not in registered or changed_inputs(old, tg) & set(TARGET_GROUP_FORCE_NEW):
            gaps.append(tg.name)
    return gaps


@pytest.mark.parametrize(("earlier", "later"), MOVES, ids=MOVE_IDS)
def test_every_step_sends_requests_only_to_target_groups_registered_before_it(earlier: str, later: str) -> None:
    assert serving_before(run_of(earlier), run_of(later)) == []


def test_foundation_straight_to_growth_would_send_requests_to_empty_groups() -> None:
    """The detector itself: the one-``up`` move the README used to describe is caught."""
    assert serving_before(built_phase("foundation"), built_phase("growth")) == ["alb-blue-ip"]


@pytest.mark.parametrize(("earlier", "later"), MOVES, ids=MOVE_IDS)
def test_no_target_group_or_listener_is_replaced(earlier: str, later: str) -> None:
    replaced = {
        old.name: changed
        for old, new in matched(run_of(earlier), run_of(later))
        if (old.type == TARGET_GROUP and (changed := changed_inputs(old, new) & set(TARGET_GROUP_FORCE_NEW)))
        or (old.type == LISTENER and (changed := changed_inputs(old, new) & {"loadBalancerArn"}))
    }
    assert replaced == {}


@pytest.mark.parametrize(("earlier", "later"), MOVES, ids=MOVE_IDS)
def test_every_protected_resource_is_kept_through_each_step(earlier: str, later: str) -> None:
    kept = {old.urn for old, _ in matched(run_of(earlier), run_of(later))}
    lost = [r.name for r in run_of(earlier).resources if r.protect and r.urn not in kept]
    assert lost == []


def test_step_one_keeps_the_group_serving_beside_the_new_cluster() -> None:
    step, foundation = built_transition(STEPS[0].file_name), built_phase("foundation")
    assert listener_weights(step) == {
        "alb-blue-instance": 100,
        "alb-green-instance": 0,
        "alb-blue-ip": 0,
        "alb-green-ip": 0,
    }
    assert registered_target_groups(step) == {"alb-blue-instance", "alb-blue-ip", "alb-green-ip"}
    assert step.of_type(NODE_GROUP)
    assert step.of_type(BINDING)
    # The Auto Scaling group and its launch template are exactly foundation's (tags aside).
    for old, new in matched(foundation, step):
        if old.type in (ASG, LAUNCH_TEMPLATE):
            assert changed_inputs(old, new, ("tags", "tagsAll")) == set(), old.name


def test_step_two_serves_from_the_pods_with_the_group_still_registered() -> None:
    one, two = _values(STEPS[0].file_name), _values(STEPS[1].file_name)
    assert one["scaleplan:load_balancer"].pop("backend_weights") == {"auto_scaling_group": 100, "node_pools": 0}
    assert two["scaleplan:load_balancer"].pop("backend_weights") == {"auto_scaling_group": 0, "node_pools": 100}
    assert one == two  # so the group, its template and its registration are step 1's
    config = config_of(STEPS[1].file_name)
    backends = backend_shares(
        auto_scaling_group=config.compute.auto_scaling_group is not None,
        node_pools=bool(config.compute.node_pools),
        weights=config.load_balancer.backend_weights,
    )

    def program() -> None:
        LoadBalancer(
            "alb",
            LoadBalancerArgs(
                config=config.load_balancer,
                environment=config.environment.name,
                region=config.environment.region,
                account_id="123456789012",
                vpc_id="vpc-0abc",
                public_subnet_ids=["subnet-a"],
                security_group_id="sg-0alb",
                backends=backends,
                tags={},
            ),
        )

    assert listener_weights(run_program(program, project="scaleplan", stack="step-2")) == {
        "alb-blue-instance": 0,
        "alb-green-instance": 0,
        "alb-blue-ip": 100,
        "alb-green-ip": 0,
    }


@pytest.mark.parametrize("stage", [*PHASES, BUILT_STEP])
def test_the_listener_forwards_to_at_most_five_groups_with_valid_weights(stage: str) -> None:
    """aws_lb_listener: a forward action takes 1-5 target groups, weights 0-999 (listener.go)."""
    weights = listener_weights(run_of(stage))
    assert 1 <= len(weights) <= 5
    assert all(0 <= weight <= 999 for weight in weights.values())
    assert sum(weights.values()) == 100


def test_growth_forwards_only_to_the_pods() -> None:
    assert listener_weights(built_phase("growth")) == {"alb-blue-ip": 100, "alb-green-ip": 0}
    assert built_phase("growth").of_type(ASG) == []


# --- target group names and aliases ------------------------------------------------------------


def test_target_groups_are_named_by_slot_and_target_type() -> None:
    assert target_group_logical_name("alb", Slot.BLUE, TargetType.INSTANCE) == "alb-blue-instance"
    assert target_group_logical_name("alb", Slot.GREEN, TargetType.IP) == "alb-green-ip"
    names = {tg.name: tg.inputs["name"] for tg in built_transition(STEPS[0].file_name).of_type(TARGET_GROUP)}
    assert names == {
        "alb-blue-instance": "ftw-prod-blue-instance",
        "alb-green-instance": "ftw-prod-green-instance",
        "alb-blue-ip": "ftw-prod-blue-ip",
        "alb-green-ip": "ftw-prod-green-ip",
    }


def test_the_old_target_group_names_go_to_instances_when_declared_else_to_pods() -> None:
    assert legacy_owner({TargetType.INSTANCE}) is TargetType.INSTANCE
    assert legacy_owner({TargetType.INSTANCE, TargetType.IP}) is TargetType.INSTANCE
    assert legacy_owner({TargetType.IP}) is TargetType.IP

    def old_names(run: ProgramRun) -> dict[str, list[str]]:
        return {
            tg.name: [
                a.rsplit("::", 1)[1]
                for a in tg.aliases
                if "aws:lb/targetGroup" in a and a.endswith(("-blue", "-green"))
            ]
            for tg in run.of_type(TARGET_GROUP)
        }

    # A state written before 2026-12 keeps its groups: foundation's were instance groups under
    # alb-<slot>, an EKS phase's were ip groups under the same names (CHANGELOG.md).
    assert old_names(built_phase("foundation")) == {
        "alb-blue-instance": ["alb-blue"],
        "alb-green-instance": ["alb-green"],
    }
    assert old_names(built_phase("growth")) == {"alb-blue-ip": ["alb-blue"], "alb-green-ip": ["alb-green"]}
    assert old_names(built_transition(STEPS[0].file_name)) == {
        "alb-blue-instance": ["alb-blue"],
        "alb-green-instance": ["alb-green"],
        "alb-blue-ip": [],
        "alb-green-ip": [],
    }


@pytest.mark.parametrize("stage", [*PHASES, BUILT_STEP])
def test_no_two_resources_claim_the_same_alias(stage: str) -> None:
    """The engine refuses two resources aliased to one URN, or an alias naming a declared URN."""
    run = run_of(stage)
    declared = {r.urn for r in run.resources}
    claimed = [alias for r in run.resources for alias in set(r.aliases)]
    assert len(claimed) == len(set(claimed))
    assert declared.isdisjoint(claimed)


# --- config ------------------------------------------------------------------------------------


def test_backend_shares_and_listener_weights() -> None:
    assert backend_shares(auto_scaling_group=True, node_pools=False) == {TargetType.INSTANCE: 100}
    assert backend_shares(auto_scaling_group=False, node_pools=True) == {TargetType.IP: 100}
    split = BackendWeights(auto_scaling_group=90, node_pools=10)
    both = backend_shares(auto_scaling_group=True, node_pools=True, weights=split)
    assert both == {TargetType.INSTANCE: 90, TargetType.IP: 10}
    with pytest.raises(ValueError, match="backend_weights are required"):
        backend_shares(auto_scaling_group=True, node_pools=True)
    assert forward_weights(TrafficWeights(blue=100, green=0), both) == {
        (TargetType.INSTANCE, Slot.BLUE): 90,
        (TargetType.INSTANCE, Slot.GREEN): 0,
        (TargetType.IP, Slot.BLUE): 10,
        (TargetType.IP, Slot.GREEN): 0,
    }
    assert forward_weights(TrafficWeights(blue=95, green=5), {TargetType.IP: 100}) == {
        (TargetType.IP, Slot.BLUE): 95,
        (TargetType.IP, Slot.GREEN): 5,
    }
    with pytest.raises(ValueError, match="not a whole percentage"):
        forward_weights(TrafficWeights(blue=95, green=5), both)


def _values(stage: str) -> dict[str, Any]:
    path = TRANSITION_FILES[stage].path if stage in TRANSITION_FILES else stack_file(stage)
    return copy.deepcopy(dict(load_file(path)["config"]))


def _reject(values: Mapping[str, Any]) -> list[str]:
    with pytest.raises(PhaseConfigError) as caught:
        parse_phase_config(values, "Pulumi.test.yaml")
    return list(caught.value.problems)


def test_rejects_backend_weights_with_one_backend() -> None:
    values = _values("growth")
    values["scaleplan:load_balancer"]["backend_weights"] = {"auto_scaling_group": 0, "node_pools": 100}
    assert _reject(values) == [
        "scaleplan:load_balancer.backend_weights: only applies while scaleplan:compute has both "
        "auto_scaling_group and node_pools (the move to EKS); remove it"
    ]


def test_rejects_both_backends_without_backend_weights() -> None:
    values = _values(STEPS[0].file_name)
    del values["scaleplan:load_balancer"]["backend_weights"]
    assert _reject(values) == [
        "scaleplan:load_balancer.backend_weights: required while scaleplan:compute has both "
        "auto_scaling_group and node_pools: the share of requests each gets, e.g. "
        "{auto_scaling_group: 100, node_pools: 0} until the pods are healthy"
    ]


def test_rejects_backend_weights_that_are_not_percentages() -> None:
    values = _values(STEPS[0].file_name)
    values["scaleplan:load_balancer"]["backend_weights"] = {"auto_scaling_group": 90, "node_pools": 20}
    assert _reject(values) == [
        "scaleplan:load_balancer.backend_weights: are percentages and must add up to 100 "
        "(got auto_scaling_group 90 + node_pools 20)"
    ]


def test_rejects_a_release_during_the_move() -> None:
    values = _values(STEPS[0].file_name)
    values["scaleplan:load_balancer"]["weights"] = {"blue": 95, "green": 5}
    values["scaleplan:compute"]["auto_scaling_group"]["container"]["images"]["green"] = "ghcr.io/ftw/app:1.1.0"
    assert _reject(values) == [
        "scaleplan:load_balancer.weights: one slot must carry all requests while both backends run (the move "
        "to EKS is not a release); finish the blue/green rollout first (got blue 95 / green 5)"
    ]


def test_rejects_pod_traffic_for_a_slot_with_no_service() -> None:
    values = _values(STEPS[1].file_name)
    values["scaleplan:eks"]["application"]["load_balancer_services"] = {"green": "web-green"}
    assert _reject(values) == [
        "scaleplan:eks.application.load_balancer_services.blue: required: scaleplan:load_balancer.backend_weights "
        "sends 100% of requests to the pods of slot 'blue', which would have no Service bound"
    ]


# --- the transition files ----------------------------------------------------------------------


@pytest.mark.parametrize("step", STEPS, ids=[s.file_name for s in STEPS])
def test_transition_files_are_what_the_phase_files_give(step: Any) -> None:
    """Regenerate with ``python -m infra.config.transitions`` after editing a phase file."""
    assert step.path.read_text() == render(step)


@pytest.mark.parametrize("step", STEPS, ids=[s.file_name for s in STEPS])
def test_a_transition_file_is_the_later_phase_plus_the_group_and_the_weights(step: Any) -> None:
    values = step_values(step, _values(step.earlier), _values(step.later))
    later = _values(step.later)
    differing = {key for key in set(values) | set(later) if values.get(key) != later.get(key)}
    assert differing == {"scaleplan:compute", "scaleplan:load_balancer"}
    assert {k: v for k, v in values["scaleplan:compute"].items() if k != "auto_scaling_group"} == later[
        "scaleplan:compute"
    ]
    assert (
        values["scaleplan:compute"]["auto_scaling_group"]
        == _values(step.earlier)["scaleplan:compute"]["auto_scaling_group"]
    )
    weights = values["scaleplan:load_balancer"].pop("backend_weights")
    assert values["scaleplan:load_balancer"] == later["scaleplan:load_balancer"]
    assert weights["auto_scaling_group"] + weights["node_pools"] == 100
    assert json.dumps(weights)  # plain data, as the engine passes it


@pytest.mark.parametrize("step", STEPS, ids=[s.file_name for s in STEPS])
def test_transition_cost_policy_configs_are_what_the_steps_give(step: Any) -> None:
    """The cost pack's node ceiling and families count both backends during the move."""
    config = load_stack_file(step.path)
    assert step.cost_policy_config_path.read_text() == render_cost_policy_config(config)
    group = config.compute.auto_scaling_group
    assert group is not None
    pools = sum(pool.max_size for pool in config.compute.node_pools.values())
    assert max_nodes(config) == pools + group.max_size


def test_the_readme_gives_the_move_as_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    for step in STEPS:
        assert f"--config-file transitions/{step.file_name}" in readme
    assert "--policy-pack-config policies/cost/config/foundation-to-growth-1.json" in readme
    assert "--config-file Pulumi.growth.yaml" in readme
    request_path = (ROOT / "docs" / "request-path.md").read_text()
    assert "## Moving from the Auto Scaling group to EKS" in request_path


def test_the_plan_shows_both_backends_during_the_move() -> None:
    section = traffic_section(config_of(STEPS[0].file_name), built_transition(STEPS[0].file_name))
    assert section.failed is False
    assert section.data["weights_percent"] == {
        "blue-instance": 100,
        "blue-ip": 0,
        "green-instance": 0,
        "green-ip": 0,
    }
    assert section.notes[0].startswith("application runs on EC2 Auto Scaling group and EKS (ip targets);")


def test_the_docs_state_what_the_move_costs_while_both_backends_run() -> None:
    # README and docs/request-path.md quote the step-1 estimate and what it adds to growth's.
    both = phase_estimate(config_of(BUILT_STEP), built_transition(BUILT_STEP)).total_usd
    growth = phase_estimate(phase_config("growth"), built_phase("growth")).total_usd
    readme = (ROOT / "README.md").read_text()
    request_path = (ROOT / "docs" / "request-path.md").read_text()
    assert f"the estimate is ${both:,.0f}/month against" in readme
    assert f"${both - growth:,.0f} above growth itself" in readme
    assert f"the estimate is ${both:,.0f}/month against" in request_path
    assert f"alone: ${growth:,.0f})" in request_path
