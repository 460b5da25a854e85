"""stack_plan.py: normalization, comparison, ordering, adoption and removals (no Docker)."""

from __future__ import annotations

import copy

from ansible_collections.swarmops.core.plugins.module_utils.compose import load
from ansible_collections.swarmops.core.plugins.module_utils.stack_convert import HMAC_LABEL, build
from ansible_collections.swarmops.core.plugins.module_utils.stack_plan import (
    make_plan,
    normalize,
    removal_plan,
)

PART3 = {
    "version": "3",
    "services": {"web": {
        "image": "app:1", "ports": ["4000:80"], "networks": ["webnet"],
        "deploy": {"replicas": 5, "resources": {"limits": {"cpus": "0.1", "memory": "50M"}},
                   "restart_policy": {"condition": "on-failure"}}}},
    "networks": {"webnet": None},
}


def desired_of(data, stack="st"):
    model, _ = load([data], {})
    return build(stack, model, content_key="unit-test-content-key")


def empty_current():
    return {"services": {}, "all_services": {}, "networks": {}, "all_networks": {}, "network_names": {},
            "secrets": {}, "all_secrets": {}, "configs": {}, "all_configs": {}}


def as_engine_stores_it(spec, net_ids):
    """What `docker service inspect` (without defaults) returns for a spec we sent."""
    spec = copy.deepcopy(spec)
    task = spec["TaskTemplate"]
    task["ContainerSpec"]["Isolation"] = "default"
    task["ContainerSpec"]["Privileges"] = {"CredentialSpec": None, "SELinuxContext": None}
    task["Runtime"] = "container"
    task["ForceUpdate"] = 0
    task["Placement"] = {}
    task["Resources"] = task.get("Resources", {})
    for net in task["Networks"]:
        net["Target"] = net_ids[net["Target"]]
    spec.setdefault("EndpointSpec", {})["Mode"] = "vip"
    if "RestartPolicy" in task:
        task["RestartPolicy"].setdefault("MaxAttempts", 0)
    return spec


def current_with(desired, stack="st"):
    cur = empty_current()
    for i, name in enumerate(sorted(desired["networks"])):
        net = {"Id": "net%d" % i, "Name": name, "Driver": "overlay", "Scope": "swarm",
               "Labels": {"com.docker.stack.namespace": stack}}
        cur["networks"][name] = cur["all_networks"][name] = net
        cur["network_names"][net["Id"]] = name
    ids = {v: k for k, v in cur["network_names"].items()}
    for i, (name, spec) in enumerate(sorted(desired["services"].items())):
        cur["services"][name] = {"ID": "svc%d" % i, "Version": {"Index": 10 + i},
                                 "Spec": as_engine_stores_it(spec, ids)}
    return cur


def test_first_deploy_creates_network_then_service():
    plan = make_plan(desired_of(PART3), empty_current())
    assert plan.summary() == [
        {"kind": "network", "name": "st_webnet", "action": "create"},
        {"kind": "service", "name": "st_web", "action": "create"},
    ]
    assert plan.changed


def test_same_spec_as_stored_by_the_engine_is_unchanged():
    desired = desired_of(PART3)
    plan = make_plan(desired, current_with(desired))
    assert not plan.changed
    assert plan.diff() == {"before": {}, "after": {}}


def test_replicas_change_is_one_update_with_before_after():
    desired = desired_of(PART3)
    current = current_with(desired)
    changed = copy.deepcopy(PART3)
    changed["services"]["web"]["deploy"]["replicas"] = 3
    plan = make_plan(desired_of(changed), current)
    assert [a for a in plan.summary() if a["action"] != "unchanged"] == [
        {"kind": "service", "name": "st_web", "action": "update"}]
    action = [a for a in plan.actions if a["action"] == "update"][0]
    assert action["version"] == 10 and action["id"] == "svc0"
    diff = plan.diff()
    assert diff["before"]["service/st_web"]["Mode"] == {"Replicated": {"Replicas": 5}}
    assert diff["after"]["service/st_web"]["Mode"] == {"Replicated": {"Replicas": 3}}
    assert diff["after"]["service/st_web"]["TaskTemplate"]["Networks"] == [{"Target": "st_webnet", "Aliases": ["web"]}]


def test_force_update_is_carried_over_and_not_compared():
    desired = desired_of(PART3)
    current = current_with(desired)
    current["services"]["st_web"]["Spec"]["TaskTemplate"]["ForceUpdate"] = 7
    assert not make_plan(desired, current).changed
    changed = copy.deepcopy(PART3)
    changed["services"]["web"]["image"] = "app:2"
    plan = make_plan(desired_of(changed), current)
    update = [a for a in plan.actions if a["action"] == "update"][0]
    assert update["body"]["TaskTemplate"]["ForceUpdate"] == 7


def test_normalize_drops_engine_defaults_and_zero_values():
    stored = {"Name": "x", "TaskTemplate": {
        "ContainerSpec": {"Image": "i", "Isolation": "default", "Privileges": {"CredentialSpec": None},
                          "Env": ["B=1", "A=2"], "Secrets": [{"SecretID": "abc", "SecretName": "s"}]},
        "Runtime": "container", "ForceUpdate": 3, "Placement": {}, "Resources": {},
        "RestartPolicy": {"Condition": "on-failure", "MaxAttempts": 0},
        "Networks": [{"Target": "id2"}, {"Target": "id1", "Aliases": ["b", "a"]}]},
        "EndpointSpec": {"Mode": "vip", "Ports": [{"Protocol": "tcp", "TargetPort": 80, "PublishMode": "ingress"}]},
        "UpdateConfig": {"Parallelism": 2, "FailureAction": "pause", "Order": "stop-first", "MaxFailureRatio": 0}}
    assert normalize(stored, {"id1": "net-a", "id2": "net-b"}) == {"Name": "x", "TaskTemplate": {
        "ContainerSpec": {"Image": "i", "Env": ["A=2", "B=1"], "Secrets": [{"SecretName": "s"}]},
        "RestartPolicy": {"Condition": "on-failure"},
        "Networks": [{"Target": "net-a", "Aliases": ["a", "b"]}, {"Target": "net-b"}]},
        "EndpointSpec": {"Ports": [{"TargetPort": 80}]},
        "UpdateConfig": {"Parallelism": 2}}


def test_non_default_values_still_differ():
    base = {"EndpointSpec": {"Mode": "vip"}, "UpdateConfig": {"FailureAction": "pause"}}
    other = {"EndpointSpec": {"Mode": "dnsrr"}, "UpdateConfig": {"FailureAction": "rollback"}}
    assert normalize(base) != normalize(other)
    assert normalize({"Mode": {"Replicated": {"Replicas": 0}}}) != normalize({"Mode": {"Replicated": {"Replicas": 1}}})


def test_resolve_image_changed_keeps_pinned_digest_when_label_matches():
    desired = desired_of(PART3)
    current = current_with(desired)
    current["services"]["st_web"]["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] = "app:1@sha256:" + "a" * 64
    for mode in ("changed", "never", "always"):
        assert not make_plan(desired, current, resolve_image=mode).changed
    # With a registry answering, "always" pins the new digest -> update.
    plan = make_plan(desired, current, resolve_image="always", digests={"app:1": "app:1@sha256:" + "b" * 64})
    assert [a["action"] for a in plan.actions if a["kind"] == "service"] == ["update"]


def test_prune_removes_dropped_service_and_its_network_only_with_prune():
    two = copy.deepcopy(PART3)
    two["services"]["extra"] = {"image": "x", "networks": ["extranet"]}
    two["networks"]["extranet"] = None
    current = current_with(desired_of(two))
    plan = make_plan(desired_of(PART3), current)
    assert not plan.changed
    plan = make_plan(desired_of(PART3), current, prune=True)
    assert [a for a in plan.summary() if a["action"] != "unchanged"] == [
        {"kind": "service", "name": "st_extra", "action": "remove"},
        {"kind": "network", "name": "st_extranet", "action": "remove"}]


def _with_config(tmp_path, content):
    (tmp_path / "c.conf").write_text(content)
    data = copy.deepcopy(PART3)
    data["services"]["web"]["configs"] = ["c"]
    data["configs"] = {"c": {"file": str(tmp_path / "c.conf")}}
    return desired_of(data)


def _stored_object(spec, ident):
    return {"ID": ident, "Version": {"Index": 1}, "Spec": copy.deepcopy(spec)}


def test_changed_config_rolls_out_and_old_one_is_removed(tmp_path):
    old = _with_config(tmp_path, "one")
    current = current_with(old)
    obj = old["configs"]["c"]
    current["configs"][obj["name"]] = current["all_configs"][obj["name"]] = _stored_object(obj["spec"], "cfg1")
    assert not make_plan(old, current).changed
    new = _with_config(tmp_path, "two")
    plan = make_plan(new, current)
    assert plan.summary() == [
        {"kind": "network", "name": "st_webnet", "action": "unchanged"},
        {"kind": "config", "name": new["configs"]["c"]["name"], "action": "create"},
        {"kind": "service", "name": "st_web", "action": "update"},
        {"kind": "config", "name": obj["name"], "action": "remove"},
    ]
    # the diff shows names and labels, never the content or its label
    assert plan.diff()["after"]["config/" + new["configs"]["c"]["name"]] == {
        "name": new["configs"]["c"]["name"],
        "labels": {"com.docker.stack.namespace": "st"}}


def test_config_created_by_the_cli_with_same_content_is_adopted(tmp_path):
    desired = _with_config(tmp_path, "one")
    cli_spec = {"Name": "st_c", "Labels": {"com.docker.stack.namespace": "st"},
                "Data": desired["configs"]["c"]["spec"]["Data"]}
    current = current_with(desired)
    spec = current["services"]["st_web"]["Spec"]["TaskTemplate"]["ContainerSpec"]
    for ref in spec["Configs"]:
        ref["ConfigName"], ref["ConfigID"] = "st_c", "cli1"
    current["configs"]["st_c"] = current["all_configs"]["st_c"] = _stored_object(cli_spec, "cli1")
    plan = make_plan(desired, current)
    assert not plan.changed, plan.summary()


def test_secret_data_never_in_plan_diff(tmp_path):
    (tmp_path / "pw").write_text("hunter2-plan")
    data = copy.deepcopy(PART3)
    data["services"]["web"]["secrets"] = ["pw"]
    data["secrets"] = {"pw": {"file": str(tmp_path / "pw")}}
    plan = make_plan(desired_of(data), empty_current())
    assert "hunter2" not in repr(plan.diff()) and "aHVudGVyMi" not in repr(plan.diff())
    assert "hunter2" not in repr(plan.summary())


def test_secret_in_use_by_a_kept_service_is_not_removed(tmp_path):
    (tmp_path / "pw").write_text("x")
    data = copy.deepcopy(PART3)
    data["services"]["old"] = {"image": "x", "secrets": ["pw"]}
    data["secrets"] = {"pw": {"file": str(tmp_path / "pw")}}
    before = desired_of(data)
    current = current_with(before)
    secret = before["secrets"]["pw"]
    current["secrets"][secret["name"]] = current["all_secrets"][secret["name"]] = _stored_object(secret["spec"], "s1")
    assert HMAC_LABEL in secret["spec"]["Labels"]
    plan = make_plan(desired_of(PART3), current)  # "old" dropped from the file, but no prune
    assert not plan.changed
    plan = make_plan(desired_of(PART3), current, prune=True)
    assert [a["kind"] + ":" + a["action"] for a in plan.actions if a["action"] != "unchanged"] == [
        "service:remove", "secret:remove", "network:remove"]  # st_default was used by "old" only


def test_external_objects_must_exist():
    data = {"services": {"a": {"image": "x", "networks": ["n"]}}, "networks": {"n": {"external": True}}}
    try:
        make_plan(desired_of(data), empty_current())
    except Exception as exc:
        assert "network 'n' is declared as external, but could not be found" in str(exc)
    else:
        raise AssertionError("no error")


def test_removal_order():
    desired = desired_of(PART3)
    current = current_with(desired)
    current["configs"]["st_c"] = {"ID": "c", "Spec": {"Name": "st_c", "Labels": {}}}
    plan = removal_plan(current)
    assert [(a["kind"], a["action"]) for a in plan.actions] == [
        ("service", "remove"), ("config", "remove"), ("network", "remove")]


def test_fields_an_older_engine_drops_are_not_sent_and_warned_about():
    data = {"services": {"a": {"image": "x", "oom_score_adj": 100, "cap_add": ["NET_ADMIN"],
                               "healthcheck": {"test": "true", "start_interval": "1s"}}}}
    desired = desired_of(data)
    plan = make_plan(desired, empty_current(), api_version="1.41")
    body = [a for a in plan.actions if a["kind"] == "service"][0]["body"]
    cs = body["TaskTemplate"]["ContainerSpec"]
    assert "OomScoreAdj" not in cs and "StartInterval" not in cs["Healthcheck"]
    assert cs["CapabilityAdd"] == ["CAP_NET_ADMIN"]
    assert len(plan.warnings) == 2 and "OomScoreAdj needs Engine API 1.46" in plan.warnings[1]
    newer = make_plan(desired, empty_current(), api_version="1.47")
    assert newer.warnings == []
