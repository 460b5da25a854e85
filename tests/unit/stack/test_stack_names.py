"""stack_names: a stack's labels and names, as the docker CLI gives them."""

from __future__ import annotations

from ansible_collections.swarmops.core.plugins.module_utils import stack_convert
from ansible_collections.swarmops.core.plugins.module_utils.stack_names import (
    IMAGE_LABEL,
    NAMESPACE_LABEL,
    scope,
    stack_filter,
    stack_of,
)


def test_the_clis_names():
    assert (NAMESPACE_LABEL, IMAGE_LABEL) == ("com.docker.stack.namespace", "com.docker.stack.image")
    assert scope("web", "redis") == "web_redis"
    assert stack_filter("web") == "com.docker.stack.namespace=web"


def test_stack_of():
    assert stack_of({NAMESPACE_LABEL: "web", "x": "y"}) == "web"
    assert stack_of({"x": "y"}) is None and stack_of(None) is None


def test_convert_labels_and_names_objects_with_them():
    model = {"services": {"app": {"image": "app:1"}}, "networks": {}, "volumes": {}, "secrets": {}, "configs": {}}
    spec = stack_convert.service_spec("web", "app", model["services"]["app"], model, {"secrets": {}, "configs": {}})
    assert spec["Name"] == scope("web", "app")
    assert stack_of(spec["Labels"]) == "web" and spec["Labels"][IMAGE_LABEL] == "app:1"
