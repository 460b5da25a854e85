"""No function in plugins/ is over 60 lines (def line to last line, docstring included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 60


def lengths():
    """{(file, function name): lines} of every function and method under plugins/ (the longest of a name)."""
    found = {}
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                key = (path.relative_to(ROOT).as_posix(), node.name)
                found[key] = max(found.get(key, 0), node.end_lineno - node.lineno + 1)
    return found


def test_no_function_in_plugins_is_over_60_lines():
    over = sorted("%s:%s has %d lines" % (key + (lines,)) for key, lines in lengths().items() if lines > MAX_LINES)
    assert not over, "split them: %s" % "; ".join(over)


def test_the_count_sees_long_functions():
    assert lengths()[("plugins/module_utils/plan.py", "dispatch")] >= 5
    assert len(lengths()) > 300
