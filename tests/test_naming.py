"""Physical names: derived from the environment, within each service's limits, never colliding."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.naming import Service, physical_name


def test_joins_environment_and_parts() -> None:
    assert physical_name("ftw-prod", "db", service=Service.RDS_IDENTIFIER) == "ftw-prod-db"


def test_lowercases_and_replaces_characters_the_service_refuses() -> None:
    assert physical_name("FTW-Prod", "web_api", "v2.1", service=Service.ALB) == "ftw-prod-web-api-v2-1"


def test_keeps_slashes_where_the_service_allows_them() -> None:
    assert physical_name("ftw-prod", "app/db", service=Service.SECRET) == "ftw-prod-app/db"
    assert physical_name("ftw-prod", "app/db", service=Service.ALB) == "ftw-prod-app-db"


def test_collapses_and_trims_dashes() -> None:
    assert physical_name("ftw-prod", "--a--", "", "b-", service=Service.GENERIC) == "ftw-prod-a-b"


def test_shortens_a_long_name_with_a_stable_hash() -> None:
    name = physical_name("ftw-prod", "public-load-balancer-for-web", service=Service.ALB)
    assert len(name) == 32
    assert re.fullmatch(r"ftw-prod-public-load-bala-[0-9a-f]{6}", name)
    assert name == physical_name("ftw-prod", "public-load-balancer-for-web", service=Service.ALB)


def test_long_names_differing_only_at_the_end_do_not_collide() -> None:
    first = physical_name("ftw-prod", "public-load-balancer-for-web-a", service=Service.ALB)
    second = physical_name("ftw-prod", "public-load-balancer-for-web-b", service=Service.ALB)
    assert first != second


@pytest.mark.parametrize("service", list(Service))
def test_name_at_the_limit_is_kept_whole(service: Service) -> None:
    environment = "e" * service.max_length
    assert physical_name(environment, service=service) == environment


parts_st = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789-_./ ", min_size=1, max_size=80), max_size=5
)


@given(st.sampled_from(list(Service)), st.from_regex(r"[a-z][a-z0-9-]{1,14}[a-z0-9]", fullmatch=True), parts_st)
def test_names_fit_the_service(service: Service, environment: str, parts: list[str]) -> None:
    name = physical_name(environment, *parts, service=service)
    assert 0 < len(name) <= service.max_length
    assert re.fullmatch(f"[{service.allowed}]+", name)
    assert "--" not in name
    assert not name.startswith("-")
    assert not name.endswith("-")
    assert name == physical_name(environment, *parts, service=service)
