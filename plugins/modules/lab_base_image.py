#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: lab_base_image
short_description: Ensure the Debian base image the lab (and lab-built images) start from
version_added: 0.1.0
description:
  - Ensures a local image of a minimal Debian.
  - If the image is absent, pulls O(upstream) (V(debian:bookworm-slim)) when a registry answers,
    otherwise builds the root file system with C(debootstrap) and imports it; O(source) forces either way.
  - Reuses the image when present, so a second run changes nothing.
author:
  - swarmops maintainers (@swarmops)
extends_documentation_fragment:
  - swarmops.core.docker
  - swarmops.core.docker.sdk
attributes:
  check_mode:
    support: full
    description: Reports what would change and changes nothing.
  diff_mode:
    support: none
    description: No diff is returned.
options:
  name:
    description: Image reference to ensure (repository:tag).
    type: str
    default: swarmops/lab-base:bookworm
  upstream:
    description: The upstream image to pull when a registry answers.
    type: str
    default: debian:bookworm-slim
  source:
    description: V(auto) pulls and falls back to debootstrap; V(pull) or V(debootstrap) force one way.
    type: str
    choices: [auto, pull, debootstrap]
    default: auto
  suite:
    description: Debian suite for debootstrap.
    type: str
    default: bookworm
  mirror:
    description: Debian mirror for debootstrap. Defaults to the mirror this host's apt uses.
    type: str
requirements:
  - debootstrap (only when the image has to be built)
"""

EXAMPLES = r"""
- name: Ensure the lab base image (pull, else debootstrap)
  swarmops.core.lab_base_image:
    name: swarmops/lab-base:bookworm
"""

RETURN = r"""
image:
  description: The image reference ensured.
  returned: always
  type: str
  sample: swarmops/lab-base:bookworm
how:
  description: V(present), V(pulled), V(debootstrapped), or V(would_build) in check mode.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import connect
from ansible_collections.swarmops.core.plugins.module_utils.docker_common import DOCKER_COMMON_ARGS
from ansible_collections.swarmops.core.plugins.module_utils.lab_image import ensure_base_image
from ansible_collections.swarmops.core.plugins.module_utils.runner import run_module


def run(module):
    params = module.params
    client = connect(params)
    changed, how = ensure_base_image(
        client, params["name"], params["upstream"], params["source"], params["suite"],
        params["mirror"], module.check_mode, module.run_command)
    return dict(changed=changed, image=params["name"], how=how)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            DOCKER_COMMON_ARGS,
            name=dict(type="str", default="swarmops/lab-base:bookworm"),
            upstream=dict(type="str", default="debian:bookworm-slim"),
            source=dict(type="str", default="auto", choices=["auto", "pull", "debootstrap"]),
            suite=dict(type="str", default="bookworm"),
            mirror=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
