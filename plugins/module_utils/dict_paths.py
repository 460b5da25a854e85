# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Values at a path in nested dicts (Engine API specs): read, write, drop a default.

A path is a dotted string (``"TaskTemplate.ContainerSpec.Image"``) or a sequence of keys.
A shared leaf: pure, imports nothing from the collection.
"""

from __future__ import annotations


def _keys(path):
    return path.split(".") if isinstance(path, str) else list(path)


def get_path(data, path):
    """The value at ``path``, or None when a key on the way is missing or holds no dict."""
    for key in _keys(path):
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def set_path(data, path, value):
    """Set the value at ``path``, making the dicts on the way (a None there counts as missing)."""
    keys = _keys(path)
    for key in keys[:-1]:
        if data.get(key) is None:
            data[key] = {}
        data = data[key]
    data[keys[-1]] = value


def drop_path(data, path, value):
    """Remove the key at ``path`` when it holds ``value`` (a default the engine fills in)."""
    keys = _keys(path)
    holder = get_path(data, keys[:-1])
    if isinstance(holder, dict) and keys[-1] in holder and holder[keys[-1]] == value:
        del holder[keys[-1]]
