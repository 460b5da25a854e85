# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine facts (`docker version` + `docker info`) and a smoke run of a real container."""

from __future__ import annotations

import io
import json
import re
import tarfile
import uuid

from ansible_collections.swarmops.core.plugins.module_utils.docker_client import sdk_errors
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError


# The imported busybox image's own command, worded like hello-world's first line.
BUSYBOX_CMD = ["/bin/sh", "-c", "echo Hello from Docker! I am container $(/bin/busybox hostname), "
               "started from a one-binary busybox image."]
CLI_VERSION_RE = re.compile(r"Docker version ([^\s,]+)(?:, build (\w+))?")
SMOKE_LABEL = "io.swarmops.smoke"


def parse_cli_version(text):
    """'Docker version 20.10.24+dfsg1, build 297e128' -> '20.10.24+dfsg1' (None if not recognised)."""
    match = CLI_VERSION_RE.search(text or "")
    return match.group(1) if match else None


def summarize(version, info, cli_version=None):
    """The facts the role publishes, from the Engine's /version and /info answers (pure)."""
    swarm = info.get("Swarm") or {}
    registry = info.get("RegistryConfig") or {}
    insecure = sorted(
        name for name, index in (registry.get("IndexConfigs") or {}).items() if not index.get("Secure", True)
    ) + sorted(registry.get("InsecureRegistryCIDRs") or [])
    return dict(
        client_version=cli_version,
        server_version=version.get("Version"),
        api_version=version.get("ApiVersion"),
        min_api_version=version.get("MinAPIVersion"),
        os=version.get("Os"),
        arch=version.get("Arch"),
        kernel_version=version.get("KernelVersion"),
        operating_system=info.get("OperatingSystem"),
        name=info.get("Name"),
        storage_driver=info.get("Driver"),
        cgroup_driver=info.get("CgroupDriver"),
        cgroup_version=info.get("CgroupVersion"),
        docker_root_dir=info.get("DockerRootDir"),
        logging_driver=info.get("LoggingDriver"),
        swarm_state=swarm.get("LocalNodeState") or "inactive",
        swarm_node_id=swarm.get("NodeID") or None,
        swarm_cluster_id=(swarm.get("Cluster") or {}).get("ID"),
        swarm_manager=bool(swarm.get("ControlAvailable")),
        images=info.get("Images"),
        containers=info.get("Containers"),
        containers_running=info.get("ContainersRunning"),
        registry_mirrors=registry.get("Mirrors") or [],
        insecure_registries=insecure,
        labels=info.get("Labels") or [],
        security_options=info.get("SecurityOptions") or [],
        warnings=info.get("Warnings") or [],
    )


def cli_version(module):
    """The docker CLI's version on the host the module runs on (None without a CLI)."""
    docker_cli = module.get_bin_path("docker")
    if not docker_cli:
        return None
    rc, out, _err = module.run_command([docker_cli, "--version"])
    return parse_cli_version(out) if rc == 0 else None


def read_facts(client, cli_version=None):
    return summarize(client.version(), client.info(), cli_version)


def busybox_rootfs(busybox_bytes):
    """A root file system tarball holding only a static busybox at /bin/busybox (+ /bin/sh)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in ("bin", "tmp"):
            entry = tarfile.TarInfo(name)
            entry.type, entry.mode = tarfile.DIRTYPE, 0o1777 if name == "tmp" else 0o755
            tar.addfile(entry)
        entry = tarfile.TarInfo("bin/busybox")
        entry.size, entry.mode = len(busybox_bytes), 0o755
        tar.addfile(entry, io.BytesIO(busybox_bytes))
        link = tarfile.TarInfo("bin/sh")
        link.type, link.linkname = tarfile.SYMTYPE, "busybox"
        tar.addfile(link)
    return buf.getvalue()


def split_image(image):
    """'repo/name:tag' -> ('repo/name', 'tag'); a registry port is not a tag."""
    name, sep, tag = image.rpartition(":")
    if not sep or "/" in tag:
        return image, "latest"
    return name, tag


def image_present(client, image):
    try:
        client.inspect_image(image)
        return True
    except sdk_errors.DockerException as exc:
        if getattr(exc, "status_code", None) == 404 or "No such image" in str(exc):
            return False
        raise


def ensure_image(client, image, source, busybox_path, check_mode):
    """Make ``image`` present: pull it, or import it from the host's static busybox.

    Returns how: 'present', 'pulled', 'imported' (or 'would_pull'/'would_import' in check mode).
    """
    if image_present(client, image):
        return "present"
    if source == "present":
        raise SwarmOpsError("Image %s is not present on the engine and source=present." % image)
    if check_mode:
        return "would_" + ("pull" if source == "pull" else "import")
    repository, tag = split_image(image)
    if source == "pull":
        try:
            client.pull(repository, tag=tag)
        except sdk_errors.DockerException as exc:
            raise SwarmOpsError(
                "Cannot pull %s: %s. Without registry access, use source=busybox to build the "
                "smoke image from the host's static busybox." % (image, exc))
        return "pulled"
    try:
        with open(busybox_path, "rb") as handle:
            busybox = handle.read()
    except OSError as exc:
        raise SwarmOpsError("Cannot read the static busybox %s (apt-get install busybox-static): %s"
                            % (busybox_path, exc))
    client.import_image_from_data(busybox_rootfs(busybox), repository=repository, tag=tag,
                                  changes=["LABEL %s=busybox" % SMOKE_LABEL, "CMD %s" % json.dumps(BUSYBOX_CMD)])
    if not image_present(client, image):
        raise SwarmOpsError("Importing %s from %s did not produce the image." % (image, busybox_path))
    return "imported"


def command_for(client, image, command, source):
    """The given command, else the image's own; a busybox import without one gets BUSYBOX_CMD."""
    if command or source != "busybox":
        return command
    config = client.inspect_image(image).get("Config") or {}
    return [] if config.get("Cmd") or config.get("Entrypoint") else list(BUSYBOX_CMD)


def run_once(client, image, command, timeout):
    """Run a throwaway container (no network), return (exit code, output); always remove it."""
    name = "swarmops-smoke-%s" % uuid.uuid4().hex[:10]
    container = client.create_container(
        image, command=command or None, name=name, labels={SMOKE_LABEL: "run"},
        host_config=client.create_host_config(network_mode="none"))
    try:
        client.start(container["Id"])
        try:
            status = client.wait(container["Id"], timeout=timeout)
        except Exception as exc:  # requests' ReadTimeout is not a DockerException
            raise SwarmOpsError("Container %s from %s did not finish within %ss: %s" % (name, image, timeout, exc))
        output = client.logs(container["Id"], stdout=True, stderr=True).decode("utf-8", "replace")
    finally:
        client.remove_container(container["Id"], force=True)
    code = status.get("StatusCode") if isinstance(status, dict) else status
    return code, output
