#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_http_probe
short_description: Smoke-test an image over HTTP - run a container on loopback, ask it, remove it
version_added: 0.1.0
description:
  - Runs a container from O(image) with O(container_port) published on C(127.0.0.1) of the
    engine's host (a random free port), sends C(GET O(path)) until the container answers or
    O(probe_timeout) runs out, checks the status and that the body contains every O(expect) text,
    and removes the container in every case, like C(docker run -p 127.0.0.1:4000:80) followed by C(curl).
  - Leaves nothing behind, so it never reports a change (O(passed_record) is bookkeeping).
  - The module must run on the engine's host (the published port is on that host's loopback).
author: swarmops maintainers (@swarmops)
extends_documentation_fragment:
  - swarmops.core.docker
  - swarmops.core.docker.sdk
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: Runs nothing in check mode (the image may not be built yet).
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
options:
  image:
    description: The image to run (it must be present on the engine).
    type: str
    required: true
  name:
    description: The container's name; a unique C(swarmops-probe-...) name when empty.
    type: str
  container_port:
    description: The port the container serves HTTP on.
    type: int
    default: 80
  path:
    description: The URL path to ask.
    type: str
    default: /
  status_code:
    description: The HTTP status the answer must have.
    type: int
    default: 200
  expect:
    description: Texts the answer's body must contain.
    type: list
    elements: str
    default: []
  env:
    description: Environment variables for the container.
    type: dict
    default: {}
  extra_hosts:
    description: Extra C(/etc/hosts) entries (name -> address), for example to point a dependency at loopback.
    type: dict
    default: {}
  probe_timeout:
    description: Seconds to wait for the first answer.
    type: int
    default: 60
  passed_record:
    description:
      - A file on the engine's host listing the ids of the images that passed this probe. An image
        listed there is not run again (RV(probed) is false); after a pass its id is added (the last
        20 are kept). Unset, every run probes.
      - Image ids are content digests, so a rebuilt image is probed again. Delete the file to probe
        everything again.
    type: path
    version_added: 0.1.0
"""

EXAMPLES = r"""
- name: The tutorial's check, without Redis
  swarmops.core.docker_http_probe:
    image: friendlyhello:latest
    extra_hosts:
      redis: 127.0.0.1   # refused at once: no DNS lookup leaves the host
    expect:
      - Hello World!
      - cannot connect to Redis, counter disabled
"""

RETURN = r"""
probed:
  description: Whether a container ran; false when O(passed_record) lists the image, and in check mode.
  returned: always
  type: bool
  sample: true
image_id:
  description: The id of the image probed (or found in O(passed_record)).
  returned: when the image exists
  type: str
  sample: sha256:4f3c...
status:
  description: The HTTP status of the answer.
  returned: success
  type: int
  sample: 200
body:
  description: The body of the answer (also returned on a failed expectation).
  returned: success, and when an expectation fails
  type: str
  sample: "<h3>Hello World!</h3>..."
logs:
  description: The container's last log lines.
  returned: on failure
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import connect
from ansible_collections.swarmops.core.plugins.module_utils.docker_common import DOCKER_COMMON_ARGS
from ansible_collections.swarmops.core.plugins.module_utils.http_probe import probe_once
from ansible_collections.swarmops.core.plugins.module_utils.runner import run_module


def run(module):
    return probe_once(connect(module.params), module.params, module.check_mode)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            DOCKER_COMMON_ARGS,
            image=dict(type="str", required=True),
            name=dict(type="str"),
            container_port=dict(type="int", default=80),
            path=dict(type="str", default="/"),
            status_code=dict(type="int", default=200),
            expect=dict(type="list", elements="str", default=[]),
            env=dict(type="dict", default={}),
            extra_hosts=dict(type="dict", default={}),
            probe_timeout=dict(type="int", default=60),
            passed_record=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
