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
  - With O(record), a successful run is recorded on the host (which start of the daemon it verified, and
    with what), so that M(swarmops.core.docker_engine_host_info) can tell whether the running daemon has
    been verified since it started. The record is this module's bookkeeping, not a change to the host's
    configuration, so writing it is not reported as C(changed).
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
  record:
    description:
      - A file to write after a successful run (JSON; its directory is created). It holds the daemon's
        start time and systemd invocation ID (read from O(record_service)), the engine's version and
        O(image), O(source), O(command) and O(expect). Not written in check mode or when the run fails.
    type: path
  record_service:
    description: The systemd unit of the daemon, for O(record).
    type: str
    default: docker.service
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

- name: Run it and record which start of the daemon it verified
  swarmops.core.docker_smoke_run:
    image: swarmops/smoke:busybox
    source: busybox
    expect: Hello from Docker!
    record: /var/lib/swarmops/docker_engine_verified.json
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
record:
  description: What was written to O(record).
  returned: when O(record) is set and the run succeeded
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import connect
from ansible_collections.swarmops.core.plugins.module_utils.docker_common import DOCKER_COMMON_ARGS
from ansible_collections.swarmops.core.plugins.module_utils.engine import command_for, ensure_image, run_once
from ansible_collections.swarmops.core.plugins.module_utils.engine_host import (
    make_record,
    read_service,
    verified_for,
)
from ansible_collections.swarmops.core.plugins.module_utils.json_file import write_json
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
    if params["record"]:
        try:
            result["record"] = record(module, client)
        except OSError as exc:
            raise SwarmOpsError("The container ran, but recording it in %s failed: %s" % (params["record"], exc),
                                **result)
    return result


def record(module, client):
    params = module.params
    service = read_service(module.run_command, params["record_service"])
    entry = make_record(service, client.version().get("Version"), verified_for(params))
    write_json(params["record"], entry)
    return entry


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
            record=dict(type="path"),
            record_service=dict(type="str", default="docker.service"),
        ),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
