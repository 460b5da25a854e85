"""Issue 11 for stack_deploy: no secret in any output, keyed content labels, removal order."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import stat

import pytest

from ansible_collections.swarmops.core.plugins.module_utils import stack_apply
from ansible_collections.swarmops.core.plugins.module_utils.compose import load
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError
from ansible_collections.swarmops.core.plugins.module_utils.stack import content_key, printable_values
from ansible_collections.swarmops.core.plugins.module_utils.stack_convert import (
    HMAC_LABEL,
    LEGACY_HASH_LABEL,
    build,
)
from ansible_collections.swarmops.core.plugins.module_utils.stack_plan import make_plan, mask_env
from ansible_collections.swarmops.core.plugins.modules.stack_deploy import ARGUMENT_SPEC

from test_stack_plan import PART3, as_engine_stores_it, current_with, empty_current

KEY = "secrets-unit-test-key-0123"
PASSWORD = b"hunter2"  # weak on purpose: its bare hash is in every rainbow table
NS = "com.docker.stack.namespace"


def _stack(tmp_path, password=PASSWORD, env_value="s3cret-env-value", key=KEY, external=False):
    (tmp_path / "pw").write_bytes(password)
    data = copy.deepcopy(PART3)
    web = data["services"]["web"]
    web["secrets"] = ["pw"]
    web["environment"] = {"DB_PASSWORD": env_value, "MODE": "prod"}
    data["secrets"] = {"pw": {"file": str(tmp_path / "pw")}}
    if external:
        web["secrets"].append("shared")
        data["secrets"]["shared"] = {"external": True, "name": "st_shared"}
    model, _ = load([data], {})
    return build("st", model, content_key=key)


def _stored(spec, ident):
    return {"ID": ident, "Version": {"Index": 1}, "Spec": copy.deepcopy(spec)}


def _deployed(desired):
    """The engine's view after desired was deployed: its services, networks and secrets."""
    current = current_with(desired)
    for i, obj in enumerate(desired["secrets"].values()):
        if not obj["external"]:
            current["secrets"][obj["name"]] = current["all_secrets"][obj["name"]] = _stored(obj["spec"], "s%d" % i)
    return current


# ---------------------------------------------------------------- 3. keyed content labels

def test_names_and_labels_use_a_keyed_hmac_and_no_bare_hash(tmp_path):
    desired = _stack(tmp_path)
    secret = desired["secrets"]["pw"]
    bare = hashlib.sha256(PASSWORD).hexdigest()
    assert secret["spec"]["Labels"][HMAC_LABEL] == secret["label"] != bare
    assert secret["name"] == "st_pw_" + secret["label"][:12]
    assert LEGACY_HASH_LABEL not in secret["spec"]["Labels"]
    plan = make_plan(desired, empty_current())
    everything = json.dumps([desired["services"], {k: v["spec"] for k, v in desired["secrets"].items()},
                             plan.summary(), plan.diff()])
    assert bare[:12] not in everything


def test_names_are_stable_per_key_and_differ_between_keys(tmp_path):
    one = _stack(tmp_path)["secrets"]["pw"]["name"]
    assert _stack(tmp_path)["secrets"]["pw"]["name"] == one
    assert _stack(tmp_path, key="another-cluster-key-4567")["secrets"]["pw"]["name"] != one
    assert _stack(tmp_path, password=b"hunter3")["secrets"]["pw"]["name"] != one


def test_a_deployed_stack_is_unchanged_with_the_same_key_and_rolls_out_once_with_a_new_one(tmp_path):
    current = _deployed(_stack(tmp_path))
    assert not make_plan(_stack(tmp_path), current).changed
    rekeyed = make_plan(_stack(tmp_path, key="another-cluster-key-4567"), current)
    assert [(a["kind"], a["action"]) for a in rekeyed.actions if a["action"] != "unchanged"] == [
        ("secret", "create"), ("service", "update"), ("secret", "remove")]


def test_an_explicitly_named_secret_of_an_earlier_release_is_kept(tmp_path):
    (tmp_path / "pw").write_bytes(PASSWORD)
    data = {"services": {"web": {"image": "app:1", "secrets": ["pw"]}},
            "secrets": {"pw": {"file": str(tmp_path / "pw"), "name": "fixed_pw"}}}
    desired = build("st", load([data], {})[0], content_key=KEY)
    current = current_with(desired)
    old = {"Name": "fixed_pw", "Labels": {NS: "st", LEGACY_HASH_LABEL: hashlib.sha256(PASSWORD).hexdigest()}}
    current["secrets"]["fixed_pw"] = current["all_secrets"]["fixed_pw"] = _stored(old, "old1")
    plan = make_plan(desired, current)
    assert not plan.changed and not plan.warnings
    current["secrets"]["fixed_pw"]["Spec"]["Labels"][LEGACY_HASH_LABEL] = hashlib.sha256(b"other").hexdigest()
    with pytest.raises(Exception, match="already exists with different content"):
        make_plan(desired, current)


def test_content_key_is_required_for_file_objects(tmp_path):
    with pytest.raises(ValueError, match="content key"):
        _stack(tmp_path, key=None)


# ---------------------------------------------------------------- 2. masked env and data in diffs

def test_diff_masks_env_values_and_never_shows_secret_data(tmp_path):
    plan = make_plan(_stack(tmp_path), empty_current())
    diff = plan.diff()
    env = diff["after"]["service/st_web"]["TaskTemplate"]["ContainerSpec"]["Env"]
    assert env == ["DB_PASSWORD=********", "MODE=********"]
    secret = diff["after"]["secret/" + _stack(tmp_path)["secrets"]["pw"]["name"]]
    assert set(secret) == {"name", "labels"} and HMAC_LABEL not in secret["labels"]
    text = json.dumps(diff)
    assert "s3cret-env-value" not in text and "aHVudGVyMg" not in text and "hunter2" not in text
    # the plan still compares real values: only the printed views are masked
    assert "DB_PASSWORD=s3cret-env-value" in plan.actions[-1]["body"]["TaskTemplate"]["ContainerSpec"]["Env"]


def test_a_changed_env_value_shows_as_a_change_of_its_key_only(tmp_path):
    current = _deployed(_stack(tmp_path))
    plan = make_plan(_stack(tmp_path, env_value="n3w-s3cret-value"), current)
    assert [a["action"] for a in plan.actions if a["kind"] == "service"] == ["update"]
    diff = json.dumps(plan.diff())
    assert "s3cret-env-value" not in diff and "n3w-s3cret-value" not in diff
    assert "DB_PASSWORD=********" in diff


def test_mask_env_keeps_keys_and_bare_names():
    assert mask_env(["A=1", "B=", "C=x=y", "BARE"]) == ["A=********", "B=********", "C=********", "BARE"]


def test_env_compose_and_content_key_options_are_no_log():
    for option in ("env", "compose", "content_key"):
        assert ARGUMENT_SPEC[option].get("no_log") is True, option


def test_only_values_that_can_be_secret_stay_masked_by_ansible():
    params = {
        "env": {"DB_PASSWORD": "s3cret-env-value", "REPLICAS": "3"},
        "compose": ["/srv/app/docker-compose.yml", {
            "services": {"web": {"image": "registry:5000/app:1", "deploy": {"replicas": 5},
                                 "environment": {"TOKEN": "inline-token-1"},
                                 "labels": ["team=web"]},
                         "db": {"image": "db:1", "environment": ["API_KEY=inline-key-2"]}},
            "configs": {"conf": {"content": "inline-config-body"}}}],
        "content_key": "secrets-unit-test-key-0123",
    }
    printable = printable_values(params)
    assert {"/srv/app/docker-compose.yml", "registry:5000/app:1", "5", "3", "team=web", "db:1"} <= printable
    for secret in ("s3cret-env-value", "inline-token-1", "inline-key-2", "API_KEY=inline-key-2",
                   "inline-config-body", "secrets-unit-test-key-0123"):
        assert secret not in printable, secret


# ---------------------------------------------------------------- the content key

def test_key_file_is_created_0600_once_and_reused(tmp_path):
    path = tmp_path / "keys" / "stack-content.key"
    params = {"content_key_file": str(path)}
    assert content_key(params, check_mode=True) and not path.exists()  # check mode writes nothing
    key = content_key(params)
    assert len(key) == 64 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert content_key(params) == key
    assert content_key(dict(params, content_key="given-key-0123456789")) == "given-key-0123456789"


def test_bad_keys_are_refused_naming_the_option(tmp_path):
    with pytest.raises(SwarmOpsError, match="content_key: must be at least 16"):
        content_key({"content_key": "short"})
    (tmp_path / "empty.key").write_text("\n")
    with pytest.raises(SwarmOpsError, match="content_key_file: .*empty.key holds no usable key"):
        content_key({"content_key_file": str(tmp_path / "empty.key")})


# ---------------------------------------------------------------- 10. removal order, external objects

def test_superseded_secret_is_removed_only_after_the_services_converged(tmp_path):
    current = _deployed(_stack(tmp_path))
    plan = make_plan(_stack(tmp_path, password=b"hunter3"), current)
    removal = [a for a in plan.actions if a["action"] == "remove"]
    assert len(removal) == 1 and removal[0]["after_converge"] is True
    warnings = stack_apply.defer_superseded(plan, "wait is off")
    assert removal[0]["action"] == "deferred" and "kept until a later run (wait is off)" in warnings[0]
    assert "secret/" + removal[0]["name"] not in plan.diff()["before"]


def test_on_the_next_run_the_superseded_secret_goes_at_once(tmp_path):
    new = _stack(tmp_path, password=b"hunter3")
    current = _deployed(_stack(tmp_path))
    old_name = _stack(tmp_path)["secrets"]["pw"]["name"]
    # the service already runs the new spec; the old secret is still there
    current["services"]["st_web"]["Spec"] = as_engine_stores_it(
        new["services"]["st_web"], {v: k for k, v in current["network_names"].items()})
    obj = new["secrets"]["pw"]
    current["secrets"][obj["name"]] = current["all_secrets"][obj["name"]] = _stored(obj["spec"], "s9")
    plan = make_plan(new, current)
    assert [(a["name"], a["action"], a["after_converge"]) for a in plan.actions if a["action"] != "unchanged"] == [
        (old_name, "remove", False)]


def test_a_secret_declared_external_is_never_removed_even_with_the_stack_label(tmp_path):
    desired = _stack(tmp_path, external=True)
    current = _deployed(desired)
    shared = {"Name": "st_shared", "Labels": {NS: "st"}}
    current["secrets"]["st_shared"] = current["all_secrets"]["st_shared"] = _stored(shared, "ext1")
    # no service uses it any more, but the compose still declares it external
    unused = copy.deepcopy(desired)
    cs = unused["services"]["st_web"]["TaskTemplate"]["ContainerSpec"]
    cs["Secrets"] = [r for r in cs["Secrets"] if r["SecretName"] != "st_shared"]
    assert not [a for a in make_plan(unused, current).actions if a["action"] == "remove"]
