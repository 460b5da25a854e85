# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one plan shape every module uses: read -> build -> diff (a Plan) -> apply.

A planner (pure) returns a Plan:

* ``actions``: ordered dicts, each with an ``action`` key (the verb) and what apply needs;
* ``before``/``after``: the two sides of the diff, as --diff shows them (secrets masked by
  the planner): mappings, or a file's text;
* ``warnings``: text for the module to pass on.

``changed`` (also ``bool(plan)``) is true when an action is not a no-op (``unchanged``);
``summary()`` is the module result's ``actions``, one row per action (``row`` decides
the row's shape: the verb by default); ``diff()`` is the result's ``diff``.

Apply carries out ``plan.actions`` in order through a table keyed by the action
(``dispatch()`` refuses a key the table does not know) and returns what it did; it never
writes into the plan. This module imports nothing of the collection: a leaf.
"""

from __future__ import annotations

NOOP = "unchanged"


def verb(action):
    """The default summary row: the action's verb."""
    return action["action"]


def keyed(*keys):
    """A summary row of the named keys of each action, e.g. keyed("kind", "name", "action")."""
    def row(action):
        return {key: action[key] for key in keys}
    return row


class Plan:
    """Ordered actions, before/after, warnings (see the module docstring)."""

    def __init__(self, actions=None, before=None, after=None, warnings=None, row=verb):
        self.actions = list(actions or [])
        self.before = {} if before is None else before  # usually dicts; a file's text for a file
        self.after = {} if after is None else after
        self.warnings = list(warnings or [])
        self.row = row

    def add(self, action, **data):
        """Append an action (the verb plus what apply needs); returns it."""
        entry = dict(data, action=action)
        self.actions.append(entry)
        return entry

    def verbs(self):
        return [a["action"] for a in self.actions]

    @property
    def changed(self):
        return any(a["action"] != NOOP for a in self.actions)

    def __bool__(self):
        return self.changed

    def summary(self):
        return [self.row(a) for a in self.actions]

    def diff(self):
        return {"before": self.before, "after": self.after}


def dispatch(table, key):
    """The apply step for ``key``; a key the table does not know is a bug, never skipped."""
    try:
        return table[key]
    except KeyError:
        raise LookupError("no apply step for action %r (known: %s)" % (key, ", ".join(sorted(map(str, table)))))
