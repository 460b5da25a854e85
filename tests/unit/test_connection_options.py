"""Connection options: community.docker's names, aliases, environment and defaults, and the
secure-by-default TLS decision. Runs the real argument spec through ansible's validator."""

from __future__ import annotations

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.swarmops.core.plugins.module_utils.docker_common import (
    DOCKER_COMMON_ARGS,
    connection_settings,
    is_loopback,
    split_docker_host,
)
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError

DOCKER_ENV = ("DOCKER_HOST", "DOCKER_TLS", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH",
              "DOCKER_API_VERSION", "DOCKER_TIMEOUT", "DOCKER_TLS_HOSTNAME")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in DOCKER_ENV:
        monkeypatch.delenv(name, raising=False)


def validated(**params):
    result = ArgumentSpecValidator(DOCKER_COMMON_ARGS).validate(params)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def settings(env=None, **params):
    return connection_settings(validated(**params), env or {})


@pytest.fixture()
def cert_dir(tmp_path):
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("PEM\n")
    return tmp_path


def test_defaults_are_community_dockers():
    params = validated()
    assert params["docker_host"] == "unix:///var/run/docker.sock"
    assert params["api_version"] == "auto" and params["timeout"] == 60
    assert params["validate_certs"] is False and params["use_ssh_client"] is False
    assert params["debug"] is False and params["tls"] is None


@pytest.mark.parametrize("alias, option", [
    ("docker_url", "docker_host"), ("docker_api_version", "api_version"),
    ("tls_verify", "validate_certs"),
    ("ca_cert", "ca_path"), ("tls_ca_cert", "ca_path"), ("cacert_path", "ca_path"),
    ("tls_client_cert", "client_cert"), ("cert_path", "client_cert"),
    ("tls_client_key", "client_key"), ("key_path", "client_key"),
])
def test_community_docker_aliases(alias, option):
    value = True if option == "validate_certs" else "/etc/docker/x"
    assert validated(**{alias: value})[option] == value


@pytest.mark.parametrize("variable, value, option, expected", [
    ("DOCKER_HOST", "tcp://10.0.0.5:2376", "docker_host", "tcp://10.0.0.5:2376"),
    ("DOCKER_TLS", "1", "tls", True),
    ("DOCKER_TLS", "0", "tls", False),
    ("DOCKER_TLS_VERIFY", "1", "validate_certs", True),
    ("DOCKER_API_VERSION", "1.41", "api_version", "1.41"),
    ("DOCKER_TIMEOUT", "5", "timeout", 5),
    ("DOCKER_TLS_HOSTNAME", "daemon.example", "tls_hostname", "daemon.example"),
])
def test_environment_fills_unset_options(monkeypatch, variable, value, option, expected):
    monkeypatch.setenv(variable, value)
    assert validated()[option] == expected


def test_task_value_beats_environment_and_empty_variable_is_unset(monkeypatch):
    monkeypatch.setenv("DOCKER_TIMEOUT", "5")
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "")
    params = validated(timeout=9)
    assert params["timeout"] == 9 and params["validate_certs"] is False


def test_docker_tls_verify_env_goes_out_as_verified_https(monkeypatch, cert_dir):
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.5:2376")
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    got = connection_settings(validated(), {"DOCKER_CERT_PATH": str(cert_dir)})
    assert got["base_url"] == "https://10.0.0.5:2376"
    assert got["tls"] and got["verify"] and not got["warnings"]
    assert got["ca_path"] == str(cert_dir / "ca.pem")
    assert (got["client_cert"], got["client_key"]) == (str(cert_dir / "cert.pem"), str(cert_dir / "key.pem"))


def test_given_ca_turns_verification_on(cert_dir):
    got = settings(docker_host="tcp://10.0.0.5:2376", ca_cert=str(cert_dir / "ca.pem"))
    assert got["verify"] and got["ca_path"] == str(cert_dir / "ca.pem") and not got["warnings"]


def test_tls_without_verification_warns_and_ignores_cert_path_ca(cert_dir):
    got = settings({"DOCKER_CERT_PATH": str(cert_dir)}, docker_host="tcp://10.0.0.5:2376", tls=True)
    assert got["tls"] and not got["verify"] and got["ca_path"] is None
    assert got["client_cert"] == str(cert_dir / "cert.pem")
    assert len(got["warnings"]) == 1 and "validate_certs: true" in got["warnings"][0]


def test_validate_certs_beats_tls_false(cert_dir):
    got = settings(docker_host="tcp://10.0.0.5:2376", tls=False, validate_certs=True)
    assert got["verify"] and got["base_url"].startswith("https://")


@pytest.mark.parametrize("host", ["tcp://10.0.0.5:2375", "10.0.0.5:2375", "http://docker.example:2375",
                                  "tcp://[2001:db8::1]:2375"])
def test_plain_tcp_to_remote_host_is_refused_naming_the_fixes(host):
    with pytest.raises(SwarmOpsError) as err:
        settings(docker_host=host)
    message = str(err.value)
    for fix in ("validate_certs: true", "ssh://", "tls: false"):
        assert fix in message


def test_plain_tcp_allowed_to_loopback_or_when_stated(monkeypatch):
    assert settings(docker_host="tcp://127.0.0.1:2375")["tls"] is False
    assert settings(docker_host="tcp://localhost:2375")["base_url"] == "tcp://localhost:2375"
    assert settings(docker_host="tcp://10.0.0.5:2375", tls=False)["tls"] is False
    monkeypatch.setenv("DOCKER_TLS", "0")
    assert settings(docker_host="tcp://10.0.0.5:2375")["tls"] is False


@pytest.mark.parametrize("host", ["unix:///var/run/docker.sock", "ssh://root@10.0.0.5:22"])
def test_unix_and_ssh_ignore_tls_options(host):
    got = settings(docker_host=host, tls=True, use_ssh_client=True)
    assert got["base_url"] == host and got["tls"] is False and got["use_ssh_client"] is True


def test_missing_files_and_half_a_client_pair_are_named(cert_dir):
    with pytest.raises(SwarmOpsError, match="ca_path: no such file: /nope/ca.pem"):
        settings(docker_host="tcp://10.0.0.5:2376", ca_path="/nope/ca.pem")
    with pytest.raises(SwarmOpsError, match="client_cert and client_key must be given together"):
        settings(docker_host="tcp://10.0.0.5:2376", validate_certs=True,
                 client_cert=str(cert_dir / "cert.pem"))


@pytest.mark.parametrize("url, expected", [
    ("tcp://10.0.0.5:2376", ("tcp", "10.0.0.5")), ("ssh://me@host:22", ("ssh", "host")),
    ("tcp://[::1]:2375", ("tcp", "::1")), ("host.example", ("tcp", "host.example")),
    ("HTTPS://h:1/path", ("https", "h")),
])
def test_split_docker_host(url, expected):
    assert split_docker_host(url) == expected


@pytest.mark.parametrize("host, expected", [
    ("localhost", True), ("127.0.0.53", True), ("::1", True), ("10.0.0.1", False),
    ("localhost.evil.example", False), ("", False)])
def test_is_loopback(host, expected):
    assert is_loopback(host) is expected
