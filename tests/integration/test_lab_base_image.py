"""lab_base_image against the real local engine."""


def test_base_image_present_is_unchanged_and_check_mode_applies_nothing(ansible_module, debian_base_image):
    result, out = ansible_module("lab_base_image", {"name": debian_base_image})
    assert result["changed"] is False, out
    assert result["how"] == "present"

    result, out = ansible_module("lab_base_image", {"name": "swarmops/test-absent:never"}, check=True)
    assert result["changed"] is True and result["how"] == "would_build", out
    import docker
    assert not docker.from_env().images.list(name="swarmops/test-absent")
