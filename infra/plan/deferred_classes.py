"""Build the classes of the SDKs' generated type modules when they are first used.

Each SDK package keeps its input and output types in two modules, ``_inputs`` and
``outputs``: pulumi_cloudflare's define 6,300 classes from 11 MB of source, pulumi_kubernetes'
``core.v1`` 1,300. Running such a module builds every class and runs pulumi's type
decorators on it, which took a second and a half of a phase's offline plan, while a phase
uses a few hundred of those classes. Every resource module then star-imports its package's
``_inputs``, which would build all of them again by reading each name.

:class:`DeferredClassLoader` runs a type module's compiled code as usual, but with
``__build_class__`` and pulumi's ``input_type``/``output_type`` decorators standing in for
the real ones while it runs, so that each top-level class statement records what it would
build (its body function, bases, keywords and decorators) instead of building it. A name is
built when first read, together with every class of the module its annotations name (pulumi
resolves those forward references against the module's globals, so they must be there
before anyone asks for type hints); building is the same call the class statement makes.

A resource module's ``from ._inputs import *`` gets the names its own code mentions (its
forward references are string constants in its compiled code) instead of the whole
``__all__``, plus a module ``__getattr__`` that still answers any other exported name.

Whenever the module does anything else with a recorded class at import time (reads it,
stores it under another name, defines a name twice), the loader throws the recording away
and runs the module again, eagerly. ``SCALEPLAN_EAGER_SDK_IMPORTS=1`` turns this off along
with the lazy packages (see :mod:`infra.plan.lazy_sdk`).
"""

from __future__ import annotations

import builtins
import dis
import functools
import importlib.machinery
import sys
import threading
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

TYPE_MODULE_NAMES = frozenset({"_inputs", "outputs"})
"""Basenames of the generated modules that hold an SDK package's input and output types."""

_DECORATOR_NAMES = ("input_type", "output_type")
"""pulumi's class decorators, the only ones the generated type modules use."""

_build_class = builtins.__build_class__
_KEPT_ON_RERUN = frozenset(
    {"__name__", "__doc__", "__package__", "__loader__", "__spec__", "__file__", "__cached__", "__builtins__"}
)


@dataclass(eq=False)
class _RecordedClass:
    """What one top-level class statement would have built."""

    name: str
    body: types.FunctionType
    bases: tuple[Any, ...]
    keywords: dict[str, Any]
    decorators: list[Callable[[Any], Any]] = field(default_factory=list)


def names_in_code(code: types.CodeType) -> Iterator[str]:
    """Every name and string constant in ``code`` and the code nested in it.

    Forward references in annotations (``pulumi.Input['RulesetRuleArgs']``) are string
    constants of the code that evaluates the annotation.
    """
    pending = [code]
    while pending:
        current = pending.pop()
        yield from current.co_names
        for constant in current.co_consts:
            if isinstance(constant, str):
                yield constant
            elif isinstance(constant, types.CodeType):
                pending.append(constant)


class _TypeModuleState:
    """The recorded classes of one type module, and how they are built and handed out."""

    def __init__(self, module: types.ModuleType) -> None:
        self.module = module
        self.namespace = module.__dict__
        self.recorded: list[_RecordedClass] = []
        self.pending: dict[str, _RecordedClass] = {}
        self.exported: list[str] = []
        self.exported_set: frozenset[str] = frozenset()
        self._lock = threading.RLock()

    def record(
        self, body: types.FunctionType, name: str, bases: tuple[Any, ...], keywords: dict[str, Any]
    ) -> _RecordedClass:
        recorded = _RecordedClass(name, body, bases, keywords)
        self.recorded.append(recorded)
        return recorded

    def settle(self) -> bool:
        """After the module ran: take the recorded classes out of its globals.

        False when the module did anything with a recorded class other than binding it once
        under its own name, or a class body reads another class while it runs (rather than in
        its methods or annotations); building later could then differ from running eagerly.
        """
        found: dict[str, _RecordedClass] = {}
        for name, value in self.namespace.items():
            if isinstance(value, _RecordedClass):
                if value.name != name or any(isinstance(base, _RecordedClass) for base in value.bases):
                    return False
                found[name] = value
        if len(found) != len(self.recorded):  # a name defined twice, or a class kept elsewhere
            return False
        if any(not found.keys().isdisjoint(recorded.body.__code__.co_names) for recorded in self.recorded):
            return False
        exported = self.namespace.get("__all__")
        if not isinstance(exported, list):  # a star-import would take every public global
            return False
        for name in found:
            del self.namespace[name]
        self.pending = found
        # Kept off the module so that reading it reaches __getattr__ (see names_for_star_import).
        self.exported = self.namespace.pop("__all__")
        self.exported_set = frozenset(self.exported)
        return True

    def build(self, name: str) -> Any:
        """The class ``name``, built with every recorded class its annotations name."""
        with self._lock:
            if name in self.namespace:
                return self.namespace[name]
            if name not in self.pending:
                raise AttributeError(f"module {self.module.__name__!r} has no attribute {name!r}")
            closure = self._closure(name)
            built: dict[str, Any] = {}
            for member in closure:
                recorded = self.pending[member]
                cls = _build_class(recorded.body, member, *recorded.bases, **recorded.keywords)
                for decorator in recorded.decorators:
                    cls = decorator(cls)
                built[member] = cls
            # Published together, so no thread can see a class before the ones it refers to.
            self.namespace.update(built)
            for member in closure:
                del self.pending[member]
            return built[name]

    def _closure(self, name: str) -> list[str]:
        """``name`` and the recorded classes its code names, transitively, in a stable order."""
        closure = {name: None}
        queue = [name]
        while queue:
            recorded = self.pending[queue.pop()]
            for referenced in names_in_code(recorded.body.__code__):
                if referenced in self.pending and referenced not in closure:
                    closure[referenced] = None
                    queue.append(referenced)
        return list(closure)

    def names_for_star_import(self, importer: types.FrameType) -> list[str]:
        """``__all__`` as a star-import from ``importer`` should see it.

        A plain SDK module importing this one with ``*`` gets the exported names its own code
        mentions, and a module ``__getattr__`` for the rest; anyone else gets every name.
        """
        importer_globals = importer.f_globals
        if (
            not _is_star_import(importer)
            or "__path__" in importer_globals  # a package re-exports: it needs every name
            or importer_globals.get("__name__", "").partition(".")[0] != self.module.__name__.partition(".")[0]
            or not _add_fallback(importer_globals, self)
        ):
            return list(self.exported)
        return sorted({name for name in names_in_code(importer.f_code) if name in self.exported_set})


def _is_star_import(frame: types.FrameType) -> bool:
    """Whether ``frame`` is executing ``from x import *`` right now."""
    code = frame.f_code.co_code
    opname = dis.opname[code[frame.f_lasti]]
    if opname == "IMPORT_STAR":  # Python 3.11
        return True
    # Python 3.12+: CALL_INTRINSIC_1 with INTRINSIC_IMPORT_STAR (2) as its argument
    return opname == "CALL_INTRINSIC_1" and code[frame.f_lasti + 1] == 2


def _add_fallback(importer_globals: dict[str, Any], state: _TypeModuleState) -> bool:
    """Give the importer a module ``__getattr__`` that answers the names it was not handed.

    False when the importer already has a ``__getattr__`` of its own.
    """
    existing = importer_globals.get("__getattr__")
    if existing is None:

        def __getattr__(name: str) -> Any:  # noqa: N807 - the module-level hook of PEP 562
            for source in __getattr__.sources:  # type: ignore[attr-defined]
                if name in source.exported_set:
                    return getattr(source.module, name)
            raise AttributeError(f"module {importer_globals.get('__name__')!r} has no attribute {name!r}")

        __getattr__.sources = [state]  # type: ignore[attr-defined]
        importer_globals["__getattr__"] = __getattr__
        return True
    sources = getattr(existing, "sources", None)
    if not isinstance(sources, list):
        return False
    sources.append(state)
    return True


class DeferredTypeModule(types.ModuleType):
    """A type module whose classes are built when first read."""

    def __getattr__(self, name: str) -> Any:
        state: _TypeModuleState = self.__dict__["__deferred_classes__"]
        if name == "__all__":
            return state.names_for_star_import(sys._getframe(1))
        if name.startswith("__"):
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        return state.build(name)

    def __dir__(self) -> list[str]:
        state: _TypeModuleState = self.__dict__["__deferred_classes__"]
        return sorted({*self.__dict__, *state.pending})


class _Recording:
    """Stands in for ``__build_class__`` and pulumi's decorators while type modules run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, _TypeModuleState] = {}
        self._saved: list[tuple[Any, str, Any]] = []

    def start(self, state: _TypeModuleState) -> None:
        with self._lock:
            if not self._running:
                # Here, not at the top: infra (and so this module) is imported before the plan
                # launches its policy packs, which should not wait for pulumi to load.
                import pulumi  # noqa: PLC0415

                self._saved = [(builtins, "__build_class__", builtins.__build_class__)]
                builtins.__build_class__ = self._build_class_or_record
                for name in _DECORATOR_NAMES:
                    real = getattr(pulumi, name)
                    self._saved.append((pulumi, name, real))
                    setattr(pulumi, name, _recording_decorator(real))
            self._running[id(state.namespace)] = state

    def stop(self, state: _TypeModuleState) -> None:
        with self._lock:
            del self._running[id(state.namespace)]
            if not self._running:
                for owner, name, real in self._saved:
                    setattr(owner, name, real)
                self._saved = []

    def _build_class_or_record(self, body: Any, name: str, /, *bases: Any, **keywords: Any) -> Any:
        caller_globals = sys._getframe(1).f_globals
        state = self._running.get(id(caller_globals))
        if state is None or state.namespace is not caller_globals:
            return _build_class(body, name, *bases, **keywords)
        return state.record(body, name, bases, keywords)


def _recording_decorator(real: Callable[[Any], Any]) -> Callable[[Any], Any]:
    @functools.wraps(real)
    def decorator(cls: Any) -> Any:
        if isinstance(cls, _RecordedClass):
            cls.decorators.append(real)
            return cls
        return real(cls)

    return decorator


_RECORDING = _Recording()


class DeferredClassLoader(importlib.machinery.SourceFileLoader):
    """Loads a generated type module with its classes recorded, to be built on first use."""

    def exec_module(self, module: types.ModuleType) -> None:
        state = _TypeModuleState(module)
        module.__dict__["__deferred_classes__"] = state
        module.__class__ = DeferredTypeModule
        _RECORDING.start(state)
        try:
            super().exec_module(module)
        finally:
            _RECORDING.stop(state)
        if not state.settle():
            self._run_eagerly(module)

    def _run_eagerly(self, module: types.ModuleType) -> None:
        for name in [name for name in module.__dict__ if name not in _KEPT_ON_RERUN]:
            del module.__dict__[name]
        module.__class__ = types.ModuleType
        super().exec_module(module)
