"""The request path's security groups: internet -> ALB -> app, and nothing else open to the world."""

from __future__ import annotations

import functools
from collections import Counter

from infra.compute.security_groups import ApplicationSecurityGroups, ApplicationSecurityGroupsArgs
from infra.plan.capture import CapturedResource, ProgramRun, run_program
from tests.conftest import built_phase, phase_config

TAGS = {"project": "scaleplan", "phase": "foundation", "environment": "ftw-test", "cost-center": "cc"}
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
GROUP = "aws:ec2/securityGroup:SecurityGroup"


@functools.cache
def isolated() -> ProgramRun:
    def program() -> None:
        ApplicationSecurityGroups(
            "app-sg",
            ApplicationSecurityGroupsArgs(
                environment="ftw-test", vpc_id="vpc-0abc", vpc_cidr="10.40.0.0/16", app_port=3000, tags=TAGS
            ),
        )

    return run_program(program, project="scaleplan", stack="test")


def _group_id(run: ProgramRun, name: str) -> str:
    return str(run.one(GROUP, name).outputs["id"])


def test_creates_two_groups_and_six_rules() -> None:
    run = isolated()
    component = run.one("scaleplan:compute:ApplicationSecurityGroups", "app-sg")
    children = run.children_of(component.urn)
    assert Counter(child.type for child in children) == {GROUP: 2, INGRESS: 3, EGRESS: 3}
    assert {child.name for child in children} == {
        "app-sg-alb",
        "app-sg-app",
        "app-sg-alb-http-in",
        "app-sg-alb-https-in",
        "app-sg-alb-to-app",
        "app-sg-app-from-alb",
        "app-sg-app-https-out",
        "app-sg-app-vpc-out",
    }


def test_group_names_and_tags() -> None:
    run = isolated()
    alb, app = run.one(GROUP, "app-sg-alb"), run.one(GROUP, "app-sg-app")
    assert (alb.inputs["name"], app.inputs["name"]) == ("ftw-test-alb", "ftw-test-app")
    # The security pack lets the internet reach only the group with this role tag.
    assert alb.inputs["tags"] == {**TAGS, "Name": "ftw-test-alb", "scaleplan:role": "load-balancer"}
    assert app.inputs["tags"] == {**TAGS, "Name": "ftw-test-app"}
    assert alb.inputs["vpcId"] == app.inputs["vpcId"] == "vpc-0abc"


def test_only_the_alb_takes_http_and_https_from_anywhere() -> None:
    run = isolated()
    alb_id = _group_id(run, "app-sg-alb")
    open_rules = [r for r in run.of_type(INGRESS) if r.inputs.get("cidrIpv4") == "0.0.0.0/0"]
    assert sorted((r.inputs["securityGroupId"], r.inputs["fromPort"], r.inputs["toPort"]) for r in open_rules) == [
        (alb_id, 80, 80),
        (alb_id, 443, 443),
    ]
    assert all(r.inputs["ipProtocol"] == "tcp" for r in open_rules)


def test_app_accepts_only_the_alb_on_the_app_port() -> None:
    run = isolated()
    alb_id, app_id = _group_id(run, "app-sg-alb"), _group_id(run, "app-sg-app")
    into_app = [r for r in run.of_type(INGRESS) if r.inputs["securityGroupId"] == app_id]
    assert len(into_app) == 1
    rule = into_app[0].inputs
    assert (rule["referencedSecurityGroupId"], rule["fromPort"], rule["toPort"], rule["ipProtocol"]) == (
        alb_id,
        3000,
        3000,
        "tcp",
    )
    assert "cidrIpv4" not in rule


def test_alb_egress_reaches_only_the_app_group() -> None:
    run = isolated()
    alb_id, app_id = _group_id(run, "app-sg-alb"), _group_id(run, "app-sg-app")
    out_of_alb = [r.inputs for r in run.of_type(EGRESS) if r.inputs["securityGroupId"] == alb_id]
    assert [(r["referencedSecurityGroupId"], r["fromPort"], r["toPort"]) for r in out_of_alb] == [(app_id, 3000, 3000)]


def test_app_egress_is_https_and_the_vpc() -> None:
    run = isolated()
    app_id = _group_id(run, "app-sg-app")
    out_of_app = sorted(
        (r.inputs["cidrIpv4"], r.inputs["fromPort"], r.inputs["toPort"])
        for r in run.of_type(EGRESS)
        if r.inputs["securityGroupId"] == app_id
    )
    assert out_of_app == [("0.0.0.0/0", 443, 443), ("10.40.0.0/16", 0, 65535)]


def test_every_group_and_rule_has_a_description_and_tags() -> None:
    run = isolated()
    for resource in [*run.of_type(GROUP), *run.of_type(INGRESS), *run.of_type(EGRESS)]:
        assert len(str(resource.inputs.get("description", ""))) > 10, resource.name
        assert {key: resource.inputs["tags"][key] for key in TAGS} == TAGS, resource.name


def _world_ingress(resource: CapturedResource) -> bool:
    return resource.inputs.get("cidrIpv4") == "0.0.0.0/0" or resource.inputs.get("cidrIpv6") == "::/0"


def test_no_world_ingress_in_any_phase(phase: str) -> None:
    """Every phase is fronted by Cloudflare: no rule anywhere, the ALB's included, is open to the internet."""
    run = built_phase(phase)
    assert [r.name for r in run.of_type(INGRESS) if _world_ingress(r)] == []
    for group in run.of_type(GROUP):
        assert not any(rule.get("cidrBlocks") == ["0.0.0.0/0"] for rule in group.inputs.get("ingress", []))


def test_phase_graph_alb_to_app_on_the_target_port(phase: str) -> None:
    run = built_phase(phase)
    port = phase_config(phase).load_balancer.target_port
    alb_id = str(run.one(GROUP, "app-sg-alb").outputs["id"])
    app_id = str(run.one(GROUP, "app-sg-app").outputs["id"])
    rule = run.one(INGRESS, "app-sg-app-from-alb").inputs
    assert (rule["securityGroupId"], rule["referencedSecurityGroupId"], rule["fromPort"]) == (app_id, alb_id, port)
    assert run.stack_outputs["app_security_group_id"] == app_id


def test_data_tier_lets_the_app_group_in(phase: str) -> None:
    """The composition hands the app group to the database and cache, which open their port to it."""
    run = built_phase(phase)
    app_id = str(run.one(GROUP, "app-sg-app").outputs["id"])
    from_app = sorted(
        (rule.name, rule.inputs["fromPort"])
        for rule in run.of_type(INGRESS)
        if rule.inputs.get("referencedSecurityGroupId") == app_id
    )
    assert from_app == [("cache-from-app", 6379), ("database-from-app", 5432)]


def test_eks_nodes_carry_the_app_group_so_ip_targets_are_reachable() -> None:
    """On EKS the ALB sends to pod IPs; pods use their node's groups, so every node template
    must carry the app group that the ALB may reach and the data tier admits."""
    for phase in ("growth", "scale", "optimize"):
        run = built_phase(phase)
        app_id = str(run.one(GROUP, "app-sg-app").outputs["id"])
        templates = [t for t in run.of_type("aws:ec2/launchTemplate:LaunchTemplate") if t.name.startswith("node-pools")]
        assert templates, phase
        for template in templates:
            groups = template.inputs["networkInterfaces"][0]["securityGroups"]
            assert app_id in groups, (phase, template.name)
