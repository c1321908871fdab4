"""Generated credentials (random passwords): long enough to resist guessing."""

from __future__ import annotations

from pulumi_policy import Policy, ReportViolation, ResourceValidationArgs

from ._common import number, resource_policy

RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"


def _length(args: ResourceValidationArgs, report: ReportViolation) -> None:
    minimum = args.get_config()["minimumLength"]
    length = args.props.get("length")
    if length is None or length < minimum:
        report(
            f"Random password '{args.name}' is {number(length)} characters long; set length to at least "
            f"{number(minimum)}.",
            None,
        )


POLICIES: list[Policy] = [
    resource_policy(
        "random-randompassword-require-min-length",
        "Generated passwords must be long.",
        [RANDOM_PASSWORD],
        _length,
        {"minimumLength": {"type": "integer", "minimum": 16, "maximum": 128, "default": 32}},
    ),
]
