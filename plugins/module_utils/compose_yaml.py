# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A YAML loader for compose files that refuses what `docker stack deploy` refuses.

PyYAML's safe_load keeps the last of two equal mapping keys, expands aliases
without bound (a few hundred bytes can become millions of nodes), recurses once
per nesting level (RecursionError) and turns a 5000-digit integer into a
ValueError. load_bounded() instead raises YAMLLimitError, with the line, for:
- a mapping key defined twice (the CLI: "mapping key already defined");
- a document whose alias-expanded size exceeds MAX_NODES ("excessive aliasing"),
  measured on the composed graph before anything is expanded;
- nesting deeper than MAX_DEPTH, an integer longer than MAX_INT_DIGITS digits,
  and keys that are mappings or lists.
check_tree() applies the depth and size bounds to an already-built tree (inline
compose mappings given as module parameters).
"""

from __future__ import annotations

import re

# PyYAML is imported on the first load_bounded() call, not with this module: inline compose
# mappings (what the stack role passes) never need it, and its import is a good part of a
# module's start-up on a small host.
yaml = None
_LOADER = None
MappingNode = ScalarNode = SequenceNode = None

MAX_DEPTH = 64
MAX_NODES = 100000
MAX_INT_DIGITS = 30
MERGE_TAG = "tag:yaml.org,2002:merge"


class YAMLLimitError(Exception):
    """The document breaks one of the loader's rules; the message says where."""


def _where(node):
    mark = getattr(node, "start_mark", None)
    return "line %d, column %d" % (mark.line + 1, mark.column + 1) if mark else "unknown position"


def get_yaml():
    """PyYAML, imported on first use; None when it is not installed."""
    _loader()
    return yaml or None


def _loader():
    """The bounded loader class, built on first use (None without PyYAML)."""
    global yaml, _LOADER, MappingNode, ScalarNode, SequenceNode
    if yaml is not None:  # imported already, or False: not installed
        return _LOADER
    try:
        import yaml as pyyaml
        from yaml.composer import Composer
        from yaml.constructor import SafeConstructor
        from yaml.nodes import MappingNode, ScalarNode, SequenceNode
    except ImportError:  # compose.py reports the missing PyYAML
        yaml = False
        return None

    class _BoundedLoader(pyyaml.SafeLoader):
        """SafeLoader with a nesting bound while composing and strict mappings while constructing."""

        def __init__(self, stream):
            super().__init__(stream)
            self._depth = 0

        def compose_node(self, parent, index):
            self._depth += 1
            try:
                if self._depth > MAX_DEPTH:
                    raise YAMLLimitError("nesting deeper than %d levels at %s" % (
                        MAX_DEPTH, _where(self.peek_event())))
                return Composer.compose_node(self, parent, index)
            finally:
                self._depth -= 1

        def construct_mapping(self, node, deep=False):
            _refuse_duplicates(self, node)
            return SafeConstructor.construct_mapping(self, node, deep)

        def construct_yaml_int(self, node):
            digits = sum(ch in "0123456789abcdefABCDEF" for ch in str(node.value))
            if digits > MAX_INT_DIGITS:
                raise YAMLLimitError("integer with %d digits at %s (at most %d)" % (
                    digits, _where(node), MAX_INT_DIGITS))
            return SafeConstructor.construct_yaml_int(self, node)

    _BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)
    yaml, _LOADER = pyyaml, _BoundedLoader
    return _LOADER


def _refuse_duplicates(loader, node):
    seen = {}
    if not isinstance(node, MappingNode):
        return
    for key_node, dummy in node.value:
        if key_node.tag == MERGE_TAG:
            continue
        if not isinstance(key_node, ScalarNode):
            raise YAMLLimitError("a mapping key must be a plain value, not a %s, at %s" % (
                "list" if isinstance(key_node, SequenceNode) else "mapping", _where(key_node)))
        key = loader.construct_object(key_node)
        if key in seen:
            raise YAMLLimitError("mapping key %r already defined at line %d (again at %s)" % (
                key, seen[key], _where(key_node)))
        seen[key] = key_node.start_mark.line + 1


def _expanded_size(root):
    """(nodes, depth) after alias expansion, computed without expanding (memoized by identity)."""
    sizes, visiting = {}, set()
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if children_done:
            visiting.discard(id(node))
            size = 1 + sum(sizes[id(c)][0] for c in children)
            depth = 1 + max([sizes[id(c)][1] for c in children] or [0])
            sizes[id(node)] = (min(size, 10 ** 12), depth)
            continue
        if id(node) in visiting:
            raise YAMLLimitError("an alias refers to the value that contains it, at %s" % _where(node))
        visiting.add(id(node))
        stack.append((node, True))
        for child in children:
            if id(child) in visiting:
                raise YAMLLimitError("an alias refers to the value that contains it, at %s" % _where(child))
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


def _children(node):
    if isinstance(node, SequenceNode):
        return node.value
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


_FLOW_CHARS = re.compile(r"[\[\]{}\"'#\n]")


def _flow_depth(text):
    """The deepest [ / { nesting, skipping quoted strings and comments (an upper bound, cheaply).

    PyYAML's scanner is quadratic in flow nesting (it re-checks every open level for each
    token), so a few kilobytes of brackets would take seconds before the composer's bound
    is reached. Brackets inside plain scalars are counted too, which only overestimates.
    """
    depth = deepest = 0
    quote = None
    for match in _FLOW_CHARS.finditer(text):
        char, pos = match.group(), match.start()
        if quote:
            if char == quote or char == "\n" and quote == "#":
                quote = None
        elif char in "\"'" and (pos == 0 or not text[pos - 1].isalnum()):
            quote = char
        elif char == "#" and (pos == 0 or text[pos - 1] in " \t\n"):
            quote = "#"
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    return deepest


def load_bounded(stream):
    """Load one YAML document (bytes or str) within the bounds; None for an empty one."""
    text = stream.decode("utf-8", "replace") if isinstance(stream, bytes) else stream
    if _flow_depth(text) > MAX_DEPTH:
        raise YAMLLimitError("nesting deeper than %d levels" % MAX_DEPTH)
    loader = _loader()(stream)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size, depth = _expanded_size(node)
        if depth > MAX_DEPTH:
            raise YAMLLimitError("aliases nest the document deeper than %d levels" % MAX_DEPTH)
        if size > MAX_NODES:
            raise YAMLLimitError("excessive aliasing: the document expands to %s nodes (at most %d)" % (
                "more than %d" % MAX_NODES if size >= 10 ** 12 else size, MAX_NODES))
        return loader.construct_document(node)
    finally:
        loader.dispose()


def check_tree(data, max_depth=MAX_DEPTH, max_nodes=MAX_NODES):
    """The loader's bounds for a tree built elsewhere; returns a problem string or None."""
    count, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > max_nodes:
            return "more than %d values" % max_nodes
        if depth > max_depth:
            return "nesting deeper than %d levels" % max_depth
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend((v, depth + 1) for v in value)
    return None
