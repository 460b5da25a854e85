#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: qemu_base_image
short_description: A QEMU VM base image built from Debian packages (kernel, systemd, sshd, cloud-init)
version_added: 0.1.0
description:
  - Builds, in O(path), C(base.qcow2) (an ext4 root file system, no partition table), C(vmlinuz) and
    C(initrd.img) (Debian's C(linux-image-cloud-amd64), which ships the C(ip_vs) modules the swarm routing
    mesh needs), for M(swarmops.core.qemu_vm) to boot with O(swarmops.core.qemu_vm#module:kernel).
  - The root is made with C(debootstrap) from a Debian mirror; cloud-init (NoCloud datasource only) creates the
    user and installs the key at each VM's first boot; systemd-networkd does DHCP.
  - Nothing is downloaded but Debian packages. Needs root (debootstrap, chroot), C(mkfs.ext4) and C(qemu-img).
  - A second run with the same inputs changes nothing (the inputs are recorded in C(build.json)).
author:
  - swarmops maintainers (@swarmops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Says whether a build is needed; builds nothing.
  diff_mode:
    support: full
    details: The recorded build inputs before and after.
  platform:
    platforms: posix
options:
  path:
    description: Directory for the image, kernel and initrd.
    type: path
    default: ~/.swarmops/qemu-base
  suite:
    description: Debian suite.
    type: str
    default: bookworm
  mirror:
    description: Debian mirror. Defaults to the mirror this host's apt uses.
    type: str
  size:
    description: Size of the root file system in MiB (VMs grow their own overlay with O(swarmops.core.qemu_vm#module:disk_size)).
    type: int
    default: 3072
  extra_packages:
    description: More Debian packages for the image.
    type: list
    elements: str
    default: []
  force:
    description: Rebuild even when the recorded inputs match.
    type: bool
    default: false
  nice:
    description: Run the CPU-heavy steps under C(nice -n) this value (V(0) does not).
    type: int
    default: 0
requirements:
  - debootstrap, e2fsprogs (mkfs.ext4 with -d) and qemu-utils on the host the module runs on; root
"""

EXAMPLES = r"""
- name: Build the VM base from Debian packages (about 4 minutes)
  swarmops.core.qemu_base_image:
    path: ~/.swarmops/qemu-base
  register: qemu_base
"""

RETURN = r"""
image:
  description: The base disk image.
  returned: always
  type: str
kernel:
  description: The kernel to boot directly.
  returned: always
  type: str
initrd:
  description: The initrd for that kernel.
  returned: always
  type: str
kernel_version:
  description: The kernel's version (null in check mode before a first build).
  returned: always
  type: str
  sample: 6.1.0-50-cloud-amd64
path:
  description: The directory.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils.lab_image import apt_mirror
from ansible_collections.swarmops.core.plugins.module_utils.qemu_image import ensure
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError, run_module


def run(module):
    params = dict(module.params, mirror=module.params["mirror"] or apt_mirror())
    if params["size"] < 1024:
        raise SwarmOpsError("size: %d MiB is too small for the base (at least 1024)" % params["size"])

    def step(cmd, what):
        rc, out, err = module.run_command(cmd, environ_update=dict(LC_ALL="C"))
        if rc != 0:
            raise SwarmOpsError("%s failed (rc=%d): %s" % (what, rc, (err or out)[-2000:]), command=cmd)
        return out

    return ensure(params, step, module.check_mode)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="~/.swarmops/qemu-base"),
            suite=dict(type="str", default="bookworm"),
            mirror=dict(type="str"),
            size=dict(type="int", default=3072),
            extra_packages=dict(type="list", elements="str", default=[]),
            force=dict(type="bool", default=False),
            nice=dict(type="int", default=0),
        ),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
