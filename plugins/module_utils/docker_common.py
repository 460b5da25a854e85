# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker connection options, shared by every module that talks to an engine.

DOCKER_COMMON_ARGS pairs with the ``swarmops.core.docker`` doc fragment: the
names, aliases, environment variables and defaults are community.docker's, so
a ``module_defaults`` block written for community.docker works unchanged.
``connection_settings`` turns the options into one decision (pure, unit-tested);
``docker_client.connect`` carries it out. The error type and the module runner
live in ``runner``. This file never imports the docker SDK.
"""

from __future__ import annotations

import ipaddress
import os

from ansible.module_utils.basic import AnsibleFallbackNotFound

from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
DEFAULT_TIMEOUT = 60
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


def env_fallback_nonempty(*names):
    """Like ansible's env_fallback, but an empty variable counts as unset (as the docker CLI does)."""
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    raise AnsibleFallbackNotFound


def _env(name):
    return (env_fallback_nonempty, [name])


DOCKER_COMMON_ARGS = dict(
    docker_host=dict(type="str", default=DEFAULT_DOCKER_HOST, fallback=_env("DOCKER_HOST"),
                     aliases=["docker_url"]),
    tls_hostname=dict(type="str", fallback=_env("DOCKER_TLS_HOSTNAME")),
    api_version=dict(type="str", default="auto", fallback=_env("DOCKER_API_VERSION"),
                     aliases=["docker_api_version"]),
    timeout=dict(type="int", default=DEFAULT_TIMEOUT, fallback=_env("DOCKER_TIMEOUT")),
    ca_path=dict(type="path", aliases=["ca_cert", "tls_ca_cert", "cacert_path"]),
    client_cert=dict(type="path", aliases=["tls_client_cert", "cert_path"]),
    client_key=dict(type="path", aliases=["tls_client_key", "key_path"], no_log=False),
    # No default: "tls: false" written on purpose is how a user accepts plain tcp:// to a remote host.
    tls=dict(type="bool", fallback=_env("DOCKER_TLS")),
    validate_certs=dict(type="bool", default=False, fallback=_env("DOCKER_TLS_VERIFY"),
                        aliases=["tls_verify"]),
    use_ssh_client=dict(type="bool", default=False),
    debug=dict(type="bool", default=False),
)


def docker_host_from(params, environ=None):
    environ = os.environ if environ is None else environ
    return params.get("docker_host") or environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST


def split_docker_host(url):
    """``(scheme, host)`` of a docker_host value; no scheme means tcp, as in the docker CLI."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "tcp", url
    netloc = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    if netloc.startswith("["):
        host = netloc[1:].split("]", 1)[0]
    else:
        host = netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc
    return scheme.lower(), host


def is_loopback(host):
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _cert_path_file(environ, name):
    """``$DOCKER_CERT_PATH/<name>`` when that variable is set and the file exists."""
    cert_dir = environ.get("DOCKER_CERT_PATH")
    path = os.path.join(cert_dir, name) if cert_dir else None
    return path if path and os.path.isfile(path) else None


def _plain_tcp_refused(url):
    return SwarmOpsError(
        "Refusing plain, unencrypted tcp:// to %s: anyone on the network could take over that "
        "Docker daemon. Use TLS (validate_certs: true with ca_path, client_cert and client_key, "
        "or DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH), or reach the daemon over ssh:// "
        "(docker_host: ssh://user@host), or set tls: false to state that plain TCP is "
        "intended." % url)


def _check_files(settings):
    for option in ("ca_path", "client_cert", "client_key"):
        path = settings[option]
        if path and not os.path.isfile(path):
            raise SwarmOpsError("%s: no such file: %s" % (option, path))
    if bool(settings["client_cert"]) != bool(settings["client_key"]):
        raise SwarmOpsError("client_cert and client_key must be given together.")


def connection_settings(params, environ=None):
    """Decide how to reach the daemon from the validated options (pure apart from file checks).

    Returns a dict: base_url, tls (bool), verify (bool), ca_path, client_cert, client_key,
    tls_hostname, api_version, timeout, use_ssh_client and ``warnings``.
    Verification is on whenever validate_certs is true or a CA is given; plain tcp:// to a
    non-loopback host is refused unless tls is explicitly false.
    """
    environ = os.environ if environ is None else environ
    url = docker_host_from(params, environ)
    scheme, host = split_docker_host(url)
    ca_given = params.get("ca_path")
    verify = bool(params.get("validate_certs") or ca_given)
    use_tls = scheme == "https" or verify or bool(params.get("tls"))
    settings = dict(
        base_url=url, tls=False, verify=False, ca_path=None, client_cert=None, client_key=None,
        tls_hostname=params.get("tls_hostname"), api_version=params.get("api_version") or "auto",
        timeout=params.get("timeout") or DEFAULT_TIMEOUT,
        use_ssh_client=bool(params.get("use_ssh_client")), warnings=[])
    if scheme not in ("tcp", "http", "https"):
        return settings  # unix:// and ssh:// carry their own protection
    if not use_tls:
        if params.get("tls") is not False and not is_loopback(host):
            raise _plain_tcp_refused(url)
        return settings
    settings.update(
        base_url="https://" + url.split("://", 1)[-1], tls=True, verify=verify,
        ca_path=(ca_given or _cert_path_file(environ, "ca.pem")) if verify else None,
        client_cert=params.get("client_cert"), client_key=params.get("client_key"))
    if not (settings["client_cert"] or settings["client_key"]):
        pair = (_cert_path_file(environ, "cert.pem"), _cert_path_file(environ, "key.pem"))
        if all(pair):
            settings["client_cert"], settings["client_key"] = pair
    _check_files(settings)
    if not verify:
        settings["warnings"].append(
            "TLS to %s without verifying the daemon's certificate (tls: true, validate_certs: "
            "false): anyone on the path can pose as that daemon. Set validate_certs: true and "
            "ca_path to the CA that signed it." % url)
    return settings


def describe_settings(settings):
    """One line for debug: how the daemon is reached (never a key's content)."""
    shown = ("base_url", "tls", "verify", "ca_path", "client_cert", "tls_hostname",
             "api_version", "timeout", "use_ssh_client")
    return "Docker connection: " + ", ".join("%s=%s" % (k, settings[k]) for k in shown)
