"""Engine facts and the smoke image, pure parts (no Docker)."""

from __future__ import annotations

import io
import tarfile

from ansible_collections.swarmops.core.plugins.module_utils.engine import (
    BUSYBOX_CMD,
    busybox_rootfs,
    parse_cli_version,
    split_image,
    summarize,
)

VERSION = {"Version": "20.10.24+dfsg1", "ApiVersion": "1.41", "MinAPIVersion": "1.12", "Os": "linux",
           "Arch": "amd64", "KernelVersion": "6.1.0"}
INFO = {
    "Driver": "overlay2", "CgroupDriver": "systemd", "CgroupVersion": "1", "DockerRootDir": "/var/lib/docker",
    "Images": 2, "Containers": 1, "ContainersRunning": 0, "Name": "lab1", "LoggingDriver": "json-file",
    "Swarm": {"LocalNodeState": "active", "NodeID": "abc", "ControlAvailable": True, "Cluster": {"ID": "xyz"}},
    "RegistryConfig": {
        "Mirrors": ["https://mirror.lab/"],
        "InsecureRegistryCIDRs": ["127.0.0.0/8"],
        "IndexConfigs": {"docker.io": {"Secure": True}, "registry.lab:5000": {"Secure": False}},
    },
    "Labels": ["role=worker"],
}


def test_parse_cli_version():
    assert parse_cli_version("Docker version 20.10.24+dfsg1, build 297e128\n") == "20.10.24+dfsg1"
    assert parse_cli_version("Docker version 28.0.1, build 068a01e") == "28.0.1"
    assert parse_cli_version("command not found") is None


def test_summarize_reports_what_an_operator_checks():
    facts = summarize(VERSION, INFO, "28.0.1")
    assert facts["client_version"] == "28.0.1"
    assert facts["server_version"] == "20.10.24+dfsg1"
    assert facts["api_version"] == "1.41"
    assert facts["storage_driver"] == "overlay2"
    assert facts["cgroup_driver"] == "systemd"
    assert facts["swarm_state"] == "active" and facts["swarm_manager"] is True
    assert facts["swarm_cluster_id"] == "xyz"
    assert facts["insecure_registries"] == ["registry.lab:5000", "127.0.0.0/8"]
    assert facts["registry_mirrors"] == ["https://mirror.lab/"]


def test_summarize_outside_a_swarm():
    facts = summarize(VERSION, {"Swarm": {"LocalNodeState": "inactive", "NodeID": ""}})
    assert facts["swarm_state"] == "inactive"
    assert facts["swarm_node_id"] is None and facts["swarm_manager"] is False


def test_busybox_rootfs_holds_busybox_and_sh():
    with tarfile.open(fileobj=io.BytesIO(busybox_rootfs(b"\x7fELF fake")), mode="r") as tar:
        names = {m.name: m for m in tar.getmembers()}
        assert tar.extractfile("bin/busybox").read() == b"\x7fELF fake"
    assert names["bin/busybox"].mode == 0o755
    assert names["bin/sh"].issym() and names["bin/sh"].linkname == "busybox"
    assert names["tmp"].isdir()


def test_split_image():
    assert split_image("hello-world") == ("hello-world", "latest")
    assert split_image("swarmops/smoke:busybox") == ("swarmops/smoke", "busybox")
    assert split_image("registry.lab:5000/smoke") == ("registry.lab:5000/smoke", "latest")
    assert split_image("registry.lab:5000/smoke:1") == ("registry.lab:5000/smoke", "1")


def test_busybox_command_prints_what_hello_world_prints_first():
    assert BUSYBOX_CMD[:2] == ["/bin/sh", "-c"]
    assert BUSYBOX_CMD[2].startswith("echo Hello from Docker!")
