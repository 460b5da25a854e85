"""daemon.json rendering and validation (pure logic, no Docker)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.swarmops.core.plugins.module_utils.daemon_config import (
    KEYS,
    build,
    check_remove,
    file_mode,
    mask,
    mask_config,
    merge,
    overridden,
    plan,
    read,
    render,
    secrets_in,
)
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError

TLS = {"tlsverify": True, "tlscacert": "/etc/docker/ca.pem", "tlscert": "/etc/docker/cert.pem",
       "tlskey": "/etc/docker/key.pem"}


def decide(*args):
    """plan() as (changed, diff)."""
    file_plan = plan(*args)
    return file_plan.changed, file_plan.diff()


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
    ({"mtu": 0}, "mtu", "between 68 and 65535"),
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
    changed, diff = decide(text, current, {"debug": True, "log-driver": "local"})
    assert not changed and diff["before"] == diff["after"]
    changed, diff = decide(text, current, {"debug": False, "log-driver": "local"})
    assert changed and diff["before"] == render({"debug": True, "log-driver": "local"}) and '"debug": false' in diff["after"]


def test_plan_on_an_absent_file(tmp_path):
    assert read(str(tmp_path / "absent.json")) == (None, {})
    changed, diff = decide(None, {}, {"debug": True})
    assert changed and diff == {"before": "", "after": '{\n  "debug": true\n}\n'}
    assert decide(None, {}, {})[0] is False  # nothing to set: no empty file is created


@pytest.mark.parametrize("content, words", [
    (b"{not json", "is not valid JSON"),
    (b"[1, 2]", "holds a JSON list, not an object"),
    (b'"text"', "holds a JSON str"),
    (b'{"debug": true, "labels": ["caf\xe9"]}', "is not UTF-8"),
])
def test_a_file_that_cannot_be_merged_is_refused_not_replaced(tmp_path, content, words):
    path = tmp_path / "daemon.json"
    path.write_bytes(content)
    with pytest.raises(SwarmOpsError) as info:
        read(str(path))
    assert words in str(info.value) and str(path) in str(info.value) and "left as is" in str(info.value)
    assert path.read_bytes() == content


def test_an_empty_file_reads_as_no_settings(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text("\n")
    assert read(str(path)) == ("\n", {})


# --- issue 11 item 7: merge, never replace ---------------------------------------------------------

ESTATE = {"data-root": "/srv/docker", "live-restore": True, "log-opts": {"max-size": "50m"},
          "some-tool-key": {"x": 1}, "debug": True}


def test_merge_keeps_every_key_it_is_not_given():
    merged = merge(ESTATE, {"log-driver": "json-file"})
    assert merged == dict(ESTATE, **{"log-driver": "json-file"})


def test_merge_sets_owned_keys_and_deletes_only_removed_ones():
    merged = merge(ESTATE, {"debug": False}, remove=["some-tool-key"])
    assert merged == {"data-root": "/srv/docker", "live-restore": True, "log-opts": {"max-size": "50m"},
                      "debug": False}


def test_unset_values_are_not_managed_so_the_hosts_value_stays():
    desired, _ = build({"data-root": "", "log-opts": {}, "live-restore": None, "log-driver": "local"})
    assert merge(ESTATE, desired) == dict(ESTATE, **{"log-driver": "local"})


def test_clashes_are_named_and_shown_in_the_diff():
    desired = {"debug": False, "log-driver": "local", "data-root": "/srv/docker"}
    assert overridden(ESTATE, desired) == ["debug"]
    changed, diff = decide(render(ESTATE), ESTATE, merge(ESTATE, desired), 0o644)
    assert changed
    assert '"debug": true' in diff["before"] and '"debug": false' in diff["after"]
    assert '"data-root": "/srv/docker"' in diff["after"]


def test_equal_merge_is_unchanged_whatever_the_text_layout():
    text = '{"debug":true,"data-root":"/srv/docker"}'
    changed, _ = decide(text, json.loads(text), merge(json.loads(text), {"debug": True}), 0o644)
    assert not changed


def test_a_key_cannot_be_set_and_removed():
    with pytest.raises(SwarmOpsError) as info:
        check_remove(["debug"], {"debug": True})
    assert "'debug'" in str(info.value)


# --- issue 11 item 1: credentials masked, file 0600 -------------------------------------------------

PROXIES = {"proxies": {"http-proxy": "http://alice:s3cr3t@proxy.lab:3128",
                       "https-proxy": "https://bob:p%40ss@proxy.lab:3129", "no-proxy": "localhost"}}


def test_passwords_in_urls_are_masked_in_the_diff_and_results():
    changed, diff = decide(render({"debug": True}), {"debug": True}, dict(PROXIES, debug=True), 0o644)
    assert changed
    assert "s3cr3t" not in diff["after"] and "p%40ss" not in diff["after"]
    assert "alice:********@proxy.lab:3128" in diff["after"]
    before_with_secret = render(PROXIES)
    _, diff = decide(before_with_secret, PROXIES, {"debug": True}, 0o600)
    assert "s3cr3t" not in diff["before"]
    masked = mask_config(PROXIES)
    assert masked["proxies"]["http-proxy"] == "http://alice:********@proxy.lab:3128"
    assert masked["proxies"]["no-proxy"] == "localhost"


def test_secrets_are_found_for_ansible_no_log_values():
    assert sorted(secrets_in(PROXIES)) == ["p%40ss", "s3cr3t"]
    assert secrets_in({"proxies": {"http-proxy": "http://proxy.lab:3128"}}) == []
    assert mask("http://user@proxy:3128") == "http://user@proxy:3128"  # no password, nothing to hide


def test_file_mode_is_0600_while_it_holds_credentials():
    assert file_mode(PROXIES, 0o644) == 0o600
    assert file_mode(PROXIES, None) == 0o600
    assert file_mode({"debug": True}, 0o640) == 0o640
    assert file_mode({"debug": True}, None) == 0o644


def test_a_world_readable_file_with_credentials_is_a_change():
    changed, _ = decide(render(PROXIES), PROXIES, PROXIES, 0o644)
    assert changed
    assert not decide(render(PROXIES), PROXIES, PROXIES, 0o600)[0]


# --- issue 13: out-of-range values, every problem at once, naming each key --------------------------

@pytest.mark.parametrize("config, key, words", [
    ({"mtu": 10 ** 30}, "mtu", "between 68 and 65535"),
    ({"mtu": 65536}, "mtu", "between 68 and 65535"),
    ({"mtu": 67}, "mtu", "between 68 and 65535"),
    ({"shutdown-timeout": -1}, "shutdown-timeout", "between 0 and"),
    ({"shutdown-timeout": 2 ** 63}, "shutdown-timeout", "between 0 and 9223372036854775807"),
    ({"max-concurrent-downloads": 0}, "max-concurrent-downloads", "between 1 and"),
    ({"max-download-attempts": -3}, "max-download-attempts", "between 1 and"),
    ({"oom-score-adjust": 1001}, "oom-score-adjust", "between -1000 and 1000"),
    ({"mtu": 1500.0}, "mtu", "must be an integer"),
    ({"ip": "0.0.0.300"}, "ip", "an IP address"),
    ({"default-gateway": "gw.lab"}, "default-gateway", "an IP address"),
    ({"fixed-cidr": "10.0.0.1/8"}, "fixed-cidr", "CIDR"),
    ({"bip": "172.26.0.1/33"}, "bip", "prefix length"),
    ({"bip": "172.26.0.1"}, "bip", "prefix length"),
    ({"dns": ["8.8.8.8", "dns.lab"]}, "dns[1]", "an IP address"),
    ({"default-shm-size": "lots"}, "default-shm-size", "a size"),
    ({"log-opts": {"max-file": "0"}}, "log-opts.max-file", "at least 1"),
    ({"log-opts": {"max-file": "-2"}}, "log-opts.max-file", "at least 1"),
    ({"log-opts": {"max-size": "10 apples"}}, "log-opts.max-size", "a size"),
    ({1: True}, "1", "keys must be strings"),
])
def test_out_of_range_values_fail_naming_the_key(config, key, words):
    message = error_of(config)
    assert "'%s'" % key in message and words in message and "nothing was written" in message


@pytest.mark.parametrize("config", [
    {"mtu": 68}, {"mtu": 65535}, {"mtu": 9000}, {"shutdown-timeout": 0}, {"oom-score-adjust": -1000},
    {"bip": "172.26.0.1/16"}, {"fixed-cidr-v6": "2001:db8::/64"}, {"default-shm-size": "64m"},
    {"log-opts": {"max-size": "-1", "max-file": "5"}}, {"log-opts": {"max-size": "1.5GiB"}},
    {"dns": ["10.0.0.2", "2001:db8::53"]}, {"host-gateway-ip": "172.17.0.1"},
])
def test_values_in_range_pass(config):
    assert build(config)[0] == config


def test_every_problem_is_listed_at_once():
    message = error_of({"mtu": 10 ** 30, "shutdown-timeout": -5, "log_driver": "local",
                        "log-opts": {"max-file": 3}, "dns": ["x"], "debug": "yes"})
    assert message.startswith("6 problems in the daemon.json settings (nothing was written)")
    for key in ("mtu", "shutdown-timeout", "log_driver", "log-opts.max-file", "dns[0]", "debug"):
        assert "'%s'" % key in message


def test_type_errors_do_not_crash_the_value_checks():
    # A wrong type is reported once; the range/format checks skip it instead of raising TypeError.
    message = error_of({"mtu": "big", "log-opts": "10m", "labels": [3], "default-address-pools": [5],
                        "dns": "10.0.0.2", "registry-mirrors": [None]})
    assert message.startswith("6 problems")
