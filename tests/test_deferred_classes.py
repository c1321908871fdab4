"""Type modules build each class when it is first read, and otherwise behave as if run eagerly."""

from __future__ import annotations

import importlib
import sys
import textwrap
import threading
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pulumi
import pytest
from pulumi import _types

from infra.plan.deferred_classes import DeferredTypeModule
from infra.plan.lazy_sdk import LazySdkFinder

INPUTS = """
import pulumi
from typing import Optional
from . import _utilities

__all__ = ['LeafArgs', 'NodeArgs', 'OtherArgs', 'Plain']

BUILT = _utilities.BUILT

@pulumi.input_type
class LeafArgs:
    BUILT.append('LeafArgs')
    def __init__(__self__, *, size: pulumi.Input[int]):
        pulumi.set(__self__, "size", size)

    @property
    @pulumi.getter
    def size(self) -> pulumi.Input[int]:
        return pulumi.get(self, "size")

@pulumi.input_type
class NodeArgs:
    BUILT.append('NodeArgs')
    def __init__(__self__, *, leaf: pulumi.Input['LeafArgs']):
        pulumi.set(__self__, "leaf", leaf)

    @property
    @pulumi.getter
    def leaf(self) -> pulumi.Input['LeafArgs']:
        return pulumi.get(self, "leaf")

@pulumi.input_type
class OtherArgs:
    BUILT.append('OtherArgs')

class Plain(dict):
    BUILT.append('Plain')
"""

OUTPUTS = """
import pulumi
from . import _utilities
from . import outputs

__all__ = ['Leaf', 'Node']

@pulumi.output_type
class Leaf(dict):
    _utilities.BUILT.append('Leaf')
    def __init__(__self__, *, size: int):
        pulumi.set(__self__, "size", size)

    @property
    @pulumi.getter
    def size(self) -> int:
        return pulumi.get(self, "size")

@pulumi.output_type
class Node(dict):
    _utilities.BUILT.append('Node')
    def __init__(__self__, *, leaf: 'outputs.Leaf'):
        pulumi.set(__self__, "leaf", leaf)

    @property
    @pulumi.getter
    def leaf(self) -> 'outputs.Leaf':
        return pulumi.get(self, "leaf")
"""

THING = """
import pulumi
from ._inputs import *

__all__ = ['ThingArgs']

@pulumi.input_type
class ThingArgs:
    def __init__(__self__, *, node: pulumi.Input['NodeArgs']):
        pulumi.set(__self__, "node", node)

    @property
    @pulumi.getter
    def node(self) -> pulumi.Input['NodeArgs']:
        return pulumi.get(self, "node")
"""

Sdk = Callable[..., types.ModuleType]


@pytest.fixture
def sdk(tmp_path: Path) -> Iterator[Sdk]:
    """Writes a package shaped like a generated SDK (type modules replaceable) and imports it."""
    finder = LazySdkFinder(roots=frozenset({"typesdk"}))
    sys.path.insert(0, str(tmp_path))
    sys.meta_path.insert(0, finder)

    def write(inputs: str = INPUTS) -> types.ModuleType:
        package = tmp_path / "typesdk"
        package.mkdir()
        (package / "__init__.py").write_text(
            "from . import _utilities\nfrom .thing import *\nfrom ._inputs import *\nfrom . import outputs\n"
        )
        (package / "_utilities.py").write_text("BUILT = []\n")
        (package / "_inputs.py").write_text(textwrap.dedent(inputs))
        (package / "outputs.py").write_text(OUTPUTS)
        (package / "thing.py").write_text(THING)
        return importlib.import_module("typesdk")

    try:
        yield write
    finally:
        sys.meta_path.remove(finder)
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "typesdk" or m.startswith("typesdk.")]:
            del sys.modules[name]


def built(package: types.ModuleType) -> list[str]:
    result: list[str] = package._utilities.BUILT
    return result


def test_loading_a_type_module_builds_none_of_its_classes(sdk: Sdk) -> None:
    package = sdk()
    inputs = importlib.import_module("typesdk._inputs")
    assert isinstance(inputs, DeferredTypeModule)
    assert built(package) == []
    assert "NodeArgs" in dir(inputs)


def test_a_class_is_built_with_the_classes_its_annotations_name_and_no_others(sdk: Sdk) -> None:
    package = sdk()
    inputs = importlib.import_module("typesdk._inputs")
    node = inputs.NodeArgs
    assert sorted(built(package)) == ["LeafArgs", "NodeArgs"]
    assert inputs.NodeArgs is node  # built once, then an ordinary global
    assert _types.is_input_type(node)  # pulumi's decorator ran on the real class
    assert _types.input_type_types(node) == {"leaf": inputs.LeafArgs}


def test_pulumi_decorators_and_build_class_are_restored_after_loading(sdk: Sdk) -> None:
    import builtins

    build_class, input_type = builtins.__build_class__, pulumi.input_type
    sdk()
    importlib.import_module("typesdk._inputs")
    assert builtins.__build_class__ is build_class
    assert pulumi.input_type is input_type


def test_a_resource_modules_star_import_binds_the_names_it_uses(sdk: Sdk) -> None:
    package = sdk()
    thing = importlib.import_module("typesdk.thing")
    inputs = importlib.import_module("typesdk._inputs")
    assert "NodeArgs" in vars(thing)
    assert "OtherArgs" not in vars(thing)
    assert "OtherArgs" not in built(package)
    # What pulumi resolves against the resource module's globals when it serializes.
    assert _types.input_type_types(thing.ThingArgs) == {"node": inputs.NodeArgs}
    # Every other exported name still reads as if the star-import had bound it.
    assert thing.OtherArgs is inputs.OtherArgs
    with pytest.raises(AttributeError):
        _ = thing.NotExported


def test_a_star_import_from_outside_the_sdk_binds_every_name(sdk: Sdk) -> None:
    package = sdk()
    namespace: dict[str, object] = {"__name__": "someone_else"}
    exec("from typesdk._inputs import *", namespace)  # a star-import needs a module scope
    assert {"LeafArgs", "NodeArgs", "OtherArgs", "Plain"} <= namespace.keys()
    assert sorted(built(package)) == ["LeafArgs", "NodeArgs", "OtherArgs", "Plain"]


def test_the_package_binds_type_classes_one_by_one(sdk: Sdk) -> None:
    package = sdk()
    assert package.NodeArgs is importlib.import_module("typesdk._inputs").NodeArgs
    assert "OtherArgs" not in built(package)
    assert package.Plain.__mro__[1] is dict


def test_output_types_resolve_through_the_module_attribute(sdk: Sdk) -> None:
    package = sdk()
    outputs = importlib.import_module("typesdk.outputs")
    assert _types.output_type_types(outputs.Node) == {"leaf": outputs.Leaf}
    assert sorted(built(package)) == ["Leaf", "Node"]


def test_threads_reading_at_once_get_the_same_classes(sdk: Sdk) -> None:
    sdk()
    inputs = importlib.import_module("typesdk._inputs")
    seen: list[type] = []
    barrier = threading.Barrier(4)

    def read() -> None:
        barrier.wait()
        seen.append(inputs.NodeArgs)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 4
    assert all(cls is seen[0] for cls in seen)


@pytest.mark.parametrize(
    "extra",
    [
        "Alias = LeafArgs\n",  # a class read at import time
        "class Child(LeafArgs):\n    pass\n",  # a class as a base
        "class OtherArgs:\n    pass\n",  # a name defined twice
        "class Reader:\n    leaf = LeafArgs\n",  # a class body reading another class as it runs
    ],
)
def test_a_module_that_uses_its_classes_at_import_time_runs_eagerly(sdk: Sdk, extra: str) -> None:
    package = sdk(INPUTS + extra)
    inputs = importlib.import_module("typesdk._inputs")
    assert not isinstance(inputs, DeferredTypeModule)
    assert {"LeafArgs", "NodeArgs", "OtherArgs", "Plain"} <= set(built(package))
    assert isinstance(inputs.LeafArgs, type)
    assert inputs.__all__ == ["LeafArgs", "NodeArgs", "OtherArgs", "Plain"]


def test_a_module_without_all_runs_eagerly(sdk: Sdk) -> None:
    package = sdk(INPUTS.replace("__all__ = ['LeafArgs', 'NodeArgs', 'OtherArgs', 'Plain']", ""))
    inputs = importlib.import_module("typesdk._inputs")
    assert not isinstance(inputs, DeferredTypeModule)
    assert "OtherArgs" in built(package)
