# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper callback: every task outcome per host, as JSON lines in $SWARMOPS_OUTCOMES_FILE.

Each line: {"play", "task", "host", "status"} with status ok, changed, failed, skipped or
unreachable (a failure that ignore_errors ignored is "ignored"). tests/e2e/test_plan.py
compares the (task, host) pairs a plan reports changed with those of the real run.
"""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_outcomes"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._path = os.environ.get("SWARMOPS_OUTCOMES_FILE")
        self._play = ""

    def _write(self, result, status):
        if not self._path:
            return
        line = dict(play=self._play, task=result._task.get_name(), host=result._host.get_name(), status=status)
        with open(self._path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name()

    def v2_runner_on_ok(self, result):
        self._write(result, "changed" if result._result.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._write(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._write(result, "unreachable")
