"""The NoCloud seed ISO that virtualbox_vm builds, read by the real cloud-init (Debian's package).

VirtualBox cannot run here, but the seed's consumer can: a container built from the lab's Debian
base with cloud-init, blkid and bsdtar finds the `cidata` label the way cloud-init looks for it,
extracts the files by their Rock Ridge/Joliet names, validates user-data against cloud-init's
schema (strict), normalizes the users (the key for user docker) and parses network-config into
cloud-init's network state (DHCP on both NICs, matched by MAC).
"""

from __future__ import annotations

import io
import json

import docker
import pytest

from ansible_collections.swarmops.core.plugins.module_utils import virtualbox as vb

IMAGE = "sotest-vbox-cloudinit:bookworm"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0sotestkeyforthevirtualboxseed swarmops-virtualbox"

CHECK = r'''
import json, os, subprocess
from cloudinit import util
from cloudinit.config.schema import validate_cloudconfig_schema, get_schema
from cloudinit.distros import fetch, ug_util
from cloudinit.net import network_state

blkid = subprocess.run(["blkid", "-p", "-o", "export", "/seed/seed.iso"], capture_output=True, text=True).stdout
os.makedirs("/tmp/x")
subprocess.run(["bsdtar", "-xf", "/seed/seed.iso", "-C", "/tmp/x"], check=True)
user_data = util.load_file("/tmp/x/user-data")
config = util.load_yaml(user_data)
validate_cloudconfig_schema(config, get_schema(), strict=True)
users, _ = ug_util.normalize_users_groups(config, fetch("debian")("debian", {}, None))
state = network_state.parse_net_config_data(util.load_yaml(util.load_file("/tmp/x/network-config")))
print(json.dumps(dict(
    blkid=dict(line.split("=", 1) for line in blkid.splitlines()),
    files=sorted(os.listdir("/tmp/x")),
    header=user_data.splitlines()[0],
    users=users,
    meta=util.load_yaml(util.load_file("/tmp/x/meta-data")),
    interfaces=[dict(mac=i.get("mac_address"), subnets=[s["type"] for s in i.get("subnets", [])])
                for i in state.iter_interfaces()],
)))
'''


@pytest.fixture(scope="module")
def cloudinit_image(debian_base_image):
    client = docker.from_env(version="auto")
    dockerfile = ("FROM %s\nRUN apt-get update && apt-get install -y --no-install-recommends "
                  "cloud-init libarchive-tools util-linux && rm -rf /var/lib/apt/lists/*\n" % debian_base_image)
    client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=IMAGE, rm=True, forcerm=True)
    yield client
    client.images.remove(IMAGE, force=True)
    client.close()


def test_cloud_init_reads_the_seed(cloudinit_image, tmp_path):
    files = vb.cloud_init_files("myvm1", "4f0e5c1a-uuid", "docker", KEY, ["080027AAAAAA", "080027BBBBBB"])
    vb.build_seed_iso(str(tmp_path / "seed.iso"), files)
    (tmp_path / "check.py").write_text(CHECK)
    output = cloudinit_image.containers.run(
        IMAGE, ["python3", "/seed/check.py"], volumes={str(tmp_path): {"bind": "/seed", "mode": "ro"}},
        network_disabled=True, remove=True, name="sotest-vbox-cloudinit-check")
    seen = json.loads(output)
    assert seen["blkid"]["LABEL"] == "cidata" and seen["blkid"]["TYPE"] == "iso9660"
    assert seen["files"] == ["meta-data", "network-config", "user-data"]
    assert seen["header"] == "#cloud-config"
    assert seen["users"]["docker"]["ssh_authorized_keys"] == [KEY]
    assert seen["users"]["docker"]["sudo"] == "ALL=(ALL) NOPASSWD:ALL"
    assert seen["meta"] == {"instance-id": "4f0e5c1a-uuid", "local-hostname": "myvm1"}
    assert seen["interfaces"] == [dict(mac="08:00:27:aa:aa:aa", subnets=["dhcp4"]),
                                  dict(mac="08:00:27:bb:bb:bb", subnets=["dhcp4"])]
