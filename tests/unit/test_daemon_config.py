"""daemon.json rendering and validation (pure logic, no Docker)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.swarmops.core.plugins.module_utils.daemon_config import KEYS, build, plan, read, render
from ansible_collections.swarmops.core.plugins.module_utils.docker_common import SwarmOpsError

TLS = {"tlsverify": True, "tlscacert": "/etc/docker/ca.pem", "tlscert": "/etc/docker/cert.pem",
       "tlskey": "/etc/docker/key.pem"}


def error_of(config, strict=True):
    with pytest.raises(SwarmOpsError) as info:
        build(config, strict=strict)
    return str(info.value)


def test_build_keeps_valid_settings_and_drops_empty_ones():
    config, warnings = build({
        "log-driver": "json-file",
        "log-opts": {"max-size": "10m", "max-file": "3"},
        "default-address-pools": [{"base": "10.200.0.0/16", "size": 24}],
        "data-root": None,
        "storage-driver": "",
        "registry-mirrors": [],
        "insecure-registries": ["registry.lab:5000", "10.0.0.0/8"],
        "features": {},
        "live-restore": False,
    })
    assert warnings == []
    assert config == {
        "log-driver": "json-file",
        "log-opts": {"max-size": "10m", "max-file": "3"},
        "default-address-pools": [{"base": "10.200.0.0/16", "size": 24}],
        "insecure-registries": ["registry.lab:5000", "10.0.0.0/8"],
        "live-restore": False,
    }


def test_labels_mapping_becomes_sorted_key_value_list():
    config, _ = build({"labels": {"zone": "b", "role": "worker"}})
    assert config == {"labels": ["role=worker", "zone=b"]}


def test_render_is_canonical_json():
    text = render({"log-driver": "local", "debug": True})
    assert text == '{\n  "debug": true,\n  "log-driver": "local"\n}\n'
    assert json.loads(text) == {"log-driver": "local", "debug": True}


@pytest.mark.parametrize("config, key, words", [
    ({"log-opts": {"max-file": 3}}, "log-opts.max-file", "must be a string"),
    ({"debug": "yes"}, "debug", "true or false"),
    ({"mtu": "1500"}, "mtu", "integer"),
    ({"mtu": True}, "mtu", "integer"),
    ({"mtu": 0}, "mtu", "positive"),
    ({"data-root": "var/lib/docker"}, "data-root", "absolute path"),
    ({"registry-mirrors": "https://mirror"}, "registry-mirrors", "list of strings"),
    ({"registry-mirrors": ["mirror.lab"]}, "registry-mirrors[0]", "http:// or https://"),
    ({"insecure-registries": ["http://registry.lab:5000"]}, "insecure-registries[0]", "without a scheme"),
    ({"dns": ["10.0.0.2", 53]}, "dns[1]", "must be a string"),
    ({"labels": ["novalue"]}, "labels[0]", "key=value"),
    ({"log-level": "verbose"}, "log-level", "one of debug"),
    ({"exec-opts": ["native.cgroupdriver=cgroup"]}, "exec-opts[0]", "cgroupfs or systemd"),
    ({"default-address-pools": {"base": "10.0.0.0/8"}}, "default-address-pools", "list"),
    ({"default-address-pools": [{"base": "10.0.0.0/8"}]}, "default-address-pools[0]", "base and size"),
    ({"default-address-pools": [{"base": "10.0.0.1/8", "size": 24}]}, "default-address-pools[0].base", "CIDR"),
    ({"default-address-pools": [{"base": "10.0.0.0/16", "size": 8}]}, "default-address-pools[0].size", "between"),
    ({"default-address-pools": [{"base": "10.0.0.0/16", "size": "24"}]}, "default-address-pools[0].size", "integer"),
    ({"proxies": {"http_proxy": "http://proxy:3128"}}, "proxies.http_proxy", "unknown proxy"),
    ({"tlsverify": True}, "tlsverify", "tlscacert"),
    ({"hosts": ["0.0.0.0:2375"]}, "hosts[0]", "must start with"),
])
def test_wrong_values_fail_naming_the_key(config, key, words):
    message = error_of(config)
    assert "'%s'" % key in message
    assert words in message


def test_unknown_key_fails_and_suggests_the_dashed_spelling():
    message = error_of({"log_driver": "json-file"})
    assert "'log_driver'" in message and "did you mean 'log-driver'" in message


def test_unknown_key_passes_with_a_warning_when_not_strict():
    config, warnings = build({"some-future-key": 1}, strict=False)
    assert config == {"some-future-key": 1}
    assert "some-future-key" in warnings[0]


def test_tcp_without_tls_is_refused():
    message = error_of({"hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"]})
    assert "hosts[1]" in message and "refusing to expose" in message and "tcp://0.0.0.0:2375" in message


def test_tcp_with_tls_but_no_verification_is_refused():
    message = error_of({"hosts": ["tcp://0.0.0.0:2376"], "tls": True, "tlscert": "/c", "tlskey": "/k"})
    assert "refusing to expose" in message and "tlscacert" in message


def test_tcp_with_verified_tls_is_accepted():
    config, _ = build(dict(TLS, hosts=["fd://", "tcp://0.0.0.0:2376"]))
    assert config["hosts"] == ["fd://", "tcp://0.0.0.0:2376"]


def test_every_known_key_has_a_type():
    assert all(KEYS.values())
    assert "log-driver" in KEYS and "default-address-pools" in KEYS


def test_plan_is_semantic(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text('{"log-driver":"local",   "debug":true}')
    text, current = read(str(path))
    changed, diff = plan(text, current, {"debug": True, "log-driver": "local"})
    assert not changed and diff["before"] == diff["after"]
    changed, diff = plan(text, current, {"debug": False, "log-driver": "local"})
    assert changed and diff["before"] == text and '"debug": false' in diff["after"]


def test_plan_on_absent_and_invalid_files(tmp_path):
    assert read(str(tmp_path / "absent.json")) == (None, None)
    changed, diff = plan(None, None, {})
    assert changed and diff == {"before": "", "after": "{}\n"}
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    text, current = read(str(bad))
    assert text == "{not json" and current is None
    assert plan(text, current, {})[0]
