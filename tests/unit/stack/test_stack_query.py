"""Pure rows of module_utils/stack_query.py (stack_info, stack_task_info), without Docker."""

from __future__ import annotations

from ansible_collections.swarmops.core.plugins.module_utils.stack_query import (
    stack_rows,
    task_filters,
    task_row,
)

NS = "com.docker.stack.namespace"


def service(sid, name, stack, mode, status=None, ports=()):
    svc = {"ID": sid, "Spec": {"Name": name, "Labels": {NS: stack} if stack else {}, "Mode": mode,
                               "TaskTemplate": {"ContainerSpec": {"Image": "img:1"}}},
           "Endpoint": {"Ports": list(ports)}}
    if status is not None:
        svc["ServiceStatus"] = status
    return svc


def test_stack_rows_group_by_namespace_and_count_replicas():
    services = [
        service("s2", "b_web", "b", {"Replicated": {"Replicas": 3}},
                ports=[{"PublishedPort": 4000, "TargetPort": 80, "Protocol": "tcp", "PublishMode": "ingress"}]),
        service("s1", "a_agent", "a", {"Global": {}}, status={"RunningTasks": 2, "DesiredTasks": 2}),
        service("s3", "loose", None, {"Replicated": {"Replicas": 1}}),
        service("s4", "b_db", "b", {"Replicated": {"Replicas": 1}},
                ports=[{"PublishedPort": 6379, "TargetPort": 6379, "Protocol": "tcp", "PublishMode": "host"}]),
    ]
    rows = stack_rows(services, {"s2": 1})
    assert [(r["name"], r["service_count"]) for r in rows] == [("a", 1), ("b", 2)]
    assert rows[0]["services"][0]["replicas"] == "2/2" and rows[0]["services"][0]["mode"] == "global"
    db, web = rows[1]["services"]
    assert (web["name"], web["replicas"], web["ports"]) == ("b_web", "1/3", ["*:4000->80/tcp"])
    assert (db["replicas"], db["ports"]) == ("0/1", [])  # host mode: shown per task, not per service


def test_task_row_names_like_docker_stack_ps():
    host_port = {"PublishedPort": 6379, "TargetPort": 6379, "Protocol": "tcp", "PublishMode": "host"}
    status = {"State": "failed", "Err": "task: non-zero exit (1)", "Timestamp": "2026-01-01T00:00:00Z",
              "PortStatus": {"Ports": [host_port]}, "ContainerStatus": {"ContainerID": "c1"}}
    base = {"ServiceID": "s1", "NodeID": "n1", "DesiredState": "running",
            "Spec": {"ContainerSpec": {"Image": "img:1"}}, "Status": status}
    replicated = task_row(dict(base, ID="t1", Slot=2), {"s1": "app_web"}, {"n1": "node1"})
    assert (replicated["name"], replicated["node"], replicated["error"]) == \
           ("app_web.2", "node1", "task: non-zero exit (1)")
    assert replicated["state"] == "failed" and replicated["container_id"] == "c1"
    assert replicated["ports"] == ["*:6379->6379/tcp"]
    global_task = task_row(dict(base, ID="t2"), {"s1": "app_agent"}, {})
    assert global_task["name"] == "app_agent.n1" and global_task["slot"] is None and global_task["node"] == ""


def test_task_filters_map_options_to_engine_names():
    assert task_filters("app", {"desired_state": ["running"], "node": ["node1"], "id": None}) == {
        "label": ["%s=app" % NS], "desired-state": ["running"], "node": ["node1"]}
    assert task_filters("app", None) == {"label": ["%s=app" % NS]}
