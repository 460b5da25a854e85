"""Pure logic of module_utils/swarm.py: build and diff, without Docker."""

from __future__ import annotations

import pytest

from ansible_collections.swarmops.core.plugins.module_utils import runner, swarm
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError

WORKER_TOKEN = "SWMTKN-1-" + "3" * 50 + "-" + "a" * 25


def info(state="inactive", manager=False, node_id="n1", remote=(), name="node1", addr="10.0.0.5"):
    return {"Name": name, "ServerVersion": "20.10.24", "Swarm": {
        "LocalNodeState": state, "NodeID": node_id if state != "inactive" else "", "NodeAddr": addr,
        "ControlAvailable": manager, "Error": "",
        "RemoteManagers": [{"NodeID": "m", "Addr": a} for a in remote]}}


SPEC = {"Orchestration": {"TaskHistoryRetentionLimit": 5},
        "CAConfig": {"NodeCertExpiry": 7776000000000000},
        "EncryptionConfig": {"AutoLockManagers": False},
        "Raft": {"SnapshotInterval": 10000}, "Dispatcher": {"HeartbeatPeriod": 5000000000}}


def manager_actual(addr="10.0.0.5:2377", trust_root="CA PEM"):
    swarm_obj = {"ID": "swarm1", "Spec": SPEC, "Version": {"Index": 10}, "DefaultAddrPool": ["10.0.0.0/8"],
                 "SubnetSize": 24, "DataPathPort": 4789, "TLSInfo": {"TrustRoot": trust_root},
                 "JoinTokens": {"Worker": WORKER_TOKEN, "Manager": "SWMTKN-1-x-y"}}
    nodes = [{"ID": "n1", "ManagerStatus": {"Addr": addr, "Leader": True}}]
    return swarm.Actual(info("active", True), swarm_obj, nodes[0], nodes)


def params(**kw):
    base = dict(state="present", advertise_addr=None, listen_addr=None, data_path_addr=None,
                force_new_cluster=False, join_token=WORKER_TOKEN, role=None, rejoin=False, force=False)
    base.update(kw)
    return base


@pytest.mark.parametrize("text,ns", [
    ("2160h", 2160 * 3600 * 10**9), ("90d", 90 * 86400 * 10**9), ("1h30m", 5400 * 10**9),
    ("45s", 45 * 10**9), ("500ms", 5 * 10**8), ("60", 60 * 10**9), (30, 30 * 10**9)])
def test_parse_duration(text, ns):
    assert swarm.build_init({"node_cert_expiry": text})["node_cert_expiry"] == ns


@pytest.mark.parametrize("bad", ["", "soon", "10x", "1h banana"])
def test_parse_duration_rejects_garbage_naming_the_option(bad):
    with pytest.raises(SwarmOpsError, match="node_cert_expiry"):
        swarm.build_init({"node_cert_expiry": bad})


def test_format_duration_like_the_cli():
    assert swarm.format_duration(7776000000000000) == "2160h0m0s"
    assert swarm.format_duration(5 * 10**9) == "0h0m5s"
    assert swarm.format_duration(1500 * 10**6) == "0h0m1.5s"


@pytest.mark.parametrize("addr,expected", [
    ("10.0.0.1", ("10.0.0.1", 2377)), ("10.0.0.1:4000", ("10.0.0.1", 4000)),
    ("mgr", ("mgr", 2377)), ("[fd00::1]:2377", ("fd00::1", 2377)), ("[fd00::1]", ("fd00::1", 2377))])
def test_split_addr(addr, expected):
    assert swarm.split_addr(addr) == expected


def test_token_digest_and_ca_digest_are_base36_of_the_same_length():
    assert swarm.token_digest(WORKER_TOKEN) == "3" * 50
    assert swarm.token_digest("SWMTKN-2-abc") is None and swarm.token_digest(None) is None
    assert len(swarm.ca_digest("any pem")) == 50
    assert swarm.ca_digest("a") != swarm.ca_digest("b")


def test_tokens_never_reach_views_or_plans():
    actual = manager_actual()
    assert "JoinTokens" not in actual.swarm
    plan = swarm.diff_init(actual, swarm.build_init({"task_history_limit": 9}), params())
    assert WORKER_TOKEN not in repr(plan.diff()) + repr(plan.actions) + repr(swarm.settings_view(actual))


def test_init_on_inactive_node_builds_the_engine_body():
    desired = swarm.build_init({"task_history_limit": 3, "node_cert_expiry": "90d", "autolock": True,
                                "default_addr_pool": ["10.40.0.0/16"], "subnet_size": 26, "data_path_port": 4790})
    plan = swarm.diff_init(swarm.Actual(info()), desired, params(advertise_addr="10.0.0.5"))
    assert plan.summary() == ["init"]
    body = plan.actions[0]["body"]
    assert body["AdvertiseAddr"] == "10.0.0.5" and body["ListenAddr"] == "0.0.0.0:2377"
    assert body["Spec"] == {"Orchestration": {"TaskHistoryRetentionLimit": 3},
                            "CAConfig": {"NodeCertExpiry": 90 * 86400 * 10**9},
                            "EncryptionConfig": {"AutoLockManagers": True},
                            "Labels": {"io.swarmops.formed-by": "swarmops.core"}}
    assert body["DefaultAddrPool"] == ["10.40.0.0/16"] and body["SubnetSize"] == 26 and body["DataPathPort"] == 4790
    assert plan.after["role"] == "manager" and plan.before == {"local_node_state": "inactive"}


def test_manager_with_same_settings_is_unchanged_and_unset_means_dont_care():
    plan = swarm.diff_init(manager_actual(), swarm.build_init({"task_history_limit": 5}), params())
    assert not plan and plan.before == plan.after
    assert not swarm.diff_init(manager_actual(), {}, params())


def test_spec_difference_is_an_update_in_place_with_before_after():
    plan = swarm.diff_init(manager_actual(), swarm.build_init({"task_history_limit": 2, "autolock": True}), params())
    assert plan.summary() == ["update"]
    assert plan.actions[0]["changes"] == {"task_history_limit": 2, "autolock": True}
    assert plan.before["task_history_limit"] == 5 and plan.after["task_history_limit"] == 2
    assert plan.after["autolock"] is True


def test_creation_only_settings_warn_instead_of_changing():
    plan = swarm.diff_init(manager_actual(), swarm.build_init({"subnet_size": 26, "data_path_port": 4789}), params())
    assert not plan
    assert len(plan.warnings) == 1 and "subnet_size is 24" in plan.warnings[0]


def test_token_rotation_and_force_new_cluster_always_act():
    plan = swarm.diff_init(manager_actual(), {}, params(rotate_worker_token=True))
    assert plan.summary() == ["update"] and plan.actions[0]["rotate"] == {"rotate_worker_token": True}
    plan = swarm.diff_init(manager_actual(), {}, params(force_new_cluster=True))
    assert plan.summary() == ["force_new_cluster"]
    assert plan.actions[0]["body"]["ForceNewCluster"] is True
    assert plan.actions[0]["body"]["AdvertiseAddr"] == "10.0.0.5"


@pytest.mark.parametrize("state,manager,match", [
    ("active", False, "is a worker"), ("pending", False, "trying to join"), ("locked", False, "locked")])
def test_init_refuses_workers_pending_and_locked_nodes(state, manager, match):
    with pytest.raises(SwarmOpsError, match=match):
        swarm.diff_init(swarm.Actual(info(state, manager, remote=["10.0.0.9:2377"])), {}, params())


def test_init_absent_never_forces_unless_told():
    with pytest.raises(SwarmOpsError, match="last manager of swarm swarm1.*force=true"):
        swarm.diff_init(manager_actual(), {}, params(state="absent"))
    assert swarm.diff_init(manager_actual(), {}, params(state="absent", force=True)).actions == [
        {"action": "leave", "force": True}]
    assert not swarm.diff_init(swarm.Actual(info()), {}, params(state="absent"))


def resolved(*addrs):
    return [(a, a if ":" in a else a + ":2377") for a in addrs]


def test_join_from_inactive_posts_the_engine_body():
    plan = swarm.diff_join(swarm.Actual(info()), params(advertise_addr="10.0.0.6", availability="drain"),
                           resolved("10.0.0.5"))
    assert plan.summary() == ["join"]
    body = plan.actions[0]["body"]
    assert body["RemoteAddrs"] == ["10.0.0.5:2377"] and body["JoinToken"] == WORKER_TOKEN
    assert body["Availability"] == "drain" and body["AdvertiseAddr"] == "10.0.0.6"
    assert WORKER_TOKEN not in repr(plan.diff())


def test_worker_of_the_same_swarm_is_recognised_by_its_managers():
    actual = swarm.Actual(info("active", remote=["10.0.0.5:2377", "10.0.0.7:2377"]))
    assert not swarm.diff_join(actual, params(), resolved("10.0.0.7"))


def test_worker_of_another_swarm_is_an_error_unless_rejoin():
    actual = swarm.Actual(info("active", remote=["10.9.9.9:2377"]))
    with pytest.raises(SwarmOpsError, match=r"different swarm.*10\.9\.9\.9:2377.*rejoin=true"):
        swarm.diff_join(actual, params(), resolved("10.0.0.5"))
    assert swarm.diff_join(actual, params(rejoin=True), resolved("10.0.0.5")).summary() == ["leave", "join"]


def test_manager_identifies_its_swarm_by_the_token_ca_digest():
    actual = manager_actual(addr="10.0.0.8:2377", trust_root="PEM-A")
    token = "SWMTKN-1-%s-%s" % (swarm.ca_digest("PEM-A"), "s" * 25)
    assert not swarm.diff_join(actual, params(join_token=token), resolved("10.0.0.99"))
    other = "SWMTKN-1-%s-%s" % (swarm.ca_digest("PEM-B"), "s" * 25)
    with pytest.raises(SwarmOpsError, match="different swarm"):
        swarm.diff_join(actual, params(join_token=other), resolved("10.0.0.99"))


def test_role_mismatch_is_a_warning_not_a_change():
    actual = swarm.Actual(info("active", remote=["10.0.0.5:2377"]))
    plan = swarm.diff_join(actual, params(role="manager"), resolved("10.0.0.5"))
    assert not plan and "swarm_node role=manager" in plan.warnings[0]


def test_pending_join_is_cancelled_and_retried():
    actual = swarm.Actual(info("pending", remote=["10.0.0.5:2377"]))
    assert swarm.diff_join(actual, params(), resolved("10.0.0.5")).summary() == ["leave", "join"]


def test_join_validates_the_token_shape_and_refuses_locked():
    with pytest.raises(SwarmOpsError, match="not a swarm join token"):
        swarm.diff_join(swarm.Actual(info()), params(join_token="hunter2"), resolved("10.0.0.5"))
    with pytest.raises(SwarmOpsError, match="locked"):
        swarm.diff_join(swarm.Actual(info("locked")), params(), resolved("10.0.0.5"))


def test_join_absent_needs_force_for_a_manager():
    with pytest.raises(SwarmOpsError, match="last manager"):
        swarm.diff_join(manager_actual(), params(state="absent"), [])
    assert swarm.diff_join(manager_actual(), params(state="absent", force=True), []).actions == [
        {"action": "leave", "force": True}]
    # A worker leaves without force: Docker needs none, so none is asked for.
    assert swarm.diff_join(swarm.Actual(info("active")), params(state="absent"), []).actions == [
        {"action": "leave", "force": False}]
    assert not swarm.diff_join(swarm.Actual(info()), params(state="absent"), [])


def test_locked_manager_is_never_force_left_without_force():
    locked = swarm.Actual(info("locked"))
    for module_diff in (lambda p: swarm.diff_join(locked, p, []), lambda p: swarm.diff_init(locked, {}, p)):
        with pytest.raises(SwarmOpsError, match="locked.*force=true"):
            module_diff(params(state="absent"))
        assert module_diff(params(state="absent", force=True)).actions == [{"action": "leave", "force": True}]


def managers(*reachability):
    nodes = [{"ID": "n%d" % i, "ManagerStatus": {"Addr": "10.0.0.%d:2377" % i, "Reachability": r}}
             for i, r in enumerate(reachability, 1)]
    swarm_obj = {"ID": "swarm1", "Spec": SPEC}
    return swarm.Actual(info("active", True), swarm_obj, nodes[0], nodes + [{"ID": "w1"}])


@pytest.mark.parametrize("reachability,message", [
    (("reachable",), "last manager"),
    (("reachable", "reachable"), "leaves 1 of 2 managers: the swarm loses its raft quorum"),
    (("reachable", "reachable", "unreachable"), "leaves 1 of 3 managers"),
    (("reachable", "reachable", "reachable"), "Demote it first"),
])
def test_a_manager_leave_names_what_it_would_cost(reachability, message):
    with pytest.raises(SwarmOpsError, match=message):
        swarm.diff_join(managers(*reachability), params(state="absent"), [])


def test_a_manager_that_cannot_read_its_swarm_is_not_left_without_force():
    lost = swarm.Actual(info("active", True), swarm_error="rpc error: no leader")
    with pytest.raises(SwarmOpsError, match="cannot read its swarm.*no leader"):
        swarm.diff_init(lost, {}, params(state="absent"))


def test_rejoin_does_not_force_a_manager_out_of_another_swarm_without_force():
    other = manager_actual(addr="10.9.9.9:2377", trust_root="OTHER CA")
    with pytest.raises(SwarmOpsError, match="rejoin: .*last manager"):
        swarm.diff_join(other, params(rejoin=True), resolved("10.0.0.1"))
    plan = swarm.diff_join(other, params(rejoin=True, force=True), resolved("10.0.0.1"))
    assert plan.summary() == ["leave", "join"]


def test_a_swarm_created_by_swarm_init_is_marked_and_a_found_one_is_not():
    body = swarm.diff_init(swarm.Actual(info()), {}, params()).actions[0]["body"]
    assert body["Spec"]["Labels"] == {swarm.FORMED_BY_LABEL: "swarmops.core"}
    assert not manager_actual().formed_by_swarmops
    ours = swarm.Actual(info("active", True), dict(ID="s", Spec=dict(SPEC, Labels=body["Spec"]["Labels"])))
    assert ours.formed_by_swarmops
    # Recovery keeps the swarm's own spec (and its mark, or its absence).
    recover = swarm.diff_init(ours, {}, params(force_new_cluster=True)).actions[0]["body"]
    assert "Labels" not in recover["Spec"]


def test_unset_settings_leave_an_autolocked_swarm_as_found():
    found = dict(SPEC, Orchestration={"TaskHistoryRetentionLimit": 20}, EncryptionConfig={"AutoLockManagers": True})
    actual = swarm.Actual(info("active", True), dict(ID="s", Spec=found))
    role_defaults = {name: None for name in swarm.SPEC_PATHS}  # the role passes omit: None here
    assert not swarm.diff_init(actual, swarm.build_init(role_defaults), params())
    plan = swarm.diff_init(actual, swarm.build_init(dict(role_defaults, autolock=False)), params())
    assert plan.actions[0]["changes"] == {"autolock": False}


def test_autolock_is_read_from_the_swarm_spec():
    locked = swarm.Actual(info("active", True), dict(ID="s", Spec=dict(SPEC, EncryptionConfig={"AutoLockManagers": True})))
    assert locked.autolock
    assert not manager_actual().autolock
    assert not swarm.Actual(info("active", False)).autolock  # a worker cannot tell


def node(labels=None, availability="active", role="worker", hostname="w1", node_id="abc123"):
    return {"ID": node_id, "Version": {"Index": 3}, "Description": {"Hostname": hostname, "Engine": {"EngineVersion": "20.10"}},
            "Spec": {"Role": role, "Availability": availability, "Labels": labels or {}},
            "Status": {"State": "ready", "Addr": "10.0.0.6"}}


def test_node_labels_merge_or_replace():
    n = node({"zone": "a", "keep": "1"})
    assert not swarm.diff_node(n, {"node": "w1", "labels": {"zone": "a"}, "labels_state": "merge"})
    plan = swarm.diff_node(n, {"node": "w1", "labels": {"zone": "b"}, "labels_state": "merge"})
    assert plan.actions[0]["spec"]["labels"] == {"zone": "b", "keep": "1"}
    plan = swarm.diff_node(n, {"node": "w1", "labels": {"zone": "a"}, "labels_state": "replace"})
    assert plan.actions[0]["spec"]["labels"] == {"zone": "a"}


def test_node_availability_role_and_lookup():
    plan = swarm.diff_node(node(), {"node": "w1", "availability": "drain", "role": "manager"})
    assert plan.after == {"role": "manager", "availability": "drain", "labels": {}}
    nodes = [node(), node(hostname="w2", node_id="abd999")]
    assert swarm.find_node(nodes, "w2")["ID"] == "abd999"
    assert swarm.find_node(nodes, "abc")["ID"] == "abc123"
    assert swarm.find_node(nodes, "zzz") is None
    with pytest.raises(SwarmOpsError, match="matches 2 nodes"):
        swarm.find_node(nodes, "ab")
    with pytest.raises(SwarmOpsError, match="not in this swarm"):
        swarm.diff_node(None, {"node": "zzz"})


def test_several_nodes_are_planned_each_with_its_own_settings_and_the_shared_ones():
    nodes = [node({"zone": "a"}), node(hostname="w2", node_id="abd999"), node(hostname="m1", node_id="fff000", role="manager")]
    params = {"labels_state": "replace", "state": "present", "nodes": [
        {"node": "w1", "labels": {"zone": "a"}, "availability": None, "role": None},
        {"node": "w2", "labels": {"zone": "b"}, "availability": "drain", "role": None},
        {"node": "fff000", "labels": None, "availability": None, "role": "manager"}]}
    planned = swarm.diff_nodes(nodes, params)
    assert [n["ID"] for n, plan in planned] == ["abc123", "abd999", "fff000"]
    assert [bool(plan) for n, plan in planned] == [False, True, False]
    assert planned[1][1].after == {"role": "worker", "availability": "drain", "labels": {"zone": "b"}}
    params["state"] = "absent"
    params["nodes"].append({"node": "gone", "labels": None, "availability": None, "role": None})
    assert [[a["action"] for a in plan.actions] for n, plan in swarm.diff_nodes(nodes, params)] == [["remove"]] * 3 + [[]]


@pytest.mark.parametrize("names, match", [
    (["w1", "zzz"], r"nodes\[1\]: node 'zzz' is not in this swarm"),
    (["w1", "ab"], r"nodes\[1\]: node 'ab' matches 2 nodes"),
    (["w2", "w1", "abc123"], r"nodes\[2\]: node 'abc123' is the node of nodes\[1\] \('w1'\)"),
])
def test_several_nodes_fail_whole_naming_the_item(names, match):
    nodes = [node(), node(hostname="w2", node_id="abd999")]
    params = {"state": "present", "nodes": [{"node": name, "labels": {"x": "1"}} for name in names]}
    with pytest.raises(SwarmOpsError, match=match):
        swarm.diff_nodes(nodes, params)


def test_node_summary_is_a_docker_node_ls_row():
    leader = node(role="manager")
    leader["ManagerStatus"] = {"Leader": True, "Reachability": "reachable"}
    row = swarm.node_summary(leader)
    assert (row["hostname"], row["status"], row["availability"], row["manager_status"], row["engine_version"]) == \
        ("w1", "Ready", "Active", "Leader", "20.10")
    assert swarm.node_summary(node())["manager_status"] == ""


class FakeTime:
    """Stands in for the time module inside runner (clock): sleeping advances a counter."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class FakeNodesClient:
    """The node calls of the APIClient over a dict of nodes; ``down_looks`` node lists show a node down first."""

    def __init__(self, nodes, down_looks=None):
        self.by_id = {n["ID"]: n for n in nodes}
        self.down_looks = dict(down_looks or {})
        self.looks = 0
        self.updates = []

    def nodes(self):
        self.looks += 1
        listed = []
        for node_id, n in self.by_id.items():
            if self.looks <= self.down_looks.get(node_id, 0):
                n = dict(n, Status={"State": "down", "Message": "heartbeat failure"})
            listed.append(n)
        return listed

    def inspect_node(self, node_id):
        return self.by_id[node_id]

    def update_node(self, node_id, version, spec):
        self.updates.append(node_id)
        self.by_id[node_id] = dict(self.by_id[node_id], Spec={
            "Role": spec["Role"], "Availability": spec["Availability"], "Labels": spec["Labels"]})


@pytest.fixture
def fake_time(monkeypatch):
    monkeypatch.setattr(runner, "time", FakeTime())


def test_the_ready_wait_looks_until_every_node_is_ready(fake_time):
    client = FakeNodesClient([node(), node(hostname="w2", node_id="abd999")], down_looks={"abd999": 3})
    ready = swarm.wait_nodes_ready(client, ["abc123", "abd999"], 60)
    assert sorted(ready) == ["abc123", "abd999"] and client.looks == 4
    client = FakeNodesClient([node()], down_looks={"abc123": 2})
    assert swarm.wait_node_ready(client, "abc123", 60)["ID"] == "abc123" and client.looks == 3


def test_the_ready_wait_names_every_node_not_ready_one_node_as_several(fake_time):
    client = FakeNodesClient([node(), node(hostname="w2", node_id="abd999")], down_looks={"abd999": 1000})
    with pytest.raises(SwarmOpsError, match=r"^2 node\(s\) not Ready after 5s: gone: no longer in the swarm; "
                                            r"w2 \(abd999\): state down - heartbeat failure\.$"):
        swarm.wait_nodes_ready(client, ["gone", "abd999"], 5)
    with pytest.raises(SwarmOpsError, match=r"^1 node\(s\) not Ready after 5s: "
                                            r"w2 \(abd999\): state down - heartbeat failure\.$"):
        swarm.wait_node_ready(client, "abd999", 5)


def test_set_nodes_plans_all_then_applies_then_waits_once(fake_time):
    nodes = [node(), node(hostname="w2", node_id="abd999")]
    params = {"state": "present", "labels_state": "merge", "wait": True, "wait_timeout": 60, "nodes": [
        {"node": "w2", "labels": {"zone": "b"}}, {"node": "w1"}]}
    client = FakeNodesClient(nodes, down_looks={"abd999": 2})
    result = swarm.set_nodes(client, nodes, params, check_mode=True, want_diff=True)
    assert client.updates == [] and client.looks == 0
    assert result["changed"] and result["actions"] == ["update_node"]
    assert [(r["node"], r["actions"], r["labels"]) for r in result["nodes"]] == [
        ("w2", ["update_node"], {}), ("w1", [], {})]  # check mode: the rows as found
    assert result["diff"]["after"]["w2"]["labels"] == {"zone": "b"} and result["diff"]["before"]["w2"]["labels"] == {}

    result = swarm.set_nodes(client, nodes, params)
    assert client.updates == ["abd999"] and client.looks == 3 and "diff" not in result
    assert [(r["node"], r["status"], r["labels"]) for r in result["nodes"]] == [
        ("w2", "Ready", {"zone": "b"}), ("w1", "Ready", {})]
    with pytest.raises(SwarmOpsError, match=r"nodes\[1\]: node 'zzz'"):
        swarm.set_nodes(client, nodes, dict(params, nodes=[{"node": "w1", "labels": {"a": "1"}}, {"node": "zzz"}]))
    assert client.updates == ["abd999"]


def test_set_node_applies_waits_and_returns_the_row(fake_time):
    nodes = [node()]
    params = {"node": "w1", "state": "present", "availability": "drain", "wait": True, "wait_timeout": 60}
    client = FakeNodesClient(nodes, down_looks={"abc123": 1})
    result = swarm.set_node(client, nodes, params, check_mode=True, want_diff=True)
    assert client.updates == [] and result["actions"] == ["update_node"] and result["node"]["availability"] == "Active"
    assert result["diff"]["after"]["availability"] == "drain"
    result = swarm.set_node(client, nodes, params)
    assert client.updates == ["abc123"] and client.looks == 2
    assert result["changed"] and result["node"]["availability"] == "Drain" and result["node"]["status"] == "Ready"
    result = swarm.set_node(client, nodes, dict(params, state="absent", force=True), check_mode=True)
    assert result == {"changed": True, "actions": ["remove"]}


def test_manager_without_quorum_is_told_about_force_new_cluster():
    actual = swarm.Actual(info("active", True, remote=["10.0.0.5:2377", "10.0.0.6:2377"]), swarm_error="no leader")
    with pytest.raises(SwarmOpsError, match="cannot read its swarm.*force_new_cluster=true"):
        swarm.diff_init(actual, {}, params())
    assert swarm.diff_init(actual, {}, params(force_new_cluster=True)).summary() == ["force_new_cluster"]
    assert swarm.diff_join(actual, params(state="absent", force=True), []).summary() == ["leave"]
    assert not swarm.diff_join(actual, params(), resolved("10.0.0.6"))
