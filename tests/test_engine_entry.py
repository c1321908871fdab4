"""``pulumi up`` and the policy packs the CLI starts load the provider SDKs exactly as Pulumi does.

The lazy SDK loader (infra/plan/lazy_sdk.py) is for the offline plan and the tests only. Each
check runs in a fresh interpreter, because this test process has the loader installed
(tests/conftest.py): it executes the import statements of the engine's entry point as that
file states them (read from infra/__main__.py, so a new import there is covered), or of a
policy pack's ``__main__.py``, and then inspects the import system and the SDK modules.
"""

from __future__ import annotations

import ast
import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from infra.plan.lazy_sdk import EAGER_ENV
from tests.early import EarlyProcess

ROOT = Path(__file__).resolve().parent.parent
ENGINE_ENTRY = ROOT / "infra" / "__main__.py"
PACK_ENTRIES = sorted(ROOT.glob("policies/*/__main__.py"))


def import_statements(entry: Path) -> list[str]:
    """The module-level import statements of ``entry``, as source, in order."""
    tree = ast.parse(entry.read_text(encoding="utf-8"))
    return [ast.unparse(node) for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]


_INSPECT = textwrap.dedent(
    """
    import json, sys
    before = list(sys.meta_path)
    # As the language host does: the SDK first, then the program's directory on sys.path
    # (runpy.run_path), then the program's own imports.
    import pulumi, pulumi.runtime
    sys.path.insert(0, {entry_dir!r})
    {imports}
    {uses}
    sdk = {{name: module for name, module in sys.modules.items() if name.split(".")[0] in
           ("pulumi_aws", "pulumi_cloudflare", "pulumi_kubernetes", "pulumi_random")}}
    print(json.dumps({{
        "meta_path_unchanged": sys.meta_path == before,
        "lazy_modules_loaded": sorted(m for m in sys.modules if m.endswith(("lazy_sdk", "deferred_classes"))),
        "sdk_modules": len(sdk),
        "module_types": sorted({{type(m).__module__ + "." + type(m).__name__ for m in sdk.values()}}),
        "loaders": sorted({{type(m.__spec__.loader).__name__ for m in sdk.values() if m.__spec__}}),
        "module_getattr": sorted(n for n, m in sdk.items() if "__getattr__" in vars(m) and n.count(".") == 0),
        "ec2_inputs_loaded": "SecurityGroupIngressArgs" in vars(sys.modules.get("pulumi_aws.ec2._inputs", sys)),
    }}))
    """
)
PROGRAM_USES = (
    "import pulumi_aws.ec2, pulumi_cloudflare, pulumi_kubernetes.core.v1\n"
    "pulumi_aws.ec2.SecurityGroup, pulumi_aws.ec2.SecurityGroupIngressArgs, pulumi_cloudflare.Ruleset"
)
"""What the program then does with the SDKs (the engine entry only; packs read plain data)."""


def _start(entry: Path) -> EarlyProcess:
    script = _INSPECT.format(
        entry_dir=str(entry.parent),
        imports="\n".join(import_statements(entry)),
        uses=PROGRAM_USES if entry == ENGINE_ENTRY else "",
    )
    # The variable that turns the loader off is cleared: the engine path must not need it.
    env = {key: value for key, value in os.environ.items() if key != EAGER_ENV}
    return EarlyProcess([sys.executable, "-c", script], env=env)


STARTED = {entry: _start(entry) for entry in (ENGINE_ENTRY, *PACK_ENTRIES)}
"""Started when pytest collects this module: each takes seconds (see tests/early.py)."""


@pytest.fixture(scope="module")
def seen_after() -> dict[Path, dict[str, object]]:
    """What each entry point's imports left, from its fresh interpreter."""
    seen: dict[Path, dict[str, object]] = {}
    for entry, process in STARTED.items():
        status, stdout, stderr = process.result()
        assert status == 0, stderr
        seen[entry] = json.loads(stdout)
    return seen


def test_the_engine_entry_point_imports_the_program() -> None:
    imports = import_statements(ENGINE_ENTRY)
    assert "from infra.stack import build_phase" in imports
    assert "from infra.config.loader import load_from_running_program" in imports


@pytest.mark.parametrize("entry", [ENGINE_ENTRY, *PACK_ENTRIES], ids=lambda entry: str(entry.relative_to(ROOT)))
def test_importing_an_entry_point_leaves_the_import_system_as_python_has_it(
    entry: Path, seen_after: dict[Path, dict[str, object]]
) -> None:
    seen = seen_after[entry]
    assert seen["meta_path_unchanged"] is True
    assert seen["lazy_modules_loaded"] == []
    # Plain modules, and the SDKs' own lazily imported subpackages (pulumi._utils, as generated).
    assert set(seen["module_types"]) <= {"builtins.module", "pulumi._utils._LazyModule"}  # type: ignore[arg-type]
    assert set(seen["loaders"]) <= {"SourceFileLoader", "SourcelessFileLoader"}  # type: ignore[arg-type]
    assert seen["module_getattr"] == []


def test_the_program_gets_the_sdk_modules_the_sdks_build(seen_after: dict[Path, dict[str, object]]) -> None:
    seen = seen_after[ENGINE_ENTRY]
    assert isinstance(seen["sdk_modules"], int)
    assert seen["sdk_modules"] > 100
    assert seen["ec2_inputs_loaded"] is True  # the SDK's own star-import, not a deferred class


def test_the_policy_packs_are_the_ones_the_cli_starts() -> None:
    assert [entry.parent.name for entry in PACK_ENTRIES] == ["cost", "security"]
