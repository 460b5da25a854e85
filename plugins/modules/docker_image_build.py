#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_image_build
short_description: Build a Docker image only when its build context changed, tag it and push it
version_added: 0.1.0
description:
  - Builds an image through the Docker Engine API (no docker CLI needed), like C(docker build).
  - "Content-based rebuild detection: a SHA-256 of the build context after C(.dockerignore)
    (file names, modes, contents, symlink targets), the Dockerfile, the injected CA bundle and the
    options O(build_args), O(target), O(labels) and O(platform) is stored on the image as the label
    C(io.swarmops.context-hash). When the image O(name):O(tag) exists with the same hash, no build
    is started and the task reports no change. O(force) builds anyway."
  - The base images named in C(FROM) are not part of the hash. Use O(force) (with O(pull)) to
    pick up a newer base image.
  - The Dockerfile and C(.dockerignore) must be UTF-8 text; every file of the context must be
    readable. Otherwise the task fails before building, naming the file(s).
  - Tags the image with every entry of O(tags), and with O(push=true) pushes every reference.
    A push reports a change only when the registry's manifest for that tag differs from the
    local image (the registry's digest is compared with the image's C(RepoDigests)).
  - "O(ca_certificates): for builds behind a TLS-intercepting proxy. Only the C(CERTIFICATE)
    blocks of each file are taken (comments, CRLs and other text are left out), and a file that
    holds a private key is refused: a key must never travel into an image. The certificates are
    concatenated into one bundle, added to the context and copied into every build stage
    (after each C(FROM)) as C(/usr/local/share/swarmops/build-ca.crt); the build arguments
    C(PIP_CERT), C(REQUESTS_CA_BUNDLE), C(SSL_CERT_FILE), C(CURL_CA_BUNDLE), C(GIT_SSL_CAINFO),
    C(NODE_EXTRA_CA_CERTS) and C(CARGO_HTTP_CAINFO) point to it during C(RUN) steps. They are
    C(ARG)s, not C(ENV)s, so the running image does not use them. A C(COPY .) also copies
    C(.swarmops-build-ca.crt)."
author: swarmops maintainers (@swarmops)
extends_documentation_fragment:
  - swarmops.core.docker
  - swarmops.core.docker.sdk
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details: Computes the hash and asks the registry; builds, tags and pushes nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
    details: Before and after context hash and image id.
options:
  name:
    description:
      - The image repository, without a tag, for example C(friendlyhello) or C(registry.example.com:5000/team/app).
    type: str
    required: true
  tag:
    description: The tag the image is built as.
    type: str
    default: latest
  tags:
    description:
      - More references for the same image. A plain word is another tag of O(name);
        a value with C(/) or C(:) is a complete C(repository[:tag]).
    type: list
    elements: str
    default: []
  path:
    description:
      - The build context directory on the host the module runs on.
      - One of O(path) and O(src) is required.
    type: path
  src:
    description:
      - The build context directory on the controller, found like C(ansible.builtin.copy)'s
        O(ansible.builtin.copy#module:src) (a role's C(files/) first). The action plugin packs it
        into the module's arguments; the build host gets it in a temporary directory, removed
        after the task. Nothing is copied to a permanent place, and the task needs one module run
        where a copy task needs one per file.
      - For small contexts (at most 16 MiB); copy a bigger one to the build host and give O(path).
      - Directories, regular files and symbolic links only; file modes are kept (they are part of
        the context hash), owners and times are not.
    type: str
    version_added: 0.1.0
  _context_archive:
    description:
      - Internal, set by the action plugin from O(src) (the packed context). Do not set it.
    type: str
    version_added: 0.1.0
  dockerfile:
    description: The Dockerfile, relative to the context or absolute (it may lie outside the context).
    type: str
    default: Dockerfile
  build_args:
    description: Build arguments (C(--build-arg)). Values are turned into strings. They are visible in the image history; never pass secrets here.
    type: dict
    default: {}
  target:
    description: The build stage to stop at (C(--target)).
    type: str
  labels:
    description: Labels for the image. The label C(io.swarmops.context-hash) is always added.
    type: dict
    default: {}
  platform:
    description: The platform to build for, for example C(linux/amd64).
    type: str
  pull:
    description: Try to pull newer versions of the base images during a build.
    type: bool
    default: false
  nocache:
    description: Build without the layer cache.
    type: bool
    default: false
  force:
    description: Build even when an image with the same context hash exists.
    type: bool
    default: false
  ca_certificates:
    description:
      - PEM files of CA certificates to trust during the build (builds behind a TLS-intercepting proxy).
      - Give a complete bundle, for example the build host's C(/etc/ssl/certs/ca-certificates.crt)
        (it includes the proxy's CA when the host trusts it). Tools pointed to it trust only these.
      - Only the certificate blocks are used; a file holding a private key fails the task, naming it.
    type: list
    elements: path
    default: []
  build_timeout:
    description: Seconds to wait for output from a running build before giving up.
    type: int
    default: 1800
  push:
    description: Push every reference (O(name):O(tag) and O(tags)) to its registry.
    type: bool
    default: false
  registry_auth:
    description: Credentials for the registry (pushes, and asking the registry for its digest).
    type: dict
    suboptions:
      username:
        description: The user name.
        type: str
        required: true
      password:
        description: The password. Never logged.
        type: str
        required: true
      registry:
        description: The registry address; defaults to the registry part of O(name).
        type: str
notes:
  - Uses the Engine's classic builder (the one the Engine API C(/build) endpoint runs), so build logs show C(Step N/M) lines.
  - A rebuilt image takes the tag; the previous image stays as a dangling image, as with C(docker build).
seealso:
  - name: Dockerfile reference
    description: The instructions a Dockerfile may contain.
    link: https://docs.docker.com/reference/dockerfile/
"""

EXAMPLES = r"""
- name: Build the tutorial app (a no-op when nothing in apps/friendlyhello changed)
  swarmops.core.docker_image_build:
    name: friendlyhello
    path: /opt/friendlyhello
    build_args:
      BASE_IMAGE: python:3.11-slim

- name: Build from a directory on the controller (a role's files/friendlyhello), no copy task
  swarmops.core.docker_image_build:
    name: friendlyhello
    src: friendlyhello

- name: Build behind a TLS-intercepting proxy, tag and push to a private registry
  swarmops.core.docker_image_build:
    name: registry.lab:5000/friendlyhello
    tag: "1.0"
    tags: [latest]
    path: /opt/friendlyhello
    ca_certificates:
      - /etc/ssl/certs/ca-certificates.crt
    push: true
    registry_auth:
      username: "{{ registry_user }}"
      password: "{{ registry_password }}"
"""

RETURN = r"""
image_id:
  description: The id of the image (after the build, or the existing one). Empty in check mode when a build is due.
  returned: always
  type: str
  sample: sha256:0b4a5c8e1f...
context_hash:
  description: The content hash of this build (the value of the label C(io.swarmops.context-hash)).
  returned: always
  type: str
  sample: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
references:
  description: Every reference the image carries, O(name):O(tag) first.
  returned: always
  type: list
  elements: str
  sample: [registry.lab:5000/friendlyhello:1.0, registry.lab:5000/friendlyhello:latest]
actions:
  description: What was done (or would be done in check mode), for example C(build ...), C(tag ...), C(push ...).
  returned: always
  type: list
  elements: str
digest:
  description: The repository digest of O(name):O(tag) in its registry.
  returned: when O(push=true) and not in check mode
  type: str
  sample: sha256:5d3ac7f8e6...
digests:
  description: The repository digest of each pushed reference.
  returned: when O(push=true)
  type: dict
build_log:
  description: The last lines of the build output.
  returned: when a build ran, and on build failure
  type: list
  elements: str
failed_step:
  description: "The Dockerfile step that failed, as the build log names it: C(Step N/M : INSTRUCTION)."
  returned: on build failure
  type: str
"""

# Imported before the collection's other modules, so they compile once (see compile_once).
from ansible_collections.swarmops.core.plugins.module_utils import compile_once  # noqa: F401 pylint: disable=unused-import
from ansible_collections.swarmops.core.plugins.module_utils.docker_client import connect
from ansible_collections.swarmops.core.plugins.module_utils.docker_common import DOCKER_COMMON_ARGS
from ansible_collections.swarmops.core.plugins.module_utils.image_build import ensure_image, unpacked_context
from ansible_collections.swarmops.core.plugins.module_utils.runner import SecretSafeModule, run_module


def run(module):
    with unpacked_context(module.params) as params:
        return ensure_image(connect(params), params, module.check_mode)


def main():
    module = SecretSafeModule(
        argument_spec=dict(
            DOCKER_COMMON_ARGS,
            name=dict(type="str", required=True),
            tag=dict(type="str", default="latest"),
            tags=dict(type="list", elements="str", default=[]),
            path=dict(type="path"),
            src=dict(type="str"),
            _context_archive=dict(type="str", no_log=True),
            dockerfile=dict(type="str", default="Dockerfile"),
            build_args=dict(type="dict", default={}),
            target=dict(type="str"),
            labels=dict(type="dict", default={}),
            platform=dict(type="str"),
            pull=dict(type="bool", default=False),
            nocache=dict(type="bool", default=False),
            force=dict(type="bool", default=False),
            ca_certificates=dict(type="list", elements="path", default=[]),
            build_timeout=dict(type="int", default=1800),
            push=dict(type="bool", default=False),
            registry_auth=dict(type="dict", options=dict(
                username=dict(type="str", required=True),
                password=dict(type="str", required=True, no_log=True),
                registry=dict(type="str"),
            )),
        ),
        required_one_of=[("path", "src")],
        mutually_exclusive=[("path", "src")],
        supports_check_mode=True,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
