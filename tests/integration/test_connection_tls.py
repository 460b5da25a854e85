"""The connection options for real: a TLS endpoint on 127.0.0.1 in front of the local engine's
socket (mutual TLS, a certificate for a DNS name only), reached by our modules with
community.docker's option names, aliases, environment variables and a module_defaults block.
"""

from __future__ import annotations

import datetime
import re
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conftest import ROOT, ansible_env, BIN

SOCKET = "/var/run/docker.sock"
DAEMON_NAME = "daemon.connopts.test"  # the only name in the daemon's certificate


def _issue(common_name, issuer=None, usage=None, dns=None):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    issuer_cert, issuer_key = issuer or (None, key)
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer_cert.subject if issuer_cert else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True))
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if dns:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()), key


def _write(directory, stem, cert, key=None):
    (directory / (stem + ".pem")).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        (directory / (stem + "-key.pem")).write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def _pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _serve(listener, context):
    while True:
        try:
            raw, _ = listener.accept()
        except OSError:
            return
        try:
            conn = context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()  # a client that does not trust us, or has no client certificate
            continue
        engine = socket.socket(socket.AF_UNIX)
        engine.connect(SOCKET)
        threading.Thread(target=_pump, args=(conn, engine), daemon=True).start()
        threading.Thread(target=_pump, args=(engine, conn), daemon=True).start()


@pytest.fixture(scope="module")
def tls_daemon(tmp_path_factory):
    """The local engine behind mutual TLS on 127.0.0.1:<port>; certs as DOCKER_CERT_PATH expects."""
    certs = tmp_path_factory.mktemp("connopts-certs")
    ca = _issue("connopts test CA")
    server = _issue(DAEMON_NAME, ca, ExtendedKeyUsageOID.SERVER_AUTH, DAEMON_NAME)
    client = _issue("connopts client", ca, ExtendedKeyUsageOID.CLIENT_AUTH)
    _write(certs, "ca", ca[0])
    _write(certs, "server", *server)
    _write(certs, "cert", *client)
    (certs / "cert-key.pem").rename(certs / "key.pem")
    other_ca = _issue("some other CA")
    _write(certs, "other-ca", other_ca[0])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(certs / "ca.pem"))
    context.load_cert_chain(certs / "server.pem", certs / "server-key.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=_serve, args=(listener, context), daemon=True).start()
    yield dict(host="tcp://127.0.0.1:%d" % listener.getsockname()[1], certs=certs)
    listener.close()


def verified(tls_daemon, **extra):
    certs = tls_daemon["certs"]
    return dict(docker_host=tls_daemon["host"], validate_certs=True, ca_path=str(certs / "ca.pem"),
                client_cert=str(certs / "cert.pem"), client_key=str(certs / "key.pem"),
                tls_hostname=DAEMON_NAME, **extra)


def local_node_state():
    import docker
    return docker.APIClient(version="auto").info()["Swarm"]["LocalNodeState"]


def test_verified_mutual_tls_with_tls_hostname(tls_daemon, ansible_module):
    result, out = ansible_module("swarm_info", verified(tls_daemon))
    assert not result.get("failed"), out
    assert result["local_node_state"] == local_node_state() and "[WARNING]" not in out


def test_certificate_name_is_checked(tls_daemon, ansible_module):
    args = verified(tls_daemon)
    del args["tls_hostname"]
    result, out = ansible_module("swarm_info", args)
    assert result.get("failed") and "Cannot reach the Docker daemon at https://127.0.0.1" in result["msg"], out
    assert "hostname" in result["msg"].lower() or "match" in result["msg"].lower(), out


def test_a_given_ca_verifies_even_with_validate_certs_false(tls_daemon, ansible_module):
    certs = tls_daemon["certs"]
    args = verified(tls_daemon, tls=True)
    args.update(validate_certs=False, ca_path=str(certs / "other-ca.pem"))
    result, out = ansible_module("swarm_info", args)
    assert result.get("failed") and "certificate verify failed" in result["msg"], out


def test_docker_environment_variables_alone(tls_daemon, ansible_module):
    env = dict(DOCKER_HOST=tls_daemon["host"], DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=str(tls_daemon["certs"]),
               DOCKER_TLS_HOSTNAME=DAEMON_NAME, DOCKER_API_VERSION="1.41", DOCKER_TIMEOUT="20")
    result, out = ansible_module("swarm_info", {"debug": True}, env=env)
    assert not result.get("failed"), out
    debug = re.search(r"\[WARNING\]: Docker connection: (.*)", out)
    assert debug and "base_url=https://127.0.0.1" in debug[1] and "verify=True" in debug[1], out
    assert "api_version=1.41" in debug[1] and "timeout=20" in debug[1], out
    assert "ca_path=%s/ca.pem" % tls_daemon["certs"] in debug[1], out
    assert "PRIVATE KEY" not in out


def test_tls_without_verification_works_and_warns(tls_daemon, ansible_module):
    certs = tls_daemon["certs"]
    result, out = ansible_module("swarm_info", {
        "docker_host": tls_daemon["host"], "tls": True,
        "cert_path": str(certs / "cert.pem"), "key_path": str(certs / "key.pem")})
    assert not result.get("failed"), out
    assert "[WARNING]: TLS to %s without verifying" % tls_daemon["host"] in out


def test_plain_tcp_to_a_remote_address_is_refused(ansible_module):
    result, out = ansible_module("swarm_info", {"docker_host": "tcp://192.0.2.10:2375"})
    assert result.get("failed"), out
    for fix in ("validate_certs: true", "ssh://", "tls: false"):
        assert fix in result["msg"]


def test_community_docker_module_defaults_block(tls_daemon, tmp_path):
    """A module_defaults block in community.docker's words, on group/swarmops.core.docker, in check mode."""
    certs = tls_daemon["certs"]
    defaults = {"docker_host": tls_daemon["host"], "tls": True, "validate_certs": True,
                "ca_cert": str(certs / "ca.pem"), "cert_path": str(certs / "cert.pem"),
                "key_path": str(certs / "key.pem"), "tls_hostname": DAEMON_NAME,
                "api_version": "auto", "timeout": 30}
    play = [{"hosts": "localhost", "gather_facts": False,
             "module_defaults": {"group/swarmops.core.docker": defaults},
             "tasks": [
                 {"name": "swarm_info", "swarmops.core.swarm_info": {}, "register": "swarm"},
                 {"name": "engine", "swarmops.core.docker_engine_info": {}},
                 {"name": "tasks", "swarmops.core.stack_task_info": {"name": "info-connopts-none"},
                  "when": "swarm.role == 'manager'"},
                 {"name": "stacks", "swarmops.core.stack_info": {},
                  "when": "swarm.role == 'manager'"},
             ]}]
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(play))
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", "--check",
         "-e", "ansible_python_interpreter=" + str(BIN / "python"), str(playbook)],
        cwd=ROOT, env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"}),
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "failed=0" in proc.stdout and "Unsupported parameters" not in proc.stdout


# ---------------------------------------------------------------- the roles pass the connection through

def _manager_engine():
    """The host engine as a swarm manager, as the stack tests leave it (init once, never leave)."""
    import docker
    client = docker.APIClient(version="auto")
    if client.info()["Swarm"]["LocalNodeState"] == "inactive":
        client.init_swarm(advertise_addr="127.0.0.1")
    assert client.info()["Swarm"]["ControlAvailable"], "the host engine must be a swarm manager"


def _run_roles(tmp_path, plays, *args):
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[swarm_managers]\nlocalhost ansible_connection=local ansible_python_interpreter=%s\n"
                         % (BIN / "python"))
    playbook = tmp_path / "roles.yml"
    playbook.write_text(yaml.safe_dump(plays))
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), str(playbook)] + list(args),
                          cwd=ROOT, env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"}),
                          capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def _role_play(role, connection, check=False, tasks_from=None, **role_vars):
    include = {"name": "swarmops.core." + role}
    if tasks_from:
        include["tasks_from"] = tasks_from
    play = {"hosts": "swarm_managers", "gather_facts": False, "check_mode": check,
            "vars": dict(role_vars, **{role + "_docker_connection": connection}),
            "tasks": [{"name": "role " + role, "ansible.builtin.include_role": include}]}
    return play


def test_swarm_stack_and_registry_roles_through_mutual_tls(tls_daemon, tmp_path):
    """One task path of each role against the TLS front; debug shows it went over verified https."""
    _manager_engine()

    def conn(timeout):  # a timeout per role keeps the (deduplicated) debug warnings apart
        return dict(verified(tls_daemon), debug=True, timeout=timeout)

    registry = _role_play("registry", conn(63), check=True, tasks_from="login", registry_address="127.0.0.1:1",
                          registry_password="sotest-tls-pw")
    # No registry listens on 127.0.0.1:1: the engine, reached over TLS, says so.
    registry["tasks"] = [{"name": "login", "block": registry["tasks"], "rescue": [{
        "name": "the engine answered", "ansible.builtin.assert": {
            "that": ["'Login to registry 127.0.0.1:1 as swarmops failed' in ansible_failed_result.msg"]}}]}]
    plays = [_role_play("swarm", conn(61), check=True, swarm_show_summary=False),
             _role_play("stack", conn(62), stack_name="sotest-tlsrole", stack_state="absent"),
             registry]
    rc, out = _run_roles(tmp_path, plays)
    assert rc == 0, out
    assert "failed=0" in out and "rescued=1" in out, out
    via = re.findall(r"\[WARNING\]: Docker connection: (.*)", out)
    for timeout in (61, 62, 63):
        assert any("timeout=%d" % timeout in v and "base_url=https://127.0.0.1" in v and "verify=True" in v
                   and "tls_hostname=%s" % DAEMON_NAME in v for v in via), (timeout, out)
    assert "PRIVATE KEY" not in out


@pytest.mark.parametrize("role", ["swarm", "stack"])
def test_roles_refuse_plain_tcp_to_a_remote_engine(role, tmp_path):
    plays = [_role_play(role, {"docker_host": "tcp://192.0.2.10:2375"}, check=True, stack_state="absent",
                        stack_name="sotest-tlsrole")]
    rc, out = _run_roles(tmp_path, plays)
    assert rc != 0, out
    for fix in ("validate_certs: true", "ssh://", "tls: false"):
        assert fix in out, out
