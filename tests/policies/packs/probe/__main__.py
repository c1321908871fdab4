"""A pack whose only job is to make the runner's protocol handling observable in tests."""

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)


def _flagged(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.props.get("bad"):
        report(f"{args.name} is bad")


def _threshold(args: ResourceValidationArgs, report: ReportViolation) -> None:
    config = args.get_config()
    report(f"threshold={config['threshold']!r} label={config.get('label')!r}")


def _raises(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.props.get("chatty"):
        # More than a pipe buffer (64 KiB) on stdout: the runner must keep reading it.
        print("x" * 1024 * 200, flush=True)
    if args.props.get("explode"):
        raise RuntimeError("probe exploded")


def _reads_computed(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if "computed" in args.props and args.props["computed"] != "ok":
        report("computed is not ok")


def _provider(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == "probe:index:Provided":
        provider = args.provider
        report(
            f"provider={provider.resource_type}:{provider.name}:{provider.props.get('region')}" if provider else "none"
        )


def _links(args: StackValidationArgs, report: ReportViolation) -> None:
    for resource in args.resources:
        if resource.resource_type == "probe:index:Linked":
            parent = resource.parent.name if resource.parent else None
            deps = sorted(d.name for d in resource.dependencies)
            by_property = {k: sorted(d.name for d in v) for k, v in resource.property_dependencies.items()}
            report(f"parent={parent} deps={deps} props={by_property} value={resource.props.get('value')}", resource.urn)


def _unprotected(args: StackValidationArgs, report: ReportViolation) -> None:
    for resource in args.resources:
        if resource.resource_type.startswith("probe:") and not resource.opts.protect:
            report(f"{resource.name} is not protected", resource.urn)


PolicyPack(
    name="probe",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        ResourceValidationPolicy(
            name="probe-declared-mandatory",
            description="Declares MANDATORY itself.",
            enforcement_level=EnforcementLevel.MANDATORY,
            validate=_flagged,
        ),
        ResourceValidationPolicy(
            name="probe-pack-default",
            description="Takes the pack's level.",
            validate=_flagged,
        ),
        ResourceValidationPolicy(
            name="probe-declared-advisory",
            description="Declares ADVISORY itself.",
            enforcement_level=EnforcementLevel.ADVISORY,
            validate=_flagged,
        ),
        ResourceValidationPolicy(
            name="probe-configured",
            description="Reports its configuration.",
            config_schema=PolicyConfigSchema(
                properties={
                    "threshold": {"type": "integer", "minimum": 1, "default": 7},
                    "label": {"type": "string"},
                },
            ),
            validate=_threshold,
        ),
        ResourceValidationPolicy(name="probe-raises", description="Raises on explode.", validate=_raises),
        ResourceValidationPolicy(name="probe-computed", description="Reads computed.", validate=_reads_computed),
        ResourceValidationPolicy(
            name="probe-sees-provider",
            description="Reports the provider.",
            enforcement_level=EnforcementLevel.ADVISORY,
            validate=_provider,
        ),
        StackValidationPolicy(
            name="probe-sees-links",
            description="Reports parent and dependencies.",
            enforcement_level=EnforcementLevel.ADVISORY,
            validate=_links,
        ),
        StackValidationPolicy(
            name="probe-stack-protect", description="Probe resources are protected.", validate=_unprotected
        ),
    ],
    initial_config={"probe-configured": {"label": "from-initial-config"}},
)
