"""file_set through Ansible on this machine (tmp dirs, no engine): check -> apply -> again -> again
in check mode, all with --diff; secrets never in the output (-vvv, --diff, a failed run); bad input
fails naming the entry and writes nothing; mode drift corrected; other files left alone.

Then the upgrade: files written by the roles' former copy/template tasks (the task text of the
release before file_set, kept here) are found unchanged by the roles' file_set tasks, with the
same checksums, so the registry's config_digest, and with it the registry container, is kept."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess

import pytest
import yaml

from conftest import BIN, ROOT, ansible_env

KEY = ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7sotestfileset\n"
       "dGhpcyBpcyBub3QgYSByZWFsIGtleSBidXQgaXQgbXVzdCBuZXZlciBiZSBwcmludGVk\n-----END PRIVATE KEY-----\n")
SECRET_LINES = [line for line in KEY.splitlines() if not line.startswith("-----")]
HTPASSWD = "swarmops:$2b$10$sotestfilesetbcrypthashvalueXXXXXXXXXXXXXXXXXXXXXXXXXX\n"


def mode(path):
    return "%04o" % stat.S_IMODE(os.stat(path).st_mode)


def sha1(path):
    return hashlib.sha1(open(path, "rb").read()).hexdigest()


def playbook(tmp_path, tasks, args=(), extra=None, name="play"):
    """Run tasks on a local host (group managers); -> (rc, output, results written by `save`)."""
    host = {"ansible_connection": "local", "ansible_python_interpreter": str(BIN / "python")}
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"managers": {"hosts": {"m1": host}}}}}))
    saved = tmp_path / (name + "-saved.json")
    play = [{"name": "file_set test", "hosts": "managers", "gather_facts": False,
             "vars": dict({"saved_file": str(saved)}, **(extra or {})), "tasks": tasks}]
    path = tmp_path / (name + ".yml")
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    if saved.exists():
        saved.unlink()
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), str(path), *args], cwd=ROOT,
                          capture_output=True, text=True,
                          env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
                                           "ANSIBLE_CALLBACK_RESULT_FORMAT": "yaml"}))
    return proc.returncode, proc.stdout + proc.stderr, json.loads(saved.read_text()) if saved.exists() else {}


def save(expression):
    """A task that writes `expression` (a dict of results) as JSON for the test to read."""
    return {"name": "Save the results", "ansible.builtin.copy": {
        "content": "{{ %s | to_json }}" % expression, "dest": "{{ saved_file }}", "mode": "0600"},
        "check_mode": False, "diff": False}


def file_set(args, register="fs"):
    return {"name": "The file set", "swarmops.core.file_set": args, "register": register}


def recap_changed(out):
    return int(re.search(r"^m1\s+:.*changed=(\d+)", out, re.M).group(1))


# ------------------------------------------------------------------ the module


def spec(root):
    return {"directories": [{"path": str(root / "etc" / "app"), "mode": "0750"}],
            "files": [{"path": str(root / "etc" / "app" / "app.conf"), "mode": "0644", "content": "port = 80\n"},
                      {"path": str(root / "etc" / "app" / "tls.key"), "mode": "0600"}],
            "secret_contents": {str(root / "etc" / "app" / "tls.key"): "{{ file_set_secret }}"}}


def test_check_apply_idempotent_with_diff_and_secret_never_shown(tmp_path):
    root = tmp_path / "host"
    root.mkdir()
    extra = {"file_set_secret": KEY}
    tasks = [file_set(spec(root)), save("{'fs': fs}")]
    args = ["--diff", "-vvv"]
    rc, out, saved = playbook(tmp_path, tasks, ["--check", *args], extra)
    assert rc == 0 and saved["fs"]["changed"], out
    assert not (root / "etc").exists()  # check mode writes nothing
    assert [a["action"] for a in saved["fs"]["actions"]] == ["create"] * 3
    assert "+port = 80" in out and "+(secret, %d bytes)" % len(KEY) in out, out

    rc, out, saved = playbook(tmp_path, tasks, args, extra)
    assert rc == 0 and saved["fs"]["changed"], out
    conf, key = root / "etc" / "app" / "app.conf", root / "etc" / "app" / "tls.key"
    assert conf.read_text() == "port = 80\n" and key.read_text() == KEY
    assert (mode(root / "etc" / "app"), mode(conf), mode(key)) == ("0750", "0644", "0600")
    assert mode(root / "etc") == "0755"  # a missing parent
    assert saved["fs"]["files"][str(key)]["checksum"] == sha1(key)
    assert saved["fs"]["files"][str(conf)] == {"changed": True, "mode": "0644", "checksum": sha1(conf)}

    for check in (False, True):
        rc, out, saved = playbook(tmp_path, tasks, args + (["--check"] if check else []), extra)
        assert rc == 0 and not saved["fs"]["changed"] and saved["fs"]["actions"] == [], out
        assert recap_changed(out) == 1, out  # the save task only

    # a changed secret: updated, --diff shows sizes only, -vvv shows no line of either key
    rc, out, saved = playbook(tmp_path, tasks, args, {"file_set_secret": KEY.replace("sotest", "SOTEST")})
    assert rc == 0 and saved["fs"]["actions"] == [{"path": str(key), "action": "update"}], out
    assert out.count("(secret, %d bytes)" % len(KEY)) == 2, out
    for line in SECRET_LINES + [line.replace("sotest", "SOTEST") for line in SECRET_LINES]:
        assert line not in out


def test_a_failed_run_shows_no_secret_and_writes_nothing(tmp_path):
    root = tmp_path / "host"
    root.mkdir()
    args = spec(root)
    args["files"].append({"path": str(root / "missing" / "x.conf"), "mode": "0644", "content": "x"})
    rc, out, _ = playbook(tmp_path, [file_set(args)], ["--diff", "-vvv"], {"file_set_secret": KEY})
    assert rc != 0 and "%s: its directory %s does not exist and is not in directories" % (
        root / "missing" / "x.conf", root / "missing") in out, out
    assert not (root / "etc").exists()  # the valid entries were not written either
    for line in SECRET_LINES:
        assert line not in out


def test_no_secret_in_the_hosts_log(tmp_path, host_log):
    """AnsibleModule logs its invocation to the host's journal or syslog, masking no_log values as
    they are, not as they appear inside a list's repr (a multi-line no_log suboption would leak):
    a stand-in syslog module records what the module logs."""
    fake, logged = host_log
    root = tmp_path / "host"
    root.mkdir()
    task = dict(file_set(spec(root)), environment={"PYTHONPATH": fake})
    rc, out, _ = playbook(tmp_path, [task], ["--diff"], {"file_set_secret": KEY})
    assert rc == 0 and (root / "etc" / "app" / "tls.key").read_text() == KEY, out
    text = logged.read_text()
    assert "Invoked with" in text and "port = 80" in text  # the stand-in saw the invocation
    assert "secret_contents=NOT_LOGGING_PARAMETER" in text, text
    for line in SECRET_LINES:
        assert line not in text


@pytest.mark.parametrize("entry, message", [
    ({"directories": [{"path": "relative/dir", "mode": "0755"}]}, "directories[0].path: 'relative/dir' is not an absolute path"),
    ({"files": [{"path": "{{ root }}/a", "mode": "644x", "content": ""}]}, "files[0].mode: '644x' is not an octal file mode"),
    ({"files": [{"path": "{{ root }}/a", "mode": 420, "content": ""}]}, "files[0].mode: 420 is not an octal string"),
    ({"directories": [{"path": "{{ root }}/a", "mode": "0755"}],
      "files": [{"path": "{{ root }}/a/", "mode": "0644", "content": ""}]}, "files[0].path: {{ root }}/a/ is listed twice"),
    ({"files": [{"path": "{{ root }}/a", "mode": "0644"}]}, "files[0]: {{ root }}/a has no content and no secret_contents entry"),
])
def test_bad_input_fails_naming_the_entry_and_writes_nothing(tmp_path, entry, message):
    root = tmp_path / "host"
    root.mkdir()
    args = json.loads(json.dumps(entry).replace("{{ root }}", str(root)))
    args.setdefault("directories", []).append({"path": str(root / "made"), "mode": "0755"})
    args.setdefault("files", []).append({"path": str(root / "made" / "f"), "mode": "0644", "content": "x"})
    rc, out, _ = playbook(tmp_path, [file_set(args)])
    assert rc != 0 and message.replace("{{ root }}", str(root)) in out, out
    assert "nothing was written" in out and os.listdir(root) == []


def test_mode_drift_is_corrected_and_other_files_left_alone(tmp_path):
    root = tmp_path / "host"
    (root / "etc" / "app").mkdir(parents=True)
    tasks = [file_set(spec(root)), save("{'fs': fs}")]
    extra = {"file_set_secret": KEY}
    assert playbook(tmp_path, tasks, extra=extra)[0] == 0
    other = root / "etc" / "app" / "not-listed.conf"
    other.write_text("mine\n")
    os.chmod(root / "etc" / "app", 0o755)
    os.chmod(root / "etc" / "app" / "tls.key", 0o644)
    rc, out, saved = playbook(tmp_path, tasks, ["--diff"], extra)
    assert rc == 0 and saved["fs"]["actions"] == [{"path": str(root / "etc" / "app"), "action": "chmod"},
                                                  {"path": str(root / "etc" / "app" / "tls.key"), "action": "chmod"}], out
    assert mode(root / "etc" / "app") == "0750" and mode(root / "etc" / "app" / "tls.key") == "0600"
    assert (root / "etc" / "app" / "tls.key").read_text() == KEY
    assert other.read_text() == "mine\n" and mode(other) == "0644"


# ------------------------------------------------------------------ upgrade: the roles' former tasks


def old_registry_tasks():
    """roles/registry/tasks/server.yml before file_set (the directories, the copies, the digest)."""
    return [
        {"name": "Create the registry's directories", "ansible.builtin.file": {
            "path": "{{ item.path }}", "state": "directory", "mode": "{{ item.mode }}"},
         "loop": [{"path": "{{ registry_config_dir }}", "mode": "0700"}, {"path": "{{ registry_data_dir }}", "mode": "0755"}]},
        {"name": "Copy the certificate", "ansible.builtin.copy": {
            "src": "{{ registry_pki_files.cert }}", "dest": "{{ registry_config_dir }}/server.crt", "mode": "0644"},
         "when": "registry_tls", "register": "registry_cert_copy"},
        {"name": "Copy the private key", "ansible.builtin.copy": {
            "src": "{{ registry_pki_files.key }}", "dest": "{{ registry_config_dir }}/server.key", "mode": "0600"},
         "diff": False, "no_log": True, "when": "registry_tls", "register": "registry_key_copy"},
        {"name": "Copy the users (htpasswd)", "ansible.builtin.copy": {
            "src": "{{ registry_local_dir }}/htpasswd", "dest": "{{ registry_config_dir }}/htpasswd", "mode": "0600"},
         "diff": False, "no_log": True, "when": "registry_auth", "register": "registry_htpasswd_copy"},
        {"name": "The digest", "ansible.builtin.set_fact": {"old_digest": (
            "{{ [registry_cert_copy.checksum | default(''), registry_key_copy.checksum | default(''),"
            " registry_htpasswd_copy.checksum | default('')] | join(',') }}")}},
    ]


@pytest.mark.parametrize("auth", [True, False])
def test_registry_upgrade_keeps_files_and_config_digest(tmp_path, auth):
    local = tmp_path / "controller"
    (local / "pki").mkdir(parents=True)
    (local / "pki" / "server.crt").write_text("-----BEGIN CERTIFICATE-----\nMIIB sotest cert\n-----END CERTIFICATE-----\n")
    (local / "pki" / "server.key").write_text(KEY)
    (local / "htpasswd").write_text(HTPASSWD)
    host = tmp_path / "host"
    host.mkdir()
    extra = {"registry_config_dir": str(host / "etc" / "registry"), "registry_data_dir": str(host / "data"),
             "registry_local_dir": str(local), "registry_tls": True, "registry_auth": auth,
             "registry_pki_files": {k: str(local / "pki" / v) for k, v in
                                    (("cert", "server.crt"), ("key", "server.key"), ("ca", "server.crt"))}}
    new = {"name": "The registry's files, as the role writes them now", "ansible.builtin.include_role": {
        "name": "swarmops.core.registry", "tasks_from": "config", "public": True}}
    rc, out, saved = playbook(tmp_path, old_registry_tasks() + [new, save(
        "{'old': old_digest, 'new': registry__config_digest, 'fs': registry_config_files}")], ["--diff", "-vvv"], extra)
    assert rc == 0, out
    assert saved["old"] == saved["new"] and saved["new"].count(",") == 2, saved
    assert saved["new"].endswith(",") != auth  # no htpasswd: '' as before
    assert not saved["fs"]["changed"] and saved["fs"]["actions"] == [], out
    assert KEY.splitlines()[1] not in out and HTPASSWD.strip() not in out


def test_stack_upgrade_keeps_the_rendered_files(tmp_path):
    role = ROOT / "roles" / "stack"
    old_dir = tmp_path / "old"
    extra = {"stack_manager_group": "managers", "stack_routing_mode": "proxy",
             "stack_redis_data_dir": str(tmp_path / "redis-data")}
    new = {"name": "The stack's files, as the role writes them now", "ansible.builtin.include_role": {
        "name": "swarmops.core.stack", "tasks_from": "files", "public": True}}
    old = [  # roles/stack/tasks/deploy.yml before file_set (the templates by absolute path)
        {"name": "Create the stack directory on the manager", "ansible.builtin.file": {
            "path": "{{ stack_dir }}", "state": "directory", "mode": "0755"},
         "delegate_to": "{{ stack__manager }}", "run_once": True},
        {"name": "Create redis' data directory on the manager", "ansible.builtin.file": {
            "path": "{{ stack_redis_data_dir }}", "state": "directory", "mode": "0755"},
         "delegate_to": "{{ stack__manager }}", "run_once": True},
        {"name": "Render the compose file", "ansible.builtin.template": {
            "src": str(role / "templates" / "docker-compose.yml.j2"), "dest": "{{ stack_dir }}/docker-compose.yml",
            "mode": "0644"}, "delegate_to": "{{ stack__manager }}", "run_once": True},
        {"name": "Render the proxy configuration", "ansible.builtin.template": {
            "src": str(role / "templates" / "haproxy.cfg.j2"), "dest": "{{ stack_dir }}/haproxy.cfg", "mode": "0644"},
         "delegate_to": "{{ stack__manager }}", "run_once": True},
    ]
    # the role's defaults and vars first (public), then the old tasks, then the new one on their files
    tasks = ([dict(new, vars={"stack_dir": str(tmp_path / "first")})] + [dict(t, vars={"stack_dir": str(old_dir)}) for t in old]
             + [dict(new, vars={"stack_dir": str(old_dir)})])
    rc, out, _ = playbook(tmp_path, tasks, ["--diff"], extra)
    assert rc == 0, out
    compose = (old_dir / "docker-compose.yml").read_text()
    assert compose.endswith("webnet:\n") and "constraints: [node.hostname == m1]" in compose
    assert (tmp_path / "first" / "docker-compose.yml").read_text() == compose
    assert (tmp_path / "first" / "haproxy.cfg").read_bytes() == (old_dir / "haproxy.cfg").read_bytes()
    # the role's task on the old files: ok, not changed
    task = out[out.index("TASK [swarmops.core.stack : Write the stack's files", out.index("Render the proxy configuration")):]
    assert task.splitlines()[1].startswith("ok: [m1"), task[:800]


def test_app_image_upgrade_keeps_the_ca_files(tmp_path):
    small = tmp_path / "corp-ca.pem"
    small.write_text("-----BEGIN CERTIFICATE-----\nsotest\n-----END CERTIFICATE-----")  # no final newline
    build_dir = str(tmp_path / "host" / "build" / "friendlyhello")
    certs = ["/etc/ssl/certs/ca-certificates.crt", str(small)]
    extra = {"app_image_build_dir": build_dir, "app_image_ca_certificates": certs,
             # as roles/app_image/tasks/main.yml names them
             "app_image_ca_paths": "{{ app_image_ca_certificates | map('basename')"
                                   " | map('regex_replace', '^', app_image_build_dir ~ '.ca/') | list }}"}
    old = {"name": "Copy the CA certificates for the build (before file_set)", "ansible.builtin.copy": {
        "src": "{{ item }}", "dest": "{{ app_image_build_dir }}.ca/", "mode": "0644"},
        "loop": "{{ app_image_ca_certificates }}"}
    new = {"name": "The CA files, as the role writes them now", "ansible.builtin.include_role": {
        "name": "swarmops.core.app_image", "tasks_from": "ca", "public": True}}
    rc, out, saved = playbook(tmp_path, [old, new, save("{'fs': app_image_ca_copied}")], ["--diff"], extra)
    assert rc == 0, out
    assert not saved["fs"]["changed"], saved
    assert sorted(saved["fs"]["files"]) == sorted(build_dir + ".ca/" + os.path.basename(c) for c in certs)
    assert saved["fs"]["files"][build_dir + ".ca/corp-ca.pem"]["checksum"] == sha1(small)
    assert open(build_dir + ".ca/ca-certificates.crt", "rb").read() == open(certs[0], "rb").read()
