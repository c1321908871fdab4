"""Standard-support windows of the pinned versions, judged at fixed dates on both sides of each boundary."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from infra.catalog.support import (
    TODAY_ENV,
    WARN_WITHIN_DAYS,
    SupportLevel,
    SupportStatus,
    refuse_unsupported_versions,
    run_date,
    set_run_date,
    support_statuses,
)
from infra.config import PhaseConfig
from infra.config.eks import SupportType
from infra.config.errors import PhaseConfigError
from infra.plan.cli import parse_args
from infra.plan.support_section import support_section
from tests.conftest import phase_config

EKS_KEY = "scaleplan:eks.kubernetes_version"
RDS_KEY = "scaleplan:database.engine_version"
CACHE_KEY = "scaleplan:cache.engine_version"


@pytest.fixture(autouse=True)
def _no_run_date_override(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(TODAY_ENV, raising=False)
    set_run_date(None)
    yield
    set_run_date(None)


def status(config: PhaseConfig, key: str, today: date) -> SupportStatus:
    return next(found for found in support_statuses(config, today) if found.key == key)


def with_eks(config: PhaseConfig, **changes: object) -> PhaseConfig:
    """``config`` with EKS fields changed, unvalidated: only the support judgment reads them."""
    assert config.eks is not None
    return config.model_copy(update={"eks": config.eks.model_copy(update=changes)})


# --- EKS 1.35, support_type STANDARD: standard support ends 2027-03-27 ------------------------


@pytest.mark.parametrize(
    ("today", "level", "days_left"),
    [
        (date(2026, 12, 3), SupportLevel.OK, 114),  # the run date of this change
        (date(2026, 12, 26), SupportLevel.OK, 91),  # one day before the warning window
        (date(2026, 12, 27), SupportLevel.WARNING, 90),  # first day of the window
        (date(2027, 3, 26), SupportLevel.WARNING, 1),  # last day of standard support
        (date(2027, 3, 27), SupportLevel.ERROR, 0),  # extended support from 00:00 UTC
        (date(2027, 6, 1), SupportLevel.ERROR, -66),
    ],
)
def test_eks_135_standard_support_boundaries(today: date, level: SupportLevel, days_left: int) -> None:
    found = status(phase_config("growth"), EKS_KEY, today)
    assert (found.level, found.days_left) == (level, days_left)
    assert found.end_of_standard_support == date(2027, 3, 27)
    assert found.pinned == "EKS Kubernetes 1.35"


def test_warning_window_is_ninety_days() -> None:
    assert WARN_WITHIN_DAYS == 90


def test_eks_warning_says_when_and_what_to_do() -> None:
    found = status(phase_config("scale"), EKS_KEY, date(2027, 1, 1))
    assert found.message == "leaves standard support on 2027-03-27, in 85 days: plan the upgrade now"


def test_eks_134_on_the_day_of_this_change_is_an_error() -> None:
    # The committed phases pinned 1.34 until this change: on 2026-12-03 it is a day out of standard support.
    config = with_eks(phase_config("growth"), kubernetes_version="1.34")
    found = status(config, EKS_KEY, date(2026, 12, 3))
    assert found.level is SupportLevel.ERROR
    assert found.message.startswith("left standard support on 2026-12-02: with support_type STANDARD, EKS upgrades")
    assert status(config, EKS_KEY, date(2026, 12, 1)).level is SupportLevel.WARNING


@pytest.mark.parametrize(
    ("today", "level"),
    [
        (date(2027, 3, 26), SupportLevel.WARNING),  # still standard, inside the window
        (date(2027, 3, 27), SupportLevel.WARNING),  # extended support: allowed, at the extended fee
        (date(2028, 3, 26), SupportLevel.WARNING),
        (date(2028, 3, 27), SupportLevel.ERROR),  # extended support is over too
    ],
)
def test_eks_extended_support_type_is_a_warning_until_extended_support_ends(today: date, level: SupportLevel) -> None:
    config = with_eks(phase_config("growth"), support_type=SupportType.EXTENDED)
    assert status(config, EKS_KEY, today).level is level


def test_extended_support_warning_names_the_fee_and_its_end() -> None:
    config = with_eks(phase_config("growth"), support_type=SupportType.EXTENDED)
    assert status(config, EKS_KEY, date(2027, 4, 1)).message == (
        "in extended support since 2027-03-27 (support_type EXTENDED: billed the extended per-cluster-hour fee) "
        "until 2028-03-27"
    )


# --- RDS for PostgreSQL 16 (to 2029-02-28) and ElastiCache Valkey 8.0 (no end announced) -----


@pytest.mark.parametrize(
    ("today", "level"),
    [
        (date(2028, 11, 29), SupportLevel.OK),  # 91 days before
        (date(2028, 11, 30), SupportLevel.WARNING),  # 90 days before
        (date(2029, 2, 27), SupportLevel.WARNING),
        (date(2029, 2, 28), SupportLevel.ERROR),
    ],
)
def test_rds_16_standard_support_boundaries(today: date, level: SupportLevel) -> None:
    found = status(phase_config("foundation"), RDS_KEY, today)
    assert found.level is level
    assert found.pinned == "RDS for PostgreSQL 16"


def test_cache_version_without_an_announced_end_is_never_flagged() -> None:
    found = status(phase_config("optimize"), CACHE_KEY, date(2040, 1, 1))
    assert (found.level, found.end_of_standard_support, found.message) == (
        SupportLevel.OK,
        None,
        "no end of standard support announced",
    )


def test_foundation_runs_no_cluster_so_has_no_eks_row() -> None:
    keys = [found.key for found in support_statuses(phase_config("foundation"), date(2026, 12, 3))]
    assert keys == [RDS_KEY, CACHE_KEY]


# --- the plan section and the deploy-time refusal ---------------------------------------------


def test_plan_section_passes_today_for_every_phase() -> None:
    for phase in ("foundation", "growth", "scale", "optimize"):
        section = support_section(phase_config(phase), date(2026, 12, 3))
        assert not section.failed, phase
        assert section.data == {
            "version_warnings": 0,
            "version_errors": 0,
            "judged": {"on": "2026-12-03", "warn_within_days": 90},
        }


def test_plan_section_warns_without_failing_inside_the_window() -> None:
    section = support_section(phase_config("growth"), date(2027, 2, 1))
    assert section.failed is False
    assert section.data["version_warnings"] == 1
    assert (
        "warning: scaleplan:eks.kubernetes_version: EKS Kubernetes 1.35 leaves standard support on 2027-03-27, "
        "in 54 days: plan the upgrade now"
    ) in section.notes


def test_plan_section_fails_once_out_of_standard_support() -> None:
    section = support_section(phase_config("growth"), date(2027, 3, 27))
    assert section.failed is True
    assert section.data["version_errors"] == 1
    assert section.rows[0][:5] == [EKS_KEY, "EKS Kubernetes 1.35", "2027-03-27", 0, "error"]


def test_deploy_refuses_a_version_out_of_standard_support() -> None:
    with pytest.raises(PhaseConfigError) as caught:
        refuse_unsupported_versions(phase_config("growth"), "Pulumi.growth.yaml", date(2027, 3, 27))
    assert str(caught.value) == (
        "Pulumi.growth.yaml: scaleplan:eks.kubernetes_version: EKS Kubernetes 1.35 left standard support on "
        "2027-03-27: with support_type STANDARD, EKS upgrades the control plane to the next version on its own "
        "schedule and a new cluster on it is refused or upgraded; pin a newer version from the catalog "
        "(judged on 2027-03-27)"
    )


def test_deploy_accepts_every_committed_phase_today() -> None:
    for phase in ("foundation", "growth", "scale", "optimize"):
        refuse_unsupported_versions(phase_config(phase), f"Pulumi.{phase}.yaml", date(2026, 12, 3))
        # ...and still in the warning window, which only the plan reports.
        refuse_unsupported_versions(phase_config(phase), f"Pulumi.{phase}.yaml", date(2027, 3, 26))


# --- the run date: --today, SCALEPLAN_TODAY, today ---------------------------------------------


def test_run_date_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TODAY_ENV, "2027-03-01")
    assert run_date() == date(2027, 3, 1)


def test_today_flag_overrides_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TODAY_ENV, "2027-03-01")
    args = parse_args(["growth", "--today", "2027-03-27"])
    assert args.today == date(2027, 3, 27)
    assert run_date() == date(2027, 3, 27)


def test_run_date_defaults_to_today_in_utc() -> None:
    assert (run_date() - date.today()).days in (-1, 0, 1)


def test_rejects_malformed_today_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        parse_args(["growth", "--today", "27/03/2027"])
    assert caught.value.code == 2
    assert "not a date in the form YYYY-MM-DD (got '27/03/2027')" in capsys.readouterr().err


def test_rejects_malformed_today_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TODAY_ENV, "tomorrow")
    with pytest.raises(PhaseConfigError) as caught:
        run_date()
    assert str(caught.value) == "SCALEPLAN_TODAY: not a date in the form YYYY-MM-DD (got 'tomorrow')"


def test_committed_pins_are_in_standard_support_on_the_real_date() -> None:
    # The one test judged on the real date, on purpose: it fails from the day `pulumi up` would
    # refuse a committed phase (EKS 1.35: 2027-03-27). Fix it by moving the pin to a newer
    # catalog version (docs/catalogs.md, "Refreshing a catalog"), not by pinning this test's date.
    today = datetime.now(UTC).date()
    for phase in ("foundation", "growth", "scale", "optimize"):
        refuse_unsupported_versions(phase_config(phase), f"Pulumi.{phase}.yaml", today)
