#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_daemon_config
short_description: Manage settings in the Docker daemon's configuration file (daemon.json), merged and validated
version_added: 0.1.0
description:
  - Sets the keys given in O(config) in the JSON file O(path) and keeps every other key of the
    file as found. daemon.json is often shared (a custom C(data-root), C(live-restore), settings of
    other tools); this module owns the keys it is given and nothing else. O(remove) deletes keys by name.
  - A key it sets that the file already held with another value is replaced, named in RV(overridden)
    and in a warning, and shown in the diff.
  - Every key and value given is checked before anything is written, the way dockerd checks it
    (known key, JSON type, ranges such as C(mtu) 68-65535, addresses, sizes); all problems are listed
    at once, each with its key.
  - An existing file that is not a JSON object (or not UTF-8) is refused and left as is, never replaced.
  - Refuses C(hosts) entries on C(tcp://) unless C(tlsverify=true) with C(tlscacert), C(tlscert)
    and C(tlskey), because a daemon on TCP without verified TLS gives root to anyone who can connect.
  - Passwords in URLs (for example C(proxies) with C(user:password@)) are masked in the diff and the
    results, and the file is written with mode C(0600) while it holds one; otherwise its mode is kept
    (C(0644) for a new file).
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
    description: Before/after text of daemon.json, passwords in URLs masked.
options:
  path:
    description: The daemon configuration file.
    type: path
    default: /etc/docker/daemon.json
  config:
    description:
      - The settings this task owns, as daemon.json keys (for example C(log-driver), C(default-address-pools)).
      - Keys whose value is null, an empty string or an empty list/mapping are not managed; the
        file's own value, if any, is kept.
      - C(labels) may be a mapping; it becomes sorted C(key=value) strings.
      - Strings must stay strings, for example C(log-opts) values (C(max-file) is V("3"), not V(3)).
    type: dict
    default: {}
  remove:
    description: Keys to delete from the file. A key cannot be both set and removed.
    type: list
    elements: str
    default: []
  strict:
    description:
      - Fail on keys in O(config) this module does not know (dockerd refuses unknown keys too).
      - Set V(false) to pass a key of a newer dockerd through with a warning.
      - Keys already in the file are never checked; they are not this module's.
    type: bool
    default: true
  backup:
    description: Keep a timestamped copy of the previous file next to it before each write.
    type: bool
    default: true
requirements:
  - none on the target beyond Python
"""

EXAMPLES = r"""
- name: Configure the Docker daemon's logging and address pools; keep the rest of daemon.json
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

- name: Stop managing debug output and drop the key
  swarmops.core.docker_daemon_config:
    remove: [debug]
"""

RETURN = r"""
path:
  description: The file managed.
  returned: always
  type: str
  sample: /etc/docker/daemon.json
config:
  description: The whole file as written (or as it would be written in check mode), passwords in URLs masked.
  returned: always
  type: dict
  sample: {"data-root": "/srv/docker", "log-driver": "json-file", "labels": ["role=worker"]}
overridden:
  description: Keys the file held with another value, now set to the value given.
  returned: always
  type: list
  elements: str
  sample: [log-driver]
mode:
  description: The file's mode as written (C(0600) while it holds a password).
  returned: always
  type: str
  sample: "0644"
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
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils.daemon_config import (
    build,
    check_remove,
    file_mode,
    mask_config,
    merge,
    overridden,
    plan,
    read,
    secrets_in,
)
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError, run_module


def apply(module, path, text, mode, backup):
    """Replace the file atomically; the previous one stays intact if anything fails."""
    backup_file = None
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o755)
    if backup and os.path.exists(path):
        backup_file = module.backup_local(path)
        if mode == 0o600:  # the previous file may hold the same credentials
            os.chmod(backup_file, 0o600)
    fd, tmp = tempfile.mkstemp(prefix=".daemon.json.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        module.atomic_move(tmp, path)
        os.chmod(path, mode)
    except Exception as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise SwarmOpsError("Cannot write %s: %s (the previous file is unchanged)" % (path, exc))
    return backup_file


def current_mode(path):
    return stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else None


def run(module):
    params = module.params
    path = params["path"]
    desired, warnings = build(params["config"], strict=params["strict"])
    check_remove(params["remove"], desired)
    current_text, current = read(path)
    old_mode = current_mode(path)
    merged = merge(current, desired, params["remove"])
    module.no_log_values.update(secrets_in(current) + secrets_in(desired))
    clashes = overridden(current, desired)
    warnings += ["daemon.json key '%s' had another value on the host; it is replaced." % key for key in clashes]
    for warning in warnings:
        module.warn(warning)
    file_plan = plan(current_text, current, merged, old_mode)
    mode = file_mode(merged, old_mode)
    result = dict(changed=file_plan.changed, path=path, config=mask_config(merged), overridden=clashes,
                  existed=current_text is not None, mode="%04o" % mode)
    if file_plan and not module.check_mode:
        write = file_plan.actions[0]
        backup_file = apply(module, path, write["text"], write["mode"], params["backup"])
        if backup_file:
            result["backup_file"] = backup_file
    if module._diff:
        result["diff"] = dict(file_plan.diff(), before_header=path, after_header=path)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/docker/daemon.json"),
            config=dict(type="dict", default={}),
            remove=dict(type="list", elements="str", default=[]),
            strict=dict(type="bool", default=True),
            backup=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
