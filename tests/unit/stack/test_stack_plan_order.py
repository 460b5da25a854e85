"""Issue 14: lists whose order the engine and the CLI do not define compare equal in any order."""

from __future__ import annotations

import itertools

from ansible_collections.swarmops.core.plugins.module_utils.stack_plan import normalize


def _spec(secrets, configs):
    container = {"Image": "app:1", "Secrets": secrets, "Configs": configs}
    return {"Name": "st_web", "TaskTemplate": {"ContainerSpec": container}}


def _ref(kind, name, target, mode=0o444):
    return {"File": {"Name": target, "UID": "0", "GID": "0", "Mode": mode}, kind: name}


def test_one_object_mounted_twice_normalizes_the_same_in_any_order():
    secrets = [_ref("SecretName", "st_pw", "pw"), _ref("SecretName", "st_pw", "/run/secrets/other", 0o400),
               _ref("SecretName", "st_a", "a")]
    configs = [_ref("ConfigName", "st_conf", "app_conf"), _ref("ConfigName", "st_conf", "/etc/app.conf", 0o440)]
    seen = {repr(normalize(_spec(list(s), list(c))))
            for s in itertools.permutations(secrets) for c in itertools.permutations(configs)}
    assert len(seen) == 1
