#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_engine_host_info
short_description: What a host says about its Docker Engine - packages, service, configuration files, last verification
version_added: 0.1.0
description:
  - Reads in one call what the C(swarmops.core.docker_engine) role decides from - which packages are
    installed (dpkg), the service's state and start time (systemd), which configuration files exist and
    their modification times, which users are missing, and whether the record of the last successful
    M(swarmops.core.docker_smoke_run) is about the daemon's current start.
  - With O(engine_facts=true) and the service active, also reads the engine's facts as
    M(swarmops.core.docker_engine_info) does (and sets the fact C(docker_engine)); only this part needs
    the Docker SDK, and a failure to read them is returned in RV(engine_error), not raised.
  - Read-only. Debian and Ubuntu hosts run by systemd.
extends_documentation_fragment:
  - swarmops.core.docker
  - swarmops.core.docker.sdk
  - swarmops.core.attributes.info_module
options:
  packages:
    description: Package names to look up with C(dpkg-query).
    type: list
    elements: str
    default: []
  service:
    description: The systemd unit of the daemon.
    type: str
    default: docker.service
  config_files:
    description: Paths (shell globs allowed) of the daemon's configuration files to stat.
    type: list
    elements: path
    default: []
  users:
    description: User names to look up; those that do not exist are returned in RV(users_missing).
    type: list
    elements: str
    default: []
  group:
    description: A group whose members to return in RV(group_members).
    type: str
    default: docker
  verify_record:
    description: The record file M(swarmops.core.docker_smoke_run) writes with its O(swarmops.core.docker_smoke_run#module:record) option.
    type: path
  verified_for:
    description:
      - What the record must have verified to count, as M(swarmops.core.docker_smoke_run) records it
        (C(image), C(source), C(command), C(expect)).
    type: dict
    default: {}
  drain_record:
    description:
      - The file in which the C(swarmops.core.docker_engine) role records the availability of a swarm
        node it drains before restarting the engine, removed once the node is set back. Returned in
        RV(drain_record), so that a run after one that could not set the node back does it.
    type: path
  engine_facts:
    description: Also read the engine's facts when the service is active.
    type: bool
    default: false
author:
  - swarmops maintainers (@swarmops)
"""

EXAMPLES = r"""
- name: Read the host's Docker state in one call
  swarmops.core.docker_engine_host_info:
    packages: [docker.io, python3-docker]
    config_files:
      - /etc/docker/daemon.json
      - /usr/local/share/ca-certificates/docker-registry-*.crt
    verify_record: /var/lib/swarmops/docker_engine_verified.json
    verified_for: {image: "swarmops/smoke:busybox", source: busybox, command: [], expect: Hello from Docker!}
  register: docker_host

- name: Restart docker when daemon.json is newer than the daemon
  ansible.builtin.debug:
    msg: daemon.json changed after the daemon started
  when: docker_host.config_mtime > docker_host.service.started
"""

RETURN = r"""
packages:
  description: The installed packages among O(packages), name to version.
  returned: always
  type: dict
  sample: {docker.io: 20.10.24+dfsg1-1+b3}
service:
  description: The service's state.
  returned: always
  type: dict
  contains:
    active_state:
      description: systemd's ActiveState (V(active), V(inactive), V(failed), ...).
      type: str
    unit_file_state:
      description: systemd's UnitFileState (V(enabled), V(disabled), ...), empty for an unknown unit.
      type: str
    started:
      description: When the running daemon's main process started, in seconds since the epoch; 0 if never.
      type: int
    invocation_id:
      description: systemd's ID of the unit's current start.
      type: str
config_files:
  description: The existing files matching O(config_files), sorted by path.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file.
      type: str
    mtime:
      description: Its modification time (seconds since the epoch).
      type: float
config_mtime:
  description: The newest modification time of RV(config_files), 0 when none exists.
  returned: always
  type: float
users_missing:
  description: The users of O(users) that do not exist.
  returned: always
  type: list
  elements: str
group_members:
  description: The supplementary members of O(group) (users whose primary group it is are not listed); null when it does not exist.
  returned: always
  type: list
  elements: str
verified:
  description: Whether O(verify_record) records a successful smoke run of the daemon's current start with O(verified_for).
  returned: always
  type: bool
drain_record:
  description:
    - The node and the availability to set it back to, from O(drain_record); null when there is no
      such file, or it does not hold a node ID and an availability of V(active) or V(pause).
  returned: always
  type: dict
  contains:
    node:
      description: The swarm node ID.
      type: str
    availability:
      description: The availability the node had before the drain.
      type: str
engine:
  description: The engine's facts as M(swarmops.core.docker_engine_info) returns them; null when not read.
  returned: always
  type: dict
engine_error:
  description: Why the engine's facts could not be read, with O(engine_facts=true) and the service active.
  returned: when reading them failed
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils.docker_common import DOCKER_COMMON_ARGS
from ansible_collections.swarmops.core.plugins.module_utils.engine_host import (
    drain_record,
    group_members,
    missing_users,
    newest_mtime,
    read_packages,
    read_service,
    record_is_current,
    stat_files,
)
from ansible_collections.swarmops.core.plugins.module_utils.json_file import read_json
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError, run_module


def read_engine(module):
    """The engine's facts (direct reads: no SDK import on a unix socket); a failure is an answer, not an error."""
    # pylint: disable=import-outside-toplevel
    from ansible_collections.swarmops.core.plugins.module_utils.docker_client import connect
    from ansible_collections.swarmops.core.plugins.module_utils.engine import cli_version, read_facts
    try:
        return read_facts(connect(module.params, direct_reads=True), cli_version(module)), None
    except Exception as exc:  # noqa: BLE001 - the role falls back to docker_engine_info, which reports it
        return None, "%s: %s" % (type(exc).__name__, exc)


def run(module):
    params = module.params
    try:
        packages = read_packages(module.run_command, params["packages"])
        service = read_service(module.run_command, params["service"])
    except OSError as exc:
        raise SwarmOpsError(str(exc))
    files = stat_files(params["config_files"])
    result = dict(
        changed=False, packages=packages, service=service, config_files=files, config_mtime=newest_mtime(files),
        users_missing=missing_users(params["users"]), group_members=group_members(params["group"]), engine=None,
        verified=bool(params["verify_record"])
        and record_is_current(read_json(params["verify_record"]), service, params["verified_for"]),
        drain_record=drain_record(read_json(params["drain_record"])) if params["drain_record"] else None,
    )
    if params["engine_facts"] and service["active_state"] == "active":
        facts, error = read_engine(module)
        result["engine"] = facts
        if facts is None:
            result["engine_error"] = error
        else:
            result["ansible_facts"] = dict(docker_engine=facts)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            DOCKER_COMMON_ARGS,
            packages=dict(type="list", elements="str", default=[]),
            service=dict(type="str", default="docker.service"),
            config_files=dict(type="list", elements="path", default=[]),
            users=dict(type="list", elements="str", default=[]),
            group=dict(type="str", default="docker"),
            verify_record=dict(type="path"),
            verified_for=dict(type="dict", default={}),
            drain_record=dict(type="path"),
            engine_facts=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
