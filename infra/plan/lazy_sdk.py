"""Import the provider SDKs' packages lazily: a member is imported when it is first read.

The generated SDKs re-export every module of a package from its ``__init__`` with
``from .module import *``. Importing ``pulumi_aws.ec2`` therefore builds every EC2 class
(about 170 modules), and ``import pulumi_cloudflare`` all of its ~780 modules, while a phase
uses a dozen resource types from each. Building those classes (typing and decorator work,
not only compiling) was most of the offline plan's time and a good part of every
``pulumi preview`` start (``bench/plan_time.py`` prints the figures with and without this).

:func:`install` puts a finder in front of the import system for the packages in
:data:`LAZY_ROOTS`. A package of theirs whose ``__init__`` has such star-imports is executed
without them (each replaced by ``pass``, so line numbers stay), and gets a module-level
``__getattr__`` that imports the one submodule whose ``__all__`` names the attribute.
Everything else in ``__init__`` (resource-module registration for ``pulumi.runtime``,
lazy subpackages, ``from . import outputs``) runs unchanged, and each name resolves to the
very object the star-import would have bound: the same submodule, the same ``__all__``,
and a later star-import still wins over an earlier one with the same name.

The same finder loads each package's type modules (``_inputs``, ``outputs``) with their
classes built when first read; see :mod:`infra.plan.deferred_classes`.

``SCALEPLAN_EAGER_SDK_IMPORTS=1`` turns both off (the benchmark uses it for comparison).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
import threading
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from infra.plan.deferred_classes import TYPE_MODULE_NAMES, DeferredClassLoader, DeferredTypeModule

LAZY_ROOTS = frozenset({"pulumi_aws", "pulumi_cloudflare", "pulumi_kubernetes", "pulumi_random"})
"""Top-level SDK packages whose packages (and subpackages) are loaded lazily."""

EAGER_ENV = "SCALEPLAN_EAGER_SDK_IMPORTS"

_STAR_IMPORT = re.compile(r"^from \.(\w+) import \*[ \t]*$", re.MULTILINE)
_ALL = re.compile(r"^__all__ = \[(.*?)\]", re.MULTILINE | re.DOTALL)
_QUOTED = re.compile(r"""['"](\w+)['"]""")
_HEAD_BYTES = 16384
"""Bytes read first when looking for a module's ``__all__`` (it sits near the top)."""


def exported_names(source_file: Path) -> list[str] | None:
    """The names in a generated module's literal ``__all__``, or None if it has none."""
    with source_file.open(encoding="utf-8") as handle:
        text = handle.read(_HEAD_BYTES)
        match = _ALL.search(text)
        if match is None or match.end() == len(text):
            text += handle.read()
            match = _ALL.search(text)
    return None if match is None else _QUOTED.findall(match.group(1))


class _LazyPackage:
    """The name index of one package loaded without its star-imports, and its binding rules."""

    def __init__(self, module: types.ModuleType, origin: str, star_modules: Sequence[str]) -> None:
        self._module = module
        self._package_dir = Path(origin).parent
        self._star_modules = tuple(star_modules)
        self._index: dict[str, str] | None = None
        self._exports: dict[str, list[str]] | None = None
        self._lock = threading.RLock()

    def _source_of(self, submodule: str) -> Path:
        plain = self._package_dir / f"{submodule}.py"
        return plain if plain.is_file() else self._package_dir / submodule / "__init__.py"

    def index(self) -> dict[str, str]:
        """Exported name -> submodule, as the star-imports in order would bind it."""
        with self._lock:
            if self._index is None:
                index: dict[str, str] = {}
                for submodule in self._star_modules:
                    names = exported_names(self._source_of(submodule))
                    if names is None:  # no literal __all__: the star-import takes every public name
                        loaded = importlib.import_module(f"{self._module.__name__}.{submodule}")
                        names = [name for name in vars(loaded) if not name.startswith("_")]
                    index.update(dict.fromkeys(names, submodule))
                self._index = index
            return self._index

    def exports(self) -> dict[str, list[str]]:
        """Submodule -> the names it wins in the index (the inverse of :meth:`index`)."""
        with self._lock:
            if self._exports is None:
                exports: dict[str, list[str]] = {}
                for name, submodule in self.index().items():
                    exports.setdefault(submodule, []).append(name)
                self._exports = exports
            return self._exports

    def resolve(self, name: str) -> Any:
        """The member ``name``, importing the submodule that exports it."""
        if name.startswith("__"):  # module introspection (__path__, __wrapped__, ...): never a member
            raise AttributeError(f"module {self._module.__name__!r} has no attribute {name!r}")
        submodule = self.index().get(name, name if name in self._star_modules else None)
        if submodule is None:
            raise AttributeError(f"module {self._module.__name__!r} has no attribute {name!r}")
        loaded = importlib.import_module(f"{self._module.__name__}.{submodule}")
        # Binding again is harmless, and needed when the submodule was imported while the
        # package itself was still a lazy stub (see _StarStrippingLoader.exec_module).
        self.bind_exports(submodule, loaded)
        namespace = self._module.__dict__
        if name not in namespace and isinstance(loaded, DeferredTypeModule) and submodule != name:
            namespace[name] = getattr(loaded, name)  # its classes are bound one by one, as read
        try:
            return namespace[name]
        except KeyError:
            raise AttributeError(f"module {self._module.__name__!r} has no attribute {name!r}") from None

    def bind_exports(self, submodule: str, loaded: types.ModuleType) -> None:
        """What ``from .submodule import *`` would have bound, once the submodule is loaded.

        Only the names this submodule wins in the index, so a later star-import keeps winning
        whichever of the two modules is loaded first; a class named like its module (as
        pulumi_kubernetes generates them) replaces the module, as the star-import does.
        """
        if submodule not in self._star_modules or isinstance(loaded, DeferredTypeModule):
            return  # a type module's classes are built when read: resolve binds them one by one
        namespace = self._module.__dict__
        for name in self.exports().get(submodule, ()):
            namespace[name] = getattr(loaded, name)

    def names(self) -> list[str]:
        return sorted({*vars(self._module), *self.index(), *self._star_modules})


class _LazyPackageModule(types.ModuleType):
    """A package module whose star-imported members are bound when first needed."""

    def __getattr__(self, name: str) -> Any:
        lazy: _LazyPackage = self.__dict__["__lazy_package__"]
        return lazy.resolve(name)

    def __dir__(self) -> list[str]:
        lazy: _LazyPackage = self.__dict__["__lazy_package__"]
        return lazy.names()

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        # The import system binds each loaded submodule on its parent package this way,
        # whoever imported it (our resolve, another SDK module, the program).
        if isinstance(value, types.ModuleType) and value.__name__ == f"{self.__name__}.{name}":
            lazy: _LazyPackage = self.__dict__["__lazy_package__"]
            lazy.bind_exports(name, value)


class _StarStrippingLoader(importlib.machinery.SourceFileLoader):
    """Executes a package ``__init__`` with its ``from .x import *`` lines replaced by ``pass``."""

    def __init__(self, fullname: str, path: str, source: str, star_modules: Sequence[str]) -> None:
        super().__init__(fullname, path)
        self._source = source
        self._star_modules = tuple(star_modules)

    def get_code(self, fullname: str) -> types.CodeType:
        # Compiled every time (never from or into __pycache__, whose bytecode is the unmodified
        # __init__); these files are mostly registration data and compile in milliseconds.
        return compile(_STAR_IMPORT.sub("pass", self._source), self.path, "exec", dont_inherit=True)

    def exec_module(self, module: types.ModuleType) -> None:
        lazy = _LazyPackage(module, self.path, self._star_modules)
        module.__dict__["__lazy_package__"] = lazy
        module.__class__ = _LazyPackageModule
        super().exec_module(module)
        # A package that pulumi_aws imports lazily itself (importlib's LazyLoader) may get
        # submodules imported into it before this runs, bound without passing __setattr__.
        for submodule in self._star_modules:
            loaded = sys.modules.get(f"{module.__name__}.{submodule}")
            if loaded is not None:
                lazy.bind_exports(submodule, loaded)


class LazySdkFinder(importlib.abc.MetaPathFinder):
    """Finds SDK modules as the path finder does; loads packages with star-imports and type modules lazily."""

    def __init__(self, roots: frozenset[str] = LAZY_ROOTS) -> None:
        self.roots = roots

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in self.roots:
            return None
        # The spec the path finder would give; returned as found unless loaded differently here.
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not spec.has_location or not spec.origin or not spec.origin.endswith(".py"):
            return spec  # not from source: loaded the regular way
        if spec.submodule_search_locations is None:
            if fullname.rpartition(".")[2] in TYPE_MODULE_NAMES:
                spec.loader = DeferredClassLoader(fullname, spec.origin)
            return spec
        source = Path(spec.origin).read_text(encoding="utf-8")
        star_modules = _STAR_IMPORT.findall(source)
        if star_modules:
            spec.loader = _StarStrippingLoader(fullname, spec.origin, source, star_modules)
        return spec


def install() -> bool:
    """Put the finder first on ``sys.meta_path`` (once); False when turned off by the environment.

    Packages already imported stay as they are, so install before the first SDK import.
    """
    if os.environ.get(EAGER_ENV, "") not in ("", "0"):
        return False
    if not any(isinstance(finder, LazySdkFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, LazySdkFinder())
    return True
