"""Pure logic of the lab: validation, desired spec, plan."""

import pytest

from ansible_collections.swarmops.core.plugins.module_utils import lab
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError


def params(**over):
    base = dict(name="t", image="img", subnet="172.30.9.0/24", ssh_public_key="ssh-ed25519 AAAA x", hosts=[
        dict(name="m1", address="172.30.9.11", ssh_port=2001, published_ports=["4000:4000"]),
        dict(name="w1", address="172.30.9.12", ssh_port=2002, published_ports=[]),
    ])
    base.update(over)
    return base


def empty():
    return dict(network=None, containers={}, volumes=set(), ports=set())


def test_build_names_everything_after_the_lab():
    desired = lab.build(params())
    assert desired["network"] == "t-net" and desired["gateway"] == "172.30.9.1"
    m1 = desired["hosts"][0]
    assert m1["container"] == "t-m1" and m1["volume"] == "t-m1-docker"
    assert ("127.0.0.1", 2001, 22, "tcp") in m1["ports"] and ("127.0.0.1", 4000, 4000, "tcp") in m1["ports"]


@pytest.mark.parametrize("spec, parsed", [
    ("4000:80", ("127.0.0.1", 4000, 80, "tcp")),
    ("0.0.0.0:53:53/udp", ("0.0.0.0", 53, 53, "udp")),
])
def test_parse_port(spec, parsed):
    assert lab.parse_port(spec, "h") == parsed


@pytest.mark.parametrize("hosts, message", [
    ([dict(name="a", address="10.9.9.9", ssh_port=1, published_ports=[])], "not a usable host address"),
    ([dict(name="a", address="172.30.9.1", ssh_port=1, published_ports=[])], "gateway"),
    ([dict(name="a", address="nope", ssh_port=1, published_ports=[])], "Lab host a: address 'nope'"),
    ([dict(name="a", address="172.30.9.5", ssh_port=1, published_ports=[]),
      dict(name="b", address="172.30.9.5", ssh_port=2, published_ports=[])], "share the address"),
    ([dict(name="a", address="172.30.9.5", ssh_port=7, published_ports=[]),
      dict(name="b", address="172.30.9.6", ssh_port=7, published_ports=[])], "both publish 127.0.0.1:7"),
    ([dict(name="a", address="172.30.9.5", ssh_port=7, published_ports=["x:y"])], "Lab host a: published port 'x:y'"),
    ([dict(name="a", address="172.30.9.5", ssh_port=7, published_ports=["70000:1"])], "out of range"),
])
def test_bad_definitions_name_the_host_and_key(hosts, message):
    with pytest.raises(SwarmOpsError, match=message):
        lab.build(params(hosts=hosts))


def test_plan_from_nothing_creates_network_then_hosts():
    desired = lab.build(params())
    actions = lab.plan(empty(), desired, "present").actions
    assert [(a["action"], a["kind"], a["name"]) for a in actions] == [
        ("create", "network", "t-net"), ("create", "container", "m1"), ("create", "container", "w1")]


def test_plan_is_empty_when_everything_matches():
    desired = lab.build(params())
    actual = dict(empty(), network=dict(id="n", subnet="172.30.9.0/24"), containers={
        h["name"]: dict(id=h["name"], state="running", spec_hash=h["spec_hash"]) for h in desired["hosts"]})
    assert lab.plan(actual, desired, "present").actions == []


def test_plan_recreates_changed_host_starts_stopped_and_removes_extra():
    desired = lab.build(params())
    m1, w1 = desired["hosts"]
    actual = dict(empty(), network=dict(id="n", subnet="172.30.9.0/24"), containers={
        "m1": dict(id="1", state="running", spec_hash="old"),
        "w1": dict(id="2", state="exited", spec_hash=w1["spec_hash"]),
        "gone": dict(id="3", state="running", spec_hash="x")})
    verbs = [(a["action"], a["name"]) for a in lab.plan(actual, desired, "present").actions]
    assert verbs == [("remove", "gone"), ("recreate", "m1"), ("start", "w1")]


def test_plan_rebuilds_everything_when_the_subnet_changed():
    desired = lab.build(params())
    actual = dict(empty(), network=dict(id="n", subnet="172.30.8.0/24"), containers={
        "m1": dict(id="1", state="running", spec_hash=desired["hosts"][0]["spec_hash"])})
    verbs = [(a["action"], a["kind"], a["name"]) for a in lab.plan(actual, desired, "present").actions]
    assert verbs[:3] == [("remove", "container", "m1"), ("remove", "network", "t-net"), ("create", "network", "t-net")]
    assert ("create", "container", "m1") in verbs


def test_plan_absent_removes_containers_then_volumes_then_network():
    actual = dict(empty(), network=dict(id="n", subnet="s"), containers={"m1": dict(id="1", state="running", spec_hash="h")},
                  volumes={"t-m1-docker"})
    verbs = [(a["action"], a["kind"]) for a in lab.plan(actual, dict(name="t", network="t-net", hosts=[]), "absent").actions]
    assert verbs == [("remove", "container"), ("remove", "volume"), ("remove", "network")]
    assert lab.plan(empty(), dict(name="t", network="t-net", hosts=[]), "absent").actions == []


def test_spec_hash_changes_with_the_definition():
    a = lab.build(params())["hosts"][0]["spec_hash"]
    b = lab.build(params(image="other"))["hosts"][0]["spec_hash"]
    assert a != b


def three_host_lab(desired):
    """The lab as it stands: m1, w1 (matching ``desired``) and w2, all running."""
    containers = {h["name"]: dict(id=h["name"], state="running", spec_hash=h["spec_hash"]) for h in desired["hosts"]}
    containers["w2"] = dict(id="w2", state="running", spec_hash="w2hash")
    return dict(empty(), network=dict(id="n", subnet="172.30.9.0/24"), containers=containers,
                volumes={"t-m1-docker", "t-w1-docker", "t-w2-docker"})


def only_m1():
    """What the role passes with --limit m1: the definition of m1 alone."""
    return params(hosts=params()["hosts"][:1])


def test_limit_never_removes_hosts_outside_it():
    desired = lab.build(only_m1())
    actual = three_host_lab(lab.build(params()))
    assert lab.plan(actual, desired, "present", prune=False).actions == []
    # Without a limit the lab is exactly the definition: the others go.
    pruned = [(a["action"], a["name"]) for a in lab.plan(actual, desired, "present", prune=True).actions]
    assert pruned == [("remove", "w1"), ("remove", "w2")]


def test_limit_still_changes_the_hosts_inside_it():
    desired = lab.build(only_m1())
    actual = three_host_lab(lab.build(params()))
    actual["containers"]["m1"]["state"] = "exited"
    del actual["containers"]["w1"]
    assert [(a["action"], a["name"]) for a in lab.plan(actual, desired, "present", prune=False).actions] == [
        ("start", "m1")]


def test_limit_refuses_a_subnet_change_that_would_recreate_hosts_outside_it():
    desired = lab.build(only_m1())
    actual = three_host_lab(lab.build(params()))
    actual["network"]["subnet"] = "172.30.8.0/24"
    with pytest.raises(SwarmOpsError, match="w1, w2 are outside this run.*without --limit"):
        lab.plan(actual, desired, "present", prune=False)


def test_absent_under_a_limit_removes_only_the_limited_hosts_and_keeps_the_network():
    actual = three_host_lab(lab.build(params()))
    desired = dict(name="t", network="t-net", hosts=[dict(name="m1")])
    verbs = [(a["action"], a["kind"], a["name"]) for a in lab.plan(actual, desired, "absent", prune=False).actions]
    assert verbs == [("remove", "container", "m1"), ("remove", "volume", "t-m1-docker")]
    # The last hosts of the lab take the network with them.
    desired["hosts"] = [dict(name=h) for h in ("m1", "w1", "w2")]
    verbs = [(a["action"], a["kind"]) for a in lab.plan(actual, desired, "absent", prune=False).actions]
    assert verbs[-1] == ("remove", "network") and verbs.count(("remove", "container")) == 3


def test_subnet_change_removes_every_container_once():
    desired = lab.build(params(hosts=params()["hosts"][:1]))
    actual = three_host_lab(lab.build(params()))
    actual["network"]["subnet"] = "172.30.8.0/24"
    removed = [a["name"] for a in lab.plan(actual, desired, "present").actions
               if (a["action"], a["kind"]) == ("remove", "container")]
    assert removed == ["m1", "w1", "w2"]
