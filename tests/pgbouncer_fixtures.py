"""Shared inputs of the PgBouncer tests: a valid config and stack-file values to mutate."""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml

from infra.config.pgbouncer import PgBouncerConfig
from tests.conftest import stack_file

IMAGE = (
    "ghcr.io/cloudnative-pg/pgbouncer:1.22.1-16@sha256:41171c76d5149ec7f9c76f0f1d57bbeae83c543ad3658d8aa65a4d48649c0ee9"
)
EXPORTER_IMAGE = "quay.io/prometheuscommunity/pgbouncer-exporter:v0.12.1@sha256:" + "1" * 64
AGENT_IMAGE = "public.ecr.aws/cloudwatch-agent/cloudwatch-agent:1.300070.0b1586@sha256:" + "2" * 64

SETTINGS: dict[str, Any] = {
    "image": IMAGE,
    "image_architecture": "arm64",
    "replicas": 2,
    "autoscaling": {"min_replicas": 2, "max_replicas": 6},
    "pool_mode": "transaction",
    "max_client_conn": 2000,
    "default_pool_size": 25,
    "min_pool_size": 10,
    "reserve_pool_size": 5,
    "reserve_pool_timeout_seconds": 3,
    "server_lifetime_seconds": 3600,
    "server_idle_timeout_seconds": 600,
    "read_only_pool": {"default_pool_size": 20, "min_pool_size": 5, "reserve_pool_size": 5},
    "sizing": {"transactions_per_request": 2, "transaction_time_ms": 100},
    "resources": {
        "cpu_request_millicores": 250,
        "cpu_limit_millicores": 1000,
        "memory_request_mib": 128,
        "memory_limit_mib": 256,
    },
    "metrics": {
        "exporter_image": EXPORTER_IMAGE,
        "agent_image": AGENT_IMAGE,
        "exporter_resources": {
            "cpu_request_millicores": 50,
            "cpu_limit_millicores": 100,
            "memory_request_mib": 32,
            "memory_limit_mib": 64,
        },
        "agent_resources": {
            "cpu_request_millicores": 50,
            "cpu_limit_millicores": 200,
            "memory_request_mib": 128,
            "memory_limit_mib": 200,
        },
    },
}


def pgbouncer_settings(**changes: Any) -> dict[str, Any]:
    settings = copy.deepcopy(SETTINGS)
    settings.update(changes)
    return settings


def pgbouncer_config(**changes: Any) -> PgBouncerConfig:
    return PgBouncerConfig.model_validate_json(json.dumps(pgbouncer_settings(**changes)), strict=True)


def stack_values(phase: str) -> dict[str, Any]:
    """The ``config:`` mapping of a phase's stack file, to change one key per test."""
    document = yaml.safe_load(stack_file(phase).read_text())
    return copy.deepcopy(document["config"])
