"""Pure edge rule builders: rate-limit expressions meter each request once, by the right role."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from infra.config.edge import RoleRateLimit
from infra.edge.rules import rate_limit_expressions

_ATOM = re.compile(r'http\.request\.uri\.path wildcard "([^"]*)\*"')


def _limit(prefixes: list[str]) -> RoleRateLimit:
    values: dict[str, Any] = {
        "path_prefixes": prefixes,
        "requests_per_period": 60,
        "period_seconds": 60,
        "mitigation_timeout_seconds": 60,
    }
    return RoleRateLimit.model_validate_json(json.dumps(values), strict=True)


def matches(expression: str, path: str) -> bool:
    """Evaluate the subset of the Rules language the builder emits: or-ed clauses of
    ``wildcard "<prefix>*"``, each optionally ``and not (<wildcard> or ...)``."""
    body = expression[1:-1] if expression.startswith("(") and expression.endswith(")") else expression
    for clause in _split_clauses(body):
        own, _, excluded = clause.strip("()").partition(" and not ")
        [mine] = _ATOM.findall(own)
        if path.startswith(mine) and not any(path.startswith(p) for p in _ATOM.findall(excluded)):
            return True
    return False


def _split_clauses(body: str) -> list[str]:
    """Split top-level `` or `` (outside parentheses)."""
    clauses, depth, start = [], 0, 0
    for index, char in enumerate(body):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and body.startswith(" or ", index):
            clauses.append(body[start:index])
            start = index + 4
    clauses.append(body[start:])
    return clauses


def test_authenticated_leaves_out_the_other_roles_routes() -> None:
    expressions = rate_limit_expressions(
        {
            "anonymous": _limit(["/api/public/", "/auth/"]),
            "authenticated": _limit(["/api/"]),
            "operator": _limit(["/api/operator/"]),
        }
    )
    assert expressions == {
        "anonymous": '(http.request.uri.path wildcard "/api/public/*" or http.request.uri.path wildcard "/auth/*")',
        "authenticated": '(http.request.uri.path wildcard "/api/*" and not (http.request.uri.path wildcard '
        '"/api/operator/*" or http.request.uri.path wildcard "/api/public/*"))',
        "operator": '(http.request.uri.path wildcard "/api/operator/*")',
    }
    assert [role for role, e in expressions.items() if matches(e, "/api/operator/payouts")] == ["operator"]
    assert [role for role, e in expressions.items() if matches(e, "/api/jobs/1")] == ["authenticated"]
    assert [role for role, e in expressions.items() if matches(e, "/auth/login")] == ["anonymous"]
    assert [role for role, e in expressions.items() if matches(e, "/assets/app.js")] == []


def test_a_role_nested_around_another_still_owns_its_inner_routes() -> None:
    # operator owns /a/ and /a/b/c/, pro owns /a/b/ in between.
    expressions = rate_limit_expressions({"operator": _limit(["/a/", "/a/b/c/"]), "pro": _limit(["/a/b/"])})
    assert [role for role, e in expressions.items() if matches(e, "/a/b/c/x")] == ["operator"]
    assert [role for role, e in expressions.items() if matches(e, "/a/b/x")] == ["pro"]
    assert [role for role, e in expressions.items() if matches(e, "/a/x")] == ["operator"]


SEGMENTS = st.sampled_from(["a", "b", "api", "v1"])
PREFIXES = st.lists(SEGMENTS, min_size=0, max_size=3).map(lambda parts: "/" + "".join(f"{p}/" for p in parts))


@given(
    assignment=st.dictionaries(
        PREFIXES, st.sampled_from(["anonymous", "authenticated", "pro", "operator"]), min_size=1, max_size=6
    ),
    path=st.lists(SEGMENTS, min_size=0, max_size=4).map(lambda parts: "/" + "/".join(parts)),
)
def test_each_request_is_metered_once_by_the_longest_prefix_owner(assignment: dict[str, str], path: str) -> None:
    limits = {role: _limit([p for p, r in assignment.items() if r == role]) for role in set(assignment.values())}
    expressions = rate_limit_expressions(limits)
    matched = [role for role, expression in expressions.items() if matches(expression, path)]
    covering = [prefix for prefix in assignment if path.startswith(prefix)]
    expected = [assignment[max(covering, key=len)]] if covering else []
    assert matched == expected
