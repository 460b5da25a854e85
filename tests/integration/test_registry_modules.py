"""The registry role's modules, run through ansible: tls_certificate, htpasswd (files only),
docker_login and docker_container (the local engine and the local test registry)."""

from __future__ import annotations

import json
import ssl

import bcrypt
import pytest
from images_support import PASSWORD, PREFIX, REGISTRY_IMAGE, USER, engine, registry, registry_image  # noqa: F401 - fixtures


def test_tls_certificate_issues_keeps_and_reissues(ansible_module, tmp_path):
    params = dict(path=str(tmp_path / "pki"), common_name="registry.sotest", subject_alt_names=["registry.sotest", "127.0.0.1"])
    result, out = ansible_module("tls_certificate", params, check=True)
    assert result["changed"] is True and not (tmp_path / "pki").exists(), out

    first, out = ansible_module("tls_certificate", params)
    assert first["changed"] is True and first["actions"][0].startswith("issue CA"), out
    assert oct((tmp_path / "pki" / "ca.key").stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "pki" / "server.key").stat().st_mode & 0o777) == "0o600"
    assert "PRIVATE KEY" not in out
    # Real verification: the certificate chains to the CA for both names, with Python's TLS stack.
    ctx = ssl.create_default_context(cafile=first["ca_cert"])
    ctx.load_cert_chain(first["cert"], first["key"])
    ca_text = (tmp_path / "pki" / "ca.crt").read_text()
    assert first["ca_pem"] == ca_text

    again, out = ansible_module("tls_certificate", params)
    assert again["changed"] is False and again["actions"] == [], out
    assert (tmp_path / "pki" / "ca.crt").read_text() == ca_text

    (tmp_path / "pki" / "ca.key").chmod(0o644)
    tightened, out = ansible_module("tls_certificate", params, check=True)
    assert tightened["changed"] is True and oct((tmp_path / "pki" / "ca.key").stat().st_mode & 0o777) == "0o644", out
    tightened, out = ansible_module("tls_certificate", params)
    assert tightened["actions"] == ["restrict %s to mode 0600" % (tmp_path / "pki" / "ca.key")], out
    assert oct((tmp_path / "pki" / "ca.key").stat().st_mode & 0o777) == "0o600"

    narrowed, out = ansible_module("tls_certificate", dict(params, subject_alt_names=["registry.sotest"]))
    assert narrowed["actions"] == ["issue server certificate (subject alternative names differ)"], out
    assert (tmp_path / "pki" / "ca.crt").read_text() == ca_text, "the CA is kept: it covers the name"

    renamed, out = ansible_module("tls_certificate", dict(params, subject_alt_names=["other.sotest"]))
    assert renamed["actions"] == ["issue CA (the CA's name constraints do not cover other.sotest)",
                                  "issue server certificate (new CA)"], out
    assert "PRIVATE KEY" not in out


def test_tls_certificate_name_constraints_hold_in_a_real_handshake(ansible_module, tmp_path):
    """OpenSSL accepts the registry's certificate and refuses one for another name from the same CA."""
    import socket
    import threading

    from ansible_collections.swarmops.core.plugins.module_utils import x509 as x509_utils

    pki = tmp_path / "pki"
    first, out = ansible_module("tls_certificate", dict(path=str(pki), common_name="localhost",
                                                        subject_alt_names=["localhost", "127.0.0.1"]))
    assert first["changed"] is True, out
    actual = x509_utils.read(x509_utils.paths(str(pki), "server"))
    rogue, rogue_key = x509_utils.issue_cert(actual["ca_cert"], actual["ca_key"], "bank.example",
                                             x509_utils.parse_sans(["bank.example", "127.0.0.1"]), 1)
    (tmp_path / "rogue.crt").write_bytes(x509_utils._pem(rogue))
    (tmp_path / "rogue.key").write_bytes(x509_utils._pem(rogue_key))

    def handshake(cert, key, server_name):
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(cert, key)
        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]

        def serve():
            conn, _ = listener.accept()
            try:
                server_ctx.wrap_socket(conn, server_side=True).close()
            except (ssl.SSLError, OSError):
                conn.close()
        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        client_ctx = ssl.create_default_context(cafile=first["ca_cert"])
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                client_ctx.wrap_socket(raw, server_hostname=server_name).close()
            return "ok"
        except ssl.SSLCertVerificationError as exc:
            return str(exc)
        finally:
            thread.join(10)
            listener.close()

    assert handshake(first["cert"], first["key"], "localhost") == "ok"
    refused = handshake(str(tmp_path / "rogue.crt"), str(tmp_path / "rogue.key"), "bank.example")
    assert "name constraint" in refused.lower() or "permitted" in refused.lower(), refused


def test_htpasswd_keeps_hashes_of_unchanged_passwords(ansible_module, tmp_path):
    path = tmp_path / "auth" / "htpasswd"
    users = [dict(name="alice", password="alice-Secret-1"), dict(name="bob", password="bob-Secret-22")]
    result, out = ansible_module("htpasswd", dict(path=str(path), users=users), check=True, verbosity=3)
    assert result["changed"] is True and not path.exists(), out

    first, out = ansible_module("htpasswd", dict(path=str(path), users=users), verbosity=3)
    assert first["changed"] is True and first["actions"] == ["add user alice", "add user bob"], out
    assert "alice-Secret-1" not in out and "bob-Secret-22" not in out
    text = path.read_text()
    entries = dict(line.split(":", 1) for line in text.splitlines())
    assert bcrypt.checkpw(b"alice-Secret-1", entries["alice"].encode())
    assert oct(path.stat().st_mode & 0o777) == "0o600"

    again, out = ansible_module("htpasswd", dict(path=str(path), users=users))
    assert again["changed"] is False and path.read_text() == text, out

    changed, out = ansible_module("htpasswd", dict(path=str(path), users=[dict(users[0], password="alice-New-3")]))
    assert changed["actions"] == ["update user alice", "remove user bob"], out

    bad, out = ansible_module("htpasswd", dict(path=str(path), users=[dict(name="a:b", password="x-long-enough")]))
    assert bad["failed"] is True and "users[0]" in bad["msg"], out


def test_docker_login_writes_validated_credentials_only(ansible_module, registry, tmp_path):
    config = tmp_path / "docker" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"auths": {"other.sotest": {"auth": "eDp5"}}, "detachKeys": "ctrl-x"}))
    params = dict(registry=registry, username=USER, password=PASSWORD, config_path=str(config))

    wrong, out = ansible_module("docker_login", dict(params, password="sotest-wrong-pw-77"), verbosity=3)
    assert wrong["failed"] is True, out
    assert "Login to registry %s as %s failed" % (registry, USER) in wrong["msg"]
    assert "sotest-wrong-pw-77" not in out
    assert registry not in config.read_text()

    check, out = ansible_module("docker_login", params, check=True)
    assert check["changed"] is True and registry not in config.read_text(), out

    first, out = ansible_module("docker_login", params, verbosity=3)
    assert first["changed"] is True and PASSWORD not in out, out
    written = json.loads(config.read_text())
    assert written["detachKeys"] == "ctrl-x" and "other.sotest" in written["auths"]
    assert written["auths"][registry]["auth"]
    assert oct(config.stat().st_mode & 0o777) == "0o600"

    again, out = ansible_module("docker_login", params)
    assert again["changed"] is False, out

    logout, out = ansible_module("docker_login", dict(registry=registry, state="absent", config_path=str(config)))
    assert logout["changed"] is True and registry not in json.loads(config.read_text())["auths"], out
    logout, out = ansible_module("docker_login", dict(registry=registry, state="absent", config_path=str(config)))
    assert logout["changed"] is False, out


@pytest.fixture
def container_name(engine):
    name = PREFIX + "-container"
    yield name
    try:
        engine.remove_container(name, force=True)
    except Exception:  # noqa: BLE001 - absent is fine
        pass


def test_docker_container_lifecycle(ansible_module, engine, registry, container_name):
    # `registry` guarantees the registry image exists; it is a handy long-running server.
    params = dict(name=container_name, image=REGISTRY_IMAGE, pull=False, ports=["127.0.0.1::5000"],
                  env=dict(REGISTRY_LOG_LEVEL="warn"), labels=dict(sotest=PREFIX))
    check, out = ansible_module("docker_container", params, check=True, diff=True)
    assert check["changed"] is True and check["actions"] == ["create", "start"], out
    assert not engine.containers(all=True, filters={"name": container_name})

    first, out = ansible_module("docker_container", params)
    assert first["changed"] is True, out
    info = engine.inspect_container(container_name)
    assert info["State"]["Running"] and info["Id"] == first["container_id"]
    assert info["HostConfig"]["PortBindings"]["5000/tcp"][0]["HostIp"] == "127.0.0.1"
    assert "REGISTRY_LOG_LEVEL=warn" in info["Config"]["Env"]

    again, out = ansible_module("docker_container", params)
    assert again["changed"] is False and again["container_id"] == first["container_id"], out

    engine.stop(container_name, timeout=1)
    started, out = ansible_module("docker_container", params)
    assert started["actions"] == ["start"] and started["container_id"] == first["container_id"], out

    digest, out = ansible_module("docker_container", dict(params, config_digest="files-changed"))
    assert digest["actions"] == ["remove", "create", "start"] and digest["container_id"] != first["container_id"], out

    env, out = ansible_module("docker_container", dict(params, config_digest="files-changed",
                                                       env=dict(REGISTRY_LOG_LEVEL="info")))
    assert env["changed"] is True, out
    assert "REGISTRY_LOG_LEVEL=info" in engine.inspect_container(container_name)["Config"]["Env"]

    absent, out = ansible_module("docker_container", dict(name=container_name, state="absent"), check=True)
    assert absent["changed"] is True and engine.containers(all=True, filters={"name": container_name}), out
    absent, out = ansible_module("docker_container", dict(name=container_name, state="absent"))
    assert absent["changed"] is True and not engine.containers(all=True, filters={"name": container_name}), out
    absent, out = ansible_module("docker_container", dict(name=container_name, state="absent"))
    assert absent["changed"] is False, out


def test_docker_container_bad_input(ansible_module, container_name):
    result, out = ansible_module("docker_container", dict(name=container_name, image="sotest-images-absent:x",
                                                          pull=False))
    assert result["failed"] is True and "sotest-images-absent:x is not on this engine" in result["msg"], out
    result, out = ansible_module("docker_container", dict(name=container_name, image=REGISTRY_IMAGE,
                                                          ports=["80:http"]))
    assert result["failed"] is True and "'80:http'" in result["msg"], out
