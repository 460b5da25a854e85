"""The swarm role on private engines: each inventory host is a sandbox engine whose modules
run in its own network namespace (the host's interpreter is a wrapper around nsenter)."""

from __future__ import annotations

import re
import subprocess

import docker
import pytest
import yaml

from conftest import BIN, ROOT, ansible_env
from sandbox_engine import sandbox_engines  # noqa: F401  (pytest fixture)

PLAY = """
- name: Form the swarm
  hosts: "{managers}:{workers}"
  gather_facts: false
  roles:
    - role: swarmops.core.swarm
      vars:
        swarm_managers_group: {managers}
        swarm_workers_group: {workers}
        swarm_rejoin: {rejoin}
        swarm_rejoin_force: {rejoin}
  tasks:
    - name: Check the join tokens are gone from the play's variables
      ansible.builtin.assert:
        that: swarm__secrets.join_tokens is not defined
        quiet: true

    # Test instrumentation, not part of the role: node statuses in the fact may still be
    # settling (a fresh promotion), so its file write must not count in the idempotence check.
    - name: Write the swarm_cluster fact the role set
      ansible.builtin.copy:
        content: "{{{{ swarm_cluster | to_json }}}}"
        dest: "{facts}"
        mode: "0600"
      delegate_to: localhost
      run_once: true
      changed_when: false
      when: not ansible_check_mode
"""


def inventory(engines, managers, workers, labels=None):
    def host(engine):
        return {
            "ansible_connection": "local",
            "ansible_python_interpreter": str(engine.python),
            "swarm_docker_host": engine.docker_host,
            "swarm_advertise_addr": engine.addr,
            **(labels or {}).get(engine.index, {}),
        }
    return {"all": {"children": {
        "mgrs": {"hosts": {engines[i].hostname: host(engines[i]) for i in managers}},
        "wrks": {"hosts": {engines[i].hostname: host(engines[i]) for i in workers}},
    }}}


def play(tmp_path, engines, managers, workers, labels=None, rejoin=False, check=False, verbosity=0):
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump(inventory(engines, managers, workers, labels)))
    facts = tmp_path / "swarm_cluster.json"
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY.format(managers="mgrs", workers="wrks", rejoin=str(rejoin).lower(), facts=facts))
    cmd = [str(BIN / "ansible-playbook"), "-i", str(inv), str(playbook)]
    cmd += ["--check"] * check + (["-" + "v" * verbosity] if verbosity else [])
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"}))
    recap = {h: dict(ok=int(o), changed=int(c), failed=int(f)) for h, o, c, f in re.findall(
        r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", proc.stdout, re.M)}
    return proc.returncode, recap, proc.stdout + proc.stderr, facts


def secrets_of(engine):
    tokens = engine.client().inspect_swarm()["JoinTokens"]
    return [tokens["Worker"], tokens["Manager"], tokens["Worker"].split("-")[-1], tokens["Manager"].split("-")[-1]]


def test_role_forms_swarm_idempotent_check_mode_and_never_shows_tokens(sandbox_engines, tmp_path):
    engines = sandbox_engines(3).engines
    labels = {1: {"swarm_node_labels": {"zone": "a"}},
              2: {"swarm_node_labels": {"zone": "b"}, "swarm_node_availability": "drain"}}

    rc, recap, out, _ = play(tmp_path, engines, [0], [1, 2], labels, check=True)
    assert rc == 0, out
    assert recap["sosw-e0"]["changed"] == 1, out
    assert all(e.swarm()["LocalNodeState"] == "inactive" for e in engines)

    rc, recap, out, facts = play(tmp_path, engines, [0], [1, 2], labels, verbosity=3)
    assert rc == 0, out
    assert all(recap[e.hostname]["changed"] > 0 for e in engines), out
    assert_no_tokens(out, engines[0])
    nodes = {n["Description"]["Hostname"]: n for n in engines[0].client().nodes()}
    assert {h: n["Spec"]["Role"] for h, n in nodes.items()} == {
        "sosw-e0": "manager", "sosw-e1": "worker", "sosw-e2": "worker"}
    assert nodes["sosw-e1"]["Spec"]["Labels"] == {"zone": "a"}
    assert nodes["sosw-e2"]["Spec"]["Availability"] == "drain"
    assert all(n["Status"]["State"] == "ready" for n in nodes.values())
    cluster = yaml.safe_load(facts.read_text())
    assert cluster["swarm_id"] == engines[0].client().inspect_swarm()["ID"]
    assert [(n["hostname"], n["manager_status"]) for n in cluster["nodes"]] == [
        ("sosw-e0", "Leader"), ("sosw-e1", ""), ("sosw-e2", "")]
    assert re.search(r"HOSTNAME\s+STATUS\s+AVAILABILITY\s+MANAGER STATUS\s+ENGINE VERSION", out)
    assert re.search(r"sosw-e2\s+Ready\s+Drain\s+\S+", out)

    rc, recap, out, _ = play(tmp_path, engines, [0], [1, 2], labels, verbosity=3)
    assert rc == 0 and all(r["changed"] == 0 for r in recap.values()), out
    assert_no_tokens(out, engines[0])
    rc, recap, out, _ = play(tmp_path, engines, [0], [1, 2], labels, check=True)
    assert rc == 0 and all(r["changed"] == 0 for r in recap.values()), out


def assert_no_tokens(out, manager):
    for secret in secrets_of(manager):
        assert secret not in out


def test_role_other_group_names_even_managers_warning_and_promotion(sandbox_engines, tmp_path):
    engines = sandbox_engines(3).engines
    rc, recap, out, _ = play(tmp_path, engines, [0], [1, 2])
    assert rc == 0, out
    # e1 moves to the managers group: it is promoted from the first manager; 2 managers -> warning.
    rc, recap, out, _ = play(tmp_path, engines, [0, 1], [2])
    assert rc == 0, out
    assert "WARNING: 2 managers" in out
    assert "is a worker of this swarm, not a manager" in out
    assert engines[1].client().info()["Swarm"]["ControlAvailable"] is True
    rc, recap, out, _ = play(tmp_path, engines, [0, 1], [2])
    assert rc == 0 and all(r["changed"] == 0 for r in recap.values()), out


def test_role_detects_a_host_in_another_swarm_and_rejoins_on_request(sandbox_engines, tmp_path):
    engines = sandbox_engines(3).engines
    other = engines[2].client()
    other.init_swarm(advertise_addr=engines[2].addr)
    other_swarm = other.inspect_swarm()["ID"]

    rc, recap, out, _ = play(tmp_path, engines, [0], [1, 2])
    assert rc != 0 and recap["sosw-e2"]["failed"] == 1, out
    assert "sosw-e2 is already in a different swarm" in out and "rejoin=true" in out
    assert other.inspect_swarm()["ID"] == other_swarm  # nothing changed on it

    # sosw-e2 is the last manager of its own swarm: swarm_rejoin_force lets it go (see play()).
    rc, recap, out, _ = play(tmp_path, engines, [0], [1, 2], rejoin=True, verbosity=3)
    assert rc == 0, out
    assert_no_tokens(out, engines[0])
    assert engines[2].swarm()["RemoteManagers"][0]["Addr"] == "%s:2377" % engines[0].addr


def test_a_host_in_neither_group_stops_every_host_before_any_change(sandbox_engines, tmp_path):
    engines = sandbox_engines(3).engines
    inv = inventory(engines, [0], [1, 2])
    groups = inv["all"]["children"]
    groups["others"] = {"hosts": {engines[2].hostname: groups["wrks"]["hosts"].pop(engines[2].hostname)}}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inv))
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY.format(managers="mgrs", workers="wrks", rejoin="false", facts=tmp_path / "f.json")
                        .replace('hosts: "mgrs:wrks"', "hosts: all"))
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"), str(playbook)],
                          cwd=ROOT, capture_output=True, text=True,
                          env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"}))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "sosw-e2 in neither 'mgrs' nor 'wrks'" in out
    # The check runs once (failing on the first host) and the play stops there for every host.
    assert "Create the swarm" not in out and "PLAY RECAP" in out, out
    assert all(e.swarm()["LocalNodeState"] == "inactive" for e in engines)


def test_three_managers_keep_accepting_service_updates_when_one_fails(sandbox_engines, tmp_path):
    net = sandbox_engines(4)
    engines = net.engines
    rc, recap, out, _ = play(tmp_path, engines, [0, 1, 2], [3])
    assert rc == 0, out
    assert "WARNING:" not in out
    assert [bool(e.swarm()["ControlAvailable"]) for e in engines] == [True, True, True, False]

    # Zero replicas: a service spec the raft store must accept, without any task or image pull.
    client = engines[0].client()
    swarm_id = client.inspect_swarm()["ID"]
    service = client.create_service({"ContainerSpec": {"Image": "sotest-swarm-none:1"}}, name="sotest-swarm-svc",
                                    mode={"Replicated": {"Replicas": 0}})
    net.stop(2)
    version = client.inspect_service(service["ID"])["Version"]["Index"]
    client.update_service(service["ID"], version, {"ContainerSpec": {"Image": "sotest-swarm-none:2"}},
                          name="sotest-swarm-svc", mode={"Replicated": {"Replicas": 0}})
    spec = client.inspect_service(service["ID"])["Spec"]
    assert spec["TaskTemplate"]["ContainerSpec"]["Image"] == "sotest-swarm-none:2"

    # With a second manager gone the quorum is lost: the same update is refused.
    version = client.inspect_service(service["ID"])["Version"]["Index"]
    net.stop(1)
    with pytest.raises(docker.errors.APIError, match="leader|quorum|deadline|context"):
        client.update_service(service["ID"], version, {"ContainerSpec": {"Image": "sotest-swarm-none:3"}},
                              name="sotest-swarm-svc", mode={"Replicated": {"Replicas": 0}})

    # Recovery: swarm_init refuses with a clear message, then force_new_cluster makes e0 the
    # single manager of the same swarm, which accepts the update again.
    result, out = engines[0].run("swarm_init", {})
    assert result.get("failed") and "force_new_cluster=true" in result["msg"], out
    result, out = engines[0].run("swarm_init", {"force_new_cluster": True})
    assert result["changed"] and result["actions"] == ["force_new_cluster"], out
    client.update_service(service["ID"], version, {"ContainerSpec": {"Image": "sotest-swarm-none:3"}},
                          name="sotest-swarm-svc", mode={"Replicated": {"Replicas": 0}})
    assert client.inspect_swarm()["ID"] == swarm_id


def teardown(tmp_path, engines, managers, workers, *extra):
    inv = tmp_path / "teardown-inventory.yml"
    groups = inventory(engines, managers, workers)["all"]["children"]
    inv.write_text(yaml.safe_dump({"all": {"children": {
        "swarm_managers": groups["mgrs"], "swarm_workers": groups["wrks"]}}}))
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inv), "playbooks/teardown.yml", *extra],
                          cwd=ROOT, capture_output=True, text=True,
                          env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"}))
    return proc.returncode, proc.stdout + proc.stderr


def test_a_found_swarm_keeps_its_settings_and_teardown_leaves_it_unless_named(sandbox_engines, tmp_path):
    engines = sandbox_engines(2).engines
    client = engines[0].client()
    client.init_swarm(advertise_addr=engines[0].addr, swarm_spec=client.create_swarm_spec(
        autolock_managers=True, task_history_retention_limit=20))
    found = client.inspect_swarm()

    rc, recap, out, _ = play(tmp_path, engines, [0], [1])
    assert rc == 0 and recap["sosw-e0"]["changed"] == 0 and recap["sosw-e1"]["changed"] > 0, out
    rc, recap, out, _ = play(tmp_path, engines, [0], [1])
    assert rc == 0 and all(r["changed"] == 0 for r in recap.values()), out
    swarm = client.inspect_swarm()
    assert swarm["Spec"]["EncryptionConfig"]["AutoLockManagers"] is True
    assert swarm["Spec"]["Orchestration"]["TaskHistoryRetentionLimit"] == 20
    assert swarm["Spec"] == found["Spec"] and swarm["ID"] == found["ID"]

    # Not formed by swarmops.core and not named: teardown leaves it (and its worker) alone.
    rc, out = teardown(tmp_path, engines, [0], [1])
    assert rc == 0, out
    assert "did not form" in out and "left as found" in out
    assert [e.swarm()["LocalNodeState"] for e in engines] == ["active", "active"]

    # Named in the inventory: torn down, worker first, then the (last) manager with force.
    rc, out = teardown(tmp_path, engines, [0], [1], "-e", "swarm_teardown_swarm_id=" + found["ID"])
    assert rc == 0, out
    assert [e.swarm()["LocalNodeState"] for e in engines] == ["inactive", "inactive"]


def test_a_swarm_the_role_forms_gets_engine_defaults_and_teardown_knows_it_is_ours(sandbox_engines, tmp_path):
    engines = sandbox_engines(2).engines
    rc, recap, out, _ = play(tmp_path, engines, [0], [1])
    assert rc == 0, out
    spec = engines[0].client().inspect_swarm()["Spec"]
    assert spec["Labels"] == {"io.swarmops.formed-by": "swarmops.core"}
    assert spec["Orchestration"]["TaskHistoryRetentionLimit"] == 5
    assert spec["CAConfig"]["NodeCertExpiry"] == 2160 * 3600 * 10**9
    assert spec["EncryptionConfig"]["AutoLockManagers"] is False

    rc, out = teardown(tmp_path, engines, [0], [1], "--check")
    assert rc == 0, out
    assert [e.swarm()["LocalNodeState"] for e in engines] == ["active", "active"]
    rc, out = teardown(tmp_path, engines, [0], [1])
    assert rc == 0, out
    assert [e.swarm()["LocalNodeState"] for e in engines] == ["inactive", "inactive"]
    rc, out = teardown(tmp_path, engines, [0], [1])
    assert rc == 0 and "changed=1" not in out, out
