"""Run the real Pulumi program under mocks and capture every resource it registers.

This is the engine of the offline plan, the tests and the offline policy run: the program
is executed exactly as `pulumi up` would execute it, except that the engine is Pulumi's
mock monitor, so each `RegisterResourceRequest` is recorded instead of sent to a cloud.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.sync_await import _sync_await

from infra.plan.mocks import RealisticMocks

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class CapturedResource:
    """One resource as the engine would see it: inputs as sent, outputs as the mock answered."""

    type: str
    """Type token, e.g. ``aws:rds/instance:Instance`` or ``scaleplan:network:Network``."""
    name: str
    """Logical name."""
    urn: str
    custom: bool
    """False for component resources."""
    inputs: Mapping[str, Any]
    """Resource inputs with the engine's camelCase property names."""
    outputs: Mapping[str, Any]
    """State returned by the mocks (inputs plus computed properties)."""
    inputs_struct: struct_pb2.Struct = field(repr=False, compare=False)
    """The inputs exactly as serialized on the wire, for the analyzer protocol."""
    parent: str = ""
    provider: str = ""
    protect: bool = False
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ignore_changes: tuple[str, ...] = ()
    delete_before_replace: bool = False
    retain_on_delete: bool = False
    aliases: tuple[str, ...] = ()
    """URNs this resource had before (``aliases``), as the engine would match them in state."""

    @property
    def is_provider(self) -> bool:
        return self.type.startswith("pulumi:providers:")


ResourceObserver = Callable[[CapturedResource], None]
"""Called with each resource as it is registered (from the SDK's worker threads)."""


class CapturingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that keeps every registration request, in order, and reports each one."""

    def __init__(self, mocks: pulumi.runtime.Mocks, observers: Sequence[ResourceObserver] = ()) -> None:
        super().__init__(mocks)
        self.captured: list[CapturedResource] = []
        self._observers = tuple(observers)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == ROOT_STACK_TYPE:
            return response
        inputs = rpc.deserialize_properties(request.object)
        outputs = rpc.deserialize_properties(response.object) if response.object else {}
        inputs_struct = struct_pb2.Struct()
        inputs_struct.CopyFrom(request.object)
        resource = CapturedResource(
            type=request.type,
            name=request.name,
            urn=response.urn,
            custom=bool(request.custom),
            inputs=inputs,
            outputs=outputs,
            inputs_struct=inputs_struct,
            parent=request.parent,
            provider=request.provider,
            protect=bool(request.protect),
            dependencies=tuple(request.dependencies),
            property_dependencies={key: tuple(deps.urns) for key, deps in request.propertyDependencies.items()},
            ignore_changes=tuple(request.ignoreChanges),
            delete_before_replace=bool(request.deleteBeforeReplace),
            retain_on_delete=bool(request.retainOnDelete),
            aliases=tuple(_alias_urn(alias, request) for alias in request.aliases),
        )
        self.captured.append(resource)
        for observer in self._observers:
            observer(resource)
        return response


def _alias_urn(alias: Any, request: Any) -> str:
    """The URN an alias names: given whole, or as a spec the engine completes from the request."""
    if alias.urn:
        return str(alias.urn)
    spec = alias.spec
    type_token = spec.type or request.type
    parent = "" if spec.noParent else (spec.parentUrn or request.parent)
    if parent:  # urn:pulumi:<stack>::<project>::<parent's qualified type>::<parent's name>
        # The engine leaves the root stack out of qualified types (the mocks' URNs keep it).
        parent_type = parent.rsplit("::", 2)[1].removeprefix(f"{ROOT_STACK_TYPE}$")
        if parent_type != ROOT_STACK_TYPE:
            type_token = f"{parent_type}${type_token}"
    project, stack = spec.project or pulumi.get_project(), spec.stack or pulumi.get_stack()
    # An alias spec without a name (the SDK's type aliases) keeps the resource's own name.
    return f"urn:pulumi:{stack}::{project}::{type_token}::{spec.name or request.name}"


@dataclass(frozen=True)
class ProgramRun:
    """Everything a mocked run of the program produced."""

    resources: tuple[CapturedResource, ...]
    stack_outputs: Mapping[str, Any]

    def of_type(self, type_token: str) -> list[CapturedResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> CapturedResource:
        matches = [r for r in self.of_type(type_token) if name is None or r.name == name]
        if len(matches) != 1:
            raise LookupError(f"expected exactly one {type_token} {name or ''}, found {len(matches)}")
        return matches[0]

    def children_of(self, parent_urn: str) -> list[CapturedResource]:
        return [r for r in self.resources if r.parent == parent_urn]

    def by_urn(self, urn: str) -> CapturedResource:
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise LookupError(urn)


def _ensure_open_event_loop() -> None:
    """Pulumi's runtime works on the thread's current event loop: make sure it has an open one."""
    with warnings.catch_warnings():
        # From Python 3.12 asking for the current loop when none is set is deprecated (it
        # warns, then makes one); the question here is only whether an open one is set.
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            loop = None
    if loop is None or loop.is_closed():
        asyncio.set_event_loop(asyncio.new_event_loop())


def run_program(
    program: Callable[[], None],
    *,
    project: str,
    stack: str,
    mocks: pulumi.runtime.Mocks | None = None,
    preview: bool = False,
    observers: Sequence[ResourceObserver] = (),
) -> ProgramRun:
    """Execute ``program`` under mocks and return the resources it registered.

    ``observers`` see each resource as soon as it is registered, while the program goes on.
    Exceptions raised by the program (including inside ``apply``) propagate unchanged.
    """
    monitor = CapturingMonitor(mocks or RealisticMocks(), observers)
    _ensure_open_event_loop()
    # set_mocks keeps an existing root Stack, so without this a second run in the same
    # process would report the first run's exports (and parent resources to its stack).
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    settings = pulumi.runtime.settings.SETTINGS
    settings.rpc_manager.clear()
    settings.outputs.clear()
    exported: dict[str, Any] = {}

    def _program() -> None:
        program()

    _sync_await(pulumi.runtime.stack.run_pulumi_func(_program))
    root = pulumi.runtime.settings.get_root_resource()
    for key, value in (getattr(root, "outputs", None) or {}).items():
        exported[key] = _sync_await(pulumi.Output.from_input(value).future())
    return ProgramRun(resources=tuple(monitor.captured), stack_outputs=exported)
