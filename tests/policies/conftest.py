"""Fixtures for policy-pack tests, generic over packs.

Every pack runs as one real process per test session (``policy_packs``), spoken to through
the analyzer protocol exactly as the Pulumi CLI would. A pack's tests wrap it in a
:class:`PackUnderTest`::

    @pytest.fixture
    def cost_pack(policy_packs: PackPool) -> PackUnderTest:
        return PackUnderTest(policy_packs.get(POLICIES / "cost"))

    def test_...(cost_pack):
        assert cost_pack.violations(resource("aws:rds/instance:Instance", "db", {...}), "<policy>") == ["..."]
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from infra.plan.capture import CapturedResource
from infra.policy.config import parse_config
from infra.policy.launch import POLICIES_ROOT
from infra.policy.packs import shared_pool
from infra.policy.runner import PackPool, PackReport, PolicyPackProcess, StackContext

POLICIES = POLICIES_ROOT
TEST_STACK = StackContext(project="scaleplan", stack="test")


class PackUnderTest:
    """A running pack with per-call configuration, for one-mutation-per-test rule tests."""

    def __init__(
        self,
        process: PolicyPackProcess,
        base_config: Mapping[str, Any] | None = None,
        stack: StackContext = TEST_STACK,
    ) -> None:
        self.process = process
        self.base_config = dict(base_config or {})
        self.stack = stack

    def configure(self, config: Mapping[str, Any] | None = None) -> None:
        """Configure with ``base_config`` updated by ``config`` (other tests reconfigure the
        shared process too; configuring it as it already is sends nothing)."""
        self.process.configure(self.stack, parse_config({**self.base_config, **(config or {})}))

    def analyze(self, resource: CapturedResource, config: Mapping[str, Any] | None = None) -> PackReport:
        self.configure(config)
        return self.process.analyze(resource)

    def analyze_stack(
        self, resources: Sequence[CapturedResource], config: Mapping[str, Any] | None = None
    ) -> PackReport:
        self.configure(config)
        return self.process.analyze_stack(resources)

    def violations(self, resource: CapturedResource, policy: str, config: Mapping[str, Any] | None = None) -> list[str]:
        """The violation messages (without the description) ``policy`` reports on ``resource``."""
        return _details(self.analyze(resource, config), policy)

    def stack_violations(
        self, resources: Sequence[CapturedResource], policy: str, config: Mapping[str, Any] | None = None
    ) -> list[tuple[str, str]]:
        """(urn, message) of each violation the stack policy ``policy`` reports."""
        report = self.analyze_stack(resources, config)
        return [(d.urn, d.detail) for d in report.diagnostics if d.policy == policy]

    def all_violations(
        self, resource: CapturedResource, config: Mapping[str, Any] | None = None
    ) -> dict[str, list[str]]:
        """Every policy's violation messages on ``resource``, for "the baseline is clean" tests."""
        report = self.analyze(resource, config)
        found: dict[str, list[str]] = {}
        for diagnostic in report.diagnostics:
            found.setdefault(diagnostic.policy, []).append(diagnostic.detail)
        return found


def _details(report: PackReport, policy: str) -> list[str]:
    return [d.detail for d in report.diagnostics if d.policy == policy]


@pytest.fixture(scope="session")
def policy_packs() -> Iterator[PackPool]:
    """Each pack directory started once per session and reused by every test.

    The same pool as the plan's policy section uses, so section tests start no extra process.
    """
    pool = shared_pool()
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def security_pack(policy_packs: PackPool) -> PackUnderTest:
    return PackUnderTest(policy_packs.get(POLICIES / "security"))


DELETE = object()
"""Value for :func:`mutate` that removes the property."""


def mutate(base: Mapping[str, Any], path: str, value: object) -> dict[str, Any]:
    """A deep copy of ``base`` with the dotted ``path`` set to ``value`` (list indexes allowed)."""
    result: dict[str, Any] = copy.deepcopy(dict(base))
    *parents, last = path.split(".")
    node: Any = result
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(last)] = value
    elif value is DELETE:
        del node[last]
    else:
        node[last] = value
    return result
