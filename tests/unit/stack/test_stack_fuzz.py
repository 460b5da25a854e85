"""Property-based bad input for the stack pipeline (issue 13), with Hypothesis.

Documents are generated from a table of compose keys (one strategy of valid values
per key), then mutated: values swapped for other types, pushed out of range, keys
duplicated, aliases multiplied, nesting deepened. Whatever comes out, the
pipeline before the first engine call (compose.load -> name/value checks ->
stack_convert.build) must either refuse with ComposeError or produce bodies of a
sane size; any other exception fails the test. Each case is bounded in time (the
Hypothesis deadline) and memory (an address-space limit while the test runs).
"""

from __future__ import annotations

import copy
import json
import os
import random
import resource
from contextlib import contextmanager

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.swarmops.core.plugins.module_utils import compose, stack_convert

EXAMPLES = int(os.environ.get("SWARMOPS_FUZZ_EXAMPLES", "5000"))
MEMORY_HEADROOM = 768 * 2 ** 20
MAX_BODY = 2 * 2 ** 20

# ---------------------------------------------------------------- documents from the key table

_names = st.from_regex(r"[a-z](?:[a-z0-9_-]{0,6}[a-z0-9])?", fullmatch=True)
_short_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="$"),
                      max_size=12)
_durations = st.sampled_from(["10s", "1m30s", "500ms", "0", "2h", "1.5s"])
_sizes = st.one_of(st.sampled_from(["50M", "1g", "4m", 0]), st.integers(4 * 2 ** 20, 2 ** 40))
_ports = st.one_of(
    st.builds(lambda p, t: "%d:%d" % (p, t), st.integers(18000, 18999), st.integers(1, 65535)),
    st.builds(lambda t: str(t), st.integers(1, 65535)),
    st.builds(lambda lo, n: "%d-%d:%d-%d" % (lo, lo + n, lo, lo + n), st.integers(18000, 18900), st.integers(0, 5)),
    st.fixed_dictionaries({"target": st.integers(1, 65535)},
                          optional={"published": st.integers(18000, 18999),
                                    "protocol": st.sampled_from(["tcp", "udp"]),
                                    "mode": st.sampled_from(["ingress", "host"])}),
)
_mapping_or_list = st.one_of(st.dictionaries(_names, st.one_of(_short_text, st.integers(), st.none()), max_size=3),
                             st.lists(_short_text, max_size=3))
_resources = st.fixed_dictionaries({}, optional={
    "cpus": st.sampled_from(["0.5", "1", 2, "0.001"]), "memory": _sizes, "pids": st.integers(0, 100)})
_deploy = st.fixed_dictionaries({}, optional={
    "mode": st.sampled_from(["replicated", "global", "replicated-job", "global-job"]),
    "replicas": st.integers(0, 10),
    "labels": _mapping_or_list,
    "resources": st.fixed_dictionaries({}, optional={
        "limits": _resources, "reservations": st.fixed_dictionaries({}, optional={
            "cpus": st.sampled_from(["0.5", "1"]), "memory": st.sampled_from(["64M", "1g"])})}),
    "restart_policy": st.fixed_dictionaries({}, optional={
        "condition": st.sampled_from(["none", "on-failure", "any"]), "delay": _durations,
        "max_attempts": st.integers(0, 5), "window": _durations}),
    "update_config": st.fixed_dictionaries({}, optional={
        "parallelism": st.integers(0, 5), "delay": _durations, "monitor": _durations,
        "max_failure_ratio": st.floats(0, 1), "order": st.sampled_from(["start-first", "stop-first"])}),
    "placement": st.fixed_dictionaries({}, optional={
        "constraints": st.lists(st.sampled_from(["node.role==manager", "node.labels.a!=b"]), max_size=2),
        "max_replicas_per_node": st.integers(0, 3)}),
})
SERVICE_VALUES = {
    "command": st.one_of(st.sampled_from(["echo hi", "sh -c 'true'"]), st.lists(_short_text, max_size=3)),
    "entrypoint": st.lists(_short_text, max_size=2),
    "environment": _mapping_or_list,
    "labels": _mapping_or_list,
    "ports": st.lists(_ports, max_size=3),
    "deploy": _deploy,
    "stop_grace_period": _durations,
    "healthcheck": st.fixed_dictionaries({"test": st.sampled_from(["true", ["CMD", "true"]])}, optional={
        "interval": _durations, "timeout": _durations, "retries": st.integers(0, 5)}),
    "restart": st.sampled_from(["no", "always", "on-failure:3", "unless-stopped"]),
    "tmpfs": st.lists(st.sampled_from(["/run", "/tmp:size=64m", "/cache:size=1g,mode=1777"]), max_size=2),
    "ulimits": st.dictionaries(st.sampled_from(["nofile", "nproc"]), st.integers(0, 65535), max_size=2),
    "oom_score_adj": st.integers(-1000, 1000),
    "extra_hosts": st.lists(st.sampled_from(["a:10.0.0.1", "b=10.0.0.2"]), max_size=2),
    "dns": st.sampled_from(["8.8.8.8", ["1.1.1.1"]]),
    "cap_add": st.lists(st.sampled_from(["NET_ADMIN", "SYS_TIME"]), max_size=2),
    "init": st.booleans(), "read_only": st.booleans(), "user": _short_text, "working_dir": st.just("/app"),
    "hostname": _names, "logging": st.fixed_dictionaries({"driver": st.just("json-file")}),
    "networks": st.just(["front"]),
    "volumes": st.lists(st.sampled_from(["data:/data", "/srv:/srv:ro", {"type": "tmpfs", "target": "/t"}]),
                        max_size=2),
    "secrets": st.just(["pw", {"source": "pw", "target": "p2", "mode": 0o440}]),
    "configs": st.just([{"source": "conf", "mode": "0444"}]),
}
_service = st.fixed_dictionaries(
    {"image": st.sampled_from(["badinput/none:1", "redis:7", "127.0.0.1:5000/app:2"])},
    optional=SERVICE_VALUES)
DOCUMENTS = st.fixed_dictionaries({
    "services": st.dictionaries(_names, _service, min_size=1, max_size=3),
    "networks": st.just({"front": {"driver": "overlay"}}),
    "volumes": st.just({"data": {}}),
    "secrets": st.just({"pw": {"file": "/etc/hostname"}}),
    "configs": st.just({"conf": {"content": "x"}}),
}, optional={"version": st.just("3.8")})

# ---------------------------------------------------------------- mutations

OUT_OF_RANGE_VALUES = [
    -1, -5, 0, 65536, 70000, 10 ** 20, -10 ** 20, 2 ** 63, 2 ** 64, int("9" * 4000), 1e308, -1e308,
    float("inf"), float("-inf"), float("nan"), "Infinity", "NaN", "-10s", "1-5000000", "1-5000000:1-5000000",
    "70000:80", "0.0000001", "-5", "99999999999P", "0o7777777", "99999", "", " ", "\x00", "$", "${",
    "${X:?missing}", "a" * 300,
]
OUT_OF_RANGE = st.sampled_from(OUT_OF_RANGE_VALUES)
WEIRD = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), _short_text, OUT_OF_RANGE),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.one_of(_short_text, st.integers(), st.none(), st.booleans()),
                                            inner, max_size=3)),
    max_leaves=8)


def _paths(doc, prefix=()):
    """Every (container, key) pair in the tree, for choosing what to mutate."""
    out = []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        out.append((doc, key))
        out.extend(_paths(value, prefix + (key,)))
    return out


def _mutate_tree(data, doc):
    for _ in range(data.draw(st.integers(1, 4), label="swaps")):
        paths = _paths(doc)
        container, key = paths[data.draw(st.integers(0, len(paths) - 1), label="where")]
        container[key] = data.draw(WEIRD, label="value")
    return doc


def _dump(doc):
    try:
        return yaml.safe_dump(doc, default_flow_style=False, sort_keys=False, allow_unicode=True)
    except (ValueError, yaml.YAMLError):  # a value PyYAML itself cannot write
        return yaml.safe_dump({"services": {"web": {"image": "x"}}})


def _mutate_text(data, text):
    lines = text.splitlines()
    if data.draw(st.booleans(), label="duplicate a key") and lines:
        i = data.draw(st.integers(0, len(lines) - 1), label="line")
        lines.insert(i + 1, lines[i])
    if data.draw(st.booleans(), label="multiply aliases"):
        levels, width = data.draw(st.integers(1, 9), label="levels"), data.draw(st.integers(1, 12), label="width")
        head = ["x-a0: &a0 [%s]" % ", ".join(["lol"] * width)]
        head += ["x-a%d: &a%d [%s]" % (i, i, ", ".join(["*a%d" % (i - 1)] * width)) for i in range(1, levels)]
        lines = head + lines
    if data.draw(st.booleans(), label="deepen"):
        depth = data.draw(st.integers(1, 200), label="depth")
        lines.append("x-deep: " + "[" * depth + "]" * depth)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the same, from a seed (cheap per case)
# Drawing a whole document through strategies costs ~30ms of CPU per case; for the
# 5,000-case run, Hypothesis draws a seed and the document is built from these
# tables of sample values with random.Random(seed), then mutated the same ways.

SAMPLES = {
    "command": ["echo hi", ["sh", "-c", "true"], ""], "entrypoint": [["/bin/true"]],
    "environment": [{"A": "1", "B": None}, ["A=1", "B"]], "labels": [{"a": "b"}, ["a=b"]],
    "ports": [["18080:80"], ["18080-18082:80-82/udp"], [{"target": 80, "published": 18081, "mode": "host"}]],
    "deploy": [{"replicas": 2}, {"mode": "global"}, {"resources": {"limits": {"cpus": "0.5", "memory": "64M"}}},
               {"update_config": {"delay": "10s", "max_failure_ratio": 0.5}},
               {"restart_policy": {"condition": "on-failure", "max_attempts": 3}},
               {"placement": {"constraints": ["node.role==manager"]}}],
    "stop_grace_period": ["10s", "1m30s"], "healthcheck": [{"test": "true", "interval": "5s", "retries": 3}],
    "restart": ["always", "on-failure:3"], "tmpfs": [["/run", "/tmp:size=64m,mode=1777"]],
    "ulimits": [{"nofile": {"soft": 1024, "hard": 2048}, "nproc": 512}], "oom_score_adj": [-500, 0, 1000],
    "extra_hosts": [["a:10.0.0.1"]], "dns": ["8.8.8.8"], "cap_add": [["NET_ADMIN"]], "init": [True],
    "user": ["1000:1000"], "hostname": ["web"], "networks": [["front"]], "volumes": [["data:/data", "/srv:/srv:ro"]],
    "secrets": [["pw", {"source": "pw", "target": "p2", "mode": 0o440}]], "configs": [[{"source": "conf", "mode": "0444"}]],
}
WEIRD_SAMPLES = [None, True, False, [], {}, [[[]]], {"a": {"b": None}}, {1: "x"}, {None: 1}, {True: []}, 3.5, "x"]


def _seeded_document(rng):
    services = {}
    for _ in range(rng.randint(1, 2)):
        svc = {"image": rng.choice(["badinput/none:1", "redis:7"])}
        for key in rng.sample(sorted(SAMPLES), rng.randint(0, 6)):
            svc[key] = copy.deepcopy(rng.choice(SAMPLES[key]))
        services[rng.choice(["web", "api", "db", "w-1", "x.y"])] = svc
    return {"version": "3.8", "services": services, "networks": {"front": {}}, "volumes": {"data": {}},
            "secrets": {"pw": {"file": "/etc/hostname"}}, "configs": {"conf": {"content": "x"}}}


def _weird(rng):
    return copy.deepcopy(rng.choice(OUT_OF_RANGE_VALUES + WEIRD_SAMPLES + [rng.randint(-2 ** 70, 2 ** 70)]))


def _seeded_mutations(rng, doc):
    for _ in range(rng.randint(1, 4)):
        paths = _paths(doc)
        container, key = rng.choice(paths)
        container[key] = _weird(rng)
    lines = _dump(doc).splitlines()
    if rng.random() < 0.3 and lines:
        i = rng.randrange(len(lines))
        lines.insert(i + 1, lines[i])
    if rng.random() < 0.3:
        levels, width = rng.randint(1, 9), rng.randint(1, 12)
        head = ["x-a0: &a0 [%s]" % ", ".join(["lol"] * width)]
        head += ["x-a%d: &a%d [%s]" % (i, i, ", ".join(["*a%d" % (i - 1)] * width)) for i in range(1, levels)]
        lines = head + lines
    if rng.random() < 0.2:
        depth = rng.randint(1, 200)
        lines.append("x-deep: " + "[" * depth + "]" * depth)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the property

@contextmanager
def _memory_bound(headroom):
    """Cap the address space at its current size plus ``headroom`` while the block runs."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as fh:
        current = int(fh.read().split()[0]) * resource.getpagesize()
    limit = current + headroom if hard == resource.RLIM_INFINITY else min(hard, current + headroom)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _pipeline(source):
    """Everything stack_deploy does before its first engine call -> the problems ([] when accepted)."""
    try:
        model, dummy = compose.load([source], {"A": "1"})
    except compose.ComposeError as exc:
        assert exc.problems and all(isinstance(p, str) for p in exc.problems)
        return exc.problems
    problems = stack_convert.name_problems("badin", model) + stack_convert.value_problems("badin", model)
    if problems:
        return problems
    desired = stack_convert.build("badin", model, {}, "fuzz-content-key-0123456789")
    assert len(json.dumps(desired)) < MAX_BODY
    return []


FUZZ = settings(max_examples=EXAMPLES, deadline=5000, database=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


@pytest.fixture(scope="module")
def compose_file(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "docker-compose.yml"


@FUZZ
@given(seed=st.integers(0, 2 ** 32))
def test_mutated_compose_files_never_crash(compose_file, seed):
    rng = random.Random(seed)
    compose_file.write_text(_seeded_mutations(rng, _seeded_document(rng)))
    with _memory_bound(MEMORY_HEADROOM):
        _pipeline(str(compose_file))


@settings(FUZZ, max_examples=min(EXAMPLES, 150))
@given(doc=DOCUMENTS, data=st.data())
def test_mutated_compose_files_drawn_by_strategies_never_crash(compose_file, doc, data):
    text = _mutate_text(data, _dump(_mutate_tree(data, copy.deepcopy(doc))))
    compose_file.write_text(text)
    with _memory_bound(MEMORY_HEADROOM):
        _pipeline(str(compose_file))


@settings(FUZZ, max_examples=min(EXAMPLES, 150))
@given(doc=DOCUMENTS, data=st.data())
def test_mutated_inline_mappings_never_crash(doc, data):
    with _memory_bound(MEMORY_HEADROOM):
        _pipeline(_mutate_tree(data, copy.deepcopy(doc)))
