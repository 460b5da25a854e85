#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: stack_deploy
short_description: Deploy a compose stack to Docker Swarm, natively and idempotently
version_added: 0.1.0
description:
  - The native equivalent of C(docker stack deploy), through the Engine API (Docker SDK for Python);
    no docker CLI is needed.
  - Loads one or more compose files or inline mappings (the version 3 formats and the current
    Compose Specification), interpolates variables, validates every key, converts the model to Engine
    API specs as docker/cli does (object names C(<stack>_<name>), labels C(com.docker.stack.namespace)
    and C(com.docker.stack.image), the C(<stack>_default) network) so C(docker stack ls/ps/services/rm)
    work on the result.
  - Idempotent. The normalized desired spec of each object is compared with the current one; only
    what differs is created, updated or removed. A stack first deployed by C(docker stack deploy) and
    then by this module from the same files reports no change, except that secrets the CLI created
    (whose content cannot be read back) are replaced once by content-addressed ones.
  - Configs and secrets get content-addressed names (C(<stack>_<name>_<hmac[:12]>)) unless they set
    C(name:), so changed content rolls out. The address is an HMAC-SHA256 of the content under a
    per-cluster key (O(content_key) or O(content_key_file)), also kept in the label
    C(io.swarmops.stack.content-hmac); no bare hash of the content is ever written or shown.
    Configs that C(docker stack deploy) created with identical content are reused.
  - A superseded config or secret is removed only once the services run their new spec (O(wait)), so
    a rollback still finds it; with O(wait=false) or after a failed wait it is kept (action
    V(deferred)) and removed by a later run. Objects declared C(external) are never removed.
  - Secrets stay out of the output. O(env) and O(compose) are C(no_log), values read from O(env_files)
    are masked as O(env)'s are; results and diffs show
    environment keys with masked values (C(KEY=********)) and configs/secrets by name and labels only.
  - Validation happens before anything on the cluster is touched; errors name the file and the key path,
    all problems at once.
    Keys C(docker stack deploy) ignores in swarm mode produce the same warning it prints.
  - Compose files are read with limits; a file breaking one is refused. Duplicate mapping keys;
    more than 100,000 values once YAML aliases are expanded (excessive aliasing); nesting deeper than
    64 levels; integers longer than 30 digits; files larger than 4 MiB. Values are range-checked as the
    engine checks them (ports 1-65535, counts and sizes within int64, CPUs finite and at least 0.001,
    memory at least 4MiB, durations not negative, file modes up to 0o7777, names valid for the engine,
    a published port used once), so a deploy does not fail half-way.
  - The wait fails within seconds on a task the engine rejects (for example no such image) or cannot
    schedule (no suitable node), naming the node and the engine's reason. A replicated task that exits 0
    under a restart policy other than C(any) counts as done.
  - See docs/stack_deploy.md in the collection for the comparison rules and differences from the CLI.
author:
  - swarmops maintainers (@swarmops)
extends_documentation_fragment:
  - swarmops.core.docker
  - swarmops.core.docker.sdk
attributes:
  check_mode:
    support: full
    description: Computes the full plan (and diff) and applies nothing.
  diff_mode:
    support: full
    description: Before/after of every object that changes; secrets and configs show name and labels only, Env values are masked.
options:
  name:
    description: The stack (namespace) name.
    type: str
    required: true
  compose:
    description:
      - Compose files (paths, relative to O(project_dir)) and/or inline compose mappings, merged in order
        like repeated C(docker stack deploy -c).
      - Required when O(state=present).
      - C(no_log). Values under C(environment) and C(content) keys of inline mappings are masked in all output;
        other values (image names, ports, paths) are shown.
    type: list
    elements: raw
  state:
    description: V(present) deploys; V(absent) removes services, then configs and secrets, then networks.
    type: str
    choices: [present, absent]
    default: present
  env:
    description:
      - Variables for interpolation (C(${VAR}), C(${VAR:-default}), C(${VAR-default}), C(${VAR:?message}),
        C(${VAR?message}), C($$) for a literal C($)). They override the module's process environment.
      - C(no_log). Every value of 4 or more characters is masked wherever it appears in the output.
    type: dict
    default: {}
  env_files:
    description:
      - Env files whose variables are used for interpolation, like C(docker compose --env-file)
        (C(docker stack deploy) itself has no such option). Later files win over earlier ones;
        O(env) wins over all files; the files win over the module's process environment (unlike
        Compose, where the shell wins; here that environment is the managed host's and rarely meant).
      - Read on the host the module runs on (the manager, or the controller with a remote O(docker_host)),
        not copied from the controller. Relative paths are resolved against O(project_dir).
      - The syntax of C(docker run --env-file) and of a service's C(env_file) here. One C(KEY=VALUE) per line;
        blank lines and lines starting with C(#) are ignored; the value is taken literally; quotes, inline
        comments, escapes and C(${VAR}) inside the file are not processed, unlike Compose's C(.env)
        syntax. A line C(export KEY=...) or with spaces in the name is refused; a bare C(KEY) sets nothing.
      - Values are treated as secrets exactly like those of O(env). Every value of 4 or more characters is
        masked wherever it appears in the output, and Env values in the diff show as C(KEY=********).
      - A file that is missing, unreadable, not UTF-8 or larger than 4 MiB fails the task, naming the file,
        before the engine is contacted.
    type: list
    elements: path
    default: []
  content_key:
    description:
      - The key (at least 16 characters) of the HMAC that names configs and secrets and labels their content.
      - Use the same key on every run against a cluster (and from every manager), or names change and every
        config and secret rolls out again. Keep it in a vault.
      - When not set, the key in O(content_key_file) is used.
    type: str
  content_key_file:
    description:
      - File on the host the module runs on that holds the content key when O(content_key) is not set.
        Created (mode 0600, random key) on first use; in check mode a missing file is not created.
    type: path
    default: /var/lib/swarmops/stack-content.key
  project_dir:
    description:
      - Directory relative compose paths, bind mounts, env_file and secret/config files are resolved against.
        Defaults to the directory of the first compose file (the current directory when that is a mapping).
    type: path
  prune:
    description: Remove services of the stack that the compose files no longer define (and, with them, unused stack networks).
    type: bool
    default: false
  with_registry_auth:
    description: Send registry credentials from the Docker client config to the swarm agents.
    type: bool
    default: false
  resolve_image:
    description:
      - V(always) asks the registry for the image digest and pins it (as the CLI does by default);
        when the registry cannot be reached, the image is used by name and the service is left alone
        if its image did not change.
      - V(changed) keeps the running image (and digest) unless the compose image changed; V(never) never
        queries the registry.
    type: str
    choices: [always, changed, never]
    default: always
  wait:
    description: Wait until created/updated services run the new spec; fail with the task errors and node names otherwise.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait (also bounds waiting for networks to become free on removal).
    type: int
    default: 300
  rollback:
    description: After a failed wait, roll updated services back to their previous spec and remove created ones.
    type: bool
    default: false
requirements:
  - PyYAML on that host, to read compose files (inline mappings do not need it)
notes:
  - Volumes are created by the engine when tasks start (as with the CLI); they are never removed.
  - Service-level C(tmpfs) becomes tmpfs mounts (docker stack deploy drops it).
  - On a C(unix://) socket (the default), the module reads the swarm's state straight from the
    socket and imports the Docker SDK only to write, so a run with nothing to change does not pay for
    importing the SDK. The SDK must still be installed, at the version the requirements name.
"""

EXAMPLES = r"""
- name: Deploy the getstartedlab stack
  swarmops.core.stack_deploy:
    name: getstartedlab
    compose:
      - /srv/app/docker-compose.yml

- name: Override the image and replicas inline, prune services dropped from the files
  swarmops.core.stack_deploy:
    name: getstartedlab
    compose:
      - /srv/app/docker-compose.yml
      - services:
          web:
            image: "registry.example:5000/friendlyhello:{{ app_version }}"
            deploy:
              replicas: 3
    env:
      REDIS_DATA: /srv/redis
    prune: true
    rollback: true

- name: Interpolate from env files on the manager (later files win, env wins over both)
  swarmops.core.stack_deploy:
    name: getstartedlab
    compose:
      - /srv/app/docker-compose.yml
    env_files:
      - /srv/app/defaults.env
      - /etc/swarmops/getstartedlab.env  # DB_PASSWORD=...; mode 0600, put there by your secrets tooling
    env:
      WEB_REPLICAS: "3"

- name: Remove the stack
  swarmops.core.stack_deploy:
    name: getstartedlab
    state: absent
"""

RETURN = r"""
changed:
  description: Whether any object was (or in check mode would be) created, updated or removed.
  returned: always
  type: bool
actions:
  description: One entry per object of the stack, in the order applied.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: V(network), V(secret), V(config) or V(service).
      type: str
    name:
      description: The object's name on the cluster.
      type: str
    action:
      description:
        - V(create), V(update), V(remove) or V(unchanged).
        - V(deferred) for a superseded config or secret kept because this run did not see the services converge
          (O(wait=false) or a failed wait); a later run removes it.
      type: str
  sample:
    - {kind: network, name: getstartedlab_webnet, action: unchanged}
    - {kind: service, name: getstartedlab_web, action: update}
stack:
  description: The stack name.
  returned: always
  type: str
diff:
  description:
    - Before/after of each changed object keyed C(<kind>/<name>) (normalized service specs).
    - Env values are masked (C(KEY=********)); configs and secrets show name and labels, never data or content label.
  returned: in diff mode
  type: dict
stack_warnings:
  description: Warnings about ignored keys, unset variables, registry digests (also emitted as Ansible warnings).
  returned: when there are any
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import connect
from ansible_collections.swarmops.core.plugins.module_utils.docker_common import DOCKER_COMMON_ARGS
from ansible_collections.swarmops.core.plugins.module_utils.runner import run_module
from ansible_collections.swarmops.core.plugins.module_utils.stack import (
    DEFAULT_KEY_FILE,
    deploy,
    printable_values,
    read_env_files,
    secret_values,
)


ARGUMENT_SPEC = dict(
    DOCKER_COMMON_ARGS,
    name=dict(type="str", required=True),
    compose=dict(type="list", elements="raw", no_log=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    env=dict(type="dict", default={}, no_log=True),
    env_files=dict(type="list", elements="path", default=[]),
    content_key=dict(type="str", no_log=True),
    content_key_file=dict(type="path", default=DEFAULT_KEY_FILE),
    project_dir=dict(type="path"),
    prune=dict(type="bool", default=False),
    with_registry_auth=dict(type="bool", default=False),
    resolve_image=dict(type="str", default="always", choices=["always", "changed", "never"]),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=300),
    rollback=dict(type="bool", default=False),
)


def run(module):
    # Keep Ansible's masking to the values that can be secret (see printable_values).
    module.no_log_values.difference_update(printable_values(module.params))
    file_env = None
    if module.params["state"] == "present":
        # Read before connecting; Ansible then masks the file values as it masks env's.
        file_env = read_env_files(module.params["env_files"], module.params["project_dir"])
        module.no_log_values.update(secret_values(file_env))
    params = dict(module.params, _diff=module._diff)
    result = deploy(connect(params, direct_reads=True), params, module.check_mode, file_env)
    for warning in result.get("stack_warnings", []):
        module.warn(warning)
    return result


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        required_if=[("state", "present", ["compose"])],
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
