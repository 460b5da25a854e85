"""stack_deploy end to end against a fake engine at the client boundary.

Drives only module_utils/stack.deploy(), as plugins/modules/stack_deploy.py calls it, with a
small in-memory engine that offers the docker.APIClient surface the stack pipeline uses
(info, services, networks, secrets, configs, tasks, nodes, create_network, inspect_*, remove_*)
and the public surface docker_client.post_json sends the raw calls through (base_url,
api_version, timeout, post). The engine marks each created or updated service's tasks running,
or rejected for an image in ``missing``, or leaves them pending for an image in ``slow``.
The assertions are on the writes the engine saw and on deploy()'s result, so they hold however
the pipeline is arranged inside.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
import requests

docker = pytest.importorskip("docker")

from ansible_collections.swarmops.core.plugins.module_utils import stack  # noqa: E402

NS = "com.docker.stack.namespace"
KEY = "fake-engine-content-key-0123456789"
HMAC_LABEL = "io.swarmops.stack.content-hmac"
OLD_HMAC_LABEL = "com.swarmops.stack.content-hmac"


class FakeEngine:
    """An in-memory single-node swarm manager; ``writes`` lists every change asked of it."""

    base_url = "http+docker://fake"
    api_version = "1.41"
    timeout = 60

    def __init__(self, missing=(), slow=()):
        self.missing, self.slow = set(missing), set(slow)
        self.services_, self.networks_, self.secrets_, self.configs_ = {}, {}, {}, {}
        self.tasks_ = []
        self.writes = []
        self._ids = itertools.count(1)
        self._index = itertools.count(10)
        self._clock = datetime(2026, 1, 1, tzinfo=timezone.utc)

    # ------------------------------------------------------------ helpers
    def _now(self):
        self._clock += timedelta(minutes=1)  # every write a minute later: older tasks are never "since"
        return self._clock.strftime("%Y-%m-%dT%H:%M:%S.%f000Z")

    def _new_id(self, prefix):
        return "%s%d" % (prefix, next(self._ids))

    @staticmethod
    def _labelled(items, labels_of, filters):
        if not filters or "label" not in filters:
            return [copy.deepcopy(i) for i in items]
        key, _, value = filters["label"].partition("=")
        return [copy.deepcopy(i) for i in items if (labels_of(i) or {}).get(key) == value]

    def _start_tasks(self, svc):
        for task in self.tasks_:
            if task["ServiceID"] == svc["ID"]:
                task["DesiredState"] = "shutdown"
        spec = svc["Spec"]
        image = spec["TaskTemplate"]["ContainerSpec"]["Image"]
        replicas = spec.get("Mode", {}).get("Replicated", {}).get("Replicas", 1)
        state, err = "running", None
        if image in self.missing:
            state, err = "rejected", "No such image: %s" % image
        elif image in self.slow:
            state = "preparing"
        for slot in range(1, replicas + 1):
            self.tasks_.append({"ID": self._new_id("task"), "ServiceID": svc["ID"], "NodeID": "node1",
                                "Slot": slot, "CreatedAt": svc["UpdatedAt"], "DesiredState": "running",
                                "Version": {"Index": next(self._index)},
                                "Status": {"State": state, "Err": err}})

    # ------------------------------------------------------------ reads (docker.APIClient's names)
    def info(self):
        return {"Swarm": {"LocalNodeState": "active", "ControlAvailable": True}}

    def nodes(self):
        return [{"ID": "node1", "Description": {"Hostname": "fake-node"}}]

    def services(self, filters=None):
        return self._labelled(self.services_.values(), lambda s: s["Spec"].get("Labels"), filters)

    def networks(self, filters=None):
        return self._labelled(self.networks_.values(), lambda n: n.get("Labels"), filters)

    def secrets(self, filters=None):
        # The engine never returns a secret's data.
        found = self._labelled(self.secrets_.values(), lambda s: s["Spec"].get("Labels"), filters)
        for secret in found:
            secret["Spec"].pop("Data", None)
        return found

    def configs(self, filters=None):
        return self._labelled(self.configs_.values(), lambda c: c["Spec"].get("Labels"), filters)

    def tasks(self, filters=None):
        service = (filters or {}).get("service")
        return [copy.deepcopy(t) for t in self.tasks_ if service in (None, t["ServiceID"])]

    def inspect_service(self, ident):
        if ident not in self.services_:
            raise docker.errors.NotFound("service %s not found" % ident)
        return copy.deepcopy(self.services_[ident])

    def inspect_network(self, ident):
        if ident not in self.networks_:
            raise docker.errors.NotFound("network %s not found" % ident)
        return copy.deepcopy(self.networks_[ident])

    def inspect_distribution(self, image, auth_config=None):
        raise docker.errors.APIError("no registry in a unit test")

    # ------------------------------------------------------------ writes through the SDK
    def create_network(self, name, **kwargs):
        self.writes.append(("create_network", name))
        ident = self._new_id("net")
        self.networks_[ident] = {"Id": ident, "Name": name, "Labels": kwargs.get("labels"), "Scope": "swarm",
                                 "Driver": kwargs.get("driver"), "Attachable": kwargs.get("attachable")}

    def _remove(self, kind, store, ident):
        self.writes.append(("remove_" + kind, ident))
        if ident not in store:
            raise docker.errors.NotFound("%s %s not found" % (kind, ident))
        del store[ident]

    def remove_service(self, ident):
        self._remove("service", self.services_, ident)
        self.tasks_ = [t for t in self.tasks_ if t["ServiceID"] != ident]

    def remove_network(self, ident):
        self._remove("network", self.networks_, ident)

    def remove_secret(self, ident):
        self._remove("secret", self.secrets_, ident)

    def remove_config(self, ident):
        self._remove("config", self.configs_, ident)

    # ------------------------------------------------------------ raw calls (docker_client.post_json)
    def post(self, url, data=None, params=None, headers=None, timeout=None):
        path = url[len("%s/v%s" % (self.base_url, self.api_version)):]
        body = json.loads(data)
        self.writes.append(("POST", path, dict(params or {}), body))
        status, answer = self._route(path, body, params or {})
        response = requests.Response()
        response.status_code, response.url = status, url
        response._content = json.dumps(answer).encode()
        return response

    def _route(self, path, body, params):
        match = re.fullmatch(r"/(services|secrets|configs)/(create|([^/]+)/update)", path)
        if not match:
            return 404, {"message": "page not found"}
        kind, ident = match.group(1), match.group(3)
        store = {"services": self.services_, "secrets": self.secrets_, "configs": self.configs_}[kind]
        if ident is None:
            ident = self._new_id(kind[:3])
            store[ident] = {"ID": ident, "Version": {"Index": next(self._index)}, "Spec": body}
            if kind == "services":
                self._created_service(store[ident])
            return 201, {"ID": ident}
        current = store.get(ident)
        if current is None:
            return 404, {"message": "%s %s not found" % (kind, ident)}
        if int(params["version"]) != current["Version"]["Index"]:
            return 500, {"message": "rpc error: code = Unknown desc = update out of sequence"}
        current["Version"]["Index"] = next(self._index)
        if kind != "services":
            current["Spec"]["Labels"] = body["Labels"]  # swarm lets only the labels of these change
            return 200, {}
        self._updated_service(current, body, params.get("rollback") == "previous")
        return 200, {"Warnings": None}

    def _created_service(self, svc):
        svc["CreatedAt"] = svc["UpdatedAt"] = self._now()
        svc["Endpoint"] = {"Ports": (svc["Spec"].get("EndpointSpec") or {}).get("Ports") or []}
        self._start_tasks(svc)

    def _updated_service(self, svc, body, rollback):
        new_spec = svc["PreviousSpec"] if rollback else body
        svc["PreviousSpec"], svc["Spec"] = svc["Spec"], new_spec
        svc["UpdatedAt"] = self._now()
        state = "rollback_completed" if rollback else "completed"
        svc["UpdateStatus"] = {"State": state, "StartedAt": svc["UpdatedAt"]}
        if svc["PreviousSpec"]["TaskTemplate"] != new_spec["TaskTemplate"]:
            self._start_tasks(svc)
        if new_spec["TaskTemplate"]["ContainerSpec"]["Image"] in self.missing | self.slow:
            svc["UpdateStatus"]["State"] = "updating"


# ---------------------------------------------------------------- helpers


def web(image="app:1", replicas=1, **extra):
    service = {"image": image, "deploy": {"replicas": replicas}, "networks": ["front"]}
    service.update(extra)
    return service


def compose(**services):
    return {"services": services or {"web": web()}, "networks": {"front": {}}}


def with_files():
    model = compose(web=web(secrets=["pw"], configs=[{"source": "conf", "target": "/app.conf"}]))
    model["secrets"] = {"pw": {"environment": "PW"}}
    model["configs"] = {"conf": {"content": "listen 80\n"}}
    return model


def params(model, **extra):
    base = {"name": "st", "compose": [model], "content_key": KEY, "resolve_image": "never", "wait": True,
            "wait_timeout": 30, "rollback": False, "prune": False, "env": {"PW": "hunter2-fake"}, "_diff": True}
    base.update(extra)
    return base


def run(engine, model, check_mode=False, **extra):
    return stack.deploy(engine, params(model, **extra), check_mode)


def verbs(result):
    return [(a["kind"], a["name"], a["action"]) for a in result["actions"] if a["action"] != "unchanged"]


def posts(engine, since=0):
    return [(w[1], w[2]) for w in engine.writes[since:] if w[0] == "POST"]


def web_service(engine):
    (svc,) = [s for s in engine.services_.values() if s["Spec"]["Name"] == "st_web"]
    return svc


# ---------------------------------------------------------------- tests


def test_create_from_nothing_in_order_with_the_ids_filled_in():
    engine = FakeEngine()
    result = run(engine, with_files())
    assert result["changed"] is True and result["stack"] == "st"
    assert [(k, a) for k, _n, a in verbs(result)] == [
        ("network", "create"), ("secret", "create"), ("config", "create"), ("service", "create")]
    assert [w[:2] for w in engine.writes] == [
        ("create_network", "st_front"), ("POST", "/secrets/create"), ("POST", "/configs/create"),
        ("POST", "/services/create")]
    spec = web_service(engine)["Spec"]
    assert spec["Labels"][NS] == "st" and spec["TaskTemplate"]["ContainerSpec"]["Image"] == "app:1"
    (secret,) = engine.secrets_.values()
    (ref,) = spec["TaskTemplate"]["ContainerSpec"]["Secrets"]
    assert ref["SecretID"] == secret["ID"] and ref["SecretName"] == secret["Spec"]["Name"]
    assert secret["Spec"]["Labels"][HMAC_LABEL] and OLD_HMAC_LABEL not in secret["Spec"]["Labels"]
    assert "hunter2-fake" not in json.dumps(result)


def test_second_run_writes_nothing():
    engine = FakeEngine()
    run(engine, with_files())
    before = len(engine.writes)
    result = run(engine, with_files())
    assert result["changed"] is False and verbs(result) == []
    assert engine.writes[before:] == []


def test_check_mode_writes_nothing_and_predicts_the_run():
    engine = FakeEngine()
    predicted = run(engine, with_files(), check_mode=True)
    assert engine.writes == [] and predicted["changed"] is True
    assert verbs(run(engine, with_files())) == verbs(predicted)


def test_a_changed_spec_is_one_versioned_update():
    engine = FakeEngine()
    run(engine, compose())
    version = web_service(engine)["Version"]["Index"]
    before = len(engine.writes)
    result = run(engine, compose(web=web(image="app:2", replicas=2)))
    assert verbs(result) == [("service", "st_web", "update")]
    (path, query), = posts(engine, before)
    assert path == "/services/%s/update" % web_service(engine)["ID"] and query == {"version": version}
    spec = web_service(engine)["Spec"]
    assert spec["TaskTemplate"]["ContainerSpec"]["Image"] == "app:2" and spec["Mode"]["Replicated"]["Replicas"] == 2
    after = result["diff"]["after"]["service/st_web"]
    assert after["TaskTemplate"]["ContainerSpec"]["Image"] == "app:2"
    assert result["diff"]["before"]["service/st_web"]["TaskTemplate"]["ContainerSpec"]["Image"] == "app:1"
    assert run(engine, compose(web=web(image="app:2", replicas=2)))["changed"] is False


def test_a_failed_update_is_rolled_back_when_asked():
    engine = FakeEngine(missing={"gone:1"})
    run(engine, compose())
    before = len(engine.writes)
    with pytest.raises(stack.SwarmOpsError) as err:
        run(engine, compose(web=web(image="gone:1")), rollback=True)
    message = str(err.value)
    assert "st_web: rejected on node fake-node: No such image: gone:1" in message
    assert "Rolled back: st_web (previous spec)" in message
    assert err.value.details["rollback"] == [{"name": "st_web", "rollback": "previous spec"}]
    assert err.value.details["changed"] is True
    queries = [q for _p, q in posts(engine, before)]
    assert len(queries) == 2 and "rollback" not in queries[0] and queries[1]["rollback"] == "previous"
    assert web_service(engine)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == "app:1"


def test_a_failed_update_stays_without_rollback():
    engine = FakeEngine(missing={"gone:1"})
    run(engine, compose())
    before = len(engine.writes)
    with pytest.raises(stack.SwarmOpsError, match="No such image") as err:
        run(engine, compose(web=web(image="gone:1")))
    assert "Rolled back" not in str(err.value) and err.value.details["rollback"] == []
    assert len(posts(engine, before)) == 1
    assert web_service(engine)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == "gone:1"


def test_a_failed_create_is_removed_by_the_rollback():
    engine = FakeEngine(missing={"gone:1"})
    with pytest.raises(stack.SwarmOpsError, match=r"Rolled back: st_web \(removed\)"):
        run(engine, compose(web=web(image="gone:1")), rollback=True)
    assert engine.services_ == {} and engine.writes[-1][0] == "remove_service"


def test_wait_timeout_is_a_clear_error():
    engine = FakeEngine(slow={"slow:1"})
    with pytest.raises(stack.SwarmOpsError) as err:
        run(engine, compose(web=web(image="slow:1")), wait_timeout=1)
    assert "Services did not reach their new spec: st_web: timeout on node -: not converged within 1s" == str(
        err.value)
    assert err.value.details["failures"] == {"st_web": [
        {"node": "-", "task": "-", "state": "timeout", "error": "not converged within 1s"}]}


def test_without_wait_nothing_is_awaited():
    engine = FakeEngine(slow={"slow:1"})
    result = run(engine, compose(web=web(image="slow:1")), wait=False, wait_timeout=1)
    assert result["changed"] is True and verbs(result)[-1] == ("service", "st_web", "create")


def test_prune_removes_a_service_no_longer_in_the_compose():
    engine = FakeEngine()
    run(engine, compose(web=web(), worker=web(image="worker:1")))
    worker_id = [s["ID"] for s in engine.services_.values() if s["Spec"]["Name"] == "st_worker"][0]
    before = len(engine.writes)
    kept = run(engine, compose())
    assert kept["changed"] is False and engine.writes[before:] == []
    pruned = run(engine, compose(), prune=True)
    assert verbs(pruned) == [("service", "st_worker", "remove")]
    assert engine.writes[before:] == [("remove_service", worker_id)]
    assert sorted(s["Spec"]["Name"] for s in engine.services_.values()) == ["st_web"]


def test_a_changed_secret_rolls_out_and_the_old_one_goes_after_the_wait():
    engine = FakeEngine()
    run(engine, with_files())
    (old_id,) = engine.secrets_
    result = run(engine, with_files(), env={"PW": "another-fake-pw"})
    assert [(k, a) for k, _n, a in verbs(result)] == [
        ("secret", "create"), ("service", "update"), ("secret", "remove")]
    assert engine.writes[-1] == ("remove_secret", old_id)
    (new,) = engine.secrets_.values()
    (ref,) = web_service(engine)["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]
    assert ref["SecretID"] == new["ID"]


def test_state_absent_removes_services_then_files_then_networks():
    engine = FakeEngine()
    run(engine, with_files())
    before = len(engine.writes)
    result = stack.deploy(engine, {"name": "st", "state": "absent", "wait_timeout": 5, "_diff": True})
    assert [(k, a) for k, _n, a in verbs(result)] == [
        ("service", "remove"), ("config", "remove"), ("secret", "remove"), ("network", "remove")]
    assert [w[0] for w in engine.writes[before:]] == [
        "remove_service", "remove_config", "remove_secret", "remove_network"]
    assert not (engine.services_ or engine.secrets_ or engine.configs_ or engine.networks_)


def test_the_old_content_label_is_moved_once_without_touching_the_service():
    engine = FakeEngine()
    run(engine, with_files())
    for obj in list(engine.secrets_.values()) + list(engine.configs_.values()):
        labels = obj["Spec"]["Labels"]
        labels[OLD_HMAC_LABEL] = labels.pop(HMAC_LABEL)  # as an earlier build labelled them
    service_version = web_service(engine)["Version"]["Index"]
    before = len(engine.writes)
    result = run(engine, with_files())
    assert result["changed"] is True
    assert [(k, a) for k, _n, a in verbs(result)] == [("secret", "update"), ("config", "update")]
    assert sorted(p.split("/")[1] for p, _q in posts(engine, before)) == ["configs", "secrets"]
    for obj in list(engine.secrets_.values()) + list(engine.configs_.values()):
        assert OLD_HMAC_LABEL not in obj["Spec"]["Labels"] and obj["Spec"]["Labels"][HMAC_LABEL]
    assert web_service(engine)["Version"]["Index"] == service_version
    assert result["diff"]["after"]["secret/" + verbs(result)[0][1]] == {
        "name": verbs(result)[0][1], "labels": {NS: "st"}, "content_label": HMAC_LABEL}
    before = len(engine.writes)
    assert run(engine, with_files())["changed"] is False and engine.writes[before:] == []
