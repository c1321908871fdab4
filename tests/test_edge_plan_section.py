"""The plan's edge section, built from each phase's config and mocked run."""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from infra.edge import plan_section
from infra.edge.plan_section import duration, edge_section, ip_list_age_note
from infra.plan.capture import CapturedResource, ProgramRun
from infra.plan.sections import section_builders
from tests.conftest import built_phase, phase_config


@pytest.fixture(autouse=True)
def _fresh_ip_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sections below are compared whole: fix the date so the IP-list reminder stays out."""
    monkeypatch.setattr(plan_section, "today", lambda: datetime.date(2026, 12, 3))


def test_edge_section_is_registered() -> None:
    assert edge_section in section_builders()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(2_592_000, "30 d"), (86_400, "1 d"), (3600, "1 h"), (60, "1 min"), (90, "90 s"), (10, "10 s")],
)
def test_duration_reads_as_a_person_writes_it(seconds: int, text: str) -> None:
    assert duration(seconds) == text


def test_growth_section_lists_buckets_domain_ttls_and_limits() -> None:
    section = edge_section(phase_config("growth"), built_phase("growth"))
    assert section.title == "Edge (Cloudflare)"
    assert not section.failed
    assert [list(row) for row in section.rows] == [
        ["bucket", "media", "ftw-prod-media (enam)", "Standard, abort uploads after 7 d; InfrequentAccess after 90 d"],
        [
            "bucket",
            "videos",
            "ftw-prod-videos (enam)",
            "Standard, abort uploads after 7 d; InfrequentAccess after 90 d",
        ],
        ["bucket", "documents", "ftw-prod-documents (enam)", "Standard, abort uploads after 7 d"],
        ["cdn domain", "media", "media.fairtradeworker.example", "min TLS 1.2"],
        ["cdn domain", "videos", "videos.fairtradeworker.example", "min TLS 1.2"],
        ["dns", "apex", "fairtradeworker.example", "proxied CNAME -> the ALB"],
        ["dns", "app", "app.fairtradeworker.example", "proxied CNAME -> the ALB"],
        ["alb ingress", "cloudflare", "15 Cloudflare IPv4 ranges as of 2026-12-03", "tcp 443"],
        ["waf", "cloudflare_managed", "Cloudflare Managed Ruleset, every request", "Cloudflare's default actions"],
        ["waf", "owasp_core", "Cloudflare OWASP Core Ruleset, every request", "block at anomaly score >= 40"],
        ["cache", "media", "media.fairtradeworker.example /", "edge 30 d, browser 1 d"],
        ["cache", "videos", "videos.fairtradeworker.example /", "edge 30 d, browser 1 d"],
        ["cache", "static-assets", "app.fairtradeworker.example /assets/", "edge 1 d, browser 1 d"],
        ["rate limit", "anonymous", "/api/public/, /auth/", "60 / 1 min per IP, then block for 1 min"],
        ["rate limit", "authenticated", "/api/", "200 / 1 min per IP, then block for 1 min"],
    ]
    assert section.notes == [
        "zone fairtradeworker.example on the pro plan: 2 of 2 rate limiting rule(s), 3 of 25 cache rules used; "
        "cache TTLs >= 1 h"
    ]
    assert section.data == {
        "zone_plan": "pro",
        "rate_limit_rules": 2,
        "rate_limit_budget": 2,
        "buckets": 3,
        "media_hostname": "media.fairtradeworker.example",
    }


def test_foundation_section_shows_the_free_plan_budget() -> None:
    section = edge_section(phase_config("foundation"), built_phase("foundation"))
    assert ["rate limit", "anonymous", "/api/public/, /auth/", "10 / 10 s per IP, then block for 10 s"] in [
        list(row) for row in section.rows
    ]
    assert section.data["rate_limit_budget"] == 1
    assert section.notes[0].endswith("1 of 1 rate limiting rule(s), 3 of 10 cache rules used; cache TTLs >= 2 h")
    assert [row[0] for row in section.rows].count("waf") == 0


def test_section_fails_when_a_declared_bucket_is_unprotected() -> None:
    run = built_phase("growth")
    resources = tuple(dataclasses.replace(r, protect=False) if r.name == "edge-documents" else r for r in run.resources)
    section = edge_section(phase_config("growth"), ProgramRun(resources=resources, stack_outputs=run.stack_outputs))
    assert section.failed
    assert section.notes[1:] == ["bucket ftw-prod-documents is not protected"]


def test_section_fails_when_a_rate_limit_rule_is_missing() -> None:
    run = built_phase("growth")
    resources = tuple(r for r in run.resources if r.name != "edge-rate-limits")
    section = edge_section(phase_config("growth"), ProgramRun(resources=resources, stack_outputs=run.stack_outputs))
    assert section.failed
    assert section.notes[1:] == [
        "rate limit anonymous has no rate limiting rule",
        "rate limit authenticated has no rate limiting rule",
    ]


def test_section_fails_when_the_alb_is_open_while_fronted() -> None:
    run = built_phase("growth")
    ingress = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"

    def opened(resource: CapturedResource) -> CapturedResource:
        if resource.type == ingress and resource.name.startswith("app-sg-alb-"):
            return dataclasses.replace(resource, inputs={**resource.inputs, "cidrIpv4": "0.0.0.0/0"})
        return resource

    resources = tuple(opened(r) for r in run.resources)
    section = edge_section(phase_config("growth"), ProgramRun(resources=resources, stack_outputs=run.stack_outputs))
    assert section.failed
    assert section.notes[1:] == ["the ALB is open to the internet while Cloudflare fronts it"]


def test_section_fails_when_a_waf_ruleset_is_missing() -> None:
    run = built_phase("scale")
    resources = tuple(r for r in run.resources if r.name != "edge-waf-managed")
    section = edge_section(phase_config("scale"), ProgramRun(resources=resources, stack_outputs=run.stack_outputs))
    assert section.failed
    assert section.notes[1:] == [
        "declared WAF managed rulesets [] differ from the stack file's ['cloudflare_managed', 'owasp_core']"
    ]


def test_an_old_ip_list_is_a_reminder_not_a_failure() -> None:
    assert ip_list_age_note("2026-12-03", datetime.date(2027, 3, 3)) is None  # 90 days
    assert ip_list_age_note("2026-12-03", datetime.date(2027, 3, 4)) == (
        "the Cloudflare IP list (infra/catalog/cloudflare_ips.yaml, as of 2026-12-03) is 91 days old: compare it "
        "with https://www.cloudflare.com/ips-v4 and update as_of"
    )


def test_a_stale_ip_list_adds_a_reminder_without_failing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_section, "today", lambda: datetime.date(2027, 6, 1))
    section = edge_section(phase_config("growth"), built_phase("growth"))
    assert not section.failed
    assert section.notes[-1].startswith("the Cloudflare IP list (infra/catalog/cloudflare_ips.yaml, as of 2026-12-03)")
