# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker_image_build's controller half: with ``src``, pack the context into the module's
arguments, so the build host needs no copy task (one module run instead of one per file)."""

from __future__ import annotations

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.swarmops.core.plugins.module_utils.context_archive import ArchiveError, pack


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        if args.get("src") and not args.get("path"):
            try:
                directory = self._find_needle("files", args["src"])
                args["_context_archive"] = pack(directory)
            except (AnsibleError, ArchiveError, OSError) as exc:
                result.update(failed=True, msg="src %s: %s" % (args["src"], exc))
                return result
        result.update(self._execute_module(module_args=args, task_vars=task_vars))
        return result
