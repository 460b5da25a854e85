# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Connection options shared by every module that talks to a Docker Engine."""

    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - The Docker daemon to talk to.
      - C(unix:///path/to/docker.sock), C(tcp://host:2376) (use O(tls)/O(tls_verify)),
        or C(ssh://user@host[:port]) (through paramiko, no docker CLI needed).
      - Defaults to the E(DOCKER_HOST) environment variable of the host the module runs on,
        else the local socket C(unix:///var/run/docker.sock).
    type: str
    aliases: [docker_url]
  api_version:
    description:
      - The Engine API version to use. V(auto) negotiates with the daemon.
    type: str
    default: auto
  timeout:
    description:
      - Seconds to wait for an answer from the daemon.
    type: int
    default: 60
  tls:
    description:
      - Use TLS to a C(tcp://) daemon without verifying its certificate.
    type: bool
    default: false
  tls_verify:
    description:
      - Use TLS and verify the daemon's certificate against O(ca_path).
    type: bool
    default: false
  ca_path:
    description:
      - CA certificate that signed the daemon's certificate.
    type: path
    aliases: [ca_cert]
  client_cert:
    description:
      - Client certificate for TLS.
    type: path
  client_key:
    description:
      - Client private key for TLS.
    type: path
notes:
  - Needs the Docker SDK for Python (C(docker) on PyPI, C(python3-docker) on Debian) on the
    host the module runs on. With O(docker_host=ssh://...), also C(paramiko).
"""
