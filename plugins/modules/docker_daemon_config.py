#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_daemon_config
short_description: Manage the Docker daemon's configuration file (daemon.json), validated
version_added: 0.1.0
description:
  - Writes O(config) as JSON to O(path) (sorted keys), after checking every key against the
    settings dockerd accepts on Linux and its value against the expected type, so a typo fails
    here with the key's name instead of at the daemon's next start.
  - Compares semantically with the current file; an equal file is left untouched (no restart needed).
  - Refuses C(hosts) entries on C(tcp://) unless C(tlsverify=true) with C(tlscacert), C(tlscert)
    and C(tlskey), because a daemon on TCP without verified TLS gives root to anyone who can connect.
  - Does not restart the daemon; notify a handler on C(changed). With O(backup=true) the previous
    file is kept and returned as RV(backup_file), so a daemon that fails to start can be given it back.
author:
  - swarmops maintainers (@swarmops)
attributes:
  check_mode:
    support: full
    description: Computes the change and the diff; writes nothing.
  diff_mode:
    support: full
    description: Before/after text of daemon.json.
options:
  path:
    description: The daemon configuration file.
    type: path
    default: /etc/docker/daemon.json
  config:
    description:
      - The settings, as daemon.json keys (for example C(log-driver), C(default-address-pools)).
      - Keys whose value is null, an empty string or an empty list/mapping are left out, so dockerd's
        defaults apply.
      - C(labels) may be a mapping; it becomes sorted C(key=value) strings.
      - Strings must stay strings, for example C(log-opts) values (C(max-file) is V("3"), not V(3)).
    type: dict
    required: true
  strict:
    description:
      - Fail on keys this module does not know (dockerd refuses unknown keys too).
      - Set V(false) to pass a key of a newer dockerd through with a warning.
    type: bool
    default: true
  backup:
    description: Keep a timestamped copy of the previous file next to it before replacing it.
    type: bool
    default: true
requirements:
  - none on the target beyond Python
"""

EXAMPLES = r"""
- name: Configure the Docker daemon
  swarmops.core.docker_daemon_config:
    config:
      log-driver: json-file
      log-opts:
        max-size: 10m
        max-file: "3"
      default-address-pools:
        - base: 10.200.0.0/16
          size: 24
      labels:
        role: worker
  register: daemon_config
  notify: Restart docker
"""

RETURN = r"""
path:
  description: The file managed.
  returned: always
  type: str
  sample: /etc/docker/daemon.json
config:
  description: The settings as written (or as they would be written in check mode).
  returned: always
  type: dict
  sample: {"log-driver": "json-file", "labels": ["role=worker"]}
backup_file:
  description: The copy of the previous file, when one was made.
  returned: changed and a previous file existed and O(backup=true)
  type: str
  sample: /etc/docker/daemon.json.12345.2026-11-30@01:02:03~
existed:
  description: Whether the file existed before this run.
  returned: always
  type: bool
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmops.core.plugins.module_utils.daemon_config import build, plan, read, render
from ansible_collections.swarmops.core.plugins.module_utils.docker_common import SwarmOpsError, run_module


def apply(module, path, text, backup):
    """Replace the file atomically; the previous one stays intact if anything fails."""
    backup_file = None
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o755)
    if backup and os.path.exists(path):
        backup_file = module.backup_local(path)
    fd, tmp = tempfile.mkstemp(prefix=".daemon.json.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        module.atomic_move(tmp, path)
    except Exception as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise SwarmOpsError("Cannot write %s: %s (the previous file is unchanged)" % (path, exc))
    return backup_file


def run(module):
    params = module.params
    path = params["path"]
    desired, warnings = build(params["config"], strict=params["strict"])
    for warning in warnings:
        module.warn(warning)
    current_text, current = read(path)
    changed, diff = plan(current_text, current, desired)
    result = dict(changed=changed, path=path, config=desired, existed=current_text is not None)
    if changed and not module.check_mode:
        backup_file = apply(module, path, render(desired), params["backup"])
        if backup_file:
            result["backup_file"] = backup_file
    if module._diff:
        result["diff"] = dict(diff, before_header=path, after_header=path)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/docker/daemon.json"),
            config=dict(type="dict", required=True),
            strict=dict(type="bool", default=True),
            backup=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
