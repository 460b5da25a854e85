# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's Debian base image: pulled when a registry answers, else debootstrapped."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import tempfile

from ansible_collections.swarmops.core.plugins.module_utils.docker_client import sdk_errors
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError


DEFAULT_MIRROR = "http://deb.debian.org/debian"


def apt_mirror(sources_glob="/etc/apt/sources.list*"):
    """The Debian mirror this machine's apt uses (deb822 or one-line format)."""
    paths = sorted(glob.glob(sources_glob) + glob.glob(sources_glob.rstrip("*") + ".d/*"))
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            continue
        for match in re.finditer(r"^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+)", text, re.M):
            uri = match.group(1)
            if "/debian" in uri and "security" not in uri:
                return uri
    return DEFAULT_MIRROR


def image_present(client, ref):
    try:
        return client.inspect_image(ref)
    except sdk_errors.DockerException:
        return None


def try_pull(client, upstream):
    repo, _, tag = upstream.partition(":")
    try:
        client.pull(repo, tag=tag or "latest")
        return True
    except sdk_errors.DockerException:
        return False


def debootstrap_import(client, ref, suite, mirror, run_command):
    if not shutil.which("debootstrap"):
        raise SwarmOpsError(
            "No registry answered and debootstrap is missing on %s: "
            "apt-get install debootstrap (or make debian:bookworm-slim pullable)." % os.uname()[1]
        )
    workdir = tempfile.mkdtemp(prefix="swarmops-rootfs-")
    rootfs = os.path.join(workdir, "rootfs")
    try:
        rc, out, err = run_command(
            ["debootstrap", "--variant=minbase", suite, rootfs, mirror])
        if rc != 0:
            raise SwarmOpsError("debootstrap %s from %s failed: %s" % (suite, mirror, (err or out)[-2000:]))
        tarball = os.path.join(workdir, "rootfs.tar")
        rc, out, err = run_command(["tar", "-C", rootfs, "-cf", tarball, "."])
        if rc != 0:
            raise SwarmOpsError("tar of the debootstrapped root failed: %s" % err)
        repo, _, tag = ref.partition(":")
        client.import_image(src=tarball, repository=repo, tag=tag or "latest")
    finally:
        subprocess.run(["rm", "-rf", workdir], check=False)


def ensure_base_image(client, ref, upstream, source, suite, mirror, check_mode, run_command):
    """Return (changed, how) where how is present|pulled|debootstrapped|would_build."""
    if image_present(client, ref):
        return False, "present"
    if check_mode:
        return True, "would_build"
    if source in ("auto", "pull") and upstream and try_pull(client, upstream):
        repo, _, tag = ref.partition(":")
        client.tag(upstream, repo, tag=tag or "latest")
        return True, "pulled"
    if source == "pull":
        raise SwarmOpsError("Could not pull %s and source=pull forbids debootstrap." % upstream)
    debootstrap_import(client, ref, suite, mirror or apt_mirror(), run_command)
    return True, "debootstrapped"
