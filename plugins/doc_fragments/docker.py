# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Connection options shared by every module that talks to a Docker Engine.

    Names, aliases, environment variables and defaults follow community.docker, so a
    module_defaults block written for community.docker's modules works for ours.
    """

    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - The Docker daemon to talk to.
      - C(unix:///path/to/docker.sock), C(tcp://host:2376) (with TLS, see O(validate_certs)),
        or C(ssh://user@host[:port]) (through paramiko, or the C(ssh) client with
        O(use_ssh_client=true); no docker CLI needed).
      - If not set in the task, the environment variable E(DOCKER_HOST) of the host the module
        runs on is used, else the default.
      - A plain C(tcp://) (no TLS) to an address other than loopback is refused unless
        O(tls=false) is set explicitly.
    type: str
    default: unix:///var/run/docker.sock
    aliases: [docker_url]
  tls_hostname:
    description:
      - The name the daemon's certificate must carry, when it differs from the host in
        O(docker_host) (for example when connecting by IP address).
      - If not set in the task, the environment variable E(DOCKER_TLS_HOSTNAME) is used, else
        the host part of O(docker_host).
      - Only used when the certificate is verified.
    type: str
  api_version:
    description:
      - The Engine API version to use. V(auto) negotiates with the daemon.
      - If not set in the task, the environment variable E(DOCKER_API_VERSION) is used, else the
        default.
    type: str
    default: auto
    aliases: [docker_api_version]
  timeout:
    description:
      - Seconds to wait for an answer from the daemon.
      - If not set in the task, the environment variable E(DOCKER_TIMEOUT) is used, else the
        default.
    type: int
    default: 60
  ca_path:
    description:
      - CA certificate that signed the daemon's certificate. Giving it turns verification on,
        whatever O(validate_certs) says.
      - If not set and the certificate is verified, C(ca.pem) in the directory named by the
        environment variable E(DOCKER_CERT_PATH) is used when it exists, else the system's CA
        store.
    type: path
    aliases: [ca_cert, tls_ca_cert, cacert_path]
  client_cert:
    description:
      - Client certificate for TLS; needs O(client_key).
      - If not set, C(cert.pem) in E(DOCKER_CERT_PATH) is used when it and C(key.pem) exist.
    type: path
    aliases: [tls_client_cert, cert_path]
  client_key:
    description:
      - Private key of O(client_cert).
      - If not set, C(key.pem) in E(DOCKER_CERT_PATH) is used when it and C(cert.pem) exist.
    type: path
    aliases: [tls_client_key, key_path]
  tls:
    description:
      - Use TLS to a C(tcp://) daemon without verifying its certificate. This gives a warning;
        prefer O(validate_certs=true). O(validate_certs) or O(ca_path) take precedence.
      - If not set in the task, the environment variable E(DOCKER_TLS) is used.
      - Not set means V(false), except that plain TCP to an address other than loopback is then
        refused; set V(false) explicitly to state that plain TCP is intended.
    type: bool
  validate_certs:
    description:
      - Use TLS and verify the daemon's certificate (against O(ca_path) when given).
      - If not set in the task, the environment variable E(DOCKER_TLS_VERIFY) is used, else the
        default.
    type: bool
    default: false
    aliases: [tls_verify]
  use_ssh_client:
    description:
      - For C(ssh://) hosts, use the C(ssh) command of the host the module runs on (its
        configuration, agent and known hosts) instead of paramiko.
    type: bool
    default: false
  debug:
    description:
      - Report how the connection was resolved (URL, TLS mode, certificate file paths, API
        version, timeout) as a warning. File contents are never shown.
    type: bool
    default: false
notes:
  - Modules that talk to the daemon need the Docker SDK for Python (C(docker) on PyPI,
    C(python3-docker) on Debian) on the host they run on; see each module's requirements.
    With O(docker_host=ssh://...), also C(paramiko) unless O(use_ssh_client=true).
  - Environment variables are read on the host the module runs on; set them with the task's
    C(environment) keyword.
  - The options have community.docker's names, aliases, environment variables and defaults, so
    a C(module_defaults) block for C(group/community.docker.docker) also works for
    C(group/swarmops.core.docker).
"""

    # The SDK requirement, for the modules that talk to the daemon (docker_daemon_config does not).
    # The version is docker_client.MIN_DOCKER_SDK; a unit test keeps the two equal.
    SDK = r"""
options: {}
requirements:
  - docker >= 4.4.0 (the Docker SDK for Python) on the host the module runs on; Debian 12's
    python3-docker (5.0.3) qualifies. An older SDK fails with a message naming both versions.
"""
