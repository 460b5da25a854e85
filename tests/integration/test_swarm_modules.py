"""swarm_init, swarm_join, swarm_info and swarm_node against private engines in netns.

Every module call runs inside the target engine's network namespace (see sandbox_engine),
like a module on a real node. The output of the calls made at -vvv is searched for the join tokens.
"""

from __future__ import annotations

import re

from sandbox_engine import sandbox_engines  # noqa: F401  (pytest fixture)


def tokens_of(engine):
    tokens = engine.client().inspect_swarm()["JoinTokens"]
    return [tokens["Worker"], tokens["Manager"]]


def assert_no_secret(out, secrets):
    assert secrets
    for secret in secrets:
        assert secret not in out
        assert secret.split("-")[-1] not in out  # not even the secret half


def read_tokens(manager):
    result, _ = manager.run("swarm_info", {"join_tokens": True})
    return result["join_tokens"]


def init(manager, **args):
    result, out = manager.run("swarm_init", dict(advertise_addr=manager.addr, **args))
    assert result["changed"] and not result.get("failed"), out
    return result


def test_swarm_init_idempotent_check_mode_update_and_leave(sandbox_engines):
    e0 = sandbox_engines(1).engines[0]

    result, out = e0.run("swarm_init", {"advertise_addr": e0.addr}, check=True, diff=True)
    assert result["changed"] and result["actions"] == ["init"], out
    assert result["swarm_id"] is None
    assert e0.swarm()["LocalNodeState"] == "inactive"

    result, out = e0.run("swarm_init", {"advertise_addr": e0.addr, "task_history_limit": 3},
                         diff=True, verbosity=3)
    assert result["changed"] and result["actions"] == ["init"], out
    assert result["manager_addrs"] == ["%s:2377" % e0.addr]
    assert result["settings"]["task_history_limit"] == 3
    swarm_id = e0.client().inspect_swarm()["ID"]
    assert result["swarm_id"] == swarm_id and "join_tokens" not in result
    secrets = tokens_of(e0)
    assert_no_secret(out, secrets)

    result, out = e0.run("swarm_init", {"advertise_addr": e0.addr, "task_history_limit": 3},
                         diff=True, verbosity=3)
    assert result["changed"] is False and result["actions"] == [], out
    assert_no_secret(out, secrets)

    # A spec difference: reported in check mode without applying, then updated in place.
    update = {"task_history_limit": 7, "node_cert_expiry": "720h"}
    result, out = e0.run("swarm_init", update, check=True, diff=True)
    assert result["changed"] and result["actions"] == ["update"], out
    assert '-    "task_history_limit": 3' in out and '+    "task_history_limit": 7' in out
    assert '+    "node_cert_expiry": "720h0m0s"' in out
    spec = e0.client().inspect_swarm()["Spec"]
    assert spec["Orchestration"]["TaskHistoryRetentionLimit"] == 3
    result, out = e0.run("swarm_init", update, diff=True, verbosity=3)
    assert result["changed"] and result["actions"] == ["update"], out
    assert_no_secret(out, secrets)
    swarm = e0.client().inspect_swarm()
    assert swarm["ID"] == swarm_id
    assert swarm["Spec"]["Orchestration"]["TaskHistoryRetentionLimit"] == 7
    assert swarm["Spec"]["CAConfig"]["NodeCertExpiry"] == 720 * 3600 * 10**9
    result, out = e0.run("swarm_init", update)
    assert result["changed"] is False, out

    # Fixed at creation: a warning, no change.
    result, out = e0.run("swarm_init", {"subnet_size": 26})
    assert result["changed"] is False and "subnet_size is 24" in out, out

    # Token rotation: a change every time; the new token never shows either.
    result, out = e0.run("swarm_init", {"rotate_worker_token": True}, verbosity=3)
    assert result["changed"], out
    rotated = tokens_of(e0)
    assert rotated[0] != secrets[0] and rotated[1] == secrets[1]
    assert_no_secret(out, rotated + secrets)

    # Only on request are the tokens returned.
    result, _ = e0.run("swarm_init", {"return_join_tokens": True})
    assert result["join_tokens"] == {"worker": rotated[0], "manager": rotated[1]}

    # swarm_info says whether the swarm is autolocked (the docker_engine role does not drain then).
    result, _ = e0.run("swarm_info", {})
    assert result["autolock"] is False
    result, out = e0.run("swarm_init", {"autolock": True})
    assert result["changed"], out
    result, _ = e0.run("swarm_info", {})
    assert result["autolock"] is True

    # The last manager: never left without force=true, not even in check mode.
    result, out = e0.run("swarm_init", {"state": "absent"}, check=True)
    assert result.get("failed") and "last manager" in result["msg"], out
    result, out = e0.run("swarm_init", {"state": "absent"})
    assert result.get("failed") and "force=true" in result["msg"], out
    assert e0.swarm()["LocalNodeState"] == "active"
    result, out = e0.run("swarm_init", {"state": "absent", "force": True}, check=True, diff=True)
    assert result["changed"] and result["actions"] == ["leave"], out
    assert e0.swarm()["LocalNodeState"] == "active"
    result, out = e0.run("swarm_init", {"state": "absent", "force": True})
    assert result["changed"], out
    assert e0.swarm()["LocalNodeState"] == "inactive"
    result, out = e0.run("swarm_init", {"state": "absent", "force": True})
    assert result["changed"] is False, out


def test_join_worker_and_manager_idempotent_without_leaking_tokens(sandbox_engines):
    e0, e1, e2 = sandbox_engines(3).engines
    init(e0)
    tokens = read_tokens(e0)
    secrets = [tokens["worker"], tokens["manager"]]
    join = {"join_token": tokens["worker"], "remote_addrs": [e0.addr], "advertise_addr": e1.addr,
            "role": "worker"}

    result, out = e1.run("swarm_join", join, check=True, diff=True, verbosity=3)
    assert result["changed"] and result["actions"] == ["join"], out
    assert e1.swarm()["LocalNodeState"] == "inactive"
    assert_no_secret(out, secrets)

    result, out = e1.run("swarm_join", join, diff=True, verbosity=3)
    assert result["changed"] and result["role"] == "worker", out
    assert '-    "local_node_state": "inactive"' in out
    assert_no_secret(out, secrets)
    nodes = {n["Description"]["Hostname"]: n for n in e0.client().nodes()}
    assert nodes[e1.hostname]["Status"]["State"] == "ready"
    assert nodes[e1.hostname]["ID"] == result["node_id"]

    result, out = e1.run("swarm_join", join, diff=True, verbosity=3)
    assert result["changed"] is False and result["actions"] == [], out
    assert_no_secret(out, secrets)
    result, out = e1.run("swarm_join", join, check=True)
    assert result["changed"] is False, out

    # Right swarm, other role: a warning, no change (promotion is swarm_node's job).
    result, out = e1.run("swarm_join", dict(join, role="manager"))
    assert result["changed"] is False and "swarm_node role=manager" in out, out

    manager_join = {"join_token": tokens["manager"], "remote_addrs": [e0.addr, e1.addr],
                    "advertise_addr": e2.addr, "availability": "drain"}
    result, out = e2.run("swarm_join", manager_join, verbosity=3)
    assert result["changed"] and result["role"] == "manager", out
    assert_no_secret(out, secrets)
    node = e0.client().inspect_node(result["node_id"])
    assert node["Spec"]["Availability"] == "drain" and node["Status"]["State"] == "ready"
    assert sorted(result["manager_addrs"]) == sorted(["%s:2377" % e0.addr, "%s:2377" % e2.addr])
    result, out = e2.run("swarm_join", manager_join)
    assert result["changed"] is False, out

    result, out = e2.run("swarm_join", {"state": "absent"})
    assert result.get("failed") and "leaves 1 of 2 managers" in result["msg"], out
    assert e2.swarm()["LocalNodeState"] == "active"

    result, out = e1.run("swarm_join", {"state": "absent"}, check=True)
    assert result["changed"] and e1.swarm()["LocalNodeState"] == "active", out
    result, out = e1.run("swarm_join", {"state": "absent"})
    assert result["changed"] and e1.swarm()["LocalNodeState"] == "inactive", out
    result, out = e1.run("swarm_join", {"state": "absent"})
    assert result["changed"] is False, out


def test_swarm_init_on_a_worker_is_a_clear_error(sandbox_engines):
    e0, e1 = sandbox_engines(2).engines
    init(e0)
    e1.run("swarm_join", {"join_token": read_tokens(e0)["worker"], "remote_addrs": [e0.addr]})
    result, out = e1.run("swarm_init", {"advertise_addr": e1.addr})
    assert result.get("failed") and "is a worker" in result["msg"], out
    assert e0.addr in result["msg"]
    assert e1.swarm()["ControlAvailable"] is False


def test_join_errors_say_which(sandbox_engines):
    net = sandbox_engines(3)
    e0, e1, e2 = net.engines
    init(e0)
    tokens = read_tokens(e0)
    base = {"remote_addrs": [e0.addr], "advertise_addr": e2.addr, "probe_timeout": 2}

    # A token of the right swarm whose secret is wrong.
    wrong = tokens["worker"][:-6] + ("aaaaaa" if not tokens["worker"].endswith("aaaaaa") else "bbbbbb")
    result, out = e2.run("swarm_join", dict(base, join_token=wrong), verbosity=3)
    assert result.get("failed") and "refused the join token" in result["msg"], out
    assert wrong not in out
    assert e2.swarm()["LocalNodeState"] == "inactive"

    result, out = e2.run("swarm_join", dict(base, join_token="not-a-token"))
    assert result.get("failed") and "not a swarm join token" in result["msg"], out

    # Nothing listens on 2377 at e1 (it is in no swarm).
    args = dict(base, join_token=tokens["worker"], remote_addrs=[e1.addr])
    result, out = e2.run("swarm_join", args)
    assert result.get("failed") and "connection refused" in result["msg"], out
    assert e1.addr in result["msg"]
    # Same, when the engine itself finds out (no probe from the module's host).
    result, out = e2.run("swarm_join", dict(args, probe_managers="never"))
    assert result.get("failed") and "No swarm manager listens at %s:2377" % e1.addr in result["msg"], out
    assert e2.swarm()["LocalNodeState"] == "inactive"

    # No host at that address on the subnet.
    result, out = e2.run("swarm_join", dict(base, join_token=tokens["worker"], remote_addrs=["10.231.0.250"]))
    assert result.get("failed") and "10.231.0.250" in result["msg"], out
    assert "host down or no route" in result["msg"] or "no answer" in result["msg"]

    # A firewall dropping 2377 on the manager.
    net.block_port(0, 2377)
    result, out = e2.run("swarm_join", dict(base, join_token=tokens["worker"]))
    assert result.get("failed") and "a firewall dropping port 2377" in result["msg"], out
    assert e0.addr in result["msg"]
    assert e2.swarm()["LocalNodeState"] == "inactive"


def test_node_in_another_swarm_is_detected_and_rejoins(sandbox_engines):
    e0, e1, e2 = sandbox_engines(3).engines
    init(e0)
    init(e1)  # e1 manages a second, unrelated swarm
    tokens_a, tokens_b = read_tokens(e0), read_tokens(e1)
    e2.run("swarm_join", {"join_token": tokens_b["worker"], "remote_addrs": [e1.addr]})
    assert e2.swarm()["LocalNodeState"] == "active"

    for engine in (e1, e2):  # a manager and a worker of swarm B
        join = {"join_token": tokens_a["worker"], "remote_addrs": [e0.addr], "advertise_addr": engine.addr}
        result, out = engine.run("swarm_join", join, verbosity=3)
        assert result.get("failed") and "different swarm" in result["msg"], out
        assert "rejoin=true" in result["msg"] and e1.addr in result["msg"]
        assert_no_secret(out, tokens_a.values())

        # e1 is the last manager of swarm B: rejoin alone does not force it out.
        force = engine is e1
        if force:
            result, out = engine.run("swarm_join", dict(join, rejoin=True))
            assert result.get("failed") and "last manager" in result["msg"], out
        join = dict(join, rejoin=True, force=force)
        result, out = engine.run("swarm_join", join, check=True)
        assert result["changed"] and result["actions"] == ["leave", "join"], out
        assert e0.addr not in str(engine.swarm()["RemoteManagers"])

        result, out = engine.run("swarm_join", join, verbosity=3)
        assert result["changed"] and result["actions"] == ["leave", "join"], out
        assert_no_secret(out, list(tokens_a.values()) + list(tokens_b.values()))
        assert engine.swarm()["RemoteManagers"][0]["Addr"] == "%s:2377" % e0.addr
        result, out = engine.run("swarm_join", join)
        assert result["changed"] is False, out


def test_swarm_node_labels_availability_role_and_info(sandbox_engines):
    e0, e1 = sandbox_engines(2).engines
    init(e0)
    e1.run("swarm_join", {"join_token": read_tokens(e0)["worker"], "remote_addrs": [e0.addr],
                          "advertise_addr": e1.addr})
    args = {"node": e1.hostname, "labels": {"zone": "a", "disk": "ssd"}, "availability": "pause"}

    result, out = e0.run("swarm_node", args, check=True, diff=True)
    assert result["changed"] and '+        "disk": "ssd",' in out, out
    assert e0.client().nodes(filters={"name": e1.hostname})[0]["Spec"].get("Labels") in (None, {})

    result, out = e0.run("swarm_node", args, diff=True)
    assert result["changed"] and result["node"]["status"] == "Ready", out
    assert result["node"]["availability"] == "Pause" and result["node"]["labels"]["zone"] == "a"
    result, out = e0.run("swarm_node", args)
    assert result["changed"] is False, out

    result, out = e0.run("swarm_node", {"node": e1.hostname, "labels": {"zone": "b"}, "labels_state": "replace"})
    assert result["changed"] and result["node"]["labels"] == {"zone": "b"}, out

    result, out = e1.run("swarm_node", {"node": e1.hostname})
    assert result.get("failed") and "must run on a swarm manager" in result["msg"], out
    result, out = e0.run("swarm_node", {"node": "no-such-node"})
    assert result.get("failed") and "no-such-node" in result["msg"], out

    result, out = e0.run("swarm_info", {})
    assert "join_tokens" not in result
    rows = {n["hostname"]: n for n in result["nodes"]}
    assert rows[e0.hostname]["manager_status"] == "Leader" and rows[e1.hostname]["manager_status"] == ""
    assert rows[e1.hostname]["engine_version"] == e1.client().version()["Version"]
    result, out = e1.run("swarm_info", {})
    assert result["role"] == "worker" and result["nodes"] == [], out


def test_swarm_node_sets_several_nodes_in_one_call(sandbox_engines):
    e0, e1, e2 = sandbox_engines(3).engines
    init(e0)
    tokens = read_tokens(e0)
    for engine in (e1, e2):
        engine.run("swarm_join", {"join_token": tokens["worker"], "remote_addrs": [e0.addr], "advertise_addr": engine.addr})
    args = {"nodes": [{"node": e0.hostname, "role": "manager"},
                      {"node": e1.hostname, "labels": {"zone": "a"}},
                      {"node": e2.hostname, "labels": {"zone": "b"}, "availability": "drain"}]}

    # Bad input: nothing changes, the error names the item (or the key).
    for bad, message in [
            (dict(args, nodes=args["nodes"] + [{"node": "no-such-node", "labels": {"zone": "c"}}]),
             "nodes[3]: node 'no-such-node' is not in this swarm"),
            (dict(args, nodes=args["nodes"] + [{"node": e1.swarm()["NodeID"]}]),
             "nodes[3]: node '%s' is the node of nodes[1]" % e1.swarm()["NodeID"]),
            (dict(args, node=e1.hostname), "mutually exclusive: node|nodes"),
            ({"nodes": [{"node": e1.hostname, "availability": "sleep"}]}, "availability"),
            ({"nodes": [{"labels": {"zone": "a"}}]}, "node"),
    ]:
        result, out = e0.run("swarm_node", bad)
        assert result.get("failed") and message in result["msg"], out
    assert all(not n["Spec"].get("Labels") for n in e0.client().nodes())

    result, out = e0.run("swarm_node", args, check=True, diff=True)
    assert result["changed"] and result["actions"] == ["update_node", "update_node"], out
    assert re.search(r'\+\s+"zone": "b"', out), out
    assert [r["actions"] for r in result["nodes"]] == [[], ["update_node"], ["update_node"]], out
    assert all(not n["Spec"].get("Labels") for n in e0.client().nodes())

    result, out = e0.run("swarm_node", args, diff=True)
    assert result["changed"], out
    rows = {r["node"]: r for r in result["nodes"]}
    assert [r["node"] for r in result["nodes"]] == [e0.hostname, e1.hostname, e2.hostname]
    assert all(r["status"] == "Ready" for r in rows.values()), out
    assert rows[e1.hostname]["labels"] == {"zone": "a"} and rows[e2.hostname]["availability"] == "Drain"
    nodes = {n["Description"]["Hostname"]: n["Spec"] for n in e0.client().nodes()}
    assert nodes[e2.hostname]["Labels"] == {"zone": "b"} and nodes[e2.hostname]["Availability"] == "drain"
    # The swarm as the changes left it, as swarm_info reports it (the role reads nothing more).
    info, out = e0.run("swarm_info", {})
    assert result["swarm"] == {k: info[k] for k in ("swarm_id", "manager_addrs", "nodes")}, out
    assert {n["hostname"]: n["labels"] for n in result["swarm"]["nodes"]}[e2.hostname] == {"zone": "b"}

    result, out = e0.run("swarm_node", args)
    assert result["changed"] is False and result["actions"] == [], out
    result, out = e0.run("swarm_node", args, check=True, diff=True)
    assert result["changed"] is False, out

    # Promotion through the list; the shared options (labels_state) apply to every item.
    result, out = e0.run("swarm_node", {"labels_state": "replace", "nodes": [
        {"node": e1.hostname, "role": "manager"}, {"node": e2.hostname, "labels": {}}]})
    assert result["changed"] and result["nodes"][0]["role"] == "manager", out
    nodes = {n["Description"]["Hostname"]: n["Spec"] for n in e0.client().nodes()}
    assert result["nodes"][1]["labels"] == {} and nodes[e2.hostname]["Labels"] == {}, out
    assert nodes[e1.hostname]["Role"] == "manager", out
