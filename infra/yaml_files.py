"""Reading the project's YAML files (stack files, catalogs, prices) with libyaml when present."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# PyYAML's pure-Python loader took about a tenth of an offline plan for five small files;
# the wheels ship libyaml's C loader, which parses the same YAML 1.1 with the same safe types.
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` semantics (plain data only), through libyaml if PyYAML was built with it."""
    return yaml.load(text, Loader=_SAFE_LOADER)


def load_file(path: Path) -> Any:
    return safe_load(path.read_text())


MAX_VALUES = 100_000
"""Values a stack file may expand to through aliases (the committed ones hold about 1,500)."""
MAX_DEPTH = 64
"""Nesting a stack file may have (the committed ones nest 6 deep)."""

_MERGE_TAG = "tag:yaml.org,2002:merge"

Location = tuple[str | int, ...]
"""Where in a document: mapping keys and list indices from the top."""


class YamlFileError(ValueError):
    """A YAML file that is not plain data: one line saying what, and where (``location``)."""

    def __init__(self, problem: str, location: Location = ()) -> None:
        self.problem = problem
        self.location = location
        super().__init__(problem)


class _StrictLoader(_SAFE_LOADER):  # type: ignore[valid-type,misc]
    """Safe loading, with timestamps kept as the text they are: Pulumi reads config as plain
    strings, and a date-like value must not become a ``datetime`` the config cannot hold."""


_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_yaml_str)


def load_strict(path: Path) -> Any:
    """A YAML file as plain data, refusing what ``yaml.safe_load`` lets through silently or
    turns into a traceback later: bytes that are not UTF-8 text, a key stated twice in one
    mapping (YAML keeps the last), an alias that contains itself, aliases that expand past
    :data:`MAX_VALUES` values (a "billion laughs" bomb) and nesting past :data:`MAX_DEPTH`.

    Raises :class:`YamlFileError` (one line), or ``OSError`` when the file cannot be read.
    """
    data = path.read_bytes()
    nul = data.find(b"\x00")
    if nul >= 0:
        raise YamlFileError(f"is binary, not YAML text (a NUL byte at offset {nul})")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise YamlFileError(
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); save it as UTF-8"
        ) from None
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_graph(node)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise YamlFileError(f"not valid YAML: {_one_line(exc)}") from None
    finally:
        loader.dispose()


def _one_line(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        context = f"{exc.context}: " if exc.context else ""
        return f"{context}{exc.problem}{where}"
    return " ".join(str(exc).split())


def _check_graph(root: yaml.Node) -> None:
    """Walk the composed node graph once (iteratively): duplicated keys, alias cycles,
    expansion size and depth, before anything is constructed from it."""
    expanded: dict[int, int] = {}
    """Values each finished node expands to, aliases followed (shared nodes counted once each time)."""
    on_path: set[int] = set()
    # (node, location, children pushed yet)
    stack: list[tuple[yaml.Node, Location, bool]] = [(root, (), False)]
    while stack:
        node, location, expanded_children = stack.pop()
        if expanded_children:
            on_path.discard(id(node))
            total = 1 + sum(expanded[id(child)] for child in _children(node))
            if total > MAX_VALUES:
                raise YamlFileError(
                    f"expands to more than {MAX_VALUES:,} values through aliases (a YAML bomb?); write the values out",
                    location,
                )
            expanded[id(node)] = total
            continue
        if id(node) in on_path:
            raise YamlFileError(
                "an alias here refers to the node that contains it: a cycle, which config data cannot hold", location
            )
        if id(node) in expanded:
            continue
        if len(location) > MAX_DEPTH:
            raise YamlFileError(f"nests deeper than {MAX_DEPTH} levels", location[:3])
        if isinstance(node, yaml.MappingNode):
            _refuse_duplicated_keys(node, location)
        on_path.add(id(node))
        stack.append((node, location, True))
        for child, child_location in _located_children(node, location):
            stack.append((child, child_location, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _located_children(node: yaml.Node, location: Location) -> list[tuple[yaml.Node, Location]]:
    if isinstance(node, yaml.SequenceNode):
        return [(item, (*location, index)) for index, item in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        located: list[tuple[yaml.Node, Location]] = []
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else "?"
            located.extend([(key, location), (value, (*location, name))])
        return located
    return []


def _refuse_duplicated_keys(node: yaml.MappingNode, location: Location) -> None:
    first_line: dict[str, int] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE_TAG:
            continue
        line = key.start_mark.line + 1
        if key.value in first_line:
            raise YamlFileError(
                f"stated twice in one mapping (lines {first_line[key.value]} and {line}); YAML keeps only the "
                "last, so the other is silently lost: keep one",
                (*location, key.value),
            )
        first_line[key.value] = line
