"""A bad stack file is one line naming the file (and key), never a traceback, on every entry point.

The offline plan, the policy runner and the cost-config generator read stack files; the
engine path (``infra/__main__.py``) gets the config from ``pulumi up`` and names the file it
came from. Each file-level problem is checked through the loader, and the commands are run
as processes (exit code 2, one line on stderr, no traceback).
"""

from __future__ import annotations

import atexit
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pulumi
import pytest
from pulumi.runtime import config as runtime_config

from infra.config.errors import PhaseConfigError
from infra.config.loader import engine_config_source, load_from_running_program, load_stack_file
from infra.yaml_files import MAX_DEPTH, MAX_VALUES
from tests.conftest import ROOT, phase_config, stack_file
from tests.early import EarlyProcess

NAME = "Pulumi.bad.yaml"
GROWTH = stack_file("growth").read_text()

RETENTION_LINE = GROWTH.splitlines().index("    control_plane_log_retention_days: 30") + 1
"""Where the growth file states the key the duplicated-key case repeats."""
LATIN_LINE = next(number for number, line in enumerate(GROWTH.splitlines(), 1) if "ftw-prod" in line)

BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 10 if previous else ['lol'] * 10)}]\n"
    for previous, name in zip([None, "a", "b", "c", "d", "e"], ["a", "b", "c", "d", "e", "f"], strict=True)
)
"""Six levels of ten aliases each: a million values from 300 bytes."""

CASES: dict[str, tuple[bytes, str]] = {
    "not UTF-8": (
        GROWTH.replace("ftw-prod", "ftw-pr\u00f6d").encode("latin-1"),
        f"is not UTF-8 text (byte 0xf6 on line {LATIN_LINE}); save it as UTF-8",
    ),
    "binary junk": (b"\x7fELF\x02\x01\x01\x00\x00\x00", "is binary, not YAML text (a NUL byte at offset 7)"),
    "alias cycle": (
        b"config:\n  scaleplan:network: &loop\n    - *loop\n",
        "scaleplan:network[0]: an alias here refers to the node that contains it: a cycle, which config data "
        "cannot hold",
    ),
    "billion laughs": (
        f"config:\n  scaleplan:x: 1\n{BOMB}".encode(),
        f"f[9]: expands to more than {MAX_VALUES:,} values through aliases (a YAML bomb?); write the values out",
    ),
    "duplicated key": (
        GROWTH.replace(
            "    control_plane_log_retention_days: 30\n",
            "    control_plane_log_retention_days: 30\n    control_plane_log_retention_days: 90\n",
        ).encode(),
        f"scaleplan:eks.control_plane_log_retention_days: stated twice in one mapping (lines {RETENTION_LINE} and "
        f"{RETENTION_LINE + 1}); YAML keeps "
        "only the last, so the other is silently lost: keep one",
    ),
    "duplicated top-level key": (
        b"config:\n  scaleplan:x: 1\nconfig:\n  scaleplan:y: 2\n",
        "config: stated twice in one mapping (lines 1 and 3); YAML keeps only the last, so the other is silently "
        "lost: keep one",
    ),
    "nesting bomb": (
        ("config:\n  scaleplan:x: " + "[" * 5000 + "]" * 5000 + "\n").encode(),
        f"scaleplan:x[0]: nests deeper than {MAX_DEPTH} levels",
    ),
    "not YAML": (
        b"config:\n  scaleplan:network: [unclosed\n",
        "not valid YAML: while parsing a flow sequence: did not find expected ',' or ']' (line 3, column 1)",
    ),
    "tab indentation": (
        b"config:\n\tscaleplan:network: {}\n",
        "not valid YAML: while scanning for the next token: found character that cannot start any token "
        "(line 2, column 1)",
    ),
    "empty": (b"", "is empty; a stack file is a mapping with a top-level 'config:' mapping"),
    "comments only": (b"# nothing yet\n", "is empty; a stack file is a mapping with a top-level 'config:' mapping"),
    "top-level list": (b"- config\n", "must be a mapping with a top-level 'config:' mapping (got a list)"),
    "top-level text": (b"config\n", "must be a mapping with a top-level 'config:' mapping (got a string)"),
    "no config": (b"encryptionsalt: v1:abc\n", "has no top-level 'config:' mapping (top-level keys: encryptionsalt)"),
    "config not a mapping": (b"config: 3\n", "config: must be a mapping of keys to values (got a scalar)"),
    "config empty": (
        b"config: {}\n",
        "config: has no scaleplan:* keys (got none); the project's keys are scaleplan:environment, "
        "scaleplan:network and the rest, as in the committed phase files",
    ),
    "other namespaces only": (
        b"config:\n  aws:region: us-east-1\n",
        "config: has no scaleplan:* keys (got aws:region); the project's keys are scaleplan:environment, "
        "scaleplan:network and the rest, as in the committed phase files",
    ),
    "misspelt namespace": (
        GROWTH.replace("  scaleplan:database:", "  scalepaln:database:").encode(),
        "scalepaln:database: namespace 'scalepaln' is not this project's; did you mean scaleplan:?",
    ),
    "key without namespace": (
        b"config:\n  scaleplan:x: 1\n  database: {}\n",
        "database: a config key needs a namespace, `<namespace>:<name>`; this project's is scaleplan:database",
    ),
    "YAML-only value": (
        b"config:\n  scaleplan:x: .nan\n",
        "holds a value that is not plain config data: Out of range float values are not JSON compliant",
    ),
    "binary value": (
        b"config:\n  scaleplan:x: !!binary aGVsbG8=\n",
        "holds a value that is not plain config data: Object of type bytes is not JSON serializable",
    ),
}


def write(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / NAME
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_file_is_one_line_naming_the_file_and_key(tmp_path: Path, case: str) -> None:
    content, expected = CASES[case]
    with pytest.raises(PhaseConfigError) as refused:
        load_stack_file(write(tmp_path, content))
    assert str(refused.value) == f"{NAME}: {expected}"


def test_a_date_like_value_stays_text_as_pulumi_reads_it(tmp_path: Path) -> None:
    path = write(tmp_path, GROWTH.replace("    owner_email:", "    owner_email: 2026-12-03 #", 1).encode())
    with pytest.raises(PhaseConfigError) as refused:
        load_stack_file(path)
    assert "scaleplan:environment.owner_email" in str(refused.value)
    assert "2026-12-03" in str(refused.value)
    assert "datetime" not in str(refused.value)


def test_a_missing_file_and_a_directory_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(PhaseConfigError) as missing:
        load_stack_file(tmp_path / NAME)
    assert str(missing.value) == f"{NAME}: cannot be read: No such file or directory"
    (tmp_path / "Pulumi.dir.yaml").mkdir()
    with pytest.raises(PhaseConfigError) as directory:
        load_stack_file(tmp_path / "Pulumi.dir.yaml")
    assert str(directory.value) == "Pulumi.dir.yaml: is a directory, not a stack file"


def test_the_committed_files_use_no_yaml_feature_the_loader_refuses() -> None:
    for phase in ("foundation", "growth", "scale", "optimize"):
        assert load_stack_file(stack_file(phase)) == phase_config(phase)


# --- the commands, as processes


def _start_commands() -> tuple[Path, dict[str, EarlyProcess]]:
    """Each command on a bad file (every file-level case goes through the same loader, checked
    above), and a plan of a phase moved to another region, started when pytest collects this
    module (they take seconds; see tests/early.py)."""
    folder = Path(tempfile.mkdtemp(prefix="scaleplan-bad-files-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    latin = folder / "Pulumi.latin.yaml"
    latin.write_bytes(CASES["not UTF-8"][0])
    cost_root = folder / "cost-root"
    (cost_root / "policies" / "cost" / "config").mkdir(parents=True)
    for phase in ("foundation", "growth", "scale", "optimize"):
        shutil.copy(stack_file(phase), cost_root / f"Pulumi.{phase}.yaml")
    (cost_root / "Pulumi.scale.yaml").write_bytes(CASES["alias cycle"][0])
    ireland = folder / "Pulumi.ireland.yaml"  # a region that never had an RDS CA file of its own
    ireland.write_text(GROWTH.replace("us-east-1", "eu-west-1"))
    python = sys.executable
    return cost_root, {
        "plan latin": EarlyProcess([python, "-m", "infra.plan", "growth", "--stack-file", str(latin)]),
        "policy latin": EarlyProcess([python, "-m", "infra.policy", "growth", "--stack-file", str(latin)]),
        # The packs' config generator, checking only (it would write into the project otherwise).
        "cost cycle": EarlyProcess(
            [python, "-m", "infra.policy.settings", "--stack-file", str(cost_root / "Pulumi.scale.yaml"), "--check"]
        ),
        "plan ireland": EarlyProcess(
            [python, "-m", "infra.plan", "growth", "--stack-file", str(ireland), "--format", "json"]
        ),
    }


_, STARTED = _start_commands()


@pytest.fixture(scope="module")
def command_runs() -> dict[str, tuple[int, str, str]]:
    runs = {name: process.result() for name, process in STARTED.items()}
    return runs


@pytest.mark.parametrize(
    ("command", "line"),
    [
        ("plan latin", "{folder}/Pulumi.latin.yaml: " + CASES["not UTF-8"][1]),
        ("policy latin", "{folder}/Pulumi.latin.yaml: " + CASES["not UTF-8"][1]),
        ("cost cycle", "Pulumi.scale.yaml: " + CASES["alias cycle"][1]),
    ],
)
def test_each_command_exits_2_with_one_line_naming_the_file_it_read(
    command_runs: dict[str, tuple[int, str, str]], command: str, line: str
) -> None:
    status, stdout, stderr = command_runs[command]
    assert "Traceback" not in stderr
    assert status == 2, stderr
    (printed,) = stderr.splitlines()
    folder = printed.split("/Pulumi.")[0] if "{folder}" in line else ""
    assert printed == line.format(folder=folder)
    assert stdout == ""


# --- the engine path: the config pulumi up hands the program


@pytest.fixture
def engine_config() -> Iterator[None]:
    saved = runtime_config.CONFIG.get()
    yield
    runtime_config.CONFIG.set(saved)


def test_the_engine_path_refuses_config_without_our_keys_in_one_line(engine_config: None) -> None:
    pulumi.runtime.set_all_config({"aws:region": "us-east-1", "scalepln:network": json.dumps({"a": 1})})
    with pytest.raises(PhaseConfigError) as refused:
        load_from_running_program("prod", project_root=ROOT)
    assert isinstance(refused.value, pulumi.RunError)  # the engine prints it without a traceback
    assert str(refused.value) == (
        "stack 'prod' config (not Pulumi.prod.yaml as it stands: the file given to --config-file, or values set "
        "since): scalepln:network: namespace 'scalepln' is not this project's; did you mean scaleplan:?"
    )


def _values(path: Path) -> dict[str, object]:
    from infra.yaml_files import load_strict

    config: dict[str, object] = load_strict(path)["config"]
    return config


def test_with_config_file_the_engine_path_names_the_file_it_was_given(tmp_path: Path) -> None:
    """``pulumi up -s prod --config-file Pulumi.scale.yaml``: the engine does not say which file
    it read, so the program finds the stack file whose values it was handed."""
    for phase in ("growth", "scale"):
        shutil.copy(stack_file(phase), tmp_path / f"Pulumi.{phase}.yaml")
    shutil.copy(stack_file("growth"), tmp_path / "Pulumi.prod.yaml")
    scale = _values(stack_file("scale"))
    assert engine_config_source("prod", scale, tmp_path) == "Pulumi.scale.yaml (stack 'prod')"
    assert engine_config_source("prod", _values(stack_file("growth")), tmp_path) == "Pulumi.prod.yaml (stack 'prod')"
    changed = {**scale, "scaleplan:budget": {"monthly_usd": 1}}
    assert engine_config_source("prod", changed, tmp_path).startswith("stack 'prod' config (not Pulumi.prod.yaml")


def test_a_phase_moved_to_a_region_without_a_file_of_its_own_plans(
    command_runs: dict[str, tuple[int, str, str]],
) -> None:
    """The RDS CA bundle is AWS's global one: nothing to add for eu-west-1 (only us-east-1 had a file)."""
    status, stdout, stderr = command_runs["plan ireland"]
    assert "Traceback" not in stderr
    assert status in (0, 1), stderr  # planned: 1 only says a section (its prices there) failed
    # Only the plan's own reason lines, one per failed check: nothing else went wrong.
    assert all(line.startswith("FAILED growth (") for line in stderr.splitlines()), stderr
    plan = json.loads(stdout)
    assert [phase["stack"] for phase in plan["phases"]] == ["growth"]
    assert plan["phases"][0]["stack_file"].endswith("Pulumi.ireland.yaml")
