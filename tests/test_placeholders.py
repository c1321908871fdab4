"""A deployment refuses the placeholders the committed phase files carry; the offline plan keeps them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pulumi
import pytest
import yaml
from pulumi.runtime import config as runtime_config

from infra.config.errors import PhaseConfigError
from infra.config.loader import load_from_running_program, parse_phase_config
from infra.config.placeholders import RESERVED_DOMAIN, placeholder_problems
from infra.plan.readiness_section import readiness_section
from infra.yaml_files import load_file
from tests.conftest import PHASES, built_phase, phase_config, stack_file

RUNNER_CIDR = "scaleplan:eks.public_access_cidrs[0]"
PLACEHOLDER_KEYS = [
    "scaleplan:environment.owner_email",
    RUNNER_CIDR,
    "scaleplan:load_balancer.certificate_arn",
    "scaleplan:edge.zone_name",
    "scaleplan:edge.media_domain",
    "scaleplan:edge.cors.allowed_origins[0]",
    "scaleplan:edge.cors.allowed_origins[1]",
    "scaleplan:edge.buckets.videos.custom_domain",
    "scaleplan:edge.cache_ttls.media.hostname",
    "scaleplan:edge.cache_ttls.videos.hostname",
    "scaleplan:edge.cache_ttls.static-assets.hostname",
    "scaleplan:edge.origin.hostnames.apex",
    "scaleplan:edge.origin.hostnames.app",
]
PSQL_IMAGE_KEY = "scaleplan:pgbouncer.application_identity.psql_image"
METRICS_IMAGE_KEYS = ["scaleplan:pgbouncer.metrics.exporter_image", "scaleplan:pgbouncer.metrics.agent_image"]
"""The pool-metrics sidecars' images: real tags, digests not readable here (docs/pgbouncer.md)."""
"""The role Job's client image, a placeholder in every phase with the application's logins."""


def placeholder_keys(phase: str) -> list[str]:
    """Every phase file's placeholders; those with a cluster also hold the runner CIDR, and
    those with the application's logins the psql image."""
    pgbouncer = phase_config(phase).pgbouncer
    has_identity = pgbouncer is not None and pgbouncer.application_identity is not None
    keys = [key for key in PLACEHOLDER_KEYS if key != RUNNER_CIDR or phase_config(phase).eks is not None]
    has_metrics = pgbouncer is not None and pgbouncer.metrics is not None
    return keys + ([PSQL_IMAGE_KEY] if has_identity else []) + (METRICS_IMAGE_KEYS if has_metrics else [])


def keys_of(problems: list[str]) -> list[str]:
    return [problem.split(": ", 1)[0] for problem in problems]


def real_values(phase: str) -> dict[str, object]:
    """The phase file's config with an environment's own values where the placeholders were."""
    text = stack_file(phase).read_text()
    text = text.replace("fairtradeworker.example", "fairtradeworker.com").replace("123456789012", "210987654321")
    text = text.replace("registry.example/", "ghcr.io/fairtradeworker/")
    text = text.replace("203.0.113.0/24", "52.95.110.0/24")
    config: dict[str, object] = yaml.safe_load(text)["config"]
    return config


@pytest.mark.parametrize("phase", PHASES)
def test_every_committed_phase_file_names_its_placeholders(phase: str) -> None:
    problems = placeholder_problems(phase_config(phase))
    assert keys_of(problems) == placeholder_keys(phase)
    assert problems[keys_of(problems).index("scaleplan:load_balancer.certificate_arn")] == (
        "scaleplan:load_balancer.certificate_arn: still a placeholder (AWS's documentation account 123456789012); "
        "put this environment's own here "
        "(got 'arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-4697-8877-665544332211')"
    )


@pytest.mark.parametrize("phase", PHASES)
def test_an_environments_own_values_pass(phase: str) -> None:
    config = parse_phase_config(real_values(phase), f"Pulumi.{phase}.yaml")
    assert placeholder_problems(config) == []


@pytest.mark.parametrize(
    ("value", "placeholder"),
    [("203.0.113.0/24", True), ("198.51.100.7/32", True), ("192.0.2.0/25", True), ("52.95.110.0/24", False)],
)
def test_documentation_address_ranges_are_placeholders(value: str, placeholder: bool) -> None:
    values = real_values("growth")
    values["scaleplan:eks"]["public_access_cidrs"] = [value]  # type: ignore[index]
    problems = placeholder_problems(parse_phase_config(values, "Pulumi.growth.yaml"))
    assert (RUNNER_CIDR in keys_of(problems)) is placeholder


@pytest.mark.parametrize(
    ("text", "reserved"),
    [
        ("fairtradeworker.example", True),
        ("https://app.fairtradeworker.example/path", True),
        ("ops@corp.invalid", True),
        ("api.test", True),
        ("example.com", False),
        ("my-example.org", False),
        ("testing.io", False),
        ("media.example-cdn.net", False),
    ],
)
def test_reserved_domains_are_the_rfc_2606_ones(text: str, reserved: bool) -> None:
    assert (RESERVED_DOMAIN.search(text) is not None) is reserved


@pytest.fixture
def engine_config() -> Iterator[None]:
    """Config as the engine hands it to the program: structured values as JSON text."""
    saved = runtime_config.CONFIG.get()
    yield
    runtime_config.CONFIG.set(saved)


def _as_engine_config(values: dict[str, object]) -> dict[str, str]:
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in values.items()}


def test_the_running_program_refuses_the_committed_files(engine_config: None) -> None:
    document = load_file(stack_file("growth"))
    pulumi.runtime.set_all_config(_as_engine_config(document["config"]))
    with pytest.raises(PhaseConfigError) as refused:
        load_from_running_program("prod")
    assert isinstance(refused.value, pulumi.RunError)  # printed without a traceback
    lines = str(refused.value).splitlines()
    # The stack 'prod' has no file of its own here: the values are growth's, as with
    # `pulumi up -s prod --config-file Pulumi.growth.yaml`, and the lines name that file.
    source = "Pulumi.growth.yaml (stack 'prod'): "
    assert all(line.startswith(source) for line in lines)
    assert keys_of([line.removeprefix(source) for line in lines[:-1]]) == placeholder_keys("growth")
    assert lines[1] == (
        "Pulumi.growth.yaml (stack 'prod'): scaleplan:eks.public_access_cidrs[0]: still a placeholder (documentation "
        "address range 203.0.113.0/24 (RFC 5737), never a real network); put this environment's own here "
        "(got '203.0.113.0/24')"
    )
    assert "python -m infra.plan" in lines[-1]


def test_the_running_program_accepts_an_environments_own_values(engine_config: None) -> None:
    pulumi.runtime.set_all_config(_as_engine_config(real_values("growth")))
    assert load_from_running_program("prod").environment.phase == "growth"


def test_the_plan_lists_the_placeholders_without_failing() -> None:
    section = readiness_section(phase_config("growth"), built_phase("growth"))
    keys = placeholder_keys("growth")  # with the runner CIDR and the psql image
    assert [row[0] for row in section.rows] == keys
    assert section.rows[keys.index("scaleplan:edge.zone_name")][1:] == [
        "fairtradeworker.example",
        "reserved domain fairtradeworker.example",
    ]
    assert not section.failed
    assert section.data == {"placeholders": len(keys)}
    assert section.notes[0].startswith(f"{len(keys)} placeholders: `pulumi preview` and `pulumi up` refuse this file")


def test_the_plan_says_when_a_file_is_ready_to_deploy() -> None:
    config = parse_phase_config(real_values("growth"), "Pulumi.growth.yaml")
    section = readiness_section(config, built_phase("growth"))
    assert section.rows == []
    assert section.notes == ["no placeholders: ready for `pulumi preview`"]
