"""The lazy SDK loader binds exactly what the SDKs' own star-imports bind, only later."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.plan.lazy_sdk import EAGER_ENV, LazySdkFinder, exported_names

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fake_sdk(tmp_path: Path) -> Iterator[str]:
    """A package shaped like a generated SDK: star-imports, registration code, a name defined twice."""
    package = tmp_path / "fakesdk"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from . import _utilities\n"
        "from .alpha import *\n"
        "from .beta import *\n"
        "from .Gamma import *\n"
        "REGISTERED = _utilities.register()\n"
    )
    (package / "_utilities.py").write_text("def register():\n    return 'ran'\n")
    (package / "alpha.py").write_text(
        "__all__ = ['Alpha', 'Shared']\nclass Alpha: ...\nclass Shared: origin = 'alpha'\n"
    )
    (package / "beta.py").write_text(
        "__all__ = [\n    'Beta',\n    'Shared',\n]\nclass Beta: ...\nclass Shared: origin = 'beta'\n"
    )
    # A module named like the class it exports, as pulumi_kubernetes generates them.
    (package / "Gamma.py").write_text("__all__ = ['Gamma']\nclass Gamma: ...\n")
    finder = LazySdkFinder(roots=frozenset({"fakesdk"}))
    sys.path.insert(0, str(tmp_path))
    sys.meta_path.insert(0, finder)
    try:
        yield "fakesdk"
    finally:
        sys.meta_path.remove(finder)
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "fakesdk" or m.startswith("fakesdk.")]:
            del sys.modules[name]


def test_package_runs_its_other_code_but_imports_no_star_module(fake_sdk: str) -> None:
    package = __import__(fake_sdk)
    assert package.REGISTERED == "ran"
    assert not {f"{fake_sdk}.alpha", f"{fake_sdk}.beta", f"{fake_sdk}.Gamma"} & set(sys.modules)


def test_a_name_imports_only_its_own_module(fake_sdk: str) -> None:
    package = __import__(fake_sdk)
    assert package.Alpha.__module__ == f"{fake_sdk}.alpha"
    assert f"{fake_sdk}.beta" not in sys.modules


def test_a_later_star_import_wins_as_it_does_eagerly(fake_sdk: str) -> None:
    package = __import__(fake_sdk)
    assert package.Shared.origin == "beta"


def test_a_class_named_like_its_module_is_the_class(fake_sdk: str) -> None:
    package = __import__(fake_sdk)
    assert isinstance(package.Gamma, type)
    assert package.Gamma is sys.modules[f"{fake_sdk}.Gamma"].Gamma


def test_a_submodule_imported_before_a_lazily_loaded_package_runs_is_bound(fake_sdk: str) -> None:
    # pulumi_aws loads its service packages with importlib's LazyLoader: a submodule can be
    # imported into the package object before the package's own code has run.
    spec = importlib.util.find_spec(fake_sdk)
    assert spec is not None
    assert spec.loader is not None
    spec.loader = importlib.util.LazyLoader(spec.loader)
    package = importlib.util.module_from_spec(spec)
    sys.modules[fake_sdk] = package
    spec.loader.exec_module(package)
    alpha = importlib.import_module(f"{fake_sdk}.alpha")
    assert package.Alpha is alpha.Alpha
    assert package.Shared.origin == "beta"


def test_a_name_resolves_after_its_submodule_was_imported_directly(fake_sdk: str) -> None:
    gamma = importlib.import_module(f"{fake_sdk}.Gamma")
    package = sys.modules[fake_sdk]
    assert package.Gamma is gamma.Gamma


def test_from_import_and_dir_see_every_exported_name(fake_sdk: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {fake_sdk} import Beta", namespace)
    package = sys.modules[fake_sdk]
    assert namespace["Beta"] is package.Beta
    assert {"Alpha", "Beta", "Gamma", "Shared", "alpha", "beta"} <= set(dir(package))


def test_unknown_and_dunder_names_raise_attribute_error(fake_sdk: str) -> None:
    package = __import__(fake_sdk)
    with pytest.raises(AttributeError, match="has no attribute 'Missing'"):
        _ = package.Missing
    assert not hasattr(package, "__wrapped__")


def test_exported_names_reads_a_long_all_past_the_first_chunk(tmp_path: Path) -> None:
    names = [f"Name{i}" for i in range(3000)]
    module = tmp_path / "big.py"
    module.write_text("__all__ = [\n" + "".join(f"    '{n}',\n" for n in names) + "]\n")
    assert exported_names(module) == names
    (tmp_path / "none.py").write_text("x = 1\n")
    assert exported_names(tmp_path / "none.py") is None


# The real SDK packages the program uses: every public name, lazily and eagerly, must be the
# same object (compared by defining module and qualified name, in two fresh interpreters), and
# every type pulumi resolves from a resource's annotations must resolve to the same types.
REAL_PACKAGES = (
    "pulumi_aws",
    "pulumi_aws.ec2",
    "pulumi_aws.rds",
    "pulumi_cloudflare",
    "pulumi_kubernetes",
    "pulumi_kubernetes.apps.v1",
    "pulumi_kubernetes.core.v1",
    "pulumi_kubernetes.helm.v3",
)

_DESCRIBE = textwrap.dedent(
    """
    import importlib, json, sys, types, typing
    from infra.plan.lazy_sdk import install
    install()  # as the offline plan and the tests do, unless the environment turns it off
    import pulumi
    from pulumi import _types

    def describe(value):
        if isinstance(value, types.ModuleType):  # without loading a lazy subpackage
            return "module " + value.__spec__.name
        return "%s:%s" % (getattr(value, "__module__", None), getattr(value, "__qualname__", type(value).__name__))

    def property_types(cls):
        if not isinstance(cls, type):  # asking a lazily loaded module anything loads it
            return None
        if _types.is_input_type(cls):
            return _types.input_type_types(cls)
        if _types.is_output_type(cls):
            return _types.output_type_types(cls)
        if issubclass(cls, pulumi.Resource):
            return _types.resource_types(cls)
        return None

    def classes_in(hint):
        if isinstance(hint, type):
            yield hint
        for argument in typing.get_args(hint):
            yield from classes_in(argument)

    def resolve_from(start, resolved):
        # What pulumi resolves when it (de)serializes a resource: its annotations, recursively.
        queue = [start]
        while queue:
            cls = queue.pop()
            if describe(cls) in resolved:
                continue
            try:
                hints = property_types(cls)
            except NameError as error:  # a few SDK classes fail eagerly too: compare the error
                resolved[describe(cls)] = str(error)
                continue
            if hints is None:
                continue
            resolved[describe(cls)] = {name: repr(hint) for name, hint in sorted(hints.items())}
            for hint in hints.values():
                queue.extend(classes_in(hint))

    def defining_module(package, name):
        lazy = package.__dict__.get("__lazy_package__")
        if lazy is not None:  # without building a class of a type module
            return lazy.index().get(name, "")
        value = getattr(package, name)
        if isinstance(value, types.ModuleType):  # reading any attribute would load it
            return ""
        return getattr(value, "__module__", "").rpartition(".")[2]

    packages = [importlib.import_module(name) for name in sys.argv[1:]]
    for package in packages:
        getattr(package, "_utilities", None)  # loads a package that pulumi_aws imports lazily itself
    # First through the resource modules only, as a program reaches the type modules.
    resolved = {}
    for package in packages:
        for name in dir(package):
            if not name.startswith("_") and defining_module(package, name) not in ("_inputs", "outputs"):
                resolve_from(getattr(package, name), resolved)
    bound = {}
    for package in packages:
        names = [n for n in dir(package) if not n.startswith("_")]
        bound[package.__name__] = {n: describe(getattr(package, n)) for n in names}
    print(json.dumps({"bound": bound, "resolved": resolved}))
    """
)


def _describe(eager: bool) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _DESCRIBE, *REAL_PACKAGES],
        cwd=ROOT,
        env={**os.environ, EAGER_ENV: "1" if eager else "0"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _described(process: subprocess.Popen[str]) -> dict[str, dict[str, Any]]:
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    result: dict[str, dict[str, Any]] = json.loads(stdout)
    return result


@pytest.fixture(scope="module")
def described() -> dict[str, dict[str, dict[str, Any]]]:
    eager_run, lazy_run = _describe(eager=True), _describe(eager=False)  # side by side: each loads every module
    return {"eager": _described(eager_run), "lazy": _described(lazy_run)}


@pytest.mark.slow  # two interpreters import every module of eight SDK packages: ~12 s of CPU
def test_real_sdk_packages_bind_the_same_objects_lazily_as_eagerly(
    described: dict[str, dict[str, dict[str, Any]]],
) -> None:
    eager, lazy = described["eager"]["bound"], described["lazy"]["bound"]
    for package in REAL_PACKAGES:
        assert len(eager[package]) >= 10, package
        assert lazy[package] == eager[package], package


@pytest.mark.slow  # shares the two interpreters above
def test_real_sdk_resources_resolve_the_same_property_types_lazily_as_eagerly(
    described: dict[str, dict[str, dict[str, Any]]],
) -> None:
    eager, lazy = described["eager"]["resolved"], described["lazy"]["resolved"]
    assert len(eager) > 5000
    assert lazy == eager


def test_the_environment_turns_the_loader_off() -> None:
    probe = (
        "import sys; from infra.plan.lazy_sdk import install; install(); import pulumi_aws.ec2; "
        "print(type(sys.modules['pulumi_aws.ec2'].__loader__).__name__)"
    )
    loaders = {
        flag: subprocess.run(
            [sys.executable, "-c", probe],
            cwd=ROOT,
            env={**os.environ, EAGER_ENV: flag},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for flag in ("0", "1")
    }
    assert loaders == {"0": "_StarStrippingLoader", "1": "SourceFileLoader"}
