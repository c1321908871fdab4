"""Run a Python policy pack the way ``pulumi preview --policy-pack DIR`` runs it, without the CLI.

The Pulumi CLI cannot be installed here, so tests and the offline plan start the pack
process themselves and speak Pulumi's analyzer gRPC protocol to it, in the CLI's order::

    with PolicyPackProcess.start(Path("policies/security")) as pack:
        pack.configure(StackContext(project="scaleplan", stack="growth"), load_config_file(cfg))
        report = pack.run(program_run.resources)       # Analyze each input, then AnalyzeStack
    report.mandatory                                   # the diagnostics that block a deployment

One process serves any number of ``configure``/``analyze`` calls: start it once and reuse it.
A policy that raises surfaces as :class:`PolicyRaisedError`, never as a pass.
"""

from __future__ import annotations

import collections
import subprocess
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from infra.plan.capture import CapturedResource
from infra.policy.config import (
    ConfigEntry,
    EnforcementLevel,
    PolicyInfo,
    PolicySetting,
    reconcile,
)
from infra.policy.launch import (
    PLACEHOLDER_ENGINE_ADDRESS,
    LaunchedPack,
    PolicyPackError,
    adopt,
    launch,
    stop_process,
)

_TO_WIRE: dict[EnforcementLevel, analyzer_pb2.EnforcementLevel.ValueType] = {
    EnforcementLevel.ADVISORY: analyzer_pb2.ADVISORY,
    EnforcementLevel.MANDATORY: analyzer_pb2.MANDATORY,
    EnforcementLevel.REMEDIATE: analyzer_pb2.REMEDIATE,
    EnforcementLevel.DISABLED: analyzer_pb2.DISABLED,
}
_FROM_WIRE = {wire: level for level, wire in _TO_WIRE.items()}
_SEVERITIES = {
    analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "",
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
# The pack's own gRPC server accepts up to 400 MiB; a whole stack in one AnalyzeStack can be big.
_CHANNEL_OPTIONS = [("grpc.max_send_message_length", 400 * 1024 * 1024)]
_PREVIEW_PREFIX = "can't run policy "


class PolicyRaisedError(PolicyPackError):
    """A policy raised while validating: the pack answered gRPC UNKNOWN. A bug, not a pass."""

    def __init__(self, pack: str, target: str, details: str) -> None:
        super().__init__(f"policy pack {pack} failed while analyzing {target}: {details}")
        self.pack = pack
        self.target = target
        self.details = details


@dataclass(frozen=True)
class StackContext:
    """What ``ConfigureStack`` tells the pack about the stack being analyzed."""

    project: str
    stack: str
    organization: str = "organization"
    dry_run: bool = False
    config: Mapping[str, str] = field(default_factory=dict)
    """Stack config as the CLI sends it: ``"ns:key"`` -> JSON-or-plain string."""
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Diagnostic:
    """One policy finding."""

    policy: str
    pack: str
    enforcement: EnforcementLevel
    urn: str
    """The analyzed resource's URN for resource policies (the pack leaves it empty); for stack
    policies the URN the policy reported, or empty for a stack-wide finding."""
    message: str
    """The policy description, a newline, then the violation message, as the CLI prints it."""
    description: str = ""
    severity: str = ""

    @property
    def detail(self) -> str:
        """The violation message without the policy description in front of it."""
        prefix = self.description + "\n"
        return self.message[len(prefix) :] if self.message.startswith(prefix) else self.message

    @property
    def skipped_in_preview(self) -> bool:
        """True for the advisory "can't run policy ... during preview" notes on unknown values."""
        return self.message.startswith(_PREVIEW_PREFIX)


@dataclass(frozen=True)
class NotApplicable:
    policy: str
    urn: str
    reason: str


@dataclass(frozen=True)
class PackReport:
    """Everything one pack said about one run."""

    pack: str
    diagnostics: tuple[Diagnostic, ...] = ()
    not_applicable: tuple[NotApplicable, ...] = ()
    settings: Mapping[str, PolicySetting] = field(default_factory=dict)
    """The reconciled configuration the pack ran with."""

    @property
    def mandatory(self) -> list[Diagnostic]:
        """Findings that block ``pulumi up`` (REMEDIATE reaching Analyze counts as mandatory)."""
        blocking = {EnforcementLevel.MANDATORY, EnforcementLevel.REMEDIATE}
        return [d for d in self.diagnostics if d.enforcement in blocking]

    @property
    def advisory(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.enforcement == EnforcementLevel.ADVISORY]

    def __add__(self, other: PackReport) -> PackReport:
        return PackReport(
            self.pack,
            self.diagnostics + other.diagnostics,
            self.not_applicable + other.not_applicable,
            self.settings or other.settings,
        )


def to_struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    """A protobuf Struct from plain JSON-like data (numbers become doubles, as on the wire)."""
    struct = struct_pb2.Struct()
    try:
        struct.update(value)
    except (ValueError, TypeError) as error:
        raise TypeError(f"not JSON-like data, cannot send it to a policy pack: {error}") from error
    return struct


def _read_first_line(stream: IO[bytes], timeout: float) -> bytes:
    box: list[bytes] = []
    reader = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return box[0] if box else b""


def _struct_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    return dict(json_format.MessageToDict(struct))


class PolicyPackProcess:
    """A running policy pack and a gRPC client speaking the analyzer protocol to it."""

    def __init__(self, pack_dir: Path, process: subprocess.Popen[bytes], stderr: IO[bytes], port: int) -> None:
        self.pack_dir = pack_dir
        self._process = process
        self._stderr = stderr
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=_CHANNEL_OPTIONS)
        self._stub: Any = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        self.name = ""
        self.policies: tuple[PolicyInfo, ...] = ()
        self.initial_config: dict[str, ConfigEntry] = {}
        self.settings: dict[str, PolicySetting] = {}
        self.stdout_tail: collections.deque[str] = collections.deque(maxlen=200)
        """The last lines the pack printed after its port."""
        self.configured_with: tuple[StackContext, dict[str, ConfigEntry]] | None = None
        """The arguments of the last :meth:`configure`, so callers sharing the process can tell
        whether it needs configuring again."""
        self._prefetched: dict[tuple[str, bytes], Any] = {}
        """Calls sent ahead by :meth:`prefetch` and :meth:`prefetch_stack`: gRPC futures by
        method and serialized request."""
        self._prefetch_lock = threading.Lock()

    @classmethod
    def start(cls, pack_dir: Path, *, python: str | None = None, startup_timeout: float = 60.0) -> Self:
        """Start the pack as the CLI does and connect to it (see :func:`infra.policy.launch.launch`)."""
        return cls.connect(launch(pack_dir, python=python), startup_timeout=startup_timeout)

    @classmethod
    def connect(cls, launched: LaunchedPack, *, startup_timeout: float = 60.0) -> Self:
        """Take over a launched pack: wait for the port it prints, then handshake and describe."""
        adopt(launched)
        process, stderr = launched.process, launched.stderr
        assert process.stdout is not None
        line = _read_first_line(process.stdout, startup_timeout)
        try:
            port = int(line.strip())
        except ValueError:
            process.kill()
            process.wait()
            stderr.seek(0)
            log = stderr.read().decode(errors="replace").strip()
            stderr.close()
            raise PolicyPackError(
                f"policy pack {launched.pack_dir} did not print its port (first stdout line {line!r}); stderr:\n{log}"
            ) from None
        pack = cls(launched.pack_dir, process, stderr, port)
        # Keep reading stdout, as the CLI does: a pack that prints would otherwise fill the
        # pipe and block inside a policy.
        threading.Thread(target=pack._drain_stdout, daemon=True).start()
        try:
            pack._handshake()
            pack._describe()
        except BaseException:
            pack.close()
            raise
        return pack

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the pack process and release the channel (idempotent)."""
        self._channel.close()
        stop_process(self._process, self._stderr)

    def _drain_stdout(self) -> None:
        assert self._process.stdout is not None
        try:
            for line in self._process.stdout:
                self.stdout_tail.append(line.decode(errors="replace").rstrip("\n"))
        except ValueError:  # the pipe was closed by close()
            return

    def stderr_text(self) -> str:
        """What the pack wrote to stderr so far (tracebacks, ``pulumi.log`` lines)."""
        if self._stderr.closed:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    # -- protocol --------------------------------------------------------------------

    def _call(self, method: str, request: Any, target: str, sent: Any = None) -> Any:
        """The response to ``request``, or to the call ``sent`` ahead with it (a gRPC future)."""
        try:
            return sent.result() if sent is not None else getattr(self._stub, method)(request)
        except grpc.RpcError as error:
            code, details = error.code(), error.details()
            if code == grpc.StatusCode.UNKNOWN:
                # The pack's gRPC server logged the policy's traceback to stderr.
                trace = self.stderr_text().strip().splitlines()[-12:]
                detail = details + ("\n" + "\n".join(trace) if trace else "")
                raise PolicyRaisedError(self.name or str(self.pack_dir), target, detail) from None
            raise PolicyPackError(f"{method} on {self.pack_dir} failed with {code.name}: {details}") from None

    def _handshake(self) -> None:
        request = analyzer_pb2.AnalyzerHandshakeRequest(
            engine_address=PLACEHOLDER_ENGINE_ADDRESS,
            root_directory=str(self.pack_dir),
            program_directory=str(self.pack_dir),
        )
        try:
            self._stub.Handshake(request)
        except grpc.RpcError as error:
            # The Python SDK does not implement Handshake; the engine tolerates that.
            if error.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise PolicyPackError(f"Handshake with {self.pack_dir} failed: {error.details()}") from None

    def _describe(self) -> None:
        info = self._call("GetAnalyzerInfo", empty_pb2.Empty(), "GetAnalyzerInfo")
        self.name = info.name
        kinds = {analyzer_pb2.POLICY_TYPE_RESOURCE: "resource", analyzer_pb2.POLICY_TYPE_STACK: "stack"}
        self.policies = tuple(
            PolicyInfo(
                name=p.name,
                description=p.description,
                enforcement=_FROM_WIRE[p.enforcementLevel],
                config_schema=_struct_dict_schema(p.configSchema),
                kind=kinds.get(p.policy_type, "unknown"),
            )
            for p in info.policies
        )
        declared = {p.name: p.enforcement for p in self.policies}
        for name, config in info.initialConfig.items():
            level: EnforcementLevel | None = _FROM_WIRE[config.enforcementLevel]
            properties = _struct_dict(config.properties)
            # The Python SDK leaves enforcementLevel at its zero value (ADVISORY) when an
            # initial_config entry only sets properties; reading that as "advisory" would
            # silently downgrade the policy, so an ADVISORY that comes with properties and
            # differs from the declared level is taken as "not set".
            if level == EnforcementLevel.ADVISORY and properties and declared.get(name) != level:
                level = None
            self.initial_config[name] = ConfigEntry(level, properties)

    def configure(
        self, stack: StackContext, config: Mapping[str, ConfigEntry] | None = None
    ) -> dict[str, PolicySetting]:
        """``ConfigureStack``, then one ``Configure`` with every policy's reconciled setting.

        ``config`` is the parsed ``--policy-pack-config`` (see :func:`infra.policy.config.parse_config`).
        Returns the effective settings; raises :class:`~infra.policy.config.PolicyConfigError`.
        Configuring again with the same arguments sends nothing, so analyses already sent
        by :meth:`prefetch` stay valid.
        """
        if self.settings and self.configured_with == (stack, dict(config or {})):
            return self.settings
        settings = reconcile(self.policies, self.initial_config, config or {})
        with self._prefetch_lock:
            self._prefetched.clear()
        self._call(
            "ConfigureStack",
            analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=stack.stack,
                project=stack.project,
                organization=stack.organization,
                dry_run=stack.dry_run,
                config=dict(stack.config),
                tags=dict(stack.tags),
            ),
            "ConfigureStack",
        )
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, setting in settings.items():
            request.policyConfig[name].enforcementLevel = _TO_WIRE[setting.enforcement]
            request.policyConfig[name].properties.update(dict(setting.properties))
        self._call("Configure", request, "Configure")
        self.settings = settings
        self.configured_with = (stack, dict(config or {}))
        return settings

    def _diagnostics(self, response: Any, urn: str) -> list[Diagnostic]:
        return [
            Diagnostic(
                policy=d.policyName,
                pack=d.policyPackName,
                enforcement=_FROM_WIRE[d.enforcementLevel],
                urn=d.urn or urn,
                message=d.message,
                description=d.description,
                severity=_SEVERITIES.get(d.severity, ""),
            )
            for d in response.diagnostics
        ]

    def _require_configured(self) -> None:
        if not self.settings:
            raise PolicyPackError(f"{self.pack_dir}: call configure() before analyzing")

    def analyze(
        self, resource: CapturedResource, providers: Mapping[str, CapturedResource] | None = None
    ) -> PackReport:
        """``Analyze`` one resource's inputs (``providers``: provider resources by URN).

        Takes the answer of an identical request sent ahead by :meth:`prefetch`, if any.
        """
        self._require_configured()
        response = self._answer("Analyze", _analyze_request(resource, providers or {}), resource.urn)
        return PackReport(
            self.name,
            tuple(self._diagnostics(response, resource.urn)),
            tuple(NotApplicable(n.policy_name, resource.urn, n.reason) for n in response.not_applicable),
            self.settings,
        )

    def prefetch(self, resource: CapturedResource, providers: Mapping[str, CapturedResource] | None = None) -> None:
        """Send ``Analyze`` for ``resource`` now without waiting: the CLI analyzes each resource
        as the program registers it, so the pack can work while the program is still running.

        :meth:`analyze` later takes the answer if it builds the same request under the same
        configuration (a later :meth:`configure` with other arguments drops it). Thread-safe.
        """
        self._send_ahead("Analyze", _analyze_request(resource, providers or {}))

    def prefetch_stack(self, resources: Sequence[CapturedResource]) -> None:
        """Send ``AnalyzeStack`` over ``resources`` now, for :meth:`analyze_stack` to take later."""
        self._send_ahead("AnalyzeStack", _analyze_stack_request(resources))

    def _send_ahead(self, method: str, request: Any) -> None:
        self._require_configured()
        key = (method, request.SerializeToString(deterministic=True))
        with self._prefetch_lock:
            if key not in self._prefetched:
                self._prefetched[key] = getattr(self._stub, method).future(request)

    def _answer(self, method: str, request: Any, target: str) -> Any:
        """The response to ``request``: the one sent ahead for an identical request, if any."""
        with self._prefetch_lock:
            sent = self._prefetched.pop((method, request.SerializeToString(deterministic=True)), None)
        return self._call(method, request, target, sent)

    @property
    def answers_waiting(self) -> int:
        """How many analyses sent ahead by :meth:`prefetch` no :meth:`analyze` has taken yet."""
        with self._prefetch_lock:
            return len(self._prefetched)

    def analyze_stack(self, resources: Sequence[CapturedResource]) -> PackReport:
        """``AnalyzeStack`` once over the resources' outputs, with parents and dependencies.

        Provider resources are left out: the engine passes them only as each resource's
        ``provider``.
        """
        self._require_configured()
        response = self._answer("AnalyzeStack", _analyze_stack_request(resources), "the stack")
        return PackReport(
            self.name,
            tuple(self._diagnostics(response, "")),
            tuple(NotApplicable(n.policy_name, "", n.reason) for n in response.not_applicable),
            self.settings,
        )

    def run(self, resources: Sequence[CapturedResource]) -> PackReport:
        """What a preview does: ``Analyze`` every resource in registration order, then ``AnalyzeStack``."""
        providers = _providers_by_urn(resources)
        report = PackReport(self.name, settings=self.settings)
        for resource in resources:
            report += self.analyze(resource, providers)
        return report + self.analyze_stack(resources)


class PackPool:
    """Pack processes by directory, each started on first use and reused until :meth:`close`.

    Starting a pack costs about a second and a half of CPU; a test session or a plan run
    starts each pack once and calls ``configure`` again whenever the stack or config changes.
    """

    def __init__(self, *, python: str | None = None) -> None:
        self._python = python
        self._packs: dict[Path, PolicyPackProcess] = {}
        self._launched: dict[Path, LaunchedPack] = {}
        self._lock = threading.Lock()

    def adopt(self, launched: Sequence[LaunchedPack]) -> None:
        """Use these already launched processes when their packs are first needed."""
        with self._lock:
            for pack in launched:
                self._launched.setdefault(pack.pack_dir.resolve(), pack)

    def get(self, pack_dir: Path) -> PolicyPackProcess:
        """The running pack for ``pack_dir``, connecting to a launched one or starting it. Thread-safe."""
        key = pack_dir.resolve()
        with self._lock:
            pack = self._packs.get(key)
            if pack is None or pack._process.poll() is not None:
                launched = self._launched.pop(key, None)
                if launched is not None:
                    pack = PolicyPackProcess.connect(launched)
                else:
                    pack = PolicyPackProcess.start(key, python=self._python)
                self._packs[key] = pack
            return pack

    def close(self) -> None:
        with self._lock:
            for pack in self._packs.values():
                pack.close()
            self._packs.clear()
            for launched in self._launched.values():
                launched.stop()
            self._launched.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _struct_dict_schema(schema: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if schema.properties:
        result["properties"] = _struct_dict(schema.properties)
    if schema.required:
        result["required"] = list(schema.required)
    return result


def _analyze_request(
    resource: CapturedResource, providers: Mapping[str, CapturedResource]
) -> analyzer_pb2.AnalyzeRequest:
    request = analyzer_pb2.AnalyzeRequest(
        type=resource.type,
        urn=resource.urn,
        name=resource.name,
        properties=resource.inputs_struct,
        options=_options(resource),
    )
    provider = _provider(resource, providers)
    if provider is not None:
        request.provider.CopyFrom(provider)
    return request


def _analyze_stack_request(resources: Sequence[CapturedResource]) -> analyzer_pb2.AnalyzeStackRequest:
    providers = _providers_by_urn(resources)
    request = analyzer_pb2.AnalyzeStackRequest()
    for resource in resources:
        if resource.is_provider:
            continue
        item = request.resources.add(
            type=resource.type,
            urn=resource.urn,
            name=resource.name,
            properties=to_struct(resource.outputs),
            options=_options(resource),
            parent=resource.parent,
            dependencies=list(resource.dependencies),
        )
        for key, urns in resource.property_dependencies.items():
            item.propertyDependencies[key].urns.extend(urns)
        provider = _provider(resource, providers)
        if provider is not None:
            item.provider.CopyFrom(provider)
    return request


def _options(resource: CapturedResource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect,
        ignoreChanges=list(resource.ignore_changes),
        deleteBeforeReplace=resource.delete_before_replace,
        deleteBeforeReplaceDefined=resource.delete_before_replace,
        parent=resource.parent,
    )


def _providers_by_urn(resources: Iterable[CapturedResource]) -> dict[str, CapturedResource]:
    return {r.urn: r for r in resources if r.is_provider}


def _provider(
    resource: CapturedResource, providers: Mapping[str, CapturedResource]
) -> analyzer_pb2.AnalyzerProviderResource | None:
    """The resource's provider from its reference ``<provider urn>::<id>``, when known."""
    urn = resource.provider.rsplit("::", 1)[0] if resource.provider else ""
    provider = providers.get(urn)
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider.type, properties=provider.inputs_struct, urn=provider.urn, name=provider.name
    )


def resource(
    type_: str,
    name: str,
    inputs: Mapping[str, Any],
    *,
    outputs: Mapping[str, Any] | None = None,
    protect: bool = False,
    parent: str = "",
    custom: bool = True,
    property_dependencies: Mapping[str, Sequence[str]] | None = None,
    provider: str = "",
    project: str = "scaleplan",
    stack: str = "test",
) -> CapturedResource:
    """A hand-built resource, shaped like one captured from the program, for policy tests.

    ``inputs`` use the engine's camelCase names; ``outputs`` default to the inputs;
    ``property_dependencies`` maps an input to the URNs it came from (``{"securityGroupId": [sg.urn]}``);
    ``provider`` is a provider reference, ``<provider urn>::<provider id>``.
    """
    urn = f"urn:pulumi:{stack}::{project}::{type_}::{name}"
    return CapturedResource(
        type=type_,
        name=name,
        urn=urn,
        custom=custom,
        inputs=dict(inputs),
        outputs=dict(outputs if outputs is not None else inputs),
        inputs_struct=to_struct(inputs),
        parent=parent,
        provider=provider,
        protect=protect,
        dependencies=tuple(sorted({urn for urns in (property_dependencies or {}).values() for urn in urns})),
        property_dependencies={key: tuple(urns) for key, urns in (property_dependencies or {}).items()},
    )
