# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: timer
type: aggregate
short_description: Time every task on every host, write the times as JSON, show the slowest
description:
  - Records how long each task took on each host (from the task's start to that host's result),
    and how long each task took as a whole (from its start to the start of the next one).
  - At the end of the playbook, after the play recap, prints the slowest tasks first, with the
    slowest host of each.
  - Optionally writes every measurement to a JSON file, for comparing runs.
  - An aggregate callback; enable it with C(ANSIBLE_CALLBACKS_ENABLED=swarmops.core.timer) or
    C(callbacks_enabled) in C(ansible.cfg). It prints nothing else and works beside any stdout callback.
version_added: 0.1.0
author:
  - swarmops maintainers (@swarmops)
requirements:
  - enable in configuration (C(callbacks_enabled))
options:
  output:
    description:
      - Path of the JSON file to write at the end of the playbook. Its directory must exist.
      - The file holds C(playbook), C(started), C(total_seconds), and C(tasks), a list in run order;
        each task has C(name), C(action), C(play), C(path), C(seconds) (wall clock of the whole task)
        and C(hosts), a mapping of host name to C(seconds) and C(status)
        (C(ok), C(changed), C(failed), C(skipped), C(unreachable)).
      - Loops are timed per host as a whole (from the task's start to the host's last item).
      - Nothing is written when unset.
    type: path
    env:
      - name: SWARMOPS_TIMER_OUTPUT
    ini:
      - section: swarmops_timer
        key: output
  top:
    description:
      - How many tasks the summary lists, slowest first. C(0) lists none (the JSON file is still written).
    type: int
    default: 20
    env:
      - name: SWARMOPS_TIMER_TOP
    ini:
      - section: swarmops_timer
        key: top
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "swarmops.core.timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tasks = []
        self._current = None
        self._play = None
        self._playbook = None
        self._started = time.time()
        self._clock = time.monotonic()

    # --- recording ---------------------------------------------------------------------

    def _close_current(self):
        if self._current is not None:
            self._current["seconds"] = round(time.monotonic() - self._current.pop("_start"), 3)
            self._current = None

    def _start_task(self, task):
        self._close_current()
        self._current = {
            "name": task.get_name().strip(),
            "action": task.action,
            "play": self._play,
            "path": task.get_path(),
            "hosts": {},
            "_start": time.monotonic(),
        }
        self._tasks.append(self._current)

    def _record(self, result, status):
        if self._current is None:
            return
        seconds = round(time.monotonic() - self._current["_start"], 3)
        host = result._host.get_name()
        delegated = (result._result or {}).get("_ansible_delegated_vars", {}).get("ansible_host")
        entry = {"seconds": seconds, "status": status}
        if delegated:
            entry["delegated_to"] = delegated
        self._current["hosts"][host] = entry

    def v2_playbook_on_start(self, playbook):
        self._playbook = os.path.basename(playbook._file_name)

    def v2_playbook_on_play_start(self, play):
        self._close_current()
        self._play = play.get_name().strip()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start_task(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._start_task(task)

    def v2_runner_on_ok(self, result):
        self._record(result, "changed" if result._result.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    # --- reporting ---------------------------------------------------------------------

    def _summary_lines(self, top):
        timed = [t for t in self._tasks if t.get("seconds") is not None]
        lines = []
        for task in sorted(timed, key=lambda t: t["seconds"], reverse=True)[:top]:
            slowest = ""
            ran = {h: v for h, v in task["hosts"].items() if v["status"] != "skipped"}
            if ran:
                host = max(ran, key=lambda h: ran[h]["seconds"])
                slowest = "  (slowest: %s %.2fs of %d)" % (host, ran[host]["seconds"], len(ran))
            lines.append("%8.2fs  %s%s" % (task["seconds"], task["name"], slowest))
        return lines

    def v2_playbook_on_stats(self, stats):
        self._close_current()
        total = round(time.monotonic() - self._clock, 3)
        output = self.get_option("output")
        if output:
            document = {"playbook": self._playbook, "started": self._started, "total_seconds": total,
                        "tasks": self._tasks}
            with open(output, "w", encoding="utf-8") as stream:
                json.dump(document, stream, indent=1)
        top = self.get_option("top")
        if top and top > 0:
            self._display.banner("TASK TIMES (slowest %d of %d, %.1fs in all)" % (min(top, len(self._tasks)),
                                                                                  len(self._tasks), total))
            for line in self._summary_lines(top):
                self._display.display(line)
