"""stack_convert.py: every supported compose key -> its Engine API field."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from ansible_collections.swarmops.core.plugins.module_utils.compose import load
from ansible_collections.swarmops.core.plugins.module_utils.stack_convert import build, name_problems

NS = "com.docker.stack.namespace"
KEY = "unit-test-content-key"


def convert(service, top=None, stack="st"):
    data = {"services": {"svc": dict({"image": "app:1"}, **service)}}
    data.update(top or {})
    model, _ = load([data], {"FROM_ENV": "env-value"}, project_dir="/srv/proj")
    return build(stack, model, content_key=KEY)


def spec_of(service, top=None):
    return convert(service, top)["services"]["st_svc"]


def cs(service, top=None):
    return spec_of(service, top)["TaskTemplate"]["ContainerSpec"]


def test_minimal_service_matches_docker_stack_deploy():
    spec = spec_of({})
    assert spec == {
        "Name": "st_svc",
        "Labels": {NS: "st", "com.docker.stack.image": "app:1"},
        "TaskTemplate": {
            "ContainerSpec": {"Image": "app:1", "Labels": {NS: "st"}},
            "Networks": [{"Target": "st_default", "Aliases": ["svc"]}],
        },
        "Mode": {"Replicated": {"Replicas": 1}},
    }
    assert convert({})["networks"] == {"st_default": {
        "Name": "st_default", "Driver": "overlay", "Labels": {NS: "st"}, "CheckDuplicate": True}}


# (compose service keys, ContainerSpec field, expected)
CONTAINER = [
    ({"command": "redis-server --appendonly yes"}, "Args", ["redis-server", "--appendonly", "yes"]),
    ({"command": ["a", "b c"]}, "Args", ["a", "b c"]),
    ({"entrypoint": "/bin/sh -c"}, "Command", ["/bin/sh", "-c"]),
    ({"environment": {"B": "2", "A": 1, "N": None}}, "Env", ["A=1", "B=2", "N"]),
    ({"environment": ["B=2", "A=1", "FROM_ENV"]}, "Env", ["A=1", "B=2", "FROM_ENV=env-value"]),
    ({"labels": {"a": "1"}}, "Labels", {"a": "1", NS: "st"}),
    ({"labels": ["a=1", "b"]}, "Labels", {"a": "1", "b": "", NS: "st"}),
    ({"hostname": "h"}, "Hostname", "h"),
    ({"user": "1000:1000"}, "User", "1000:1000"),
    ({"working_dir": "/app"}, "Dir", "/app"),
    ({"stop_grace_period": "1m30s"}, "StopGracePeriod", 90 * 10 ** 9),
    ({"stop_signal": "SIGINT"}, "StopSignal", "SIGINT"),
    ({"extra_hosts": ["db:10.0.0.2", "x=10.0.0.3"]}, "Hosts", ["10.0.0.2 db", "10.0.0.3 x"]),
    ({"extra_hosts": {"db": "10.0.0.2"}}, "Hosts", ["10.0.0.2 db"]),
    ({"dns": "1.1.1.1", "dns_search": "example"}, "DNSConfig", {"Nameservers": ["1.1.1.1"], "Search": ["example"]}),
    ({"cap_add": ["net_admin", "CAP_SYS_TIME"], "cap_drop": ["MKNOD", "net_admin"]}, "CapabilityAdd",
     ["CAP_NET_ADMIN", "CAP_SYS_TIME"]),
    ({"cap_add": ["net_admin"], "cap_drop": ["MKNOD", "net_admin"]}, "CapabilityDrop", ["CAP_MKNOD"]),
    ({"sysctls": ["net.core.somaxconn=1024"]}, "Sysctls", {"net.core.somaxconn": "1024"}),
    ({"sysctls": {"net.core.somaxconn": 1024}}, "Sysctls", {"net.core.somaxconn": "1024"}),
    ({"init": True}, "Init", True),
    ({"read_only": True}, "ReadOnly", True),
    ({"tty": True}, "TTY", True),
    ({"stdin_open": True}, "OpenStdin", True),
    ({"ulimits": {"nproc": 100, "nofile": {"soft": 1, "hard": 2}}}, "Ulimits",
     [{"Name": "nofile", "Soft": 1, "Hard": 2}, {"Name": "nproc", "Soft": 100, "Hard": 100}]),
    ({"healthcheck": {"test": "curl -f localhost", "interval": "10s", "timeout": "2s", "retries": 3,
                      "start_period": "1m", "start_interval": "1s"}}, "Healthcheck",
     {"Test": ["CMD-SHELL", "curl -f localhost"], "Interval": 10 ** 10, "Timeout": 2 * 10 ** 9, "Retries": 3,
      "StartPeriod": 60 * 10 ** 9, "StartInterval": 10 ** 9}),
    ({"healthcheck": {"disable": True}}, "Healthcheck", {"Test": ["NONE"]}),
    ({"tmpfs": ["/run", "/tmp:size=1m,mode=1777"]}, "Mounts",
     [{"Type": "tmpfs", "Target": "/run"},
      {"Type": "tmpfs", "Target": "/tmp", "TmpfsOptions": {"SizeBytes": 1024 ** 2, "Mode": 0o1777}}]),
]


@pytest.mark.parametrize("service, field, expected", CONTAINER, ids=[c[1] + ":" + str(list(c[0])) for c in CONTAINER])
def test_container_keys(service, field, expected):
    assert cs(service)[field] == expected


def test_logging():
    spec = spec_of({"logging": {"driver": "json-file", "options": {"max-size": "10m"}}})
    assert spec["TaskTemplate"]["LogDriver"] == {"Name": "json-file", "Options": {"max-size": "10m"}}


DEPLOY = [
    ({"replicas": 5}, "Mode", {"Replicated": {"Replicas": 5}}),
    ({"mode": "global"}, "Mode", {"Global": {}}),
    ({"mode": "replicated-job", "replicas": 3}, "Mode", {"ReplicatedJob": {"MaxConcurrent": 3, "TotalCompletions": 3}}),
    ({"mode": "global-job"}, "Mode", {"GlobalJob": {}}),
    ({"labels": {"tier": "front"}}, "Labels", {"tier": "front", NS: "st", "com.docker.stack.image": "app:1"}),
    ({"endpoint_mode": "dnsrr"}, "EndpointSpec", {"Mode": "dnsrr"}),
    ({"update_config": {"delay": "10s", "failure_action": "rollback", "monitor": "1m",
                        "max_failure_ratio": 0.5, "order": "start-first"}}, "UpdateConfig",
     {"Parallelism": 1, "Delay": 10 ** 10, "FailureAction": "rollback", "Monitor": 60 * 10 ** 9,
      "MaxFailureRatio": 0.5, "Order": "start-first"}),
    ({"rollback_config": {"parallelism": 0}}, "RollbackConfig", {"Parallelism": 0}),
]


@pytest.mark.parametrize("deploy, field, expected", DEPLOY, ids=[str(list(d[0])) for d in DEPLOY])
def test_deploy_keys(deploy, field, expected):
    assert spec_of({"deploy": deploy})[field] == expected


def test_resources_restart_placement():
    task = spec_of({"deploy": {
        "resources": {"limits": {"cpus": "0.1", "memory": "50M", "pids": 10},
                      "reservations": {"cpus": 0.5, "memory": "1g",
                                       "generic_resources": [{"discrete_resource_spec": {"kind": "gpu", "value": 2}}]}},
        "restart_policy": {"condition": "on-failure", "delay": "5s", "max_attempts": 3, "window": "2m"},
        "placement": {"constraints": ["node.role == manager"], "preferences": [{"spread": "node.labels.zone"}],
                      "max_replicas_per_node": 2},
    }})["TaskTemplate"]
    assert task["Resources"] == {
        "Limits": {"NanoCPUs": 10 ** 8, "MemoryBytes": 50 * 1024 ** 2, "Pids": 10},
        "Reservations": {"NanoCPUs": 5 * 10 ** 8, "MemoryBytes": 1024 ** 3,
                         "GenericResources": [{"DiscreteResourceSpec": {"Kind": "gpu", "Value": 2}}]}}
    assert task["RestartPolicy"] == {"Condition": "on-failure", "Delay": 5 * 10 ** 9, "MaxAttempts": 3,
                                     "Window": 120 * 10 ** 9}
    assert task["Placement"] == {"Constraints": ["node.role == manager"],
                                 "Preferences": [{"Spread": {"SpreadDescriptor": "node.labels.zone"}}],
                                 "MaxReplicas": 2}


@pytest.mark.parametrize("restart, policy", [
    ("always", {"Condition": "any"}), ("unless-stopped", {"Condition": "any"}),
    ("on-failure:3", {"Condition": "on-failure", "MaxAttempts": 3}), ("no", None)])
def test_legacy_restart_key(restart, policy):
    assert spec_of({"restart": restart})["TaskTemplate"].get("RestartPolicy") == policy


def test_ports_short_and_long_sorted():
    spec = spec_of({"ports": ["4000:80", {"target": 53, "published": 53, "protocol": "udp", "mode": "host"}, "9000"]})
    assert spec["EndpointSpec"]["Ports"] == [
        {"Protocol": "tcp", "TargetPort": 9000, "PublishedPort": 0, "PublishMode": "ingress"},
        {"Protocol": "udp", "TargetPort": 53, "PublishedPort": 53, "PublishMode": "host"},
        {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 4000, "PublishMode": "ingress"},
    ]


def test_networks_list_map_aliases_and_top_level():
    desired = convert(
        {"networks": {"back": {"aliases": ["db"]}, "front": None, "ext": {}}},
        {"networks": {"back": {"driver": "overlay", "attachable": True, "driver_opts": {"encrypted": ""},
                               "labels": {"l": "1"}, "ipam": {"driver": "default", "config": [{"subnet": "10.9.0.0/24"}]}},
                      "front": {"name": "custom-front", "internal": True},
                      "ext": {"external": True, "name": "shared-net"}}})
    assert desired["services"]["st_svc"]["TaskTemplate"]["Networks"] == [
        {"Target": "custom-front", "Aliases": ["svc"]},
        {"Target": "shared-net", "Aliases": ["svc"]},
        {"Target": "st_back", "Aliases": ["db", "svc"]},
    ]
    assert desired["networks"]["st_back"] == {
        "Name": "st_back", "Driver": "overlay", "Labels": {"l": "1", NS: "st"}, "CheckDuplicate": True,
        "Options": {"encrypted": ""}, "Attachable": True,
        "IPAM": {"Driver": "default", "Config": [{"Subnet": "10.9.0.0/24"}]}}
    assert desired["networks"]["custom-front"]["Internal"] is True
    assert desired["external_networks"] == ["shared-net"]
    assert "st_default" not in desired["networks"]


def test_mounts():
    mounts = cs({"volumes": [
        "data:/data", "/host:/in:ro", "./rel:/rel", "/anon",
        {"type": "volume", "source": "ext", "target": "/ext", "volume": {"nocopy": True}},
        {"type": "tmpfs", "target": "/t", "tmpfs": {"size": 1024}},
        {"type": "bind", "source": "/b", "target": "/b", "bind": {"propagation": "rslave"}},
    ]}, {"volumes": {"data": {"driver": "local", "driver_opts": {"type": "tmpfs"}, "labels": {"v": "1"}},
                     "ext": {"external": True, "name": "shared-vol"}}})["Mounts"]
    assert mounts == [
        {"Type": "volume", "Target": "/data", "Source": "st_data", "VolumeOptions": {
            "Labels": {"v": "1", NS: "st"}, "DriverConfig": {"Name": "local", "Options": {"type": "tmpfs"}}}},
        {"Type": "bind", "Target": "/in", "Source": "/host", "ReadOnly": True},
        {"Type": "bind", "Target": "/rel", "Source": "/srv/proj/rel"},
        {"Type": "volume", "Target": "/anon"},
        {"Type": "volume", "Target": "/ext", "Source": "shared-vol", "VolumeOptions": {"NoCopy": True}},
        {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1024}},
        {"Type": "bind", "Target": "/b", "Source": "/b", "BindOptions": {"Propagation": "rslave"}},
    ]


def test_secrets_and_configs_are_content_addressed(tmp_path):
    (tmp_path / "pw").write_bytes(b"s3cret")
    (tmp_path / "conf").write_bytes(b"conf")
    desired = convert(
        {"secrets": ["pw", {"source": "pw", "target": "other", "uid": "1", "gid": "2", "mode": "0400"}],
         "configs": [{"source": "conf", "target": "/etc/app.conf"}, "named", "ext"]},
        {"secrets": {"pw": {"file": str(tmp_path / "pw"), "labels": {"x": "y"}}},
         "configs": {"conf": {"file": str(tmp_path / "conf")}, "named": {"content": "inline", "name": "fixed"},
                     "ext": {"external": True}}})
    digest = hmac.new(KEY.encode(), b"s3cret", hashlib.sha256).hexdigest()
    secret = desired["secrets"]["pw"]
    assert secret["name"] == "st_pw_" + digest[:12]
    assert secret["spec"]["Labels"] == {"x": "y", NS: "st", "io.swarmops.stack.content-hmac": digest}
    assert base64.b64decode(secret["spec"]["Data"]) == b"s3cret"
    assert desired["configs"]["named"]["name"] == "fixed"
    assert desired["configs"]["ext"] == {"name": "ext", "external": True}
    refs = desired["services"]["st_svc"]["TaskTemplate"]["ContainerSpec"]
    assert refs["Secrets"] == [
        {"File": {"Name": "pw", "UID": "0", "GID": "0", "Mode": 0o444}, "SecretName": secret["name"]},
        {"File": {"Name": "other", "UID": "1", "GID": "2", "Mode": 0o400}, "SecretName": secret["name"]}]
    assert [r["ConfigName"] for r in refs["Configs"]] == ["ext", "fixed", desired["configs"]["conf"]["name"]]
    assert refs["Configs"][2]["File"]["Name"] == "/etc/app.conf"


def test_changed_content_changes_the_name(tmp_path):
    path = tmp_path / "conf"
    path.write_text("one")
    top = {"configs": {"c": {"file": str(path)}}}
    first = convert({"configs": ["c"]}, top)["configs"]["c"]["name"]
    path.write_text("two")
    assert convert({"configs": ["c"]}, top)["configs"]["c"]["name"] != first


@pytest.mark.parametrize("stack, service, problem", [
    ("getstartedlab", "web", None),
    ("my_stack-1", "db_2", None),
    ("bad stack", "web", "invalid stack name"),
    ("", "web", "invalid stack name"),
    ("st", "x" * 70, "is invalid for swarm"),
    ("st", "web.1", "is invalid for swarm"),
])
def test_names_the_engine_would_reject(stack, service, problem):
    model, _ = load([{"services": {service: {"image": "x"}}}])
    problems = name_problems(stack, model)
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0]
