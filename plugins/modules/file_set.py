#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: file_set
short_description: Ensure a set of directories and small text files on a host in one module run
version_added: 0.1.0
description:
  - Ensures every directory of O(directories) and every file of O(files), with its mode, in a
    single module run. A no-op M(ansible.builtin.copy) or M(ansible.builtin.template) costs two
    module runs (C(stat), then C(file) for the mode) and M(ansible.builtin.file) one; a task of
    this module replaces a group of them for one module run.
  - A directory is created with its missing parents (the parents C(0755)); its mode is enforced.
  - A file is written only when its bytes differ, atomically (a temporary file in the same
    directory, given its mode before it is moved into place); its mode is enforced. Its
    directory must exist or be listed in O(directories).
  - Owners, other files in the directories and paths not listed are left as found.
  - Every entry is checked before anything is written (absolute paths, octal modes, no path
    listed twice, each file's content given once, in O(files[].content) or in O(secret_contents),
    a file's directory); all problems are reported at once, each naming its entry.
  - The content comes from the task, as text. To copy a controller file byte for byte, read it with
    C(lookup('ansible.builtin.file', path, rstrip=false)) (the lookup strips the trailing newline
    by default); C(lookup('ansible.builtin.template', ...)) renders the text the
    M(ansible.builtin.template) action writes.
author: swarmops maintainers (@swarmops)
attributes:
  check_mode:
    description: Computes what would change and the diff; writes nothing.
    support: full
  diff_mode:
    description: One before/after per changed path; a secret file shows only a placeholder with its size.
    support: full
options:
  directories:
    description: Directories to ensure.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: str
        required: true
      mode:
        description: Octal mode as a quoted string, for example V("0755").
        type: raw
        required: true
  files:
    description:
      - Files to ensure. The content of each is O(files[].content), or for a secret the entry of
        O(secret_contents) under its path.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path. A symlink is followed to its file.
        type: str
        required: true
      mode:
        description: Octal mode as a quoted string, for example V("0644").
        type: raw
        required: true
      content:
        description: The file's text (written as UTF-8), shown by C(--diff). Leave it out for a secret.
        type: str
  secret_contents:
    description:
      - The text of secret files (a private key, an htpasswd file), keyed by the file's path as
        listed in O(files). Never logged (neither in the output nor in the host's log), never in a
        result, a diff or an error message; C(--diff) shows V((secret, N bytes)).
      - A separate option, not a suboption of O(files), because Ansible masks a multi-line
        C(no_log) suboption of a list in the output but not in the module invocation it writes
        to the target's journal or syslog.
    type: dict
    default: {}
requirements:
  - none on the target beyond Python
notes:
  - RV(files) returns each file's C(checksum), the SHA-1 of its content, the value
    M(ansible.builtin.copy) returns as C(checksum), also for a secret file. It does not reveal
    the content, but it identifies a known one; register it only where that is acceptable.
"""

EXAMPLES = r"""
- name: Write the registry's directories, certificate, key and users
  swarmops.core.file_set:
    directories:
      - {path: /etc/swarmops/registry, mode: "0700"}
      - {path: /var/lib/swarmops/registry, mode: "0755"}
    files:
      - path: /etc/swarmops/registry/server.crt
        mode: "0644"
        content: "{{ lookup('ansible.builtin.file', 'pki/server.crt', rstrip=false) }}"
      - path: /etc/swarmops/registry/server.key
        mode: "0600"
    secret_contents:
      /etc/swarmops/registry/server.key: "{{ lookup('ansible.builtin.file', 'pki/server.key', rstrip=false) }}"
  register: registry_files

- name: Use a file's checksum, e.g. to restart what reads it
  ansible.builtin.debug:
    msg: "{{ registry_files.files['/etc/swarmops/registry/server.crt'].checksum }}"

- name: Render a template and place it, its directory too
  swarmops.core.file_set:
    directories:
      - {path: /etc/swarmops/stacks/web, mode: "0755"}
    files:
      - path: /etc/swarmops/stacks/web/docker-compose.yml
        mode: "0644"
        content: "{{ lookup('ansible.builtin.template', 'docker-compose.yml.j2') }}"
"""

RETURN = r"""
directories:
  description: Per directory, keyed by the path as given.
  returned: always
  type: dict
  sample: {"/etc/swarmops/registry": {"changed": false, "mode": "0700"}}
files:
  description:
    - Per file, keyed by the path as given. C(checksum) is the SHA-1 of the content (the value
      M(ansible.builtin.copy) returns), C(changed) whether the content or the mode changed.
  returned: always
  type: dict
  sample: {"/etc/swarmops/registry/server.crt": {"changed": true, "mode": "0644",
           "checksum": "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"}}
actions:
  description: What was done (or would be, in check mode) to which path; unchanged paths are left out.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/etc/swarmops/registry/server.crt", "action": "update"}]
"""

from ansible.module_utils.basic import AnsibleModule

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils.file_set import ensure
from ansible_collections.swarmops.core.plugins.module_utils.runner import run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            directories=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="str", required=True),
                mode=dict(type="raw", required=True),
            )),
            files=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="str", required=True),
                mode=dict(type="raw", required=True),
                content=dict(type="str"),
            )),
            secret_contents=dict(type="dict", default={}, no_log=True),
        ),
        supports_check_mode=True,
    )
    run_module(module, lambda m: ensure(m.params, m.check_mode, m._diff, m.atomic_move))


if __name__ == "__main__":
    main()
