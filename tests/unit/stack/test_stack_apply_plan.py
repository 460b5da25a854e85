"""stack_apply.apply_plan against a fake at the client boundary: it carries out the plan through
its step table, returns what it did (Applied) and never writes into the plan; wait_for and
rollback work from what apply returned."""

from __future__ import annotations

import copy
import json
import threading
from datetime import datetime, timezone

import pytest
import requests

pytest.importorskip("docker")

from ansible_collections.swarmops.core.plugins.module_utils import stack_apply, stack_current  # noqa: E402
from ansible_collections.swarmops.core.plugins.module_utils.stack_plan import make_plan  # noqa: E402

from test_stack_plan import empty_current  # noqa: E402
from test_stack_secrets import _deployed, _stack  # noqa: E402

CREATED = "2026-12-02T12:00:00.123456789Z"


class FakeEngine:
    """The client surface apply/wait/rollback use; POST answers by path."""

    base_url = "http+docker://localhost"
    api_version = "1.41"
    timeout = 60

    def __init__(self, answers):
        self.answers = answers  # path -> JSON answer
        self.posts, self.networks, self.removed = [], [], []

    def post(self, url, data=None, params=None, headers=None, timeout=None):
        path = url.split("/v1.41", 1)[1]
        self.posts.append({"path": path, "body": json.loads(data), "params": params})
        response = requests.Response()
        response.status_code, response.url = 200, url
        response._content = json.dumps(self.answers[path]).encode()
        return response

    def create_network(self, name, **kwargs):
        self.networks.append(name)

    def inspect_service(self, ident):
        return {"ID": ident, "CreatedAt": CREATED, "UpdatedAt": CREATED, "Spec": {"Mode": {"Replicated": {"Replicas": 1}}},
                "PreviousSpec": {"Name": "old"}, "Version": {"Index": 31}}

    def remove_service(self, ident):
        self.removed.append(ident)

    def remove_secret(self, ident):
        self.removed.append(ident)

    remove_config = remove_network = remove_secret

    def nodes(self):
        return [{"ID": "n1", "Description": {"Hostname": "node-one"}}]

    def tasks(self, filters=None):
        return [{"ID": "t1", "ServiceID": filters["service"], "NodeID": "n1", "DesiredState": "running",
                 "Status": {"State": "running"}, "CreatedAt": CREATED}]


def test_apply_returns_what_it_did_and_leaves_the_plan_as_planned(tmp_path):
    plan = make_plan(_stack(tmp_path), empty_current())
    assert plan.verbs() == ["create", "create", "create"]  # network, secret, service
    planned = copy.deepcopy((plan.actions, plan.before, plan.after))
    engine = FakeEngine({"/secrets/create": {"ID": "sec1"}, "/services/create": {"ID": "svc1", "Warnings": ["w"]}})

    applied = stack_apply.apply_plan(engine, plan)

    assert (plan.actions, plan.before, plan.after) == planned
    assert applied.warnings == ["w"]
    assert applied.services == [{"name": "st_web", "id": "svc1", "action": "create", "rolling": False,
                                 "since": datetime(2026, 12, 2, 12, 0, 0, 123456, tzinfo=timezone.utc)}]
    assert engine.networks == ["st_webnet"]
    service = [p for p in engine.posts if p["path"] == "/services/create"][0]["body"]
    assert [(r["SecretName"], r["SecretID"]) for r in service["TaskTemplate"]["ContainerSpec"]["Secrets"]] == [
        (plan.actions[1]["name"], "sec1")]


def test_an_update_fills_the_ids_of_existing_objects_from_the_plan(tmp_path):
    current = _deployed(_stack(tmp_path))
    plan = make_plan(_stack(tmp_path, env_value="n3w-s3cret-value"), current)
    assert [a["action"] for a in plan.actions if a["action"] != "unchanged"] == ["update"]
    body_before = copy.deepcopy(plan.actions[-1]["body"])
    engine = FakeEngine({"/services/svc0/update": {}})
    applied = stack_apply.apply_plan(engine, plan)
    sent = engine.posts[0]
    assert sent["params"] == {"version": 10}
    assert sent["body"]["TaskTemplate"]["ContainerSpec"]["Secrets"][0]["SecretID"] == "s0"
    assert plan.actions[-1]["body"] == body_before  # the IDs went into a copy
    assert [(s["id"], s["action"], s["rolling"]) for s in applied.services] == [("svc0", "update", True)]


def test_wait_and_rollback_work_from_what_apply_returned(tmp_path):
    plan = make_plan(_stack(tmp_path), empty_current())
    engine = FakeEngine({"/secrets/create": {"ID": "sec1"}, "/services/create": {"ID": "svc1"}})
    applied = stack_apply.apply_plan(engine, plan)
    services = copy.deepcopy(applied.services)
    assert stack_apply.wait_for(engine, applied.services, timeout=5) is None
    assert applied.services == services  # the wait keeps its notes in its own copies
    assert stack_apply.rollback(engine, applied.services, {}) == [{"name": "st_web", "rollback": "removed"}]
    assert engine.removed == ["svc1"]


def test_an_action_without_a_step_is_refused_before_the_engine_is_called(tmp_path):
    plan = make_plan(_stack(tmp_path), empty_current())
    plan.add("rename", kind="service", name="st_web")
    plan.actions.insert(0, plan.actions.pop())
    engine = FakeEngine({})
    with pytest.raises(LookupError, match="no apply step for action \\('rename', 'service'\\)"):
        stack_apply.apply_plan(engine, plan)
    assert engine.posts == [] and engine.networks == []


def test_superseded_objects_are_removed_without_touching_the_plan(tmp_path):
    current = _deployed(_stack(tmp_path))
    plan = make_plan(_stack(tmp_path, password=b"hunter3"), current)
    removal = [a for a in plan.actions if a["action"] == "remove"][0]
    engine = FakeEngine({})
    assert stack_apply.remove_superseded(engine, plan) == []
    assert engine.removed == [removal["id"]] and removal["after_converge"] is True


def test_unresolved_images_are_named_not_parsed_out_of_warnings():
    class Registry:
        def inspect_distribution(self, image, auth_config=None):
            if image == "gone:1":
                raise RuntimeError("manifest unknown")
            return {"Descriptor": {"digest": "sha256:abc"}}

    digests, unresolved = stack_current.resolve_digests(Registry(), ["app:1", "gone:1", "app:1", "x@sha256:1"])
    assert digests == {"app:1": "app:1@sha256:abc"} and unresolved == ["gone:1"]
    assert stack_current.digest_warning("gone:1").startswith("image gone:1 could not be accessed on a registry")


def test_registry_digest_lookups_run_side_by_side():
    images = ["app:%d" % n for n in range(4)]
    all_in_flight = threading.Barrier(len(images), timeout=10)

    class SlowRegistry:
        def inspect_distribution(self, image, auth_config=None):
            all_in_flight.wait()  # passes only when every lookup is in flight at once
            return {"Descriptor": {"digest": "sha256:" + image[-1]}}

    digests, unresolved = stack_current.resolve_digests(SlowRegistry(), images)
    assert unresolved == [] and digests["app:3"] == "app:3@sha256:3"
