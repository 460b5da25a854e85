"""The one Plan type (module_utils/plan.py) and the planners and step tables built on it."""

from __future__ import annotations

import pytest

from ansible_collections.swarmops.core.plugins.module_utils import image_build, lab, swarm
from ansible_collections.swarmops.core.plugins.module_utils.plan import Plan, dispatch, keyed


def test_changed_and_bool_ignore_unchanged_actions():
    plan = Plan(row=keyed("kind", "name", "action"))
    plan.add("unchanged", kind="service", name="web")
    assert not plan.changed and not plan and plan.summary() == [{"kind": "service", "name": "web", "action": "unchanged"}]
    plan.add("create", kind="network", name="net", body={"Name": "net"})
    assert plan.changed and plan
    assert plan.summary()[1] == {"kind": "network", "name": "net", "action": "create"}  # no body in the row


def test_default_row_is_the_verb_and_diff_is_before_after():
    plan = Plan([{"action": "init", "body": {"JoinToken": "x"}}], {"state": "inactive"}, {"state": "active"})
    assert plan.summary() == ["init"] and plan.verbs() == ["init"]
    assert plan.diff() == {"before": {"state": "inactive"}, "after": {"state": "active"}}
    assert Plan().diff() == {"before": {}, "after": {}} and not Plan()


def test_dispatch_refuses_an_unknown_action():
    table = {"create": len}
    assert dispatch(table, "create") is len
    with pytest.raises(LookupError, match="no apply step for action 'rename' \\(known: create\\)"):
        dispatch(table, "rename")


def test_swarm_apply_refuses_an_action_it_has_no_step_for():
    class NoEngine:
        def __getattr__(self, name):
            raise AssertionError("the engine must not be called: %s" % name)

    with pytest.raises(LookupError, match="'promote'"):
        swarm.apply(NoEngine(), Plan([{"action": "promote"}]))
    assert set(swarm.APPLY_STEPS) == {"leave", "init", "force_new_cluster", "update", "join", "update_node", "remove"}


def _lab(state="running", spec_hash=None):
    desired = lab.build(dict(name="t", image="img", subnet="172.30.9.0/24", hosts=[
        dict(name="m1", address="172.30.9.11", ssh_port=2291, published_ports=[])]))
    actual = dict(network=dict(id="n", subnet="172.30.9.0/24"), volumes=set(), ports=set(), containers={
        "m1": dict(id="c1", state=state, spec_hash=spec_hash or desired["hosts"][0]["spec_hash"])})
    return desired, actual


def test_lab_plan_carries_its_diff():
    desired, actual = _lab(spec_hash="old")
    plan = lab.plan(actual, desired, "present")
    assert plan.summary() == [{"action": "recreate", "kind": "container", "name": "m1"}]
    assert plan.diff() == {"before": {"network": "172.30.9.0/24", "hosts": {"m1": "old"}},
                           "after": {"network": "172.30.9.0/24", "hosts": {"m1": desired["hosts"][0]["spec_hash"]}}}
    unchanged = lab.plan(_lab()[1], desired, "present")
    assert not unchanged and unchanged.diff()["before"] == unchanged.diff()["after"]
    gone = lab.plan(actual, dict(name="t", network="t-net", hosts=[]), "absent")
    assert gone.diff()["after"] == {} and gone.verbs() == ["remove", "remove"]


def test_lab_apply_goes_through_its_table():
    class Engine:
        def __init__(self):
            self.calls = []

        def start(self, ident):
            self.calls.append(("start", ident))

    desired, actual = _lab(state="exited")
    engine = Engine()
    lab.apply(engine, "t", desired, actual, lab.plan(actual, desired, "present"), "ssh-ed25519 AAAA")
    assert engine.calls == [("start", "c1")]
    with pytest.raises(LookupError):
        lab.apply(engine, "t", desired, actual, Plan([{"action": "pause", "kind": "container", "name": "m1"}]), "")


def _images(image_id="sha256:1", label="h1", digests=()):
    image = {"Id": image_id, "Config": {"Labels": {image_build.HASH_LABEL: label}}, "RepoDigests": list(digests)}
    return {"reg:5000/app:1": image, "reg:5000/app:latest": None}


REFS = ["reg:5000/app:1", "reg:5000/app:latest"]


def test_image_plan_rows_are_verb_and_reference():
    plan = image_build.plan_image(_images(), REFS, "h2", force=False, remote={r: None for r in REFS})
    assert plan.summary() == ["build reg:5000/app:1", "tag reg:5000/app:latest",
                              "push reg:5000/app:1", "push reg:5000/app:latest"]
    assert plan.diff() == {"before": {"context_hash": "h1", "image_id": "sha256:1"},
                           "after": {"context_hash": "h2", "image_id": None}}
    same = image_build.plan_image(_images(digests=["reg:5000/app@sha256:d"]), REFS, "h1", False,
                                  remote={"reg:5000/app:1": "sha256:d", "reg:5000/app:latest": None})
    assert same.summary() == ["tag reg:5000/app:latest", "push reg:5000/app:latest"]
    assert not image_build.plan_image(dict(_images(), **{"reg:5000/app:latest": _images()["reg:5000/app:1"]}),
                                      REFS, "h1", False)


def test_image_result_drops_the_pushes_the_registry_already_had():
    remote = {"reg:5000/app:1": "sha256:d", "reg:5000/app:latest": None}
    plan = image_build.plan_image(_images(), REFS, "h1", False, remote=remote)
    result = dict(changed=True, references=REFS, actions=plan.summary(), image_id="sha256:1", diff=plan.diff())
    done = dict(image_id="sha256:1", pushed={"reg:5000/app:1": "sha256:d", "reg:5000/app:latest": "sha256:d"})
    result = image_build._result_after(result, plan, done, remote)
    assert result["actions"] == ["tag reg:5000/app:latest", "push reg:5000/app:latest"]
    assert result["digests"] == {"reg:5000/app:1": "sha256:d", "reg:5000/app:latest": "sha256:d"}
    assert result["digest"] == "sha256:d" and result["changed"]
    assert plan.summary() == ["tag reg:5000/app:latest", "push reg:5000/app:1", "push reg:5000/app:latest"]
