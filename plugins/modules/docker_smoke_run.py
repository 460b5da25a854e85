#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_smoke_run
short_description: Prove an engine runs containers - run one, read its output, remove it
version_added: 0.1.0
description:
  - Ensures O(image) is present, runs one container from it without a network, waits for it,
    reads its output and removes the container, like C(docker run --rm hello-world).
  - Fails when the container exits non-zero or its output lacks O(expect).
  - With O(source=busybox) the image is built on the host from a static busybox binary
    (Debian's C(busybox-static)) by an import, so no registry is needed. Its own command prints
    V(Hello from Docker!) and the container's hostname, like C(hello-world)'s first line.
  - C(changed) only reports the image being pulled or imported; the container leaves no trace.
  - In check mode nothing is pulled, imported or run.
author:
  - swarmops maintainers (@swarmops)
extends_documentation_fragment:
  - swarmops.core.docker
  - swarmops.core.docker.sdk
attributes:
  check_mode:
    support: full
    description: Reports whether the image would be pulled or imported; pulls, imports and runs nothing.
  diff_mode:
    support: none
    description: Nothing to diff.
options:
  image:
    description: The image to run.
    type: str
    default: hello-world
  source:
    description:
      - How to get O(image) when it is absent. V(pull) from its registry, V(busybox) import a
        one-binary image from O(busybox_path), V(present) fail.
    type: str
    choices: [pull, busybox, present]
    default: pull
  busybox_path:
    description: The static busybox binary for O(source=busybox).
    type: path
    default: /bin/busybox
  command:
    description: The command to run; the image's own when empty.
    type: list
    elements: str
    default: []
  expect:
    description: Text the output must contain; nothing is checked when empty.
    type: str
    default: ""
  run_timeout:
    description: Seconds the container may run.
    type: int
    default: 60
"""

EXAMPLES = r"""
- name: Run hello-world
  swarmops.core.docker_smoke_run:
    image: hello-world
    expect: Hello from Docker!

- name: The same without any registry
  swarmops.core.docker_smoke_run:
    image: swarmops/smoke:busybox
    source: busybox
    expect: Hello from Docker!
"""

RETURN = r"""
image:
  description: The image run.
  returned: always
  type: str
how:
  description: V(present), V(pulled) or V(imported) (V(would_pull)/V(would_import) in check mode).
  returned: always
  type: str
ran:
  description: Whether a container ran (false in check mode).
  returned: always
  type: bool
exit_code:
  description: The container's exit code.
  returned: when a container ran
  type: int
output:
  description: The container's output (stdout and stderr).
  returned: when a container ran
  type: str
  sample: Hello from Docker!
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmops.core.plugins.module_utils.docker_client import connect
from ansible_collections.swarmops.core.plugins.module_utils.docker_common import DOCKER_COMMON_ARGS
from ansible_collections.swarmops.core.plugins.module_utils.engine import command_for, ensure_image, run_once
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError, run_module


def run(module):
    params = module.params
    client = connect(params)
    how = ensure_image(client, params["image"], params["source"], params["busybox_path"], module.check_mode)
    result = dict(changed=how != "present", image=params["image"], how=how, ran=False)
    if module.check_mode:
        return result
    command = command_for(client, params["image"], params["command"], params["source"])
    code, output = run_once(client, params["image"], command, params["run_timeout"])
    result.update(ran=True, exit_code=code, output=output)
    if code != 0:
        raise SwarmOpsError("The container from %s exited with %s." % (params["image"], code), **result)
    if params["expect"] and params["expect"] not in output:
        raise SwarmOpsError("The output of the container from %s lacks %r." % (params["image"], params["expect"]),
                            **result)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            DOCKER_COMMON_ARGS,
            image=dict(type="str", default="hello-world"),
            source=dict(type="str", default="pull", choices=["pull", "busybox", "present"]),
            busybox_path=dict(type="path", default="/bin/busybox"),
            command=dict(type="list", elements="str", default=[]),
            expect=dict(type="str", default=""),
            run_timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
