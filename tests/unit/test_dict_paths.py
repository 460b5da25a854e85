"""dict_paths: the one way plugins/ reads, writes and drops values at a path in nested dicts."""

from __future__ import annotations

import pytest

from ansible_collections.swarmops.core.plugins.module_utils.dict_paths import drop_path, get_path, set_path

SPEC = {"TaskTemplate": {"ContainerSpec": {"Image": "app:1", "Env": None}, "Runtime": "container"}, "Mode": "x"}


@pytest.mark.parametrize("path, value", [
    ("TaskTemplate.ContainerSpec.Image", "app:1"),
    (("TaskTemplate", "ContainerSpec", "Image"), "app:1"),  # a sequence of keys, as swarm's SPEC_PATHS
    ("TaskTemplate.Runtime", "container"),
    ("TaskTemplate.Missing.Image", None),
    ("TaskTemplate.ContainerSpec.Env.X", None),  # None on the way
    ("Mode.Replicated", None),  # a string on the way
    ("Nothing", None),
])
def test_get_path(path, value):
    assert get_path(SPEC, path) == value


def test_get_path_of_no_dict_is_none():
    assert get_path(None, "a.b") is None and get_path([1], ("a",)) is None


def test_set_path_makes_the_dicts_on_the_way_and_replaces_a_none():
    spec = {"Orchestration": None}
    set_path(spec, "TaskTemplate.ContainerSpec.Image", "app:2")
    set_path(spec, ("Orchestration", "TaskHistoryRetentionLimit"), 5)
    set_path(spec, "TaskTemplate.ContainerSpec.User", "nobody")
    assert spec == {"Orchestration": {"TaskHistoryRetentionLimit": 5},
                    "TaskTemplate": {"ContainerSpec": {"Image": "app:2", "User": "nobody"}}}


def test_drop_path_only_when_it_holds_that_value():
    spec = {"EndpointSpec": {"Mode": "vip"}, "UpdateConfig": {"Order": "start-first"}}
    drop_path(spec, "EndpointSpec.Mode", "vip")
    drop_path(spec, "UpdateConfig.Order", "stop-first")
    drop_path(spec, "RollbackConfig.Order", "stop-first")
    drop_path(spec, "UpdateConfig.FailureAction", None)  # absent stays absent, even for a None default
    assert spec == {"EndpointSpec": {}, "UpdateConfig": {"Order": "start-first"}}
