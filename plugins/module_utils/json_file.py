# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small JSON files a module keeps on its host (records of what it verified): read leniently,
written atomically. A leaf: imports nothing of the collection."""

from __future__ import annotations

import json
import os
import tempfile


def read_json(path, default=None):
    """The file's content, ``default`` when it is absent or not JSON (a record that cannot be read
    is a record that says nothing)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return default


def write_json(path, data, mode=0o644, indent=None):
    """Write atomically (a reader never sees half a file); the directory is created 0755.
    ``indent`` as json.dump's, for records people read too."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o755, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=directory, prefix=".%s-" % os.path.basename(path))
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=indent, sort_keys=True)
            out.write("\n")
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
