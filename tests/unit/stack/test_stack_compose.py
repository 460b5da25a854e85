"""compose.py: interpolation, short syntaxes, merging, validation messages."""

from __future__ import annotations

import os
import textwrap

import pytest

from ansible_collections.swarmops.core.plugins.module_utils import compose
from ansible_collections.swarmops.core.plugins.module_utils.compose import ComposeError, interpolate_string, load

STACKS = os.path.join(os.path.dirname(__file__), "..", "..", "stacks")


def _write(tmp_path, text, name="docker-compose.yml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.mark.parametrize("text, env, expected", [
    ("${A}", {"A": "x"}, "x"),
    ("$A-$B", {"A": "x", "B": "y"}, "x-y"),
    ("${A:-d}", {}, "d"),
    ("${A:-d}", {"A": ""}, "d"),
    ("${A-d}", {"A": ""}, ""),
    ("${A-d}", {}, "d"),
    ("$$HOME and $${A}", {"A": "x"}, "$HOME and ${A}"),
    ("${A:?must be set}", {"A": "ok"}, "ok"),
    ("${A?must be set}", {"A": ""}, ""),
    ("no vars", {}, "no vars"),
])
def test_interpolation(text, env, expected):
    assert interpolate_string(text, env) == expected


@pytest.mark.parametrize("text, env, message", [
    ("${A:?need A}", {}, "need A"),
    ("${A:?need A}", {"A": ""}, "need A"),
    ("${A?}", {}, "variable A is not set"),
    ("${A", {}, "invalid interpolation"),
    ("${1bad}", {}, "invalid interpolation"),
])
def test_interpolation_errors(text, env, message):
    with pytest.raises(compose._Invalid) as exc:
        interpolate_string(text, env, "services.web.image")
    assert message in exc.value.msg
    assert exc.value.path == "services.web.image"


def test_unset_variable_warns_and_defaults_to_blank():
    warnings = []
    assert interpolate_string("a${NOPE}b", {}, "services.x.image", warnings) == "ab"
    assert "NOPE" in warnings[0] and "services.x.image" in warnings[0]


@pytest.mark.parametrize("text, ns", [
    ("10s", 10 * 10 ** 9), ("1m30s", 90 * 10 ** 9), ("500ms", 5 * 10 ** 8), ("1.5h", 5400 * 10 ** 9),
    ("0", 0), ("2us", 2000), ("1h2m3s4ms", (3723 * 1000 + 4) * 10 ** 6),
])
def test_durations(text, ns):
    assert compose.DURATION(text, "p") == ns


@pytest.mark.parametrize("text", ["10", "ten seconds", "1d", "", "5 s", 10])
def test_bad_durations(text):
    with pytest.raises(compose._Invalid, match="must be a duration"):
        compose.DURATION(text, "p")


@pytest.mark.parametrize("text, size", [
    ("50M", 50 * 1024 ** 2), ("1g", 1024 ** 3), ("512kb", 512 * 1024), ("1.5m", int(1.5 * 1024 ** 2)),
    (1024, 1024), ("100", 100), ("2GiB", 2 * 1024 ** 3),
])
def test_sizes(text, size):
    assert compose.SIZE(text, "p") == size


@pytest.mark.parametrize("text", ["50 megabytes", "M", "-1M", True, "50  M"])
def test_bad_sizes(text):
    with pytest.raises(compose._Invalid, match="must be a size"):
        compose.SIZE(text, "p")


@pytest.mark.parametrize("value, nano", [("0.1", 10 ** 8), (2, 2 * 10 ** 9), ("0.000000001", 1), (0.5, 5 * 10 ** 8)])
def test_cpus(value, nano):
    assert compose.CPUS(value, "p") == nano


def test_cpus_too_precise():
    with pytest.raises(compose._Invalid, match="too precise"):
        compose.CPUS("0.0000000001", "p")


@pytest.mark.parametrize("spec, expected", [
    ("4000:80", [{"target": 80, "published": 4000, "protocol": "tcp", "mode": "ingress"}]),
    ("80", [{"target": 80, "published": 0, "protocol": "tcp", "mode": "ingress"}]),
    (80, [{"target": 80, "published": 0, "protocol": "tcp", "mode": "ingress"}]),
    ("53:53/udp", [{"target": 53, "published": 53, "protocol": "udp", "mode": "ingress"}]),
    ("127.0.0.1:8080:80", [{"target": 80, "published": 8080, "protocol": "tcp", "mode": "ingress"}]),
    ("9000-9001:80-81", [{"target": 80, "published": 9000, "protocol": "tcp", "mode": "ingress"},
                         {"target": 81, "published": 9001, "protocol": "tcp", "mode": "ingress"}]),
    ({"target": 80, "published": "8080", "mode": "host"}, [{"target": 80, "published": 8080, "mode": "host"}]),
])
def test_ports(spec, expected):
    assert compose.PORTS([spec], "ports") == expected


@pytest.mark.parametrize("spec", ["80:http", "1-2:1-3", "a:b:c:d", {"published": 80}, {"target": 80, "mode": "bridge"}])
def test_bad_ports(spec):
    with pytest.raises((compose._Invalid, compose._Problems)):
        compose.PORTS([spec], "ports")


@pytest.mark.parametrize("spec, expected", [
    ("data:/data", {"type": "volume", "source": "data", "target": "/data"}),
    ("/data", {"type": "volume", "target": "/data"}),
    ("/var/run/docker.sock:/var/run/docker.sock", {"type": "bind", "source": "/var/run/docker.sock",
                                                   "target": "/var/run/docker.sock"}),
    ("./conf:/conf:ro", {"type": "bind", "source": "./conf", "target": "/conf", "read_only": True}),
    ("/a:/b:rw,rshared", {"type": "bind", "source": "/a", "target": "/b", "read_only": False,
                          "bind": {"propagation": "rshared"}}),
    ("data:/d:nocopy", {"type": "volume", "source": "data", "target": "/d", "volume": {"nocopy": True}}),
    ({"type": "tmpfs", "target": "/t", "tmpfs": {"size": "1m"}},
     {"type": "tmpfs", "target": "/t", "tmpfs": {"size": 1024 ** 2}}),
    ({"source": "data", "target": "/d", "read_only": True}, {"type": "volume", "source": "data", "target": "/d",
                                                             "read_only": True}),
])
def test_volumes(spec, expected):
    assert compose._volume_entry(spec, "volumes[0]") == expected


def test_environment_list_and_map_and_env_file(tmp_path):
    (tmp_path / "a.env").write_text("FROM_FILE=1\nOVERRIDDEN=file\n# comment\nBARE\n")
    path = _write(tmp_path, """
        services:
          a:
            image: x
            env_file: a.env
            environment:
              OVERRIDDEN: map
              NUM: 3
              UNSET:
              FROM_HOST:
          b:
            image: x
            environment: [K=V, EMPTY=, LONE]
    """)
    model, _ = load([path], {"FROM_HOST": "host", "LONE": "lone"})
    assert model["services"]["a"]["environment"] == {
        "FROM_FILE": "1", "OVERRIDDEN": "map", "BARE": None, "NUM": "3", "UNSET": None, "FROM_HOST": "host"}
    assert model["services"]["b"]["environment"] == {"K": "V", "EMPTY": "", "LONE": "lone"}


def test_merge_in_order_like_repeated_c(tmp_path):
    base = _write(tmp_path, """
        version: "3"
        services:
          web:
            image: app:1
            environment: {A: "1", B: "1"}
            ports: ["4000:80"]
            volumes: ["data:/data"]
            dns: [127.0.0.1]
            deploy: {replicas: 5, resources: {limits: {cpus: "0.1"}}}
        volumes: {data: {}}
    """, "base.yml")
    override = {"services": {"web": {
        "image": "app:2", "environment": {"B": "2"}, "ports": ["4000:81", "5000:80"],
        "dns": ["127.0.0.2"], "deploy": {"replicas": 2, "resources": {"limits": {"memory": "50M"}}}},
        "other": {"image": "o"}}}
    model, _ = load([base, override])
    web = model["services"]["web"]
    assert web["image"] == "app:2"
    assert web["environment"] == {"A": "1", "B": "2"}
    assert [(p["published"], p["target"]) for p in web["ports"]] == [(4000, 81), (5000, 80)]
    assert web["dns"] == ["127.0.0.1", "127.0.0.2"]
    assert web["deploy"]["replicas"] == 2
    assert web["deploy"]["resources"]["limits"] == {"cpus": 10 ** 8, "memory": 50 * 1024 ** 2}
    assert set(model["services"]) == {"web", "other"}


def test_seed_files_load():
    model, warnings = load([os.path.join(STACKS, "part5.yml")], {})
    assert set(model["services"]) == {"web", "visualizer", "redis"}
    assert model["services"]["redis"]["command"] == ["redis-server", "--appendonly", "yes"]
    assert model["services"]["web"]["image"] == "username/repo:tag"
    assert model["services"]["redis"]["volumes"][0]["source"] == "/home/docker/data"
    assert warnings == []


def test_ignored_keys_warn_like_the_cli(tmp_path):
    path = _write(tmp_path, """
        services:
          web:
            image: x
            build: .
            container_name: web
            depends_on: [db]
            links: [db]
            restart: always
          db:
            image: y
            privileged: true
    """)
    model, warnings = load([path])
    assert "Ignoring unsupported options: build, links, privileged, restart" in warnings
    assert any(w.startswith("Ignoring deprecated options: container_name") for w in warnings)
    assert any("depends_on" in w for w in warnings)
    assert "build" not in model["services"]["web"]
    assert model["services"]["web"]["restart"] == "always"  # still honoured, as by the CLI


BAD = [
    ("unknown key", {"services": {"web": {"image": "x", "imagee": "y"}}},
     "services.web.imagee: unknown key"),
    ("unknown deploy key", {"services": {"web": {"image": "x", "deploy": {"replicaz": 2}}}},
     "services.web.deploy.replicaz: unknown key"),
    ("wrong type", {"services": {"web": {"image": "x", "deploy": {"replicas": "five"}}}},
     "services.web.deploy.replicas: must be an integer"),
    ("wrong type list", {"services": {"web": {"image": "x", "cap_add": "NET_ADMIN"}}},
     "services.web.cap_add: must be a list"),
    ("bad duration", {"services": {"web": {"image": "x", "stop_grace_period": "10 seconds"}}},
     "services.web.stop_grace_period: must be a duration"),
    ("bad size", {"services": {"web": {"image": "x", "deploy": {"resources": {"limits": {"memory": "50 megabytes"}}}}}},
     "services.web.deploy.resources.limits.memory: must be a size"),
    ("bad choice", {"services": {"web": {"image": "x", "deploy": {"mode": "everywhere"}}}},
     "services.web.deploy.mode: must be one of"),
    ("undeclared network", {"services": {"web": {"image": "x", "networks": ["nope"]}}},
     "services.web.networks.nope: network is not declared"),
    ("undeclared volume", {"services": {"web": {"image": "x", "volumes": ["nope:/data"]}}},
     "services.web.volumes[0]: volume 'nope' is not declared"),
    ("undeclared secret", {"services": {"web": {"image": "x", "secrets": ["nope"]}}},
     "services.web.secrets[0]: secret 'nope' is not declared"),
    ("missing secret file", {"services": {"web": {"image": "x", "secrets": ["s"]}},
                             "secrets": {"s": {"file": "/nonexistent/sotest-secret"}}},
     "secrets.s.file: file not found"),
    ("required variable", {"services": {"web": {"image": "${SOTEST_UNSET_IMAGE:?set the image}"}}},
     "services.web.image: required variable SOTEST_UNSET_IMAGE is missing a value: set the image"),
    ("no image", {"services": {"web": {"command": "true"}}}, "services.web.image: is required"),
    ("forbidden", {"services": {"web": {"image": "x", "volumes_from": ["db"]}}},
     "services.web.volumes_from: unsupported option"),
    ("replicas with global", {"services": {"web": {"image": "x", "deploy": {"mode": "global", "replicas": 2}}}},
     "services.web.deploy.replicas: replicas can only be used"),
    ("unknown top-level", {"services": {}, "servics": {}}, "servics: unknown key"),
    ("bad image", {"services": {"web": {"image": "Not An Image"}}}, "services.web.image: invalid image reference"),
]


@pytest.mark.parametrize("image", [
    "redis", "redis:7", "username/repo:tag", "dockersamples/visualizer:stable", "127.0.0.1:5000/app:1",
    "registry.example.com/team/app_x-y:1.0", "app@sha256:" + "a" * 64, "localhost:5000/a/b/c:latest"])
def test_valid_image_references(image):
    load([{"services": {"web": {"image": image}}}])


def test_inline_first_resolves_relative_paths_against_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model, _ = load([{"services": {"a": {"image": "x", "volumes": ["./d:/d"]}}}])
    assert model["services"]["a"]["volumes"][0]["source"] == str(tmp_path / "d")


@pytest.mark.parametrize("case, data, message", BAD, ids=[b[0] for b in BAD])
def test_validation_names_file_and_key_path(tmp_path, case, data, message):
    import yaml
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ComposeError) as exc:
        load([str(path)], {})
    assert any(p.startswith(str(path) + ": ") and message in p for p in exc.value.problems), exc.value.problems


def test_all_problems_reported_at_once():
    with pytest.raises(ComposeError) as exc:
        load([{"services": {"a": {"image": "x", "bogus": 1, "deploy": {"replicas": "x"}}}}])
    assert len(exc.value.problems) == 2
    assert exc.value.problems[0].startswith("compose[0] (inline): ")


def test_missing_file():
    with pytest.raises(ComposeError, match="nope.yml: cannot read compose file"):
        load(["/nonexistent/nope.yml"])


def test_relative_paths_resolve_against_the_file(tmp_path):
    (tmp_path / "c.txt").write_text("hello")
    path = _write(tmp_path, """
        services:
          a: {image: x, volumes: ["./data:/data"], configs: [c]}
        configs:
          c: {file: ./c.txt}
    """)
    model, _ = load([path])
    assert model["services"]["a"]["volumes"][0]["source"] == str(tmp_path / "data")
    assert model["configs"]["c"]["file"] == str(tmp_path / "c.txt")


def test_external_forms():
    model, _ = load([{"services": {"a": {"image": "x", "networks": ["n", "m"], "secrets": ["s"]}},
                      "networks": {"n": {"external": True}, "m": {"external": {"name": "real"}}},
                      "secrets": {"s": {"external": True, "name": "shared"}}}])
    assert model["networks"]["n"] == {"external": True}
    assert model["networks"]["m"] == {"external": True, "name": "real"}
    assert model["secrets"]["s"] == {"external": True, "name": "shared"}
