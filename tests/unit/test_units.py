"""module_utils/units.py: one duration parser with two dialects, one port parser; and every caller
still gets what it got from its own parser before (the expected values below are the old results)."""

from __future__ import annotations

import pytest

from ansible_collections.swarmops.core.plugins.module_utils import compose, container, lab, qemu, swarm, units
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError

S = 10 ** 9

# ---------------------------------------------------------------- durations, Go syntax (compose)


@pytest.mark.parametrize("text, ns", [
    ("0", 0), ("0s", 0), ("10s", 10 * S), ("1m30s", 90 * S), ("500ms", S // 2), ("1.5h", 5400 * S),
    ("2.3ms", 2300000), ("10us", 10000), ("1\u00b5s", 1000), ("1\u03bcs", 1000), ("7ns", 7), (".5s", S // 2),
    ("1.s", S), ("-5s", -5 * S), ("+5s", 5 * S), (" 5s ", 5 * S), ("1h0m0s", 3600 * S), ("30m1h", 5400 * S),
])
def test_go_duration(text, ns):
    assert units.go_duration(text) == ns


@pytest.mark.parametrize("text", ["", "60", "1.5", "90d", "soon", "10x", "1h banana", "1h 30m", "-", "s", "1.5.5s"])
def test_go_duration_is_none_for_what_go_refuses(text):
    assert units.go_duration(text) is None


@pytest.mark.parametrize("value, message", [
    ("60", "services.web.healthcheck.interval: must be a duration like 10s"),
    ("90d", "services.web.healthcheck.interval: must be a duration like 10s"),
    ("-5s", "services.web.healthcheck.interval: must not be negative"),
])
def test_compose_refuses_naming_the_key(value, message):
    model = {"services": {"web": {"image": "nginx", "healthcheck": {"interval": value}}}}
    with pytest.raises(compose.ComposeError) as err:
        compose.load([model])
    assert any(message in problem for problem in err.value.problems), err.value.problems


def test_compose_reads_go_durations():
    model = {"services": {"web": {"image": "nginx", "healthcheck": {"interval": "1m30s", "timeout": "2.5s"}}}}
    loaded, _warnings = compose.load([model])
    assert loaded["services"]["web"]["healthcheck"] == {"interval": 90 * S, "timeout": 2500 * 10 ** 6}


# ---------------------------------------------------------------- durations, bare number = seconds (swarm)


@pytest.mark.parametrize("value, ns", [
    ("2160h", 7776000000000000), ("90d", 90 * 86400 * S), ("1d12h", 36 * 3600 * S), ("1h30m", 5400 * S),
    ("45s", 45 * S), ("500ms", S // 2), ("60", 60 * S), (" 5 ", 5 * S), ("0", 0), (30, 30 * S), (0, 0),
    ("1.5h", 5400 * S), ("7776000000000000ns", 7776000000000000),
])
def test_seconds_or_duration(value, ns):
    assert units.seconds_or_duration(value, "k") == ns
    if value not in ("0", 0):
        assert swarm.build_init({"dispatcher_heartbeat": value})["dispatcher_heartbeat"] == ns


@pytest.mark.parametrize("value", ["", "soon", "10x", "1h banana", "1h 30m", "-5s", "-1", -1, "1.5", True, None])
def test_seconds_or_duration_refuses_naming_the_key(value):
    with pytest.raises(ValueError, match="dispatcher_heartbeat: .* is not a duration"):
        units.seconds_or_duration(value, "dispatcher_heartbeat")


@pytest.mark.parametrize("value", ["", "soon", "-5s"])
def test_swarm_refuses_naming_the_option(value):
    with pytest.raises(SwarmOpsError, match=r"^dispatcher_heartbeat: .* is not a duration \(examples"):
        swarm.build_init({"dispatcher_heartbeat": value})


# ---------------------------------------------------------------- ports


@pytest.mark.parametrize("spec, default, port", [
    ("5000:5000", "0.0.0.0", ("0.0.0.0", 5000, 5000, "tcp")),
    ("4000:80", "127.0.0.1", ("127.0.0.1", 4000, 80, "tcp")),
    ("10.0.0.1:8080:80/udp", "127.0.0.1", ("10.0.0.1", 8080, 80, "udp")),
    ("[::1]:80:81/sctp", "0.0.0.0", ("::1", 80, 81, "sctp")),
    ("::1:80:81", "0.0.0.0", ("::1", 80, 81, "tcp")),
])
def test_parse_port(spec, default, port):
    assert units.parse_port(spec, default) == port


@pytest.mark.parametrize("spec, message", [
    ("80", "expected [ip:]host_port:container_port"), ("1:2/icmp", "expected"), ("a:b", "'a' is not a port number"),
    ("1:2:3:4x", "'4x' is not a port number"), ("70000:80", "port 70000 is out of range"),
    ("80:0", "port 0 is out of range"), ("127.0.0.1::80", "'' is not a port number"),
])
def test_parse_port_refuses(spec, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        units.parse_port(spec, "127.0.0.1")


def test_an_empty_host_port_only_when_asked_for():
    assert units.parse_port("127.0.0.1::80", "0.0.0.0", any_host_port=True) == ("127.0.0.1", None, 80, "tcp")


@pytest.mark.parametrize("spec, port", [
    ("4000", ("127.0.0.1", 4000, 4000, "tcp")), ("53/udp", ("127.0.0.1", 53, 53, "udp")),
    ("8080:80", ("127.0.0.1", 8080, 80, "tcp")), ("10.0.0.1:2000:22", ("10.0.0.1", 2000, 22, "tcp")),
])
def test_a_bare_port_is_host_and_container_port_only_when_asked_for(spec, port):
    assert units.parse_port(spec, "127.0.0.1", bare="same") == port


@pytest.mark.parametrize("spec, message", [
    ("", "'' is not a port number"), ("4000:", "'' is not a port number"), ("x", "'x' is not a port number"),
    ("1/icmp", r"expected \[ip:\]host_port\[:container_port\]\[/tcp"),
])
def test_a_bare_port_refuses_what_is_not_one(spec, message):
    with pytest.raises(ValueError, match=message):
        units.parse_port(spec, "127.0.0.1", bare="same")
    with pytest.raises(ValueError, match="bare: 'target'"):
        units.parse_port("80", "127.0.0.1", bare="target")


@pytest.mark.parametrize("spec, expected", [  # more cases in test_registry_logic.py
    ("5000:5000", ("5000/tcp", ("0.0.0.0", 5000))),
    (":80", ("80/tcp", ("0.0.0.0", None))),
    ("::1:80:81/sctp", ("81/sctp", ("::1", 80))),
])
def test_container_publishes_on_every_address_by_default(spec, expected):
    assert container.parse_port(spec) == expected


@pytest.mark.parametrize("spec", ["80", "a:b", "1:2:3:4x", "70000:80"])
def test_container_refuses_naming_the_option(spec):
    with pytest.raises(SwarmOpsError, match=r"^ports: %r: " % spec):
        container.parse_port(spec)


@pytest.mark.parametrize("spec, parsed", [
    ("4000:80", ("127.0.0.1", 4000, 80, "tcp")),
    ("0.0.0.0:53:53/udp", ("0.0.0.0", 53, 53, "udp")),
    (8080, None),
])
def test_lab_publishes_on_loopback_by_default(spec, parsed):
    if parsed is None:
        with pytest.raises(SwarmOpsError, match="Lab host h: published port 8080: expected"):
            lab.parse_port(spec, "h")
    else:
        assert lab.parse_port(spec, "h") == parsed


@pytest.mark.parametrize("spec, message", [
    ("x:y", "Lab host h: published port 'x:y': 'x' is not a port number"),
    ("70000:1", "out of range"), ("127.0.0.1::80", "Lab host h: published port"), ("1:2/icmp", "expected"),
])
def test_lab_refuses_naming_the_host(spec, message):
    with pytest.raises(SwarmOpsError, match=message.replace("(", r"\(")):
        lab.parse_port(spec, "h")


@pytest.mark.parametrize("entry, forward", [("4000", (4000, 4000)), ("8080:80", (8080, 80)),
                                            ("65535:1", (65535, 1)), ("127.0.0.1:2000:22", (2000, 22))])
def test_qemu_forwards(entry, forward):
    assert qemu.parse_port(entry) == forward


@pytest.mark.parametrize("entry", ["x:1", "80:80", "1023", "70000:1", "4000:0", "0.0.0.0:4000:4000", "4000:4000/udp", "",
                                   "4000:"])
def test_qemu_refuses(entry):
    with pytest.raises(ValueError):
        qemu.parse_port(entry)
